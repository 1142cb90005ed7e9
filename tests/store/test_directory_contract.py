"""The collector's tables, on every backend: people and aliases, API keys, prompts, counter state, push positions."""

from __future__ import annotations

from datetime import UTC, datetime

from tokenpulse.events import OutcomeEvent, PromptEvent, UsageEvent
from tokenpulse.keys import hash_secret, new_key
from tokenpulse.people import Person
from tokenpulse.store import UsageQuery
from tokenpulse.store.directory import PushPosition


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def usage(id: str, ts: str, person: str | None, tokens: int = 100, book=None) -> UsageEvent:
    event = UsageEvent(id=id, ts=at(ts), tool="claude_code", provider="anthropic", model="claude-sonnet-4-5",
                       person=person, input_tokens=tokens, output_tokens=10, source="otlp", confidence="metered")
    if book is not None:
        book.price(event)
    return event


def test_events_written_under_an_alias_go_to_its_person(any_store, book) -> None:
    s = any_store
    s.save_people([Person("alice@example.com", name="Alice", team="payments",
                          aliases=["account:4f1c", "Alice.Personal@Example.com"])])
    s.write_batch([usage("a", "2026-03-01T10:00:00", "account:4f1c", book=book),
                   usage("b", "2026-03-01T10:05:00", "alice.personal@example.com", book=book),
                   usage("c", "2026-03-01T10:10:00", "user:anon-7", book=book)],
                  [OutcomeEvent(id="o1", ts=at("2026-03-01T10:20:00"), type="commit", person="account:4f1c")])
    assert sorted((e.id, e.person) for e in s.iter_usage()) == [
        ("a", "alice@example.com"), ("b", "alice@example.com"), ("c", "user:anon-7")]
    assert [(o.id, o.person) for o in s.iter_outcomes()] == [("o1", "alice@example.com")]
    rows = s.usage_rows(UsageQuery(group="day", people=("alice@example.com",)))
    assert [(r.requests, r.input_tokens) for r in rows] == [(2, 200)]


def test_importing_the_directory_later_reattributes_stored_usage(any_store, book) -> None:
    s = any_store
    s.write_batch([usage("a", "2026-03-01T10:00:00", "account:4f1c", tokens=300, book=book),
                   usage("b", "2026-03-02T09:00:00", "bob@example.com", tokens=50, book=book)],
                  [OutcomeEvent(id="o1", ts=at("2026-03-01T10:20:00"), type="commit", person="account:4f1c")])
    s.write_prompts([PromptEvent(id="p1", ts=at("2026-03-01T09:59:00"), tool="claude_code", person="account:4f1c",
                                 length=42)])
    # The summaries are built before the directory arrives ...
    assert [(r.requests, r.input_tokens) for r in s.usage_rows(UsageQuery(group="day", people=("account:4f1c",)))] \
        == [(1, 300)]
    moved = s.save_people([Person("alice@example.com", aliases=["account:4f1c"]), Person("bob@example.com")])
    assert moved == 1
    # ... and are rebuilt for the hours whose events changed hands.
    assert s.usage_rows(UsageQuery(group="day", people=("account:4f1c",))) == []
    alice = s.usage_rows(UsageQuery(group="day", people=("alice@example.com",)))
    assert [(r.key.isoformat(), r.requests, r.input_tokens) for r in alice] == [("2026-03-01", 1, 300)]
    assert [o.person for o in s.iter_outcomes()] == ["alice@example.com"]
    assert [p.length for p in s.prompts_of("alice@example.com")] == [42]
    assert s.prompts_of("account:4f1c") == []


def test_the_directory_is_listed_and_identities_are_resolved(any_store) -> None:
    s = any_store
    s.save_people([Person("alice@example.com", name="Alice", team="payments", manager="carol@example.com",
                          role="engineer", aliases=["account:4f1c"]),
                   Person("carol@example.com", name="Carol", team="payments", role="manager")])
    # A second import updates fields and moves an alias to its new owner.
    s.save_people([Person("bob@example.com", name="Bob", team="search", aliases=["account:4f1c", "user:b0b"])])
    assert [(p.person, p.name, p.team, p.manager, p.role, p.aliases) for p in s.people()] == [
        ("alice@example.com", "Alice", "payments", "carol@example.com", "engineer", []),
        ("carol@example.com", "Carol", "payments", None, "manager", []),
        ("bob@example.com", "Bob", "search", None, None, ["account:4f1c", "user:b0b"]),
    ]
    assert s.resolve_identity("account:4f1c") == "bob@example.com"
    assert s.resolve_identity("nobody@example.com") == "nobody@example.com"
    found = s.find_person("user:b0b")
    assert found is not None and (found.person, found.team) == ("bob@example.com", "search")
    assert s.find_person("user:unknown") is None


def test_api_keys_are_found_by_hash_only_and_can_be_revoked(any_store) -> None:
    s = any_store
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    secret, key = new_key("ingest", now=now, team="payments", name="payments laptops")
    s.add_key(key, hash_secret(secret))
    found = s.key_for_hash(hash_secret(secret))
    assert found is not None and (found.id, found.kind, found.team, found.scope, found.created_at) == (
        key.id, "ingest", "payments", "team:payments", now)
    assert s.key_for_hash(hash_secret(secret + "x")) is None
    # Nothing stored contains the secret itself.
    assert all(secret not in repr(k) for k in s.api_keys())
    s.touch_keys([key.id], datetime(2026, 3, 2, tzinfo=UTC))
    assert s.api_keys()[0].last_used_at == datetime(2026, 3, 2, tzinfo=UTC)
    assert s.revoke_key(key.id) is True
    assert s.revoke_key(key.id) is False
    assert s.revoke_key("tpi_nosuchkey") is False
    revoked = s.key_for_hash(hash_secret(secret))
    assert revoked is not None and revoked.revoked_at is not None and not revoked.may("ingest")


def test_prompts_are_stored_once_and_only_read_back_for_their_owner(any_store) -> None:
    s = any_store
    prompt = PromptEvent(id="claude_code:s1:p1", ts=at("2026-03-01T10:00:00"), tool="claude_code",
                         person="alice@example.com", session="s1", prompt_id="p1", length=11, text="fix the bug")
    s.write_prompts([prompt, prompt])
    s.write_prompts([prompt])
    assert s.prompts_of("alice@example.com") == [prompt]
    assert s.prompts_of("bob@example.com") == []


def test_counter_state_round_trips(any_store) -> None:
    s = any_store
    with s.transaction():
        assert s.series_state(["x", "y"]) == {}
        s.save_series_state({"x": (1, 2, 3), "y": (10, 20, 30)})
    with s.transaction():
        s.save_series_state({"x": (1, 5, 9)})
    assert s.series_state(["x", "y", "z"]) == {"x": (1, 5, 9), "y": (10, 20, 30)}


def test_push_positions_walk_the_store_in_write_order(any_store, book) -> None:
    s = any_store
    s.write_batch([usage(f"e{i}", f"2026-03-01T10:0{i}:00", None, book=book) for i in range(5)],
                  [OutcomeEvent(id="o1", ts=at("2026-03-01T10:00:00"), type="commit")])
    first, position = s.usage_written_after(None, limit=3)
    assert [e.id for e in first] == ["e0", "e1", "e2"]
    rest, position = s.usage_written_after(position, limit=3)
    assert [e.id for e in rest] == ["e3", "e4"]
    assert s.usage_written_after(position, limit=3) == ([], position)
    outcomes, outcome_position = s.outcomes_written_after(None, limit=10)
    assert [o.id for o in outcomes] == ["o1"]

    s.save_push_position("https://collector.example.com", PushPosition(usage=position, outcome=outcome_position))
    assert s.push_position("https://collector.example.com") == PushPosition(position, outcome_position)
    assert s.push_position("https://elsewhere.example.com") == PushPosition()

    # A replaced copy (higher rank) is written again, so the next push sends it again.
    better = usage("e1", "2026-03-01T10:01:00", None, tokens=999, book=book)
    better.rank = 5
    s.write_batch([better])
    again, _ = s.usage_written_after(position, limit=10)
    assert [(e.id, e.input_tokens) for e in again] == [("e1", 999)]
