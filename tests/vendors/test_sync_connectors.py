"""`sync_vendor` for the Claude Code usage report, Cursor and GitHub Copilot: through the real clients and
the fake admin APIs into the store, people mapped, exactly once, and the cells they report covered (their
figures count in totals from then on)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from fake_claude_code import CLAUDE_CODE_KEY, FakeClaudeCode
from fake_copilot import GITHUB_TOKEN, ORG, FakeGitHub
from fake_cursor import CURSOR_KEY, FakeCursor
from test_claude_code_report import EXPECTED_EVENTS as CC_EVENTS
from test_claude_code_report import EXPECTED_OUTCOMES as CC_OUTCOMES
from test_copilot import EXPECTED as COPILOT
from test_copilot import USERS
from test_cursor import EXPECTED_EVENTS as CURSOR_EVENTS

from cli_helpers import as_json, ok
from tokenpulse.events import OutcomeEvent, UsageEvent
from tokenpulse.people import Person
from tokenpulse.sources.vendors import anthropic_client
from tokenpulse.sources.vendors.copilot import copilot_client
from tokenpulse.sources.vendors.cursor import cursor_client
from tokenpulse.sync import sync_vendor

NOW = datetime(2026, 11, 4, 0, 0, tzinfo=UTC)  # whole-day vendors read Nov 3 and before; Cursor until now


def as_stored(events: list[UsageEvent], people: dict[str, str]) -> list[UsageEvent]:
    """The events as the store gives them back: the person mapped, priced (a bill is the cost)."""
    from tokenpulse.pricing import load_price_book

    book = load_price_book([])
    out = []
    for e in events:
        copy = msgspec.structs.replace(e, person=people.get(e.id, e.person), extra=e.extra or None)
        book.price(copy)
        out.append(copy)
    return sorted(out, key=lambda e: e.id)


def usage(store) -> list[UsageEvent]:
    return sorted(store.iter_usage(), key=lambda e: e.id)


def outcomes(store) -> list[OutcomeEvent]:
    return sorted(store.iter_outcomes(), key=lambda o: o.id)


def with_people(items: list[OutcomeEvent], people: dict[str, str]) -> list[OutcomeEvent]:
    return sorted((msgspec.structs.replace(o, person=people[o.id]) for o in items), key=lambda o: o.id)


def check_idempotent(store, name, client, **options) -> None:
    before = (usage(store), outcomes(store), store.vendor_costs(), store.vendor_days())
    again = sync_vendor(store, name, client, now=NOW, **options)
    assert (again.events_new, again.events_updated) == (0, 0)
    assert (usage(store), outcomes(store), store.vendor_costs(), store.vendor_days()) == before


def test_claude_code_report(any_store, claude_code: FakeClaudeCode) -> None:
    any_store.save_people([Person("dev@company.com"), Person("ci@company.com", aliases=["anthropic-key-name:ci-bot"])])
    client = anthropic_client(CLAUDE_CODE_KEY, claude_code.url, sleep=lambda s: None)
    report = sync_vendor(any_store, "claude_code", client, now=NOW)
    # A whole-day vendor: read up to the start of today; the cursor is the last day read.
    assert report.until == NOW and report.cursor == datetime(2026, 11, 3, tzinfo=UTC)
    assert any_store.sync_state("claude_code") == datetime(2026, 11, 3, tzinfo=UTC)
    people = {}
    for item in [*CC_EVENTS, *CC_OUTCOMES]:
        extra = item.extra or {}
        people[item.id] = ("ci@company.com" if extra.get("api_key_name") == "ci-bot" else extra["email"])
    assert usage(any_store) == as_stored(CC_EVENTS, people)
    assert outcomes(any_store) == with_people(CC_OUTCOMES, people)
    assert report.unmapped == {"ana@company.com": sum(1 for i in [*CC_EVENTS, *CC_OUTCOMES]
                                                      if people[i.id] == "ana@company.com")}
    assert report.outcomes == len(CC_OUTCOMES)
    assert any_store.vendor_days() == sorted({(people[e.id], "claude_code", e.ts.date()) for e in CC_EVENTS},
                                             key=lambda c: (c[2], c[0], c[1]))
    check_idempotent(any_store, "claude_code", client)


def test_cursor_usage_events(any_store, cursor: FakeCursor) -> None:
    any_store.save_people([Person("dev@company.com"), Person("ana.l@company.com", aliases=["ana@company.com"])])
    client = cursor_client(CURSOR_KEY, cursor.url, sleep=lambda s: None)
    report = sync_vendor(any_store, "cursor", client, now=NOW, first_days=3, lookback_days=0)
    people = {e.id: "ana.l@company.com" for e in CURSOR_EVENTS if e.person == "ana@company.com"}
    assert usage(any_store) == as_stored(CURSOR_EVENTS, people)
    # Billed: each event's cost is what Cursor charged, not its tokens at list price.
    assert {e.cost_micros for e in usage(any_store)} == {e.reported_cost_micros for e in CURSOR_EVENTS}
    assert report.unmapped == {"bo@company.com": 2}
    assert report.mapped == 4
    # Each member's spend this cycle (so far), split into what the plan includes and the on-demand part.
    nov1 = datetime(2026, 11, 1, tzinfo=UTC)
    assert [(c.id, c.scope, c.item, c.amount_micros, c.day, c.ending_at) for c in any_store.vendor_costs()] == [
        ("cursor-spend:2026-11-01:ana@company.com:included", "ana@company.com", "included", 20_000_000, nov1.date(),
         NOW),
        ("cursor-spend:2026-11-01:ana@company.com:on-demand", "ana@company.com", "on-demand", 5_000_000,
         nov1.date(), NOW),
        ("cursor-spend:2026-11-01:bo@company.com:cycle", "bo@company.com", "cycle", 1_000_000, nov1.date(), NOW),
        ("cursor-spend:2026-11-01:dev@company.com:included", "dev@company.com", "included", 16_502_500,
         nov1.date(), NOW),
        ("cursor-spend:2026-11-01:dev@company.com:on-demand", "dev@company.com", "on-demand", 3_502_500,
         nov1.date(), NOW)]
    assert (report.costs, report.costs_new) == (5, 5)
    check_idempotent(any_store, "cursor", client, first_days=3, lookback_days=0)


def test_copilot_metrics_and_ai_credits(any_store, github: FakeGitHub) -> None:
    any_store.save_people([Person("octo@company.com", aliases=["github-login:octocat"]),
                           Person("hubot@company.com", aliases=["github-user:2"])])
    client = copilot_client(GITHUB_TOKEN, github.url, sleep=lambda s: None)
    options = {"org": ORG, "users": USERS}
    report = sync_vendor(any_store, "copilot", client, now=datetime(2026, 11, 5, tzinfo=UTC), first_days=4,
                         lookback_days=0, options=options)
    assert report.since == datetime(2026, 11, 1, tzinfo=UTC) and report.until == datetime(2026, 11, 5, tzinfo=UTC)
    ids = {"github-login:octocat": "octo@company.com", "github-user:1": "octo@company.com",
           "github-user:2": "hubot@company.com", "github-login:hubot": None, "github-user:3": None}

    def person(item) -> str:
        from tokenpulse.sources.vendors.copilot import identities

        found = [ids.get(i) for i in identities(item) if ids.get(i)]
        return found[0] if found else identities(item)[0]

    people = {item.id: person(item) for item in [*COPILOT.events, *COPILOT.outcomes]}
    assert usage(any_store) == as_stored(COPILOT.events, people)
    assert outcomes(any_store) == with_people(COPILOT.outcomes, people)
    assert any_store.vendor_costs() == sorted(COPILOT.costs, key=lambda c: (c.day, c.id))
    assert "github-login:mona" in report.unmapped
    check_idempotent(any_store, "copilot", client, first_days=4, lookback_days=0, options=options)


def test_the_command_syncs_every_configured_vendor(claude_code: FakeClaudeCode, cursor: FakeCursor,
                                                   github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(os.environ["TOKENPULSE_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "tokenpulse.toml").write_text(
        f'[vendors.anthropic]\nenabled = false\nbase_url = "{claude_code.url}"\n\n'
        f'[vendors.cursor]\nbase_url = "{cursor.url}"\n\n'
        f'[vendors.copilot]\nbase_url = "{github.url}"\norg = "{ORG}"\nadmin_key_env = "COPILOT_TOKEN"\n')
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", CLAUDE_CODE_KEY)
    monkeypatch.setenv("CURSOR_ADMIN_KEY", CURSOR_KEY)
    monkeypatch.setenv("COPILOT_TOKEN", GITHUB_TOKEN)
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    result = ok("sync", "--json", "--first-days", "3")
    data = as_json(result)
    assert [(v["vendor"], v["status"]) for v in data["vendors"]] == [
        ("anthropic", "skipped"), ("claude_code", "synced"), ("openai", "skipped"), ("cursor", "synced"),
        ("copilot", "synced")]
    assert data["vendors"][0]["note"] == "[vendors.anthropic] enabled = false"
    assert all(key not in result.stdout + result.stderr for key in (CLAUDE_CODE_KEY, CURSOR_KEY, GITHUB_TOKEN))
    # The Claude Code connector used the Anthropic address (it is the same API).
    assert claude_code.requests


def test_copilot_billing_per_person_for_the_logins_the_directory_knows(store, github: FakeGitHub) -> None:
    store.save_people([Person("octo@company.com", aliases=["github-login:OctoCat"]),
                       Person("hubot@company.com", aliases=["github-login:hubot"])])
    client = copilot_client(GITHUB_TOKEN, github.url, sleep=lambda s: None)
    sync_vendor(store, "copilot", client, now=datetime(2026, 11, 5, tzinfo=UTC), first_days=4, lookback_days=0,
                options={"org": ORG, "users": "directory"})
    asked = sorted({q["user"] for p, q, _ in github.requests if "user" in q})
    assert asked == ["hubot", "octocat"]  # the directory keeps logins lower-cased (GitHub ignores case)
    billed = sorted((e.person, e.id) for e in store.iter_usage() if e.confidence == "billed")
    assert billed == sorted(("octo@company.com" if ":user=octocat:" in e.id else "hubot@company.com", e.id)
                            for e in COPILOT.events if e.confidence == "billed")
