"""Month-end spend forecasts per person, team and the whole organisation, with an interval.

The forecast is what is spent so far this month plus, for each day left, the mean daily spend of the
recent past (`LOOKBACK_DAYS`, today excluded: it is not over). Weekdays and weekend days are averaged
apart, since most spend happens on working days. The interval comes from how much those daily figures
vary: the sum of n independent days varies by about sqrt(n) standard deviations, so the 90 % interval is
the forecast ± 1.645 × sd × sqrt(days left), never below what is already spent. This is honest about
what it is: a run-rate with its noise, not a model of anyone's plans.

Money stays integer micro-USD; the spread is worked out in floats and rounded once. The effective
figures apply the organisation's discount per provider; the list figures answer "what would this cost
without the discount?".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ..money import micros_to_decimal_usd
from ..pricing import Discount

LOOKBACK_DAYS = 28
Z90 = 1.645


@dataclass
class Forecast:
    key: str | None
    spent_micros: int
    """List cost so far this month (today included)."""
    forecast_micros: int
    low_micros: int
    high_micros: int
    effective_spent_micros: int
    effective_forecast_micros: int
    days_left: int
    by_provider: dict[str | None, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        usd = micros_to_decimal_usd
        return {"key": self.key, "spent_usd": usd(self.spent_micros), "forecast_usd": usd(self.forecast_micros),
                "interval_90_usd": [usd(self.low_micros), usd(self.high_micros)],
                "effective_spent_usd": usd(self.effective_spent_micros),
                "effective_forecast_usd": usd(self.effective_forecast_micros), "days_left": self.days_left}


def _month_end(today: date) -> date:
    first_next = date(today.year + 1, 1, 1) if today.month == 12 else date(today.year, today.month + 1, 1)
    return first_next - timedelta(days=1)


def forecast(daily: Mapping[date, Mapping[str | None, int]], today: date, discount: Discount,
             key: str | None = None) -> Forecast:
    """One forecast from daily list spend by provider (`daily[day][provider]`, days up to `today`)."""
    month_start = today.replace(day=1)
    spent_by_provider: dict[str | None, int] = {}
    for day, providers in daily.items():
        if month_start <= day <= today:
            for provider, micros in providers.items():
                spent_by_provider[provider] = spent_by_provider.get(provider, 0) + micros
    spent = sum(spent_by_provider.values())

    history = [today - timedelta(days=i) for i in range(1, LOOKBACK_DAYS + 1)]
    weekday = [sum(daily.get(d, {}).values()) for d in history if d.weekday() < 5]
    weekend = [sum(daily.get(d, {}).values()) for d in history if d.weekday() >= 5]
    left = [today + timedelta(days=i) for i in range(1, (_month_end(today) - today).days + 1)]
    expected = 0.0
    variance = 0.0
    for sample, days in ((weekday, [d for d in left if d.weekday() < 5]), (weekend, [d for d in left if d.weekday() >= 5])):
        if not sample or not days:
            continue
        mean = sum(sample) / len(sample)
        var = sum((x - mean) ** 2 for x in sample) / (len(sample) - 1) if len(sample) > 1 else mean ** 2
        expected += mean * len(days)
        variance += var * len(days)
    spread = Z90 * math.sqrt(variance)
    forecast_micros = spent + round(expected)
    # The rest of the month is split over providers as spend so far is (the discount is per provider).
    ratio = (forecast_micros / spent) if spent else 1.0
    effective_spent = discount.effective_total(spent_by_provider)
    effective_forecast = round(effective_spent * ratio) if spent else round(expected * (1 - float(discount.rate(None))))
    return Forecast(key=key, spent_micros=spent, forecast_micros=forecast_micros,
                    low_micros=max(spent, forecast_micros - round(spread)), high_micros=forecast_micros + round(spread),
                    effective_spent_micros=effective_spent, effective_forecast_micros=effective_forecast,
                    days_left=len(left), by_provider=spent_by_provider)


def forecasts_from_store(store: Any, by: str, today: date, tz: str, discount: Discount) -> list[Forecast]:
    """Forecasts per person, team or for the whole org ("org"), from the store's daily summaries."""
    from ..reports import local_bounds
    from ..store import UsageQuery

    if by not in ("person", "team", "org"):
        raise ValueError(f"forecasts are by person, team or org, not {by!r}")
    first = min(today.replace(day=1), today - timedelta(days=LOOKBACK_DAYS))
    teams = {p.person: p.team for p in store.people()} if by == "team" else {}
    daily: dict[str | None, dict[date, dict[str | None, int]]] = {}
    day = first
    while day <= today:
        since, until = local_bounds(tz, day, day)
        for row in store.usage_rows(UsageQuery(group="person", tz=tz, since=since, until=until)):
            person = None if row.key is None else str(row.key)
            key = "org" if by == "org" else teams.get(person) if by == "team" and person else person
            providers = daily.setdefault(key, {}).setdefault(day, {})
            providers[row.provider] = providers.get(row.provider, 0) + row.cost_micros
        day += timedelta(days=1)
    results = [forecast(days, today, discount, key) for key, days in daily.items()]
    return sorted(results, key=lambda f: (-f.forecast_micros, str(f.key)))
