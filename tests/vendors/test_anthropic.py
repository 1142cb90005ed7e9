"""Anthropic usage and cost reports, synced through the real client against the fake admin API."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fake_ledgers import A_COST, A_USAGE, ANTHROPIC_KEY, FakeLedgers

from tokenpulse.errors import TokenpulseError
from tokenpulse.events import UsageEvent
from tokenpulse.sources.vendors import (
    VendorAuthError,
    VendorCost,
    VendorError,
    VendorPageError,
    anthropic_client,
)
from tokenpulse.sources.vendors.anthropic import cents_to_micros, cost_records, sync_anthropic, usage_events

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 5, tzinfo=UTC)


def day(d: int) -> datetime:
    return datetime(2026, 11, d, tzinfo=UTC)


def event(id: str, d: int, model: str, key: str | None, workspace: str | None, *, input: int = 0, read: int = 0,
          write: int = 0, write_1h: int = 0, output: int = 0, searches: int = 0, rank: int) -> UsageEvent:
    return UsageEvent(
        id=id, ts=day(d), tool="anthropic_api", provider="anthropic", model=model, person=None,
        input_tokens=input, output_tokens=output, cache_read_tokens=read, cache_write_tokens=write,
        cache_write_1h_tokens=write_1h, web_search_requests=searches, source="vendor_api",
        confidence="metered", rank=rank,
        extra={"bucket_end": f"2026-11-{d + 1:02d}T00:00:00.000Z", "api_key_id": key, "workspace_id": workspace},
    )


EXPECTED_EVENTS = [
    event("anthropic:2026-11-01T00:00:00.000Z:apikey_01A:wrkspc_01W:claude-opus-4-6", 1, "claude-opus-4-6",
          "apikey_01A", "wrkspc_01W", input=1500, read=200, write=1500, write_1h=1000, output=500, searches=10,
          rank=3710),
    event("anthropic:2026-11-01T00:00:00.000Z:-:-:claude-sonnet-4-5", 1, "claude-sonnet-4-5", None, None,
          input=40, output=7, rank=47),
    event("anthropic:2026-11-03T00:00:00.000Z:apikey_01A:wrkspc_01W:claude-sonnet-4-5", 3, "claude-sonnet-4-5",
          "apikey_01A", "wrkspc_01W", input=3000, read=120000, write=2000, output=900, rank=125900),
    event("anthropic:2026-11-04T00:00:00.000Z:apikey_01B:-:claude-opus-4-6", 4, "claude-opus-4-6",
          "apikey_01B", None, input=10, read=5, write=300, write_1h=300, output=20, searches=2, rank=337),
]

EXPECTED_COSTS = [
    VendorCost(id="anthropic-cost:2026-11-01:wrkspc_01W:Claude Opus 4.6 Usage - Input Tokens:tokens:"
                  "claude-opus-4-6:uncached_input_tokens:standard:0-200k:-",
               vendor="anthropic", day=date(2026, 11, 1), starting_at=day(1), ending_at=day(2),
               amount_micros=1_234_500, scope="wrkspc_01W", item="Claude Opus 4.6 Usage - Input Tokens",
               cost_type="tokens", model="claude-opus-4-6", token_type="uncached_input_tokens",
               service_tier="standard", context_window="0-200k"),
    VendorCost(id="anthropic-cost:2026-11-01:-:Claude Sonnet 4.5 Usage - Output Tokens:tokens:"
                  "claude-sonnet-4-5:output_tokens:standard:0-200k:-",
               vendor="anthropic", day=date(2026, 11, 1), starting_at=day(1), ending_at=day(2),
               amount_micros=1, scope=None, item="Claude Sonnet 4.5 Usage - Output Tokens", cost_type="tokens",
               model="claude-sonnet-4-5", token_type="output_tokens", service_tier="standard",
               context_window="0-200k"),
    VendorCost(id="anthropic-cost:2026-11-03:wrkspc_01W:Web Search:web_search:-:-:-:-:-",
               vendor="anthropic", day=date(2026, 11, 3), starting_at=day(3), ending_at=day(4),
               amount_micros=10_000_000, scope="wrkspc_01W", item="Web Search", cost_type="web_search"),
]


@pytest.fixture
def client(ledgers: FakeLedgers, sleeps: list[float]):
    return anthropic_client(ANTHROPIC_KEY, ledgers.url, sleep=sleeps.append)


def test_sync_reads_every_page_of_both_reports_and_maps_them_exactly(client, ledgers: FakeLedgers,
                                                                     sleeps: list[float]) -> None:
    events, costs = sync_anthropic(client, SINCE, UNTIL)
    assert events == EXPECTED_EVENTS
    assert costs == EXPECTED_COSTS
    assert sleeps == []
    # Every page was asked for once, with the cursor the previous page handed back.
    assert ledgers.pages_served(A_USAGE) == [None, "page_0001", "page_0002"]
    assert ledgers.pages_served(A_COST) == [None, "page_0001"]
    path, query, headers = ledgers.requests[0]
    assert path == A_USAGE
    assert query == [("starting_at", "2026-11-01T00:00:00Z"), ("ending_at", "2026-11-05T00:00:00Z"),
                     ("bucket_width", "1d"), ("limit", "31"), ("group_by[]", "api_key_id"),
                     ("group_by[]", "workspace_id"), ("group_by[]", "model")]
    assert headers["x-api-key"] == ANTHROPIC_KEY
    assert headers["anthropic-version"] == "2023-06-01"
    assert dict(ledgers.requests[3][1])["bucket_width"] == "1d"


def test_429_and_500_are_retried_honouring_retry_after(client, ledgers: FakeLedgers, sleeps: list[float]) -> None:
    ledgers.fail(A_USAGE, 2, "429")
    ledgers.fail(A_COST, 1, "500")
    events, costs = sync_anthropic(client, SINCE, UNTIL)
    assert (events, costs) == (EXPECTED_EVENTS, EXPECTED_COSTS)
    assert sleeps == [2.0, 1.0]  # Retry-After: 2; then the first backoff step (no Retry-After on the 500)
    assert ledgers.pages_served(A_USAGE) == [None, "page_0001", "page_0001", "page_0002"]


def test_backoff_doubles_and_gives_up_with_a_clear_error(client, ledgers: FakeLedgers,
                                                         sleeps: list[float]) -> None:
    ledgers.fail(A_USAGE, 1, "500", times=10)
    with pytest.raises(VendorError) as caught:
        sync_anthropic(client, SINCE, UNTIL)
    assert str(caught.value) == (f"Anthropic answered HTTP 500 for {A_USAGE} (page 1) after 5 attempts: "
                                 "Internal server error")
    assert caught.value.status == 500
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


@pytest.mark.parametrize(("kind", "why"), [("malformed", "not JSON"), ("no_data", "no `data` list")])
def test_a_malformed_page_names_the_path_and_page(client, ledgers: FakeLedgers, kind: str, why: str) -> None:
    ledgers.fail(A_USAGE, 2, kind)
    with pytest.raises(VendorPageError) as caught:
        sync_anthropic(client, SINCE, UNTIL)
    assert str(caught.value) == f"Anthropic returned a malformed page 2 for {A_USAGE}: {why}"
    assert (caught.value.path, caught.value.page) == (A_USAGE, 2)
    assert isinstance(caught.value, TokenpulseError)


def test_a_page_in_the_wrong_shape_names_the_field(client, ledgers: FakeLedgers) -> None:
    ledgers.pages[A_COST] = [ledgers.pages[A_COST][0],
                             {"data": [{"starting_at": "2026-11-03T00:00:00Z", "ending_at": "2026-11-04T00:00:00Z",
                                        "results": [{"amount": "ten", "currency": "USD"}]}]}]
    with pytest.raises(VendorPageError) as caught:
        sync_anthropic(client, SINCE, UNTIL)
    assert str(caught.value) == (f"Anthropic returned a malformed page 2 for {A_COST}: "
                                 "`data[0].results[0].amount`: invalid decimal string")


def test_an_expired_key_gives_a_clear_error_without_the_key(ledgers: FakeLedgers, sleeps: list[float]) -> None:
    expired = "sk-ant-admin01-expired-key-9876543210"
    client = anthropic_client(expired, ledgers.url, sleep=sleeps.append)
    with pytest.raises(VendorAuthError) as caught:
        sync_anthropic(client, SINCE, UNTIL)
    message = str(caught.value)
    assert message.startswith("Anthropic refused the admin key (HTTP 401): the admin key is invalid or expired")
    assert expired not in message and expired not in repr(client) and expired not in repr(caught.value)
    assert caught.value.status == 401 and sleeps == []  # not retried
    assert len(ledgers.requests) == 1


def test_syncing_twice_into_the_store_adds_nothing(client, store) -> None:
    events, _ = sync_anthropic(client, SINCE, UNTIL)
    first = store.write_batch(events)
    assert (first.new, first.updated, first.unchanged) == (4, 0, 0)
    again, _ = sync_anthropic(client, SINCE, UNTIL)
    second = store.write_batch(again)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 4)
    assert store.counts()["events"] == 4
    stored = list(store.iter_usage())
    def tokens(e: UsageEvent) -> tuple:
        return (e.id, e.ts, e.tool, e.provider, e.model, e.input_tokens, e.output_tokens, e.cache_read_tokens,
                e.cache_write_tokens, e.cache_write_1h_tokens, e.web_search_requests, e.source, e.confidence)

    assert [tokens(e) for e in stored] == sorted((tokens(e) for e in EXPECTED_EVENTS), key=lambda t: (t[1], t[0]))


def test_a_bucket_still_filling_is_replaced_by_its_fuller_copy(store) -> None:
    page = {"data": [{"starting_at": "2026-11-06T10:00:00Z", "ending_at": "2026-11-06T11:00:00Z",
                      "results": [{"api_key_id": "k", "workspace_id": None, "model": "claude-opus-4-6",
                                   "uncached_input_tokens": 100, "output_tokens": 10}]}]}
    store.write_batch(usage_events(page))
    page["data"][0]["results"][0]["output_tokens"] = 30
    later = store.write_batch(usage_events(page))
    assert (later.new, later.updated) == (0, 1)
    assert [e.output_tokens for e in store.iter_usage()] == [30]


@pytest.mark.parametrize(("cents", "micros"), [("123.45", 1_234_500), ("0.0001", 1), ("0", 0),
                                               ("99999999999.9999", 999_999_999_999_999), ("0.00005", 0),
                                               ("0.00015", 2)])
def test_cents_become_micro_usd_exactly(cents: str, micros: int) -> None:
    assert cents_to_micros(cents) == micros


def test_the_mappings_are_pure_functions_of_a_page() -> None:
    from fake_ledgers import ANTHROPIC_COST_PAGES, ANTHROPIC_USAGE_PAGES

    assert [e for p in ANTHROPIC_USAGE_PAGES for e in usage_events(p)] == EXPECTED_EVENTS
    assert [c for p in ANTHROPIC_COST_PAGES for c in cost_records(p)] == EXPECTED_COSTS
