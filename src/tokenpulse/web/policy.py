"""The org's policies as the dashboard shows and edits them: visibility, discount, expected-usage floors,
budgets and the circuit breaker.

The defaults come from tokenpulse.toml (`visibility` under `[dashboard]`, `discount`, `[insights]
expected_monthly_usd`, `[[gateway.budgets]]`, `[gateway.breaker]`); what an admin saves in the dashboard is
kept in the store (`org_settings`) and wins. Values keep the shape people write in the file (USD amounts,
minutes), and every change is checked by the same parsers the file goes through.
"""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..errors import ConfigError
from ..pricing import Discount
from .access import DEFAULT_VISIBILITY, VISIBILITY

NAMES = ("visibility", "discount", "expected_monthly_usd", "budgets", "breaker")


def file_defaults(settings: Settings) -> dict[str, Any]:
    tables = settings.tables
    gateway = tables.get("gateway", {})
    return {
        "visibility": tables.get("dashboard", {}).get("visibility", DEFAULT_VISIBILITY),
        "discount": _discount_text(settings.discount),
        "expected_monthly_usd": dict(tables.get("insights", {}).get("expected_monthly_usd", {})),
        "budgets": list(gateway.get("budgets", [])),
        "breaker": dict(gateway.get("breaker", {})),
    }


def _discount_text(discount: Discount) -> str:
    described = discount.describe()
    parts = [] if described["default"] == "0%" else [described["default"]]
    parts += [f"{p}={v}" for p, v in described.items() if p != "default"]
    return ",".join(parts)


def effective(defaults: dict[str, Any], saved: dict[str, Any]) -> dict[str, Any]:
    return {name: saved.get(name, defaults.get(name)) for name in NAMES}


def check(name: str, value: Any) -> Any:
    """The value to store for one policy, or ConfigError naming what is wrong."""
    from ..gateway.enforce import breaker_policy
    from ..gateway.settings import GatewaySettings, budget_rule, usd_to_micros

    if name == "visibility":
        if value not in VISIBILITY:
            raise ConfigError(f"visibility must be one of {', '.join(VISIBILITY)}, got {value!r}")
        return value
    if name == "discount":
        if not isinstance(value, str):
            raise ConfigError("discount must be text such as 15% or anthropic=10%,openai=5%")
        Discount.parse(value)
        return value.strip()
    if name == "expected_monthly_usd":
        if not isinstance(value, dict):
            raise ConfigError("expected_monthly_usd must map tools to USD amounts")
        for tool, amount in value.items():
            usd_to_micros(amount, f"expected_monthly_usd.{tool}")
        return {str(k): str(v) for k, v in value.items()}
    if name == "budgets":
        if not isinstance(value, list):
            raise ConfigError("budgets must be a list of rules")
        for number, rule in enumerate(value, start=1):
            budget_rule(rule, number)
        return value
    if name == "breaker":
        if not isinstance(value, dict):
            raise ConfigError("breaker must be a table of settings")
        breaker_policy(GatewaySettings(breaker=value))
        return value
    raise ConfigError(f"no policy {name!r}; policies: {', '.join(NAMES)}")
