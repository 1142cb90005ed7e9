"""The dashboard's records and queries on both backends: usage and outcomes grouped within a viewer's
scope (figures worked out by hand), one-time sign-in links, browser sessions and session shares."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tokenpulse.events import OutcomeEvent, UsageEvent
from tokenpulse.people import Person
from tokenpulse.store.web import Scope, WebSession

T0 = datetime(2026, 11, 3, 22, 30, tzinfo=UTC)


def _usage(id: str, ts: datetime, person: str, *, tool: str = "claude_code", cost: int, tokens: int,
           session: str = "s1") -> UsageEvent:
    return UsageEvent(id=id, ts=ts, tool=tool, provider="anthropic", model="claude-sonnet-4-5", person=person,
                      input_tokens=tokens, output_tokens=10, cache_read_tokens=1000, session=session,
                      project="api", reported_cost_micros=None, cost_micros=cost, priced_model="claude-sonnet-4-5",
                      price_version="test", source="import", confidence="metered")


def _load(store) -> None:
    store.save_people([Person("ann@x.io", team="payments"), Person("bob@x.io", team="payments"),
                       Person("cy@x.io", team="search")])
    store.write_batch([
        _usage("a1", T0, "ann@x.io", cost=1_000_000, tokens=100),
        _usage("a2", T0 + timedelta(hours=2), "ann@x.io", cost=2_500_000, tokens=300, tool="codex", session="s2"),
        _usage("b1", T0 + timedelta(hours=1), "bob@x.io", cost=700_000, tokens=50, session="s3"),
        _usage("c1", T0, "cy@x.io", cost=9_000_000, tokens=900, session="s4"),
    ], [OutcomeEvent(id="o1", ts=T0, person="ann@x.io", tool="claude_code", type="commit", count=3, session="s1"),
        OutcomeEvent(id="o2", ts=T0, person="cy@x.io", tool="claude_code", type="commit", count=1)])
    store.refresh_rollups()


def test_usage_is_grouped_by_local_day_and_tool_within_a_scope(any_store) -> None:
    _load(any_store)
    # In New York, 22:30 UTC on Nov 3 is Nov 3 (17:30) and 00:30 UTC Nov 4 is still Nov 3 (19:30).
    rows = any_store.usage_grouped(["day", "tool"], since=None, until=None, tz="America/New_York",
                                   scope=Scope(teams=("payments",)))
    assert sorted((r["day"], r["tool"], r["requests"], r["cost_micros"], r["input_tokens"]) for r in rows) == [
        (date(2026, 11, 3), "claude_code", 2, 1_700_000, 150),
        (date(2026, 11, 3), "codex", 1, 2_500_000, 300)]
    # In UTC the codex request (00:30 on Nov 4) is a day later.
    utc = any_store.usage_grouped(["day"], since=None, until=None, tz="UTC", scope=Scope(teams=("payments",)))
    assert sorted((r["day"], r["cost_micros"]) for r in utc) == [(date(2026, 11, 3), 1_700_000),
                                                                 (date(2026, 11, 4), 2_500_000)]
    # A person by name adds to a scope; an empty scope sees nothing; no scope sees everyone.
    mixed = any_store.usage_grouped(["person"], since=None, until=None, scope=Scope(teams=("search",),
                                                                                   people=("bob@x.io",)))
    assert sorted((r["person"], r["cost_micros"]) for r in mixed) == [("bob@x.io", 700_000), ("cy@x.io", 9_000_000)]
    assert any_store.usage_grouped(["person"], since=None, until=None, scope=Scope()) == []
    assert sum(r["cost_micros"] for r in any_store.usage_grouped([], since=None, until=None)) == 13_200_000
    # Time bounds and one person.
    since = T0 + timedelta(minutes=30)
    ann = any_store.usage_grouped(["session"], since=since, until=None, person="ann@x.io")
    assert [(r["session"], r["cost_micros"]) for r in ann] == [("s2", 2_500_000)]


def test_outcomes_are_grouped_within_a_scope(any_store) -> None:
    _load(any_store)
    rows = any_store.outcomes_grouped(["person", "type"], since=None, until=None, scope=Scope(teams=("payments",)))
    assert rows == [{"person": "ann@x.io", "type": "commit", "count": 3}]


def test_a_sign_in_link_works_once_and_not_after_it_expires(any_store) -> None:
    any_store.add_login_link("d1", "ann@x.io", T0, T0 + timedelta(minutes=30))
    any_store.add_login_link("d2", "bob@x.io", T0, T0 + timedelta(minutes=30))
    assert any_store.use_login_link("d1", T0 + timedelta(minutes=1)) == "ann@x.io"
    assert any_store.use_login_link("d1", T0 + timedelta(minutes=2)) is None
    assert any_store.use_login_link("d2", T0 + timedelta(minutes=31)) is None
    assert any_store.use_login_link("nope", T0) is None


def test_browser_sessions_expire_and_end(any_store) -> None:
    expires = T0 + timedelta(hours=12)
    any_store.add_web_session("h1", WebSession("ann@x.io", "ann@x.io", "person", expires), T0)
    assert any_store.web_session("h1", T0 + timedelta(hours=1)) == WebSession("ann@x.io", "ann@x.io", "person", expires)
    assert any_store.web_session("h1", expires) is None
    any_store.end_web_session("h1", T0 + timedelta(hours=2))
    assert any_store.web_session("h1", T0 + timedelta(hours=3)) is None


def test_a_shared_session_can_be_revoked_and_its_owner_is_known(any_store) -> None:
    _load(any_store)
    span = any_store.session_span("s2")
    assert (span.owner, span.first_hour, span.last_hour) == ("ann@x.io", datetime(2026, 11, 4, 0, 0),
                                                             datetime(2026, 11, 4, 0, 0))
    assert any_store.session_span("nope") is None
    any_store.add_share("t1", "s2", "ann@x.io", T0)
    share = any_store.share("t1")
    assert (share.session, share.person) == ("s2", "ann@x.io")
    assert any_store.shared_sessions("ann@x.io") == {"s2"}
    any_store.revoke_shares("s2", "ann@x.io", T0 + timedelta(hours=1))
    assert any_store.share("t1") is None and any_store.shared_sessions("ann@x.io") == set()
    assert [e.id for e in any_store.session_usage(any_store.session_span("s1"))] == ["a1"]
    assert [o.id for o in any_store.session_outcomes(any_store.session_span("s1"))] == ["o1"]


def test_org_settings_keep_their_json_shape(any_store) -> None:
    any_store.set_org_setting("budgets", [{"each": "person", "usd": 250}], "root@x.io", T0)
    any_store.set_org_setting("discount", "15%", "root@x.io", T0)
    any_store.set_org_setting("discount", "12%", "root@x.io", T0 + timedelta(hours=1))
    assert any_store.org_settings() == {"budgets": [{"each": "person", "usd": 250}], "discount": "12%"}
