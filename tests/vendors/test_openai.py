"""OpenAI completions usage and costs, synced through the real client against the fake admin API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fake_ledgers import NOV1, O_COST, O_USAGE, OPENAI_COST_PAGES, OPENAI_KEY, OPENAI_USAGE_PAGES, FakeLedgers

from tokenpulse.events import UsageEvent
from tokenpulse.sources.vendors import VendorAuthError, VendorCost, VendorPageError, openai_client
from tokenpulse.sources.vendors.openai import cost_records, sync_openai, usage_events

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 4, tzinfo=UTC)


def day(d: int) -> datetime:
    return datetime(2026, 11, d, tzinfo=UTC)


def event(id: str, d: int, model: str, *, user: str | None, key: str | None, project: str | None, input: int,
          read: int, output: int, requests: int, rank: int) -> UsageEvent:
    extra: dict[str, Any] = {"bucket_end": f"2026-11-{d + 1:02d}T00:00:00.000Z", "num_model_requests": requests,
                             "user_id": user, "api_key_id": key, "project_id": project}
    return UsageEvent(id=id, ts=day(d), tool="openai_api", provider="openai", model=model, person=None,
                      input_tokens=input, output_tokens=output, cache_read_tokens=read, source="vendor_api",
                      confidence="metered", rank=rank, extra=extra)


EXPECTED_EVENTS = [
    # input_tokens 1000 include 800 cached: 200 uncached input + 800 cache reads.
    event("openai:2026-11-01T00:00:00.000Z:user-ana:key_A:proj_1:gpt-5", 1, "gpt-5", user="user-ana",
          key="key_A", project="proj_1", input=200, read=800, output=500, requests=5, rank=1505),
    event("openai:2026-11-01T00:00:00.000Z:-:key_B:proj_1:gpt-5-mini", 1, "gpt-5-mini", user=None, key="key_B",
          project="proj_1", input=250, read=0, output=40, requests=2, rank=292),
    event("openai:2026-11-03T00:00:00.000Z:user-bo:key_C:-:gpt-5", 3, "gpt-5", user="user-bo", key="key_C",
          project=None, input=30000, read=60000, output=3000, requests=31, rank=93031),
]

EXPECTED_COSTS = [
    VendorCost(id="openai-cost:2026-11-01:proj_1:gpt-5, input", vendor="openai", day=date(2026, 11, 1),
               starting_at=day(1), ending_at=day(2), amount_micros=60_000, scope="proj_1", item="gpt-5, input"),
    # $12.3456789 is 12,345,678.9 micro-USD: rounded half to even, once.
    VendorCost(id="openai-cost:2026-11-01:proj_1:gpt-5, output", vendor="openai", day=date(2026, 11, 1),
               starting_at=day(1), ending_at=day(2), amount_micros=12_345_679, scope="proj_1",
               item="gpt-5, output"),
    VendorCost(id="openai-cost:2026-11-03:-:gpt-5, input", vendor="openai", day=date(2026, 11, 3),
               starting_at=day(3), ending_at=day(4), amount_micros=4_000_000, scope=None, item="gpt-5, input"),
]


@pytest.fixture
def client(ledgers: FakeLedgers, sleeps: list[float]):
    return openai_client(OPENAI_KEY, ledgers.url, sleep=sleeps.append)


def test_sync_reads_every_page_of_both_endpoints_and_maps_them_exactly(client, ledgers: FakeLedgers,
                                                                       sleeps: list[float]) -> None:
    events, costs = sync_openai(client, SINCE, UNTIL)
    assert events == EXPECTED_EVENTS
    assert costs == EXPECTED_COSTS
    assert sleeps == []
    assert ledgers.pages_served(O_USAGE) == [None, "page_0001"]
    assert ledgers.pages_served(O_COST) == [None, "page_0001"]
    path, query, headers = ledgers.requests[0]
    assert path == O_USAGE
    assert query == [("start_time", str(NOV1)), ("end_time", str(NOV1 + 3 * 86_400)), ("bucket_width", "1d"),
                     ("limit", "31"), ("group_by[]", "user_id"), ("group_by[]", "api_key_id"),
                     ("group_by[]", "project_id"), ("group_by[]", "model")]
    assert headers["authorization"] == f"Bearer {OPENAI_KEY}"
    cost_query = dict(ledgers.requests[2][1])
    assert (cost_query["bucket_width"], cost_query["limit"]) == ("1d", "180")


def test_429_and_500_are_retried_honouring_retry_after(client, ledgers: FakeLedgers, sleeps: list[float]) -> None:
    ledgers.fail(O_USAGE, 2, "500")
    ledgers.fail(O_COST, 2, "429", times=2)
    events, costs = sync_openai(client, SINCE, UNTIL)
    assert (events, costs) == (EXPECTED_EVENTS, EXPECTED_COSTS)
    assert sleeps == [1.0, 2.0, 2.0]  # backoff for the 500; Retry-After: 2 for each 429
    assert ledgers.pages_served(O_COST) == [None, "page_0001", "page_0001", "page_0001"]


@pytest.mark.parametrize(("kind", "why"), [("malformed", "not JSON"), ("no_data", "no `data` list")])
def test_a_malformed_page_names_the_path_and_page(client, ledgers: FakeLedgers, kind: str, why: str) -> None:
    ledgers.fail(O_COST, 2, kind)
    with pytest.raises(VendorPageError) as caught:
        sync_openai(client, SINCE, UNTIL)
    assert str(caught.value) == f"OpenAI returned a malformed page 2 for {O_COST}: {why}"


def test_cached_tokens_beyond_the_input_are_a_malformed_page(client, ledgers: FakeLedgers) -> None:
    bad = {"object": "page", "data": [{"object": "bucket", "start_time": NOV1, "end_time": NOV1 + 86_400,
                                       "results": [{"input_tokens": 10, "input_cached_tokens": 11}]}]}
    ledgers.pages[O_USAGE] = [bad]
    with pytest.raises(VendorPageError) as caught:
        sync_openai(client, SINCE, UNTIL)
    assert str(caught.value) == (f"OpenAI returned a malformed page 1 for {O_USAGE}: `input_cached_tokens` (11) "
                                 "exceeds `input_tokens` (10) in the bucket starting 2026-11-01T00:00:00.000Z")


def test_an_expired_key_gives_a_clear_error_without_the_key(ledgers: FakeLedgers, sleeps: list[float]) -> None:
    expired = "sk-admin-expired-key-9876543210"
    client = openai_client(expired, ledgers.url, sleep=sleeps.append)
    with pytest.raises(VendorAuthError) as caught:
        sync_openai(client, SINCE, UNTIL)
    message = str(caught.value)
    assert message.startswith("OpenAI refused the admin key (HTTP 401): the admin key is invalid or expired")
    assert expired not in message and expired not in repr(client)
    assert sleeps == [] and len(ledgers.requests) == 1


def test_syncing_twice_into_the_store_adds_nothing(client, store) -> None:
    events, _ = sync_openai(client, SINCE, UNTIL)
    first = store.write_batch(events)
    assert (first.new, first.updated, first.unchanged) == (3, 0, 0)
    again, _ = sync_openai(client, SINCE, UNTIL)
    second = store.write_batch(again)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 3)
    assert store.counts()["events"] == 3
    stored = {e.id: (e.input_tokens, e.cache_read_tokens, e.output_tokens, e.source, e.confidence)
              for e in store.iter_usage()}
    assert stored == {e.id: (e.input_tokens, e.cache_read_tokens, e.output_tokens, "vendor_api", "metered")
                      for e in EXPECTED_EVENTS}


def test_the_mappings_are_pure_functions_of_a_page() -> None:
    assert [e for p in OPENAI_USAGE_PAGES for e in usage_events(p)] == EXPECTED_EVENTS
    assert [c for p in OPENAI_COST_PAGES for c in cost_records(p)] == EXPECTED_COSTS
