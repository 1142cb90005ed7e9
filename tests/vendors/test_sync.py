"""`tokenpulse sync`: vendor ledgers into the store through the real client and the fake admin APIs —
exactly once, with the cursor saved and vendor ids mapped to people through aliases."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fake_ledgers import A_USAGE, ANTHROPIC_KEY, O_USAGE, OPENAI_KEY, FakeLedgers
from test_anthropic import EXPECTED_COSTS as A_COSTS
from test_anthropic import EXPECTED_EVENTS as A_EVENTS
from test_openai import EXPECTED_COSTS as O_COSTS
from test_openai import EXPECTED_EVENTS as O_EVENTS

from cli_helpers import as_json, ok, tp
from tokenpulse.events import UsageEvent
from tokenpulse.people import Person
from tokenpulse.sources.vendors import VendorAuthError, anthropic_client, openai_client
from tokenpulse.sync import sync_vendor

NOW = datetime(2026, 11, 5, 12, 30, tzinfo=UTC)
LATER = datetime(2026, 11, 6, 1, 0, tzinfo=UTC)


def stored(store) -> list[tuple]:
    return sorted((e.id, e.ts, e.person, e.tool, e.provider, e.model, e.input_tokens, e.output_tokens,
                   e.cache_read_tokens, e.cache_write_tokens, e.cache_write_1h_tokens, e.web_search_requests,
                   e.source, e.confidence, e.rank) for e in store.iter_usage())


def expected(events: list[UsageEvent], people: dict[str, str]) -> list[tuple]:
    return sorted((e.id, e.ts, people.get(e.id), e.tool, e.provider, e.model, e.input_tokens, e.output_tokens,
                   e.cache_read_tokens, e.cache_write_tokens, e.cache_write_1h_tokens, e.web_search_requests,
                   e.source, e.confidence, e.rank) for e in events)


def by_day_and_id(costs):
    return sorted(costs, key=lambda c: (c.day, c.id))


def test_anthropic_sync_stores_exactly_once_saves_the_cursor_and_maps_keys(any_store, ledgers: FakeLedgers) -> None:
    any_store.save_people([Person("alice@example.com", aliases=["anthropic-key:apikey_01A"])])
    client = anthropic_client(ANTHROPIC_KEY, ledgers.url, sleep=lambda s: None)
    assert any_store.sync_state("anthropic") is None

    first = sync_vendor(any_store, "anthropic", client, now=NOW)
    # First run: 30 days back, minus the 3-day lookback, from the start of that UTC day.
    assert (first.since, first.until) == (datetime(2026, 10, 3, tzinfo=UTC), NOW)
    assert dict(ledgers.requests[0][1])["starting_at"] == "2026-10-03T00:00:00Z"
    assert (first.events_new, first.events_updated, first.events_unchanged) == (4, 0, 0)
    assert (first.costs, first.costs_new) == (3, 3)
    assert (first.mapped, first.unattributed) == (2, 1)
    assert first.unmapped == {"anthropic-key:apikey_01B": 1}
    alice = {e.id: "alice@example.com" for e in A_EVENTS if e.extra["api_key_id"] == "apikey_01A"}
    # The unmapped key's event is kept under the key's identity, for the directory to claim later.
    alice.update({e.id: "anthropic-key:apikey_01B" for e in A_EVENTS if e.extra["api_key_id"] == "apikey_01B"})
    assert stored(any_store) == expected(A_EVENTS, alice)
    assert any_store.vendor_costs() == by_day_and_id(A_COSTS)
    assert any_store.sync_state("anthropic") == datetime(2026, 11, 5, tzinfo=UTC)
    assert any_store.sync_state("openai") is None

    ledgers.requests.clear()
    second = sync_vendor(any_store, "anthropic", client, now=LATER)
    # From the saved cursor, minus the lookback: the buckets still filling are read again.
    assert second.since == datetime(2026, 11, 2, tzinfo=UTC)
    assert dict(ledgers.requests[0][1])["starting_at"] == "2026-11-02T00:00:00Z"
    assert (second.events_new, second.events_updated, second.events_unchanged) == (0, 0, 4)
    assert (second.costs, second.costs_new) == (3, 0)
    assert stored(any_store) == expected(A_EVENTS, alice)
    assert any_store.vendor_costs() == by_day_and_id(A_COSTS)
    assert any_store.sync_state("anthropic") == datetime(2026, 11, 6, tzinfo=UTC)
    assert any_store.vendor_costs(since=datetime(2026, 11, 2, tzinfo=UTC)) == [A_COSTS[2]]


def test_openai_maps_users_first_then_keys_and_reports_the_rest(any_store, ledgers: FakeLedgers) -> None:
    any_store.save_people([Person("ana@example.com", aliases=["openai-user:user-ana"]),
                           Person("ci@example.com", aliases=["openai-key:key_B", "openai-key:key_C"])])
    client = openai_client(OPENAI_KEY, ledgers.url, sleep=lambda s: None)
    report = sync_vendor(any_store, "openai", client, now=NOW, lookback_days=0, first_days=4)
    assert report.since == datetime(2026, 11, 1, tzinfo=UTC)
    assert dict(ledgers.requests[0][1])["start_time"] == str(int(report.since.timestamp()))
    assert (report.events_new, report.costs_new) == (3, 3)
    # user-bo has no alias; his key (key_C) does, so the event still finds its person.
    people = {O_EVENTS[0].id: "ana@example.com", O_EVENTS[1].id: "ci@example.com",
              O_EVENTS[2].id: "ci@example.com"}
    assert stored(any_store) == expected(O_EVENTS, people)
    assert report.unmapped == {} and report.mapped == 3
    assert any_store.vendor_costs() == by_day_and_id(O_COSTS)

    again = sync_vendor(any_store, "openai", client, now=NOW)
    assert (again.events_new, again.events_updated, again.costs_new) == (0, 0, 0)


def test_unmapped_openai_ids_are_reported_by_the_most_specific_id(store, ledgers: FakeLedgers) -> None:
    client = openai_client(OPENAI_KEY, ledgers.url, sleep=lambda s: None)
    report = sync_vendor(store, "openai", client, now=NOW)
    assert report.unmapped == {"openai-user:user-ana": 1, "openai-key:key_B": 1, "openai-user:user-bo": 1}
    assert {e.person for e in store.iter_usage()} == set(report.unmapped)
    # When the directory later names the owner of an id, the events already stored move to them.
    moved = store.save_people([Person("ana@example.com", aliases=["openai-user:user-ana"])])
    assert moved == 1
    assert {e.person for e in store.iter_usage()} == {"ana@example.com", "openai-key:key_B", "openai-user:user-bo"}


def test_a_later_cost_copy_replaces_the_stored_one(store) -> None:
    from msgspec.structs import replace

    store.save_vendor_costs(A_COSTS)
    grown = replace(A_COSTS[0], amount_micros=2_000_000)
    assert store.save_vendor_costs([grown]) == 0
    assert [c.amount_micros for c in store.vendor_costs() if c.id == grown.id] == [2_000_000]
    assert len(store.vendor_costs()) == 3


def test_a_refused_key_stores_nothing_and_keeps_the_cursor(store, ledgers: FakeLedgers) -> None:
    client = anthropic_client("sk-ant-admin01-expired", ledgers.url, sleep=lambda s: None)
    with pytest.raises(VendorAuthError):
        sync_vendor(store, "anthropic", client, now=NOW)
    assert store.sync_state("anthropic") is None
    assert list(store.iter_usage()) == [] and store.vendor_costs() == []


# --- the command ------------------------------------------------------------------------------------


@pytest.fixture
def configured(ledgers: FakeLedgers, monkeypatch: pytest.MonkeyPatch) -> FakeLedgers:
    """tokenpulse.toml points both vendors at the fake; the admin keys it accepts are in the environment."""
    home = Path(os.environ["TOKENPULSE_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "tokenpulse.toml").write_text(f'[vendors.anthropic]\nbase_url = "{ledgers.url}"\n\n'
                                          f'[vendors.openai]\nbase_url = "{ledgers.url}"\n')
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    return ledgers


def test_the_command_syncs_both_vendors_once(configured: FakeLedgers) -> None:
    both = ("--vendor", "anthropic", "--vendor", "openai")
    first = ok("sync", *both, "--json")
    data = as_json(first)
    assert [(v["vendor"], v["status"], v["events"]["new"], v["costs"]["new"]) for v in data["vendors"]] == [
        ("anthropic", "synced", 4, 3), ("openai", "synced", 3, 3)]
    assert data["vendors"][0]["unmapped"] == {"anthropic-key:apikey_01A": 2, "anthropic-key:apikey_01B": 1}
    assert {p for p, _, _ in configured.requests} >= {A_USAGE, O_USAGE}
    second = as_json(ok("sync", *both, "--json"))
    assert [(v["events"]["new"], v["events"]["unchanged"], v["costs"]["new"]) for v in second["vendors"]] == [
        (0, 4, 0), (0, 3, 0)]
    text = ok("sync", "--vendor", "openai")
    assert "openai:" in text.stdout and "anthropic" not in text.stdout + text.stderr
    for result in (first, text):
        assert ANTHROPIC_KEY not in result.stdout + result.stderr
        assert OPENAI_KEY not in result.stdout + result.stderr


def test_the_command_skips_vendors_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("ANTHROPIC_ADMIN_KEY", "OPENAI_ADMIN_KEY", "CURSOR_ADMIN_KEY", "GITHUB_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    assert as_json(ok("sync", "--json")) == {"vendors": [
        {"vendor": "anthropic", "status": "skipped", "note": "ANTHROPIC_ADMIN_KEY is not set"},
        {"vendor": "claude_code", "status": "skipped", "note": "ANTHROPIC_ADMIN_KEY is not set"},
        {"vendor": "openai", "status": "skipped", "note": "OPENAI_ADMIN_KEY is not set"},
        {"vendor": "cursor", "status": "skipped", "note": "CURSOR_ADMIN_KEY is not set"},
        {"vendor": "copilot", "status": "skipped", "note": "GITHUB_TOKEN is not set"}], "breaker_trips": []}
    result = ok("sync")
    assert "anthropic: skipped (ANTHROPIC_ADMIN_KEY is not set)" in result.stderr


def test_a_refused_key_fails_that_vendor_without_printing_the_key(configured: FakeLedgers,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    expired = "sk-admin-expired-key-0000"
    monkeypatch.setenv("OPENAI_ADMIN_KEY", expired)
    result = tp("sync", "--vendor", "anthropic", "--vendor", "openai", "--json")
    assert result.exit_code == 1
    data = as_json(result)
    assert [(v["vendor"], v["status"]) for v in data["vendors"]] == [("anthropic", "synced"), ("openai", "failed")]
    assert data["vendors"][1]["error"].startswith("OpenAI refused the admin key (HTTP 401)")
    assert expired not in result.stdout + result.stderr


def test_a_bad_base_url_is_a_clear_error(configured: FakeLedgers) -> None:
    home = Path(os.environ["TOKENPULSE_HOME"])
    (home / "tokenpulse.toml").write_text('[vendors.anthropic]\nbase_url = "ftp://nowhere"\n')
    result = tp("sync", "--vendor", "anthropic")
    assert result.exit_code == 1
    assert "[vendors.anthropic] base_url must be an http:// or https:// URL" in result.stderr


def test_anthropic_usage_of_excluded_workspaces_is_left_out(store, ledgers: FakeLedgers) -> None:
    # The workspace Claude Code's console logins bill to, when the claude_code connector reports it per person.
    client = anthropic_client(ANTHROPIC_KEY, ledgers.url, sleep=lambda s: None)
    report = sync_vendor(store, "anthropic", client, now=NOW, options={"exclude_workspaces": ["wrkspc_01W"]})
    kept = [e for e in A_EVENTS if e.extra["workspace_id"] != "wrkspc_01W"]
    assert 0 < len(kept) < len(A_EVENTS)
    assert sorted(e.id for e in store.iter_usage()) == sorted(e.id for e in kept)
    assert report.events_new == len(kept)
    assert (report.costs, report.costs_new) == (3, 3)  # the cost report is the org's bill: all of it


def test_the_bucket_width_is_a_setting(store, ledgers: FakeLedgers) -> None:
    client = openai_client(OPENAI_KEY, ledgers.url, sleep=lambda s: None)
    sync_vendor(store, "openai", client, now=NOW, options={"bucket_width": "1h"})
    assert dict(ledgers.requests[0][1])["bucket_width"] == "1h"
    from tokenpulse.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[vendors.anthropic\] bucket_width must be 1d, 1h or 1m"):
        sync_vendor(store, "anthropic", anthropic_client(ANTHROPIC_KEY, ledgers.url), now=NOW,
                    options={"bucket_width": "1w"})


def test_the_command_offers_every_connector() -> None:
    from tokenpulse import reconcile, sync
    from tokenpulse.cli import sync as command

    assert command.VENDORS == sync.VENDORS
    assert command.ONLY == reconcile.ONLY
