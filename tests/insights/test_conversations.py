"""The conversation queue: who is in it and why, the evidence packet, and how items move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cli_helpers import as_json, ok, tp
from tokenpulse.events import OutcomeEvent, UsageEvent
from tokenpulse.insights.conversations import ConversationError, build_queue, transition
from tokenpulse.people import Person

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 12, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
# Monthly spend, in units of $1.50 (100k output tokens of claude-sonnet-4-5): Zoe spends far above her team.
SPEND = {"ann@example.com": ("core", 2), "ben@example.com": ("core", 3), "cy@example.com": ("core", 2),
         "zoe@example.com": ("core", 20), "dee@example.com": ("data", 12), "eli@example.com": ("data", 10)}


def fill(store, book) -> None:
    events = []
    for person, (_, units) in SPEND.items():
        for i in range(units):
            e = UsageEvent(id=f"{person}-{i}", ts=SINCE + timedelta(days=i), tool="claude_code", person=person,
                           model="claude-sonnet-4-5", output_tokens=100_000)
            book.price(e)
            events.append(e)
    store.write_batch(events, [OutcomeEvent(id="c1", ts=SINCE + timedelta(days=3), type="commit", count=4,
                                            person="zoe@example.com")])
    store.save_people([Person(p, team=team) for p, (team, _) in SPEND.items()])


def test_top_spenders_and_team_outliers_are_queued_with_their_evidence(any_store, book) -> None:
    fill(any_store, book)
    items = build_queue(any_store, "2026-11", SINCE, UNTIL, "UTC", [], NOW, top_n=2)
    assert {i.person: i.reasons for i in items} == {
        "zoe@example.com": ["top_spender:1", "above_team_median"], "dee@example.com": ["top_spender:2"]}
    zoe = next(i for i in items if i.person == "zoe@example.com")
    assert (zoe.id, zoe.team, zoe.status) == ("2026-11:zoe@example.com", "core", "open")
    assert zoe.evidence["spend_usd"] == "30.000000" and zoe.evidence["team_median_usd"] == "3.750000"
    assert zoe.evidence["spend_by_model_usd"] == {"claude-sonnet-4-5": "30.000000"}
    assert zoe.evidence["outcomes"] == {"commit": 4} and zoe.evidence["depth"]["requests"] == 20

    any_store.save_conversations(items)
    moved = transition(any_store.conversations(item_id=zoe.id)[0], "scheduled", by="lead@example.com", now=NOW,
                       scheduled_for="Thursday 1:1")
    any_store.update_conversation(moved)
    any_store.save_conversations(build_queue(any_store, "2026-11", SINCE, UNTIL, "UTC", [], NOW, top_n=2))  # a re-run
    [again] = any_store.conversations(person="zoe@example.com")
    assert (again.status, again.scheduled_for, again.updated_by) == ("scheduled", "Thursday 1:1", "lead@example.com")
    assert len(any_store.conversations(period="2026-11")) == 2


def test_items_move_open_scheduled_done_or_dismissed() -> None:
    from tokenpulse.store.governance import ConversationItem

    item = ConversationItem("2026-11", "zoe@example.com", ["top_spender:1"], {}, NOW, NOW)
    with pytest.raises(ConversationError, match="needs notes"):
        transition(item, "done", by="lead", now=NOW)
    transition(item, "done", by="lead", now=NOW, notes="Agent fleet for the migration; fine.")
    with pytest.raises(ConversationError, match="is done; it cannot become open"):
        transition(item, "open", by="lead", now=NOW)
    other = ConversationItem("2026-11", "dee@example.com", [], {}, NOW, NOW)
    transition(other, "dismissed", by="lead", now=NOW)
    assert transition(other, "open", by="lead", now=NOW).status == "open"


def test_the_command_line(store, book) -> None:
    fill(store, book)
    store.save_conversations(build_queue(store, "2026-11", SINCE, UNTIL, "UTC", [], NOW, top_n=1))
    db = ("--db", store.path)
    store.close()
    listed = as_json(ok(*db, "conversations", "list", "--json"))
    assert [i["id"] for i in listed["conversations"]] == ["2026-11:zoe@example.com"]
    assert as_json(ok(*db, "conversations", "show", "2026-11:zoe@example.com"))["evidence"]["spend_usd"] == "30.000000"
    done = tp(*db, "conversations", "update", "2026-11:zoe@example.com", "--status", "done")
    assert done.exit_code == 1 and "needs notes" in done.stderr
    updated = as_json(ok(*db, "conversations", "update", "2026-11:zoe@example.com", "--status", "done", "--notes",
                         "Migration sprint; expected.", "--by", "lead@example.com", "--json"))
    assert (updated["status"], updated["updated_by"]) == ("done", "lead@example.com")
    assert as_json(ok(*db, "conversations", "list", "--status", "open", "--json")) == {"conversations": []}
