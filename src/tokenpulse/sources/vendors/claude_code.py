"""Anthropic Admin API: the Claude Code usage report (one record per actor, terminal and UTC day).

`GET /v1/organizations/usage_report/claude_code?starting_at=YYYY-MM-DD&limit=…&page=…` → `{data: [{date,
actor, organization_id, customer_type, terminal_type, core_metrics, tool_actions, model_breakdown}], has_more,
next_page}`. The report covers a single UTC day per request, so a range is read one day at a time.

- Each `model_breakdown` entry with any tokens becomes one `UsageEvent` at the day's UTC midnight
  (`tool="claude_code"`, `provider="anthropic"`, `source="vendor_api"`, `confidence="metered"`: the tokens
  are Anthropic's own count): `tokens.input` → input, `output`, `cache_read`, `cache_creation` → cache
  writes. `estimated_cost.amount` is in **cents** (an estimate, not a bill); it becomes
  `reported_cost_micros` exactly (× 10,000 with `Decimal`, half to even), and is kept as written in
  `extra["estimated_cost_cents"]`; a currency other than USD is an error. The rank is the token total, so a
  day still filling is replaced by a later, fuller copy of itself.
  Id: `claude-code:<YYYY-MM-DD>:<user|api>:<email or key name>:<terminal_type or ->:<model>`.
- Each non-zero count of the record becomes one `OutcomeEvent`: `commits_by_claude_code` → `commit`,
  `pull_requests_by_claude_code` → `pull_request`, `lines_of_code.added/removed` → `lines_added/removed`,
  the sum of `accepted`/`rejected` over every `tool_actions` entry → `edit_accepted/edit_rejected` (the
  per-tool breakdown and `num_sessions` go to `extra`).
  Id: `claude-code:<YYYY-MM-DD>:<user|api>:<email or key name>:<terminal_type or ->:<type>`.

The actor (`user_actor` with `email_address`, lower-cased, or `api_actor` with `api_key_name`) is kept in
`extra`; no person is set here: `identities()` gives the aliases that may name one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from ...events import OutcomeEvent, UsageEvent, as_utc
from .anthropic import PROVIDER
from .client import Params, VendorClient, VendorDataError, collect, parse_page
from .records import VendorBatch, cents_to_micros, id_part

PATH = "/v1/organizations/usage_report/claude_code"
TOOL = "claude_code"
PAGE_LIMIT = 1000
"""The most records a page may hold (fewer requests)."""
KEY_NAME_ALIAS = "anthropic-key-name"

Count = Annotated[int, msgspec.Meta(ge=0)]
Name = Annotated[str, msgspec.Meta(min_length=1)]


class _UserActor(msgspec.Struct, tag_field="type", tag="user_actor"):
    email_address: Name


class _ApiActor(msgspec.Struct, tag_field="type", tag="api_actor"):
    api_key_name: Name


class _Lines(msgspec.Struct):
    added: Count | None = None
    removed: Count | None = None


class _CoreMetrics(msgspec.Struct):
    num_sessions: Count | None = None
    lines_of_code: _Lines | None = None
    commits_by_claude_code: Count | None = None
    pull_requests_by_claude_code: Count | None = None


class _ToolAction(msgspec.Struct):
    accepted: Count | None = None
    rejected: Count | None = None


class _Tokens(msgspec.Struct):
    input: Count | None = None
    output: Count | None = None
    cache_read: Count | None = None
    cache_creation: Count | None = None


class _Cost(msgspec.Struct):
    amount: Decimal | None = None
    currency: str = "USD"


class _ModelUsage(msgspec.Struct):
    model: Name
    tokens: _Tokens | None = None
    estimated_cost: _Cost | None = None


class _Record(msgspec.Struct):
    date: datetime
    actor: _UserActor | _ApiActor
    organization_id: str | None = None
    customer_type: str | None = None
    terminal_type: str | None = None
    core_metrics: _CoreMetrics | None = None
    tool_actions: dict[str, _ToolAction] | None = None
    model_breakdown: list[_ModelUsage] | None = None


class _Page(msgspec.Struct):
    data: list[_Record]



def _actor(actor: _UserActor | _ApiActor) -> tuple[str, str, dict[str, str]]:
    """(id kind, id value, extra fields) of an actor."""
    if isinstance(actor, _UserActor):
        email = actor.email_address.lower()
        return "user", email, {"actor_type": "user_actor", "email": email}
    return "api", actor.api_key_name, {"actor_type": "api_actor", "api_key_name": actor.api_key_name}


def _usage(r: _Record, m: _ModelUsage, where: str, day: datetime, prefix: str, who: dict[str, str]
           ) -> UsageEvent | None:
    t = m.tokens or _Tokens()
    input_, output, read, write = (t.input or 0), (t.output or 0), (t.cache_read or 0), (t.cache_creation or 0)
    total = input_ + output + read + write
    if total == 0:
        return None
    cost = m.estimated_cost
    cents = cost.amount if cost is not None else None
    if cost is not None and cost.currency.upper() != "USD":
        raise VendorDataError(f"`{where}.estimated_cost.currency`: {cost.currency!r} is not USD")
    if cents is not None and not cents.is_finite():
        raise VendorDataError(f"`{where}.estimated_cost.amount`: not a finite amount: {cents}")
    extra = {**who, "terminal_type": r.terminal_type, "customer_type": r.customer_type,
             "estimated_cost_cents": None if cents is None else str(cents)}
    return UsageEvent(
        id=f"{prefix}:{m.model}", ts=day, tool=TOOL, provider=PROVIDER, model=m.model, person=None,
        input_tokens=input_, output_tokens=output, cache_read_tokens=read, cache_write_tokens=write,
        reported_cost_micros=None if cents is None else cents_to_micros(cents), source="vendor_api",
        confidence="metered", rank=total, extra=extra,
    )


def _outcomes(r: _Record, day: datetime, prefix: str, who: dict[str, str]) -> list[OutcomeEvent]:
    core = r.core_metrics or _CoreMetrics()
    lines = core.lines_of_code or _Lines()
    actions = {name: {"accepted": a.accepted or 0, "rejected": a.rejected or 0}
               for name, a in (r.tool_actions or {}).items()}
    counts = {
        "commit": core.commits_by_claude_code or 0,
        "pull_request": core.pull_requests_by_claude_code or 0,
        "lines_added": lines.added or 0,
        "lines_removed": lines.removed or 0,
        "edit_accepted": sum(a["accepted"] for a in actions.values()),
        "edit_rejected": sum(a["rejected"] for a in actions.values()),
    }
    extra = {**who, "terminal_type": r.terminal_type, "customer_type": r.customer_type,
             "num_sessions": core.num_sessions, "tool_actions": actions}
    return [OutcomeEvent(id=f"{prefix}:{kind}", ts=day, type=kind, count=count, person=None, tool=TOOL,
                         source="vendor_api", extra=dict(extra))
            for kind, count in counts.items() if count]


def report_records(page: dict[str, Any]) -> tuple[list[UsageEvent], list[OutcomeEvent]]:
    """The usage events and outcomes of one `usage_report/claude_code` page (pure; raises
    `VendorDataError` naming the field on a bad shape)."""
    parsed = parse_page(page, _Page)
    events: list[UsageEvent] = []
    outcomes: list[OutcomeEvent] = []
    for i, r in enumerate(parsed.data):
        d: date = as_utc(r.date).date()
        day = datetime(d.year, d.month, d.day, tzinfo=UTC)
        kind, name, who = _actor(r.actor)
        prefix = f"claude-code:{d.isoformat()}:{kind}:{name}:{id_part(r.terminal_type)}"
        for j, m in enumerate(r.model_breakdown or ()):
            event = _usage(r, m, f"data[{i}].model_breakdown[{j}]", day, prefix, who)
            if event is not None:
                events.append(event)
        outcomes.extend(_outcomes(r, day, prefix, who))
    return events, outcomes


def identities(item: UsageEvent | OutcomeEvent) -> list[str]:
    """The aliases that may name the person behind an event of this connector: the lower-cased email of a
    user actor (emails resolve through the directory directly), `anthropic-key-name:<name>` of an API key."""
    extra = item.extra or {}
    if extra.get("actor_type") == "user_actor" and extra.get("email"):
        return [str(extra["email"]).lower()]
    if extra.get("actor_type") == "api_actor" and extra.get("api_key_name"):
        return [f"{KEY_NAME_ALIAS}:{extra['api_key_name']}"]
    return []


def _days(since: datetime, until: datetime) -> list[date]:
    """Every UTC day whose start is in [day of `since`, `until`)."""
    first = as_utc(since).date()
    end = as_utc(until)
    days: list[date] = []
    d = first
    while datetime(d.year, d.month, d.day, tzinfo=UTC) < end:
        days.append(d)
        d = date.fromordinal(d.toordinal() + 1)
    return days


def _page_items(page: dict[str, Any]) -> list[UsageEvent | OutcomeEvent]:
    events, outcomes = report_records(page)
    return [*events, *outcomes]


def sync_claude_code(client: VendorClient, since: datetime, until: datetime) -> VendorBatch:
    """Usage events and outcomes for every UTC day starting in [day of `since`, `until`), every page."""
    batch = VendorBatch()
    for d in _days(since, until):
        params: Params = {"starting_at": d.isoformat(), "limit": PAGE_LIMIT}
        for item in collect(client, PATH, params, _page_items):
            (batch.events if isinstance(item, UsageEvent) else batch.outcomes).append(item)
    return batch
