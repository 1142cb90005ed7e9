"""Cursor members, usage events, spend and the spend limit, through the real client against the fake API."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fake_cursor import (
    CURSOR_KEY,
    EVENT_PAGES,
    EVENTS,
    LIMIT,
    MEMBERS,
    NOV1_MS,
    SPEND,
    SPEND_PAGES,
    FakeCursor,
)

from tokenpulse.events import UsageEvent
from tokenpulse.sources.vendors import VendorAuthError, VendorError, VendorPageError
from tokenpulse.sources.vendors.cursor import (
    MemberSpend,
    SpendLimit,
    _has_next,
    cursor_client,
    get_spend_limit,
    member_spend,
    members,
    provider_of,
    set_spend_limit,
    sync_cursor,
    usage_events,
)

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 4, tzinfo=UTC)
DAY_MS = 86_400_000
BASE_EXTRA = {"kind": "composer", "max_mode": False, "is_headless": False, "is_chargeable": True,
              "is_token_based_call": True, "requests_costs": "1"}


def event(id: str, hour: int, model: str, person: str, provider: str | None, *, input: int = 0, output: int = 0,
          read: int = 0, write: int = 0, micros: int | None, **extra: Any) -> UsageEvent:
    return UsageEvent(id=id, ts=datetime(2026, 11, 1, hour, tzinfo=UTC), tool="cursor", provider=provider,
                      model=model, person=person, input_tokens=input, output_tokens=output, cache_read_tokens=read,
                      cache_write_tokens=write, reported_cost_micros=micros, source="vendor_api",
                      confidence="billed", rank=input + output + read + write, extra={**BASE_EXTRA, **extra})


EXPECTED_EVENTS = [
    event("cursor:1793494800000:dev@company.com:claude-4-sonnet-thinking:composer:e21e418bbeec2943", 1,
          "claude-4-sonnet-thinking", "dev@company.com", "anthropic", input=12000, output=800, read=9000,
          write=3000, micros=140_000, charged_cents="14", token_cents="14", discount_percent_off="0",
          cursor_token_fee="0"),
    # Same millisecond, person and model: another request, told apart by its tokens; 0.0123¢ = 123 µ$.
    event("cursor:1793494800000:dev@company.com:claude-4-sonnet-thinking:composer:304637bd769b9f6e", 1,
          "claude-4-sonnet-thinking", "dev@company.com", "anthropic", input=10, output=5, micros=123,
          charged_cents="0.0123", token_cents="0.0123", discount_percent_off="0", cursor_token_fee="0"),
    # Charged 0.25¢ (not the tokens' 0.37¢).
    event("cursor:1793498400000:ana@company.com:gpt-5:composer:92648f5b55b186f8", 2, "gpt-5", "ana@company.com",
          "openai", input=400, output=100, read=1600, micros=2_500, max_mode=True, charged_cents="0.25",
          token_cents="0.37", discount_percent_off="0", cursor_token_fee="0.05"),
    # Older shape: only `tokenUsage.totalCents` ("3.5").
    event("cursor:1793502000000:ana@company.com:auto:composer:30cd73c7443a1864", 3, "auto", "ana@company.com",
          None, input=50, output=20, micros=35_000, token_cents="3.5"),
    # Named by user id 103 only: bo, from the members list.
    event("cursor:1793505600000:bo@company.com:gemini-2.5-pro:composer:4044f7838abc2101", 4, "gemini-2.5-pro",
          "bo@company.com", "google", input=7, output=3, micros=0, user_id="103", is_chargeable=False,
          charged_cents="0"),
    # Legacy `usageBasedCosts: "$0.04"`, no tokens.
    event("cursor:1793509200000:bo@company.com:composer-1:composer:eeffbc3e7965a4bc", 5, "composer-1",
          "bo@company.com", None, micros=40_000, is_token_based_call=False, usage_based_costs="$0.04"),
]

EXPECTED_MEMBERS = [("dev@company.com", "101"), ("ana@company.com", "102"), ("bo@company.com", "103")]

NOV1 = datetime(2026, 11, 1, tzinfo=UTC)
EXPECTED_SPEND = [
    MemberSpend(id="cursor-spend:2026-11-01:dev@company.com", person="dev@company.com", user_id="101",
                cycle_start=NOV1, total_micros=20_005_000, overage_micros=3_502_500, fast_premium_requests=150,
                monthly_limit_dollars=Decimal(100), hard_limit_override_dollars=Decimal(0),
                effective_limit_dollars=Decimal(100)),
    MemberSpend(id="cursor-spend:2026-11-01:ana@company.com", person="ana@company.com", user_id="102",
                cycle_start=NOV1, total_micros=25_000_000, overage_micros=5_000_000, fast_premium_requests=12),
    MemberSpend(id="cursor-spend:2026-11-01:bo@company.com", person="bo@company.com", user_id="103",
                cycle_start=NOV1, total_micros=1_000_000, overage_micros=None, fast_premium_requests=0),
]


@pytest.fixture
def client(cursor: FakeCursor, sleeps: list[float]):
    return cursor_client(CURSOR_KEY, cursor.url, sleep=sleeps.append)


def test_sync_reads_every_page_and_maps_them_exactly(client, cursor: FakeCursor, sleeps: list[float]) -> None:
    result = sync_cursor(client, SINCE, UNTIL)
    assert result.events == EXPECTED_EVENTS  # the event at 2026-11-04T00:00Z (= until) is left out
    assert result.members == EXPECTED_MEMBERS
    assert result.spend == EXPECTED_SPEND
    assert sleeps == []
    window = {"startDate": NOV1_MS, "endDate": NOV1_MS + 3 * DAY_MS}
    assert cursor.bodies(EVENTS) == [{**window, "page": n, "pageSize": 1000} for n in (1, 2, 3)]
    assert cursor.bodies(SPEND) == [{"page": n, "pageSize": 100} for n in (1, 2)]
    assert [(m, p) for m, p, _, _ in cursor.requests][0] == ("GET", MEMBERS)
    headers = cursor.requests[0][3]
    assert headers["authorization"] == "Basic a2V5X2Zha2UwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjo="
    assert cursor.requests[1][3]["content-type"] == "application/json"


def test_429_and_500_are_retried_honouring_retry_after(client, cursor: FakeCursor, sleeps: list[float]) -> None:
    cursor.fail(EVENTS, 2, "429", times=2)
    cursor.fail(SPEND, 1, "500")
    result = sync_cursor(client, SINCE, UNTIL)
    assert (result.events, result.spend) == (EXPECTED_EVENTS, EXPECTED_SPEND)
    assert sleeps == [2.0, 2.0, 1.0]  # Retry-After: 2 for each 429; backoff for the 500
    assert [b["page"] for b in cursor.bodies(EVENTS)] == [1, 2, 2, 2, 3]


@pytest.mark.parametrize(("kind", "why"), [("malformed", "not JSON"), ("no_items", "no `usageEvents` list")])
def test_a_malformed_page_names_the_path_and_page(client, cursor: FakeCursor, kind: str, why: str) -> None:
    cursor.fail(EVENTS, 3, kind)
    with pytest.raises(VendorPageError) as caught:
        sync_cursor(client, SINCE, UNTIL)
    assert str(caught.value) == f"Cursor returned a malformed page 3 for {EVENTS}: {why}"


def test_an_event_in_a_bad_shape_is_a_malformed_page(client, cursor: FakeCursor) -> None:
    cursor.event_pages = [{"usageEvents": [{"timestamp": "yesterday"}], "pagination": {"hasNextPage": False}}]
    with pytest.raises(VendorPageError) as caught:
        sync_cursor(client, SINCE, UNTIL)
    assert str(caught.value) == (f"Cursor returned a malformed page 1 for {EVENTS}: "
                                 "`timestamp` 'yesterday' is not epoch milliseconds")


def test_a_bad_key_gives_a_clear_error_without_the_key(cursor: FakeCursor, sleeps: list[float]) -> None:
    bad = "key_revoked9876543210"
    client = cursor_client(bad, cursor.url, sleep=sleeps.append)
    with pytest.raises(VendorAuthError) as caught:
        sync_cursor(client, SINCE, UNTIL)
    message = str(caught.value)
    assert message.startswith("Cursor refused the admin key (HTTP 401): the admin key is invalid or expired")
    assert bad not in message and bad not in repr(client)
    assert sleeps == [] and len(cursor.requests) == 1


def test_syncing_twice_into_the_store_adds_nothing(client, store) -> None:
    first = store.write_batch(sync_cursor(client, SINCE, UNTIL).events)
    assert (first.new, first.updated, first.unchanged) == (6, 0, 0)
    second = store.write_batch(sync_cursor(client, SINCE, UNTIL).events)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 6)
    assert store.counts()["events"] == 6
    stored = {e.id: (e.person, e.input_tokens, e.cache_read_tokens, e.cache_write_tokens, e.output_tokens,
                     e.reported_cost_micros, e.source, e.confidence) for e in store.iter_usage()}
    assert stored == {e.id: (e.person, e.input_tokens, e.cache_read_tokens, e.cache_write_tokens, e.output_tokens,
                             e.reported_cost_micros, "vendor_api", "billed") for e in EXPECTED_EVENTS}


def test_a_long_range_is_read_in_windows_of_at_most_30_days(client, cursor: FakeCursor) -> None:
    until = datetime(2026, 12, 16, tzinfo=UTC)
    result = sync_cursor(client, SINCE, until)
    # The fake answers both windows with the same pages: each window keeps only its own events.
    assert len(result.events) == 7 and len({e.id for e in result.events}) == 7
    assert result.events[-1].ts == datetime(2026, 11, 4, tzinfo=UTC)
    dec1 = NOV1_MS + 30 * DAY_MS
    assert [(b["startDate"], b["endDate"], b["page"]) for b in cursor.bodies(EVENTS)] == [
        (NOV1_MS, dec1, 1), (NOV1_MS, dec1, 2), (NOV1_MS, dec1, 3),
        (dec1, NOV1_MS + 45 * DAY_MS, 1), (dec1, NOV1_MS + 45 * DAY_MS, 2), (dec1, NOV1_MS + 45 * DAY_MS, 3)]


def test_the_spend_limit_is_set_read_back_and_restored(client, cursor: FakeCursor) -> None:
    before = get_spend_limit(client, "dev@company.com")
    assert before == SpendLimit(email="dev@company.com", hard_limit_dollars=Decimal(0),
                                monthly_limit_dollars=Decimal(100), effective_limit_dollars=Decimal(100))
    answer = set_spend_limit(client, "Dev@Company.com", Decimal("12.50"))
    assert answer["outcome"] == "success"
    assert cursor.bodies(LIMIT) == [{"email": "dev@company.com", "hardLimitDollars": Decimal("12.50")}]
    assert cursor.bodies(SPEND)[0] == {"searchTerm": "dev@company.com", "page": 1, "pageSize": 100}
    after = get_spend_limit(client, "dev@company.com")
    assert after is not None and after.hard_limit_dollars == Decimal("12.50")
    set_spend_limit(client, "dev@company.com", before.hard_limit_dollars)  # restore on re-enable
    restored = get_spend_limit(client, "dev@company.com")
    assert restored == before
    assert get_spend_limit(client, "nobody@company.com") is None


def test_a_refused_spend_limit_is_an_error(client, cursor: FakeCursor) -> None:
    with pytest.raises(VendorError) as caught:
        set_spend_limit(client, "nobody@company.com", 5)
    assert str(caught.value) == (f"Cursor answered HTTP 404 for {LIMIT} (page 1): "
                                 "User nobody@company.com not found in team")
    with pytest.raises(ValueError):
        set_spend_limit(client, "dev@company.com", Decimal(-1))
    assert cursor.limits == {}


def test_the_mappings_are_pure_functions_of_a_page() -> None:
    emails = {"103": "bo@company.com"}
    mapped = [e for p in EVENT_PAGES for e in usage_events(_wire(p), emails=emails)]
    assert mapped[:6] == EXPECTED_EVENTS and len(mapped) == 7
    assert members({"teamMembers": [{"email": " Dev@Company.com ", "id": 101}, {"email": "x@y.z"}]}) == [
        ("dev@company.com", "101"), ("x@y.z", None)]
    assert [s for p in SPEND_PAGES for s in member_spend(_wire(p))] == EXPECTED_SPEND


def test_an_exact_repeat_within_a_page_gets_its_own_id() -> None:
    one = {"timestamp": 1, "userEmail": "a@b.c", "model": "gpt-5", "kind": "chat",
           "tokenUsage": {"inputTokens": 1, "outputTokens": 1}, "chargedCents": 1}
    ids = [e.id for e in usage_events({"usageEvents": [one, one, {**one, "requestId": "r-9"}]})]
    assert ids[1] == ids[0] + "~2"
    assert ids[2] == "cursor:1:a@b.c:gpt-5:req=r-9"


def test_pagination_signals() -> None:
    assert _has_next({"pagination": {"hasNextPage": False}, "totalPages": 9}, 1, 10, 10) is False
    assert _has_next({"pagination": {"numPages": 2}}, 1, 10, 10) is True
    assert _has_next({"totalPages": 2}, 2, 10, 10) is False
    assert _has_next({"totalUsageEventsCount": 25}, 2, 10, 10) is True
    assert _has_next({"totalUsageEventsCount": 20}, 2, 10, 10) is False
    assert _has_next({}, 1, 10, 10) is True and _has_next({}, 1, 10, 9) is False


def test_more_pages_promised_by_an_empty_page_is_malformed(client, cursor: FakeCursor) -> None:
    cursor.event_pages = [{"usageEvents": [], "pagination": {"hasNextPage": True}}]
    with pytest.raises(VendorPageError) as caught:
        sync_cursor(client, SINCE, UNTIL)
    assert "malformed page 1" in str(caught.value) and "lists no `usageEvents`" in str(caught.value)


@pytest.mark.parametrize(("model", "provider"), [
    ("claude-4-sonnet-thinking", "anthropic"), ("claude-4.5-opus-high-thinking", "anthropic"), ("gpt-5", "openai"),
    ("gpt-5-codex", "openai"), ("o3", "openai"), ("o4-mini", "openai"), ("gemini-2.5-pro", "google"),
    ("grok-code-fast-1", "xai"), ("deepseek-v3.1", "deepseek"), ("auto", None), ("default", None),
    ("composer-1", None), ("cursor-small", None), ("code-supernova-1-million", None), (None, None),
])
def test_the_provider_only_when_the_model_name_makes_it_obvious(model: str | None, provider: str | None) -> None:
    assert provider_of(model) == provider


def _wire(page: dict[str, Any]) -> dict[str, Any]:
    """A page as the client decodes it (JSON numbers with a fraction as Decimal)."""
    import msgspec

    raw = msgspec.json.Encoder(decimal_format="number").encode(page)
    return msgspec.json.Decoder(float_hook=Decimal).decode(raw)
