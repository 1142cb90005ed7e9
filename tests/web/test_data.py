"""Each page's numbers on a small hand-built store, worked out by hand: totals and depth, the daily series,
team rows, outcomes per dollar, budgets with their spend, and what a viewer's scope leaves out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tokenpulse.errors import RequestError
from tokenpulse.events import OutcomeEvent, UsageEvent
from tokenpulse.people import Person
from tokenpulse.pricing import Discount
from tokenpulse.web import data
from tokenpulse.web.access import viewer_for

PEOPLE = [Person("mia@x.io", team="payments", role="manager"),
          Person("ann@x.io", team="payments", manager="mia@x.io"),
          Person("cy@x.io", team="search")]
DAY = datetime(2026, 11, 10, 12, tzinfo=UTC)


def _usage(id: str, ts: datetime, person: str, cost: int, *, tool: str = "claude_code", provider: str = "anthropic",
           inp: int = 1_000, out: int = 500, cache: int = 8_500) -> UsageEvent:
    return UsageEvent(id=id, ts=ts, tool=tool, provider=provider, model="m", person=person, input_tokens=inp,
                      output_tokens=out, cache_read_tokens=cache, session=f"s-{person}", cost_micros=cost,
                      priced_model="m", price_version="t", source="import", confidence="metered")


@pytest.fixture
def filled(any_store):
    store = any_store
    store.save_people(PEOPLE)
    store.write_batch([
        _usage("1", DAY, "ann@x.io", 3_000_000),
        _usage("2", DAY + timedelta(days=1), "ann@x.io", 1_000_000, tool="codex", provider="openai"),
        _usage("3", DAY, "mia@x.io", 500_000),
        _usage("4", DAY, "cy@x.io", 7_000_000),
    ], [OutcomeEvent(id="o1", ts=DAY, person="ann@x.io", tool="claude_code", type="commit", count=2),
        OutcomeEvent(id="o2", ts=DAY, person="ann@x.io", tool="claude_code", type="pull_request", count=1),
        OutcomeEvent(id="o3", ts=DAY, person="cy@x.io", tool="claude_code", type="commit", count=7)])
    store.refresh_rollups()
    return store


def view(person: str | None, visibility: str = "team", **kwargs) -> data.View:
    viewer = viewer_for(person or "admin-key:tpa_x", person, PEOPLE, admin=person is None)
    return data.View(viewer=viewer, visibility=visibility, tz="UTC", first=date(2026, 11, 9),
                     last=date(2026, 11, 12), people={p.person: p for p in PEOPLE}, **kwargs)


def test_the_overview_of_a_team_sums_its_people_only(filled) -> None:
    result = data.overview(filled, view("ann@x.io", discount=Discount.parse("anthropic=10%")), today=date(2026, 11, 12))
    totals = result["totals"]
    # ann 3.00 + 1.00, mia 0.50: cy (search) is outside an engineer's `team` scope.
    assert totals["spend_micros"] == 4_500_000 and totals["requests"] == 3
    assert totals["effective_usd"] == Decimal("4.15")  # 3.50 anthropic at 10 % off, 1.00 openai at list
    assert totals["tokens"] == 30_000 and totals["cost_per_mtok_usd"] == Decimal(150)
    assert totals["mean_context_tokens"] == 9_500 and totals["cache_read_share"] == round(8_500 / 9_500, 4)
    assert result["daily"]["days"] == ["2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12"]
    assert result["daily"]["spend_micros"] == {"claude_code": [0, 3_500_000, 0, 0], "codex": [0, 0, 1_000_000, 0]}
    assert result["outcomes"]["commits"] == 2 and result["outcomes"]["commits_per_100_usd"] == round(200 / 4.5, 2)
    assert [(t["team"], t["people"], t["spend_micros"]) for t in result["teams"]] == [("payments", 2, 4_500_000)]


def test_an_admin_sees_every_team_and_a_team_filter_narrows_it(filled) -> None:
    everyone = data.overview(filled, view(None), today=date(2026, 11, 12))
    assert everyone["totals"]["spend_micros"] == 11_500_000
    assert [(t["team"], t["spend_micros"]) for t in everyone["teams"]] == [("payments", 4_500_000),
                                                                         ("search", 7_000_000)]
    search = data.overview(filled, view(None), team="search", today=date(2026, 11, 12))
    assert search["totals"]["spend_micros"] == 7_000_000 and search["teams"] == []
    with pytest.raises(RequestError) as refused:
        data.overview(filled, view("ann@x.io"), team="search")
    assert refused.value.status == 403


def test_the_directory_lists_what_the_policy_allows_in_team_and_name_order(filled) -> None:
    def listed(person: str | None, visibility: str, **kwargs) -> list[str]:
        return [r["person"] for r in data.directory(filled, view(person, visibility), **kwargs)["people"]]

    assert listed("ann@x.io", "team") == ["ann@x.io", "mia@x.io"]
    assert listed("ann@x.io", "private") == ["ann@x.io"]
    assert listed("ann@x.io", "transparent") == ["ann@x.io", "mia@x.io", "cy@x.io"]
    assert listed(None, "private", sort="-spend") == ["cy@x.io", "ann@x.io", "mia@x.io"]
    assert listed(None, "private", query="CY") == ["cy@x.io"]
    rows = data.directory(filled, view("ann@x.io", "transparent"))["people"]
    # Flags are private: a peer's are not shown even when totals are.
    assert [r["flags"] for r in rows] == [[], None, None]


def test_a_profile_has_budgets_with_their_spend_and_hides_what_is_private(filled) -> None:
    budgets = [{"each": "person", "tool": "claude_code", "usd": 10}, {"team": "payments", "usd": 100}]
    result = data.profile(filled, view("ann@x.io", budgets=budgets, expected_monthly_usd={"claude_code": "200"}),
                          "ann@x.io", today=date(2026, 11, 12))
    assert result["expected_usage"] == [{"tool": "claude_code", "expected_usd": Decimal(200),
                                         "month_spend_usd": Decimal(3), "month": "2026-11"}]
    assert [(b["scope"], b["spent_micros"], b["limit_micros"], b["used_share"]) for b in result["budgets"]] == [
        ("person:ann@x.io|tool:claude_code", 3_000_000, 10_000_000, 0.3),
        ("team:payments", 4_500_000, 100_000_000, 0.045)]
    assert [s["session"] for s in result["sessions"]] == ["s-ann@x.io"]
    assert result["outcomes"]["pull_requests"] == 1
    # Her manager sees her profile and her conversation items, but not her sessions.
    managed = data.profile(filled, view("mia@x.io"), "ann@x.io", today=date(2026, 11, 12))
    assert managed["sessions"] is None and managed["conversations"] == [] and managed["incidents"] == []
    # A peer under `transparent` sees the totals, not the items or incidents.
    peer = data.profile(filled, view("cy@x.io", "transparent"), "ann@x.io", today=date(2026, 11, 12))
    assert peer["totals"]["spend_micros"] == 4_000_000
    assert (peer["sessions"], peer["conversations"], peer["incidents"]) == (None, None, None)
    # Out of scope and unknown give the same answer.
    for who in ("ann@x.io", "nobody@x.io"):
        with pytest.raises(RequestError) as hidden:
            data.profile(filled, view("cy@x.io"), who)
        assert hidden.value.status == 404


def test_the_directory_comes_in_pages_in_every_order(filled) -> None:
    def page(sort: str, n: int) -> tuple[list[str], int, int]:
        result = data.directory(filled, view(None), sort=sort, page=n, per_page=2)
        return [r["person"] for r in result["people"]], result["pages"], result["total"]

    assert page("team", 1) == (["ann@x.io", "mia@x.io"], 2, 3)
    assert page("team", 2) == (["cy@x.io"], 2, 3)
    assert page("-spend", 1) == (["cy@x.io", "ann@x.io"], 2, 3)
    assert page("-spend", 2) == (["mia@x.io"], 2, 3)
    # Figures are the same whichever page a person lands on.
    by_name = data.directory(filled, view(None), sort="name", per_page=1, page=1)["people"][0]
    assert (by_name["person"], by_name["spend_micros"], by_name["outcomes"]["commits"]) == ("ann@x.io", 4_000_000, 2)
    with pytest.raises(RequestError):
        data.directory(filled, view(None), page=0)


def test_the_conversation_queue_comes_in_pages_within_the_viewers_scope(filled) -> None:
    from tokenpulse.store.governance import ConversationItem

    made = datetime(2026, 11, 12, tzinfo=UTC)
    filled.save_conversations([ConversationItem(id=f"2026-11:{p}", period="2026-11", person=p, team=t,
                                                reasons=["top_spender"], evidence={"flags": []}, status="open",
                                                created_at=made, updated_at=made)
                               for p, t in (("ann@x.io", "payments"), ("cy@x.io", "search"), ("mia@x.io", "payments"))])
    everyone = data.conversations(filled, view(None), per_page=2)
    assert ([i["person"] for i in everyone["items"]], everyone["pages"], everyone["counts"]) == (
        ["ann@x.io", "cy@x.io"], 2, {"open": 3})
    assert [i["person"] for i in data.conversations(filled, view(None), page=2, per_page=2)["items"]] == ["mia@x.io"]
    # Mia leads payments: her team's items (hers included), not search's; Ann sees her own only.
    assert [i["person"] for i in data.conversations(filled, view("mia@x.io"))["items"]] == ["ann@x.io", "mia@x.io"]
    assert [i["person"] for i in data.conversations(filled, view("ann@x.io"))["items"]] == ["ann@x.io"]


def test_outcomes_count_git_as_the_record_and_show_the_ai_assisted_share(filled) -> None:
    """Claude Code's telemetry reports the commits it made; the same commits arrive again from git. The
    dashboard counts them once (git), as `tokenpulse outcomes` does."""
    filled.write_batch([], [
        OutcomeEvent(id="g1", ts=DAY, person="cy@x.io", tool="git", type="commit", count=5, source="git",
                     extra={"ai_assisted": True}),
        OutcomeEvent(id="g2", ts=DAY, person="cy@x.io", tool="git", type="lines_added", count=300, source="git",
                     extra={"ai_assisted": True}),
        OutcomeEvent(id="g3", ts=DAY, person="cy@x.io", tool="git", type="lines_added", count=100, source="git",
                     extra={"ai_assisted": False}),
    ])
    result = data.profile(filled, view(None), "cy@x.io", today=date(2026, 11, 12))
    outcomes = result["outcomes"]
    # git has commits for cy: its 5 count, not the 7 from telemetry; 300 of 400 changed lines were assisted.
    assert (outcomes["commits"], outcomes["lines_added"], outcomes["ai_assisted_share"]) == (5, 400, 0.75)
    assert outcomes["commits_per_100_usd"] == round(5 * 100 / 7, 2)
    org = data.overview(filled, view(None), today=date(2026, 11, 12))
    assert org["outcomes"]["commits"] == 2 + 5


def test_the_sql_outcome_totals_follow_the_outcomes_modules_rules(filled) -> None:
    """The dashboard counts outcomes per person in SQL (fast for 30,000 people); `tokenpulse outcomes`
    (outcomes_per_dollar) in Python. On a mix of git and telemetry, marked and unmarked lines, both give the same figures."""
    from tokenpulse.insights.outcomes import AI_LINE_TOOLS, outcomes_per_dollar

    def o(id: str, person: str, type: str, count: int, *, git: bool, ai: bool | None = None,
          tool: str = "claude_code") -> OutcomeEvent:
        return OutcomeEvent(id=id, ts=DAY, person=person, tool="git" if git else tool, type=type, count=count,
                            source="git" if git else "otlp", extra=None if ai is None else {"ai_assisted": ai})

    filled.write_batch([], [
        # ann: telemetry lines only (Claude Code's count as AI-assisted; cursor's do not).
        o("t1", "ann@x.io", "lines_added", 40, git=False), o("t2", "ann@x.io", "lines_added", 10, git=False,
                                                              tool="cursor"),
        # mia: git lines (one marked commit) and more telemetry AI lines than git marked: the larger, capped.
        o("m1", "mia@x.io", "lines_added", 30, git=True, ai=True), o("m2", "mia@x.io", "lines_removed", 20, git=True,
                                                                     ai=False),
        o("m3", "mia@x.io", "lines_added", 45, git=False), o("m4", "mia@x.io", "commit", 4, git=False),
        o("m5", "mia@x.io", "pull_request", 1, git=True),
        # cy: git commits with telemetry commits too (git wins), telemetry lines beyond git's (capped).
        o("c1", "cy@x.io", "commit", 3, git=True, ai=False), o("c2", "cy@x.io", "lines_added", 10, git=True, ai=False),
        o("c3", "cy@x.io", "lines_added", 500, git=False),
    ])
    since, until = view(None).bounds
    python = {r.key: (r.commits, r.pull_requests, r.lines_added, r.lines_removed, r.ai_lines)
              for r in outcomes_per_dollar(filled, "person", since=since, until=until).rows}
    sql = {r["person"]: (r["commits"], r["pull_requests"], r["lines_added"], r["lines_removed"], r["ai_lines"])
           for r in filled.outcome_totals(since, until, sorted(AI_LINE_TOOLS))}
    assert sql == python
    assert python == {"ann@x.io": (2, 1, 50, 0, 40), "mia@x.io": (4, 1, 30, 20, 45), "cy@x.io": (3, 0, 10, 0, 10)}
    teams = {r["team"]: r["commits"] for r in filled.outcome_totals(since, until, sorted(AI_LINE_TOOLS), by="team")}
    assert teams == {"payments": 6, "search": 3}


def test_cached_figures_are_recomputed_after_a_write(filled) -> None:
    from tokenpulse.web.state import QueryCache

    commits = [0]
    cache = QueryCache(lambda: commits[0])
    store = cache.wrap(filled)
    first = data.overview(store, view(None), today=date(2026, 11, 12))["totals"]["spend_micros"]
    filled.write_batch([_usage("5", DAY, "cy@x.io", 1_000_000)])
    filled.refresh_rollups()
    # Until the writer reports the commit, the cached figures stand ...
    assert data.overview(store, view(None), today=date(2026, 11, 12))["totals"]["spend_micros"] == first
    commits[0] += 1
    # ... after it, they are recomputed; a change made through the dashboard does the same.
    assert data.overview(store, view(None), today=date(2026, 11, 12))["totals"]["spend_micros"] == first + 1_000_000
    filled.write_batch([_usage("6", DAY, "cy@x.io", 2_000_000)])
    filled.refresh_rollups()
    cache.bump()
    assert data.overview(store, view(None), today=date(2026, 11, 12))["totals"]["spend_micros"] == first + 3_000_000
