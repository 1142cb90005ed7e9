"""The Claude Code usage report, mapped as pure functions and synced through the real client against a fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fake_claude_code import CLAUDE_CODE_KEY, PAGES, PATH, FakeClaudeCode, api, model, record, running, user

from tokenpulse.events import OutcomeEvent, UsageEvent
from tokenpulse.sources.vendors import VendorAuthError, VendorDataError, VendorPageError, anthropic_client
from tokenpulse.sources.vendors.claude_code import (
    PAGE_LIMIT,
    TOOL,
    identities,
    report_records,
    sync_claude_code,
)

SINCE = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # mid-day: its whole day is read
UNTIL = datetime(2026, 11, 4, tzinfo=UTC)  # a day's start: that day is not read

DEV = {"actor_type": "user_actor", "email": "dev@company.com"}
ANA = {"actor_type": "user_actor", "email": "ana@company.com"}
BOT = {"actor_type": "api_actor", "api_key_name": "ci-bot"}


def day(d: int) -> datetime:
    return datetime(2026, 11, d, tzinfo=UTC)


def usage(id: str, d: int, model: str, who: dict[str, str], terminal: str | None, customer: str, *, input: int,
          output: int, read: int, write: int, cents: str, micros: int) -> UsageEvent:
    return UsageEvent(
        id=id, ts=day(d), tool="claude_code", provider="anthropic", model=model, person=None, input_tokens=input,
        output_tokens=output, cache_read_tokens=read, cache_write_tokens=write, reported_cost_micros=micros,
        source="vendor_api", confidence="metered", rank=input + output + read + write,
        extra={**who, "terminal_type": terminal, "customer_type": customer, "estimated_cost_cents": cents},
    )


def outcomes(prefix: str, d: int, who: dict[str, str], terminal: str | None, customer: str, sessions: int,
             actions: dict[str, dict[str, int]], **counts: int) -> list[OutcomeEvent]:
    extra = {**who, "terminal_type": terminal, "customer_type": customer, "num_sessions": sessions,
             "tool_actions": actions}
    return [OutcomeEvent(id=f"{prefix}:{kind}", ts=day(d), type=kind, count=n, person=None, tool="claude_code",
                         source="vendor_api", extra=extra) for kind, n in counts.items()]


EXPECTED_EVENTS = [
    usage("claude-code:2026-11-01:user:dev@company.com:vscode:claude-opus-4-6", 1, "claude-opus-4-6", DEV,
          "vscode", "api", input=100000, output=35000, read=10000, write=5000, cents="141", micros=1_410_000),
    usage("claude-code:2026-11-01:user:dev@company.com:iTerm.app:claude-sonnet-4-5", 1, "claude-sonnet-4-5", DEV,
          "iTerm.app", "subscription", input=2000, output=500, read=0, write=0, cents="2.5", micros=25_000),
    usage("claude-code:2026-11-01:api:ci-bot:-:claude-sonnet-4-5", 1, "claude-sonnet-4-5", BOT, None, "api",
          input=50000, output=8000, read=40000, write=1200, cents="12.34565", micros=123_456),
]

EXPECTED_OUTCOMES = [
    *outcomes("claude-code:2026-11-01:user:dev@company.com:vscode", 1, DEV, "vscode", "api", 5,
              {"edit_tool": {"accepted": 45, "rejected": 5}, "multi_edit_tool": {"accepted": 1, "rejected": 0},
               "write_tool": {"accepted": 3, "rejected": 1}, "notebook_edit_tool": {"accepted": 0, "rejected": 0}},
              commit=12, pull_request=2, lines_added=1543, lines_removed=892, edit_accepted=49, edit_rejected=6),
    *outcomes("claude-code:2026-11-01:user:dev@company.com:iTerm.app", 1, DEV, "iTerm.app", "subscription", 1, {},
              lines_added=10),
    *outcomes("claude-code:2026-11-01:api:ci-bot:-", 1, BOT, None, "api", 3,
              {"edit_tool": {"accepted": 7, "rejected": 0}},
              commit=1, lines_added=200, lines_removed=50, edit_accepted=7),
    *outcomes("claude-code:2026-11-03:user:ana@company.com:vscode", 3, ANA, "vscode", "subscription", 2,
              {"edit_tool": {"accepted": 3, "rejected": 2}}, lines_added=40, edit_accepted=3, edit_rejected=2),
]


@pytest.fixture
def fake() -> Iterator[FakeClaudeCode]:
    with running() as f:
        yield f


@pytest.fixture
def client(fake: FakeClaudeCode, sleeps: list[float]):
    return anthropic_client(CLAUDE_CODE_KEY, fake.url, sleep=sleeps.append)


# --- the pure mapping ----------------------------------------------------------------------------------


def test_the_mapping_is_a_pure_function_of_a_page() -> None:
    pages = [p for day_pages in PAGES.values() for p in day_pages]
    assert [e for p in pages for e in report_records(p)[0]] == EXPECTED_EVENTS
    assert [o for p in pages for o in report_records(p)[1]] == EXPECTED_OUTCOMES


def test_missing_and_null_parts_are_fine() -> None:
    page = {"data": [
        {"date": "2026-11-05T00:00:00Z", "actor": user("x@y.z")},
        record("2026-11-05", api("k"), "vscode", "api", core_metrics={"num_sessions": None, "lines_of_code": None},
               tool_actions=None, model_breakdown=[{"model": "claude-opus-4-6", "tokens": {"output": 3}}]),
    ]}
    events, outs = report_records(page)
    assert outs == []
    assert [(e.id, e.output_tokens, e.reported_cost_micros, e.rank) for e in events] == [
        ("claude-code:2026-11-05:api:k:vscode:claude-opus-4-6", 3, None, 3)]


@pytest.mark.parametrize(("change", "message"), [
    ({"actor": {"type": "group_actor", "name": "x"}}, "`data[0].actor.type`: invalid value 'group_actor'"),
    ({"actor": {"email_address": "x@y.z"}}, "`data[0].actor.type` is required"),
    ({"actor": {"type": "api_actor"}}, "`data[0].actor.api_key_name` is required"),
    ({"core_metrics": {"num_sessions": "five"}}, "`data[0].core_metrics.num_sessions`: expected `int | null`, got `str`"),
    ({"tool_actions": [{"accepted": 1}]}, "`data[0].tool_actions`: expected `object | null`, got `array`"),
    ({"model_breakdown": [{"model": "m", "tokens": {"input": -1}}]},
     "`data[0].model_breakdown[0].tokens.input`: expected `int` >= 0"),
    ({"model_breakdown": [{**model("m", 1, 0, 0, 0, 5), "estimated_cost": {"currency": "EUR", "amount": 5}}]},
     "`data[0].model_breakdown[0].estimated_cost.currency`: 'EUR' is not USD"),
    ({"date": "yesterday"}, "`data[0].date`: invalid RFC3339 encoded datetime"),
])
def test_a_wrong_shape_names_the_field(change: dict[str, Any], message: str) -> None:
    page = {"data": [{**record("2026-11-05", user("x@y.z"), "vscode", "api"), **change}]}
    with pytest.raises(VendorDataError) as caught:
        report_records(page)
    assert str(caught.value) == message


def test_identities_name_the_user_or_the_key() -> None:
    assert [identities(e) for e in EXPECTED_EVENTS] == [["dev@company.com"], ["dev@company.com"],
                                                          ["anthropic-key-name:ci-bot"]]
    assert identities(EXPECTED_OUTCOMES[-1]) == ["ana@company.com"]
    assert identities(UsageEvent(id="x", ts=day(1), tool=TOOL)) == []


def test_a_day_still_filling_is_replaced_by_its_fuller_copy(store) -> None:
    page = {"data": [record("2026-11-06", user("a@b.c"), "vscode", "api",
                            model_breakdown=[model("claude-opus-4-6", 100, 10, 0, 0, 1)])]}
    store.write_batch(report_records(page)[0])
    page["data"][0]["model_breakdown"][0]["tokens"]["output"] = 30
    later = store.write_batch(report_records(page)[0])
    assert (later.new, later.updated) == (0, 1)
    assert [e.output_tokens for e in store.iter_usage()] == [30]


# --- through the client --------------------------------------------------------------------------------


def test_sync_reads_every_page_of_every_day_and_maps_them_exactly(client, fake: FakeClaudeCode,
                                                                  sleeps: list[float]) -> None:
    batch = sync_claude_code(client, SINCE, UNTIL)
    assert batch.events == EXPECTED_EVENTS
    assert batch.outcomes == EXPECTED_OUTCOMES
    assert batch.costs == [] and sleeps == []
    assert [q for q, _ in fake.requests] == [
        [("starting_at", "2026-11-01"), ("limit", str(PAGE_LIMIT))],
        [("starting_at", "2026-11-01"), ("limit", "1000"), ("page", "cc_2026-11-01_1")],
        [("starting_at", "2026-11-02"), ("limit", "1000")],
        [("starting_at", "2026-11-03"), ("limit", "1000")],
    ]
    headers = fake.requests[0][1]
    assert headers["x-api-key"] == CLAUDE_CODE_KEY and headers["anthropic-version"] == "2023-06-01"


@pytest.mark.parametrize(("since", "until", "days"), [
    (day(1), day(3), ["2026-11-01", "2026-11-02"]),
    (day(2).replace(hour=23, minute=59), day(3).replace(second=1), ["2026-11-02", "2026-11-03"]),
    (datetime(2026, 11, 2, 1, tzinfo=timezone(timedelta(hours=5))), day(2), ["2026-11-01"]),  # 11-01 20:00Z
    (day(3), day(1), []),
])
def test_the_requests_ask_exactly_the_days_expected(client, fake: FakeClaudeCode, since: datetime,
                                                    until: datetime, days: list[str]) -> None:
    sync_claude_code(client, since, until)
    assert fake.days_asked() == days


def test_429_and_500_are_retried_honouring_retry_after(client, fake: FakeClaudeCode, sleeps: list[float]) -> None:
    fake.fail("2026-11-01", 2, "429")
    fake.fail("2026-11-03", 1, "500")
    batch = sync_claude_code(client, SINCE, UNTIL)
    assert (batch.events, batch.outcomes) == (EXPECTED_EVENTS, EXPECTED_OUTCOMES)
    assert sleeps == [2.0, 1.0]  # Retry-After: 2; then the first backoff step (no Retry-After on the 500)
    assert len(fake.requests) == 6


def test_a_page_that_is_not_json_names_the_path_and_page(client, fake: FakeClaudeCode) -> None:
    fake.fail("2026-11-01", 2, "malformed")
    with pytest.raises(VendorPageError) as caught:
        sync_claude_code(client, SINCE, UNTIL)
    assert str(caught.value) == f"Anthropic returned a malformed page 2 for {PATH}: not JSON"
    assert (caught.value.path, caught.value.page) == (PATH, 2)


def test_a_page_with_a_wrong_typed_field_names_the_path_page_and_field(client, fake: FakeClaudeCode) -> None:
    bad = record("2026-11-01", api("ci-bot"), None, "api", core_metrics={"num_sessions": "three"})
    fake.pages["2026-11-01"] = [PAGES["2026-11-01"][0], {"data": [bad]}]
    with pytest.raises(VendorPageError) as caught:
        sync_claude_code(client, SINCE, UNTIL)
    assert str(caught.value) == (f"Anthropic returned a malformed page 2 for {PATH}: "
                                 "`data[0].core_metrics.num_sessions`: expected `int | null`, got `str`")
    assert (caught.value.path, caught.value.page) == (PATH, 2)


def test_an_expired_key_gives_a_clear_error_without_the_key(fake: FakeClaudeCode, sleeps: list[float]) -> None:
    expired = "sk-ant-admin01-expired-key-9876543210"
    client = anthropic_client(expired, fake.url, sleep=sleeps.append)
    with pytest.raises(VendorAuthError) as caught:
        sync_claude_code(client, SINCE, UNTIL)
    message = str(caught.value)
    assert message.startswith("Anthropic refused the admin key (HTTP 401): the admin key is invalid or expired")
    assert expired not in message and expired not in repr(caught.value) and expired not in repr(client)
    assert caught.value.status == 401 and sleeps == [] and len(fake.requests) == 1
