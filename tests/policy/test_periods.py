"""Budget periods in an explicit timezone: ids, boundaries (DST days included) and key TTLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tokenpulse.errors import ConfigError
from tokenpulse.policy import period_end, period_id, period_start, seconds_until_end

LA = "America/Los_Angeles"
KOLKATA = "Asia/Kolkata"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "tz", "day", "month"),
    [
        # Los Angeles is UTC-8 in December: the month turns at 08:00 UTC.
        (utc(2026, 12, 1, 7, 59, 59), LA, "2026-11-30", "2026-11"),
        (utc(2026, 12, 1, 8, 0, 0), LA, "2026-12-01", "2026-12"),
        # Kolkata is UTC+5:30: the year turns at 18:30 UTC on 31 December.
        (utc(2026, 12, 31, 18, 29, 59), KOLKATA, "2026-12-31", "2026-12"),
        (utc(2026, 12, 31, 18, 30, 0), KOLKATA, "2027-01-01", "2027-01"),
        (utc(2026, 12, 31, 18, 30, 0), "UTC", "2026-12-31", "2026-12"),
    ],
)
def test_period_ids_follow_the_given_timezone(now: datetime, tz: str, day: str, month: str) -> None:
    assert period_id("day", now, tz) == day
    assert period_id("month", now, tz) == month


def test_the_offset_of_now_does_not_matter_only_the_instant() -> None:
    instant = utc(2026, 12, 1, 7, 30)
    tokyo = instant.astimezone(timezone(timedelta(hours=9)))
    assert period_id("day", tokyo, LA) == period_id("day", instant, LA) == "2026-11-30"
    assert period_end("day", tokyo, LA) == period_end("day", instant, LA) == utc(2026, 12, 1, 8)


def test_month_boundaries_in_los_angeles_cross_a_dst_change() -> None:
    # March 2026 starts in PST (UTC-8) and ends in PDT (UTC-7).
    now = utc(2026, 3, 15, 12)
    assert period_start("month", now, LA) == utc(2026, 3, 1, 8)
    assert period_end("month", now, LA) == utc(2026, 4, 1, 7)
    # December ends at midnight of 1 January, local time.
    assert period_start("month", utc(2026, 12, 4, 20), LA) == utc(2026, 12, 1, 8)
    assert period_end("month", utc(2026, 12, 4, 20), LA) == utc(2027, 1, 1, 8)
    assert period_end("month", utc(2026, 12, 31, 23), KOLKATA) == utc(2027, 1, 31, 18, 30)


def test_spring_forward_day_lasts_23_hours_and_fall_back_day_25() -> None:
    spring = utc(2026, 3, 8, 20)  # Sunday 8 March 2026, clocks go 02:00 -> 03:00 in Los Angeles
    assert period_id("day", spring, LA) == "2026-03-08"
    assert period_start("day", spring, LA) == utc(2026, 3, 8, 8)
    assert period_end("day", spring, LA) == utc(2026, 3, 9, 7)
    assert period_end("day", spring, LA) - period_start("day", spring, LA) == timedelta(hours=23)

    fall = utc(2026, 11, 1, 20)  # Sunday 1 November 2026, clocks go 02:00 -> 01:00
    assert period_start("day", fall, LA) == utc(2026, 11, 1, 7)
    assert period_end("day", fall, LA) == utc(2026, 11, 2, 8)
    assert period_end("day", fall, LA) - period_start("day", fall, LA) == timedelta(hours=25)
    # The repeated hour 01:00-02:00 belongs to the same day both times.
    assert period_id("day", utc(2026, 11, 1, 8, 30), LA) == period_id("day", utc(2026, 11, 1, 9, 30), LA)


def test_a_day_whose_midnight_does_not_exist_starts_when_the_clock_jumps() -> None:
    # America/Santiago starts DST at 24:00 on Saturday 5 September 2026: 00:00 on the 6th never shows.
    santiago = "America/Santiago"
    assert period_end("day", utc(2026, 9, 5, 12), santiago) == utc(2026, 9, 6, 4)
    assert period_start("day", utc(2026, 9, 6, 12), santiago) == utc(2026, 9, 6, 4)
    assert period_id("day", utc(2026, 9, 6, 3, 59, 59), santiago) == "2026-09-05"
    assert period_id("day", utc(2026, 9, 6, 4), santiago) == "2026-09-06"


@pytest.mark.parametrize("tz", [LA, KOLKATA, "America/Santiago", "Australia/Lord_Howe", "UTC"])
@pytest.mark.parametrize("kind", ["day", "month"])
def test_every_instant_lies_in_its_period(tz: str, kind: str) -> None:
    now = utc(2026, 1, 1)
    while now.year == 2026:
        start, end = period_start(kind, now, tz), period_end(kind, now, tz)
        assert start <= now < end
        assert period_id(kind, start, tz) == period_id(kind, now, tz)
        assert period_id(kind, end, tz) != period_id(kind, now, tz)
        assert period_id(kind, end - timedelta(microseconds=1), tz) == period_id(kind, now, tz)
        assert start.tzinfo is UTC and end.tzinfo is UTC
        now += timedelta(hours=7, minutes=13)


def test_seconds_until_end_rounds_up_and_is_never_zero() -> None:
    assert seconds_until_end("day", utc(2026, 12, 4, 20), LA) == 12 * 3600  # noon in Los Angeles
    assert seconds_until_end("day", utc(2026, 12, 4, 20, 0, 0, 500_000), LA) == 12 * 3600
    assert seconds_until_end("day", utc(2026, 12, 5, 7, 59, 59, 999_999), LA) == 1
    assert seconds_until_end("month", utc(2026, 12, 31, 8), LA) == 24 * 3600


def test_bad_inputs_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        period_id("day", datetime(2026, 12, 4, 12), LA)
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        period_id("day", utc(2026, 12, 4), "Mars/Olympus")
    with pytest.raises(ValueError, match="'week'"):
        period_id("week", utc(2026, 12, 4), LA)  # type: ignore[arg-type]
