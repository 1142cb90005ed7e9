"""Month-end forecasts: exact on a steady run-rate, an interval that widens with noise, the discount."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cli_helpers import as_json, ok
from tokenpulse.events import UsageEvent
from tokenpulse.insights.forecast import forecast, forecasts_from_store
from tokenpulse.people import Person
from tokenpulse.pricing import Discount

TODAY = date(2026, 11, 18)  # a Wednesday; November 2026 starts on a Sunday


def steady(amounts: dict[int, int]) -> dict[date, dict[str | None, int]]:
    """Weekday spend of the last 60 days: `amounts[i % len]` micro-USD on the i-th weekday; weekends nothing."""
    daily, i = {}, 0
    for back in range(60, -1, -1):
        day = TODAY - timedelta(days=back)
        if day.weekday() < 5:
            daily[day] = {"anthropic": amounts[i % len(amounts)]}
            i += 1
    return daily


def test_a_steady_run_rate_forecasts_exactly_with_no_spread() -> None:
    f = forecast(steady({0: 10_000_000}), TODAY, Discount.parse("20%"))
    # Spent: 13 weekdays (2-6, 9-13, 16-18 November) at $10; left: 19, 20, 23-27 and 30 November, 8 weekdays.
    assert (f.spent_micros, f.forecast_micros, f.low_micros, f.high_micros, f.days_left) == (
        130_000_000, 210_000_000, 210_000_000, 210_000_000, 12)
    assert (f.effective_spent_micros, f.effective_forecast_micros) == (104_000_000, 168_000_000)


def test_the_interval_widens_with_day_to_day_noise_and_never_drops_below_what_is_spent() -> None:
    f = forecast(steady({0: 0, 1: 20_000_000}), TODAY, Discount())
    assert f.low_micros < f.forecast_micros < f.high_micros
    assert f.high_micros - f.forecast_micros == f.forecast_micros - f.low_micros  # symmetric when not clipped
    assert f.low_micros >= f.spent_micros
    early = forecast(steady({0: 0, 1: 20_000_000}), date(2026, 11, 4), Discount())  # more days to come: wider
    assert early.high_micros - early.forecast_micros > f.high_micros - f.forecast_micros
    assert early.low_micros >= early.spent_micros


def test_forecasts_per_person_team_and_org_from_the_store(store, book) -> None:
    events = []
    for back in range(30):
        day = datetime(2026, 11, 18, 12, tzinfo=UTC) - timedelta(days=back)
        if day.weekday() >= 5:
            continue
        for person, output in (("ana@example.com", 100_000), ("bo@example.com", 20_000)):
            e = UsageEvent(id=f"{person}-{back}", ts=day, tool="claude_code", person=person, model="claude-sonnet-4-5",
                           output_tokens=output)  # $1.50 and $0.30 a weekday
            book.price(e)
            events.append(e)
    store.write_batch(events)
    store.save_people([Person("ana@example.com", team="core"), Person("bo@example.com", team="core")])
    people = {f.key: (f.spent_micros, f.forecast_micros) for f in forecasts_from_store(store, "person", TODAY, "UTC",
                                                                                     Discount())}
    assert people == {"ana@example.com": (13 * 1_500_000, 21 * 1_500_000),
                      "bo@example.com": (13 * 300_000, 21 * 300_000)}
    [team] = forecasts_from_store(store, "team", TODAY, "UTC", Discount())
    [org] = forecasts_from_store(store, "org", TODAY, "UTC", Discount())
    assert (team.key, team.forecast_micros) == ("core", 21 * 1_800_000)
    assert (org.key, org.forecast_micros) == ("org", 21 * 1_800_000)


def test_the_command_prints_a_stable_json_shape() -> None:
    data = as_json(ok("forecast", "--by", "team", "--today", "2026-11-18", "--tz", "UTC", "--no-import", "--json",
                      "--discount", "10%"))
    assert data == {"by": "team", "today": "2026-11-18", "timezone": "UTC", "discount": {"default": "10%"},
                    "forecasts": []}
