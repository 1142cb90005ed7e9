"""The gateway's settings: the `[gateway]` table of tokenpulse.toml (with `[[gateway.budgets]]` and
`[gateway.breaker]`), `TOKENPULSE_GATEWAY_*` variables for the scalar ones, then flags.

    [gateway]
    port = 8788
    anthropic_upstream = "https://api.anthropic.com"
    openai_upstream = "https://api.openai.com"
    redis_url = "redis://127.0.0.1:6379/0"   # shared counters for several replicas; empty = this process
    fail_open = true                         # Redis unreachable: admit (and alert) rather than refuse
    shadow = false                           # record breaker trips and budget refusals, block nothing
    webhook_url = "https://hooks.slack.com/services/…"

    [[gateway.budgets]]                      # every person, per tool, per calendar month
    each = "person"
    tool = "claude_code"
    usd = 250

    [[gateway.budgets]]                      # a whole team
    team = "payments"
    usd = 5000

    [gateway.breaker]
    multiplier = 3          # trip when today's spend > max(multiplier x baseline, floor_usd) …
    floor_usd = 50
    rate_window_minutes = 10
    rate_usd = 40           # … or this much is spent within the window …
    loop_repeats = 12       # … or the same prompt is sent this often within loop_window_minutes
    loop_window_minutes = 10

The vendor keys are read from the gateway's environment (`ANTHROPIC_API_KEY`, `OPENAI_API_KEY`), never
from the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import Settings, section_settings
from ..errors import ConfigError, InvalidEvent
from ..money import decimal_usd_to_micros

DEFAULT_PORT = 8788


@dataclass
class BudgetRule:
    """A configured budget: per person (optionally per tool), for one named person, or for a team."""

    limit_micros: int
    period: str = "month"
    each: str | None = None
    """"person": the rule applies to every person separately."""
    person: str | None = None
    team: str | None = None
    tool: str | None = None

    def scope_for(self, person: str, team: str | None, tool: str) -> str | None:
        """The counter scope this rule puts a request of (person, team, tool) in, or None if it does not apply."""
        if self.tool is not None and self.tool != tool:
            return None
        suffix = f"|tool:{self.tool}" if self.tool else ""
        if self.each == "person" or self.person is not None:
            if self.person is not None and self.person != person:
                return None
            return f"person:{person}{suffix}"
        if self.team is not None:
            return f"team:{self.team}{suffix}" if team == self.team else None
        return f"org{suffix}"


@dataclass
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    anthropic_upstream: str = "https://api.anthropic.com"
    openai_upstream: str = "https://api.openai.com"
    redis_url: str = ""
    redis_prefix: str = "tokenpulse:"
    fail_open: bool = True
    shadow: bool = False
    webhook_url: str = ""
    tz: str = ""
    """Budget periods and the breaker's day; default: the organisation's timezone (`tz`)."""
    default_max_tokens: int = 8192
    """The output reserved for a request that does not cap it (OpenAI's may omit it)."""
    max_body_mb: float = 32.0
    key_cache_seconds: float = 30.0
    spool_dir: str = ""
    ship_seconds: float = 0.5
    """How often metered requests move from the spool into the store (they are durable in the spool at once)."""
    max_overrides: int = 1
    """Overrides a person may grant themselves per budget and period."""
    max_override_percent: int = 100
    """How far one override may raise a budget, in percent of it."""
    budgets: list[BudgetRule] = field(default_factory=list)
    breaker: dict[str, Any] = field(default_factory=dict)


def gateway_settings(settings: Settings, **flags: Any) -> GatewaySettings:
    out = section_settings(GatewaySettings, settings, "gateway", **flags)
    table = settings.tables.get("gateway", {})
    out.tz = out.tz or settings.tz
    out.budgets = [budget_rule(rule, i) for i, rule in enumerate(table.get("budgets", []), start=1)]
    breaker = table.get("breaker", {})
    if not isinstance(breaker, dict):
        raise ConfigError("[gateway.breaker] must be a table")
    out.breaker = breaker
    return out


def usd_to_micros(value: Any, where: str) -> int:
    """A setting's USD amount (a number or a decimal string) as micro-USD; `where` names it in errors."""
    try:
        micros = decimal_usd_to_micros(str(value))
    except InvalidEvent:
        raise ConfigError(f"{where} must be an amount in USD, got {value!r}") from None
    if micros < 0:
        raise ConfigError(f"{where} must be a positive amount in USD, got {value!r}")
    return micros


def budget_rule(rule: Any, number: int) -> BudgetRule:
    where = f"[[gateway.budgets]] #{number}"
    if not isinstance(rule, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(rule) - {"usd", "period", "each", "person", "team", "tool"}
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    if "usd" not in rule:
        raise ConfigError(f"{where} needs `usd`, the limit")
    period = rule.get("period", "month")
    if period not in ("month", "day"):
        raise ConfigError(f"{where}: `period` must be month or day, got {period!r}")
    each = rule.get("each")
    if each not in (None, "person"):
        raise ConfigError(f"{where}: `each` can only be \"person\", got {each!r}")
    if sum(x is not None for x in (each, rule.get("person"), rule.get("team"))) > 1:
        raise ConfigError(f"{where}: give one of `each`, `person` or `team`")
    return BudgetRule(limit_micros=usd_to_micros(rule["usd"], f"{where} `usd`"), period=period, each=each,
                      person=str(rule["person"]).strip().lower() if rule.get("person") else None,
                      team=rule.get("team"), tool=rule.get("tool"))
