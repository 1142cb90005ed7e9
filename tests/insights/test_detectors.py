"""Detectors on small hand-built cases in a real DuckDB store: what each must flag, and the near misses it
must not; then a small demo organisation against its persona labels."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from itertools import count

from tokenpulse.events import OutcomeEvent, UsageEvent
from tokenpulse.insights.detectors import (
    CALIBRATION_LATE_DAYS,
    DETECTORS,
    LOOP_MIN_REPEATS,
    Flag,
    detect,
)

SINCE = datetime(2026, 10, 1, tzinfo=UTC)
UNTIL = datetime(2026, 12, 1, tzinfo=UTC)
NOV = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
SONNET, HAIKU = "claude-sonnet-4-5", "claude-haiku-4-5"
_ids = count()


def req(book, person: str, ts: datetime, *, prompt: str | None = None, ctx: int = 60_000, output: int = 2_000,
        status: str = "ok", session: str = "s1", model: str = SONNET, project: str = "web") -> UsageEvent:
    """One request: `ctx` tokens of context (mostly cache reads, or plain input when short)."""
    n = next(_ids)
    short = ctx < 8_000
    event = UsageEvent(id=f"u{n}", ts=ts, tool="claude_code", model=model, person=person, session=session,
                       project=project, status=status, prompt_hash=prompt or f"p{n}",
                       input_tokens=ctx if short else 200, cache_read_tokens=0 if short else ctx - 2_200,
                       cache_write_tokens=0 if short else 2_000, output_tokens=0 if status != "ok" else output)
    book.price(event)
    return event


def outcome(person: str, ts: datetime, kind: str, n: int = 1, session: str | None = "s1") -> OutcomeEvent:
    return OutcomeEvent(id=f"o{next(_ids)}", ts=ts, type=kind, count=n, person=person, session=session,
                        project="web")


def ordinary(book, person: str, days: int = 20, per_day: int = 8, start: datetime = NOV) -> tuple[list, list]:
    """Ordinary work: one session a day of distinct prompts, a few accepted edits and a commit."""
    usage, outs = [], []
    for d in range(days):
        day = start + timedelta(days=d)
        sid = f"{person}-d{d}"
        usage += [req(book, person, day + timedelta(minutes=3 * i), session=sid, ctx=40_000 + 10_000 * i)
                  for i in range(per_day)]
        outs += [outcome(person, day + timedelta(hours=1), "edit_accepted", 3, sid),
                 outcome(person, day + timedelta(hours=1), "commit", 1, sid)]
    return usage, outs


def run(store, usage, outcomes=(), expected=None) -> list[Flag]:
    store.write_batch(usage, list(outcomes))
    return detect(store, SINCE, UNTIL, expected_monthly_usd=expected)


def of(flags: list[Flag], detector: str) -> dict[str, Flag]:
    return {f.person: f for f in flags if f.detector == detector}


def stored_ids(store) -> set[str]:
    return {r[0] for r in store.con.execute("SELECT id FROM events").fetchall()}


# --- runaway_loop ---------------------------------------------------------------------------------------


def test_runaway_loop_flags_a_long_burst_of_one_prompt_not_a_retry_burst(store, book) -> None:
    loop_u, loop_o = ordinary(book, "loop@x.com")
    burst = [req(book, "loop@x.com", NOV + timedelta(days=2, hours=5, seconds=10 * i), prompt="same",
                 ctx=100_000 + (i % 3) * 500, session="agent") for i in range(120)]
    retry_u, retry_o = ordinary(book, "retry@x.com")
    retries = [req(book, "retry@x.com", NOV + timedelta(days=3, seconds=20 * i), prompt="again", ctx=50_000)
               for i in range(10)]  # a 10-repeat retry burst: not a loop
    growing_u, growing_o = ordinary(book, "grow@x.com")
    growing = [req(book, "grow@x.com", NOV + timedelta(days=4, seconds=30 * i), prompt="continue",
                   ctx=20_000 + 5_000 * i) for i in range(LOOP_MIN_REPEATS + 10)]  # same prompt, context grows
    flags = run(store, loop_u + burst + retry_u + retries + growing_u + growing, loop_o + retry_o + growing_o)
    loops = of(flags, "runaway_loop")
    assert set(loops) == {"loop@x.com"}
    f = loops["loop@x.com"]
    assert f.evidence["requests"] == 120 and f.evidence["prompt_hash"] == "same"
    assert f.evidence["first_ts"].startswith("2026-11-05") and 0.5 < f.score <= 1
    assert set(f.evidence["sample_event_ids"]) <= stored_ids(store) and len(f.evidence["sample_event_ids"]) == 2
    assert "120 near-identical requests" in f.summary
    json.dumps(f.to_json())


def test_runaway_loop_score_grows_with_the_burst(store, book) -> None:
    usage = []
    for person, n in (("small@x.com", 40), ("big@x.com", 250)):
        u, _ = ordinary(book, person)
        usage += u + [req(book, person, NOV + timedelta(days=1, seconds=5 * i), prompt="x", ctx=90_000)
                      for i in range(n)]
    loops = of(run(store, usage), "runaway_loop")
    assert loops["big@x.com"].score > loops["small@x.com"].score


# --- shallow_volume -------------------------------------------------------------------------------------


def test_shallow_volume_flags_many_short_requests_with_little_outcome(store, book) -> None:
    usage, outs = [], []
    for person, commits in (("busy@x.com", 0), ("quickfix@x.com", 40)):
        for d in range(20):
            day = NOV + timedelta(days=d)
            usage += [req(book, person, day + timedelta(minutes=i), ctx=1_500, output=4_000, session=f"{person}{d}{i}",
                          model=HAIKU if i % 2 else SONNET) for i in range(25)]
            outs += [outcome(person, day + timedelta(hours=2), "commit", commits, None)] if commits else []
    light = [req(book, "light@x.com", NOV + timedelta(hours=i), ctx=1_000, output=500) for i in range(40)]
    flags = run(store, usage + light, outs)
    shallow = of(flags, "shallow_volume")
    assert set(shallow) == {"busy@x.com"}  # many commits per dollar: quick fixes, not busywork; light: too few
    ev = shallow["busy@x.com"].evidence
    assert ev["short_requests"] == 500 and ev["short_share"] == 1.0 and ev["commits"] == 0
    assert set(ev["sample_event_ids"]) <= stored_ids(store)


# --- no_outcome_spend -----------------------------------------------------------------------------------


def test_no_outcome_spend_flags_thrown_away_sessions_and_spares_a_productive_fleet(store, book) -> None:
    proto_u, proto_o = ordinary(book, "proto@x.com", days=5)
    for k in range(4):  # four sessions of ~$10 each, no commit, PR or accepted edit
        proto_u += [req(book, "proto@x.com", NOV + timedelta(days=6 + k, minutes=i), session=f"proto{k}",
                        ctx=150_000, output=12_000, project="spike") for i in range(40)]
        proto_o.append(outcome("proto@x.com", NOV + timedelta(days=6 + k, hours=2), "edit_rejected", 5, f"proto{k}"))
    fleet_u, fleet_o = [], []
    for d in range(28):  # a productive fleet: ~$1,500 in November, every session lands commits and PRs
        for s in range(6):
            sid = f"fleet{d}-{s}"
            start = NOV - timedelta(days=2) + timedelta(days=d, hours=s)
            fleet_u += [req(book, "fleet@x.com", start + timedelta(minutes=i), session=sid, ctx=120_000 + 1_000 * i,
                            output=30_000) for i in range(20)]
            fleet_o += [outcome("fleet@x.com", start + timedelta(minutes=30), "commit", 3, sid),
                        outcome("fleet@x.com", start + timedelta(minutes=40), "pull_request", 1, sid),
                        outcome("fleet@x.com", start + timedelta(minutes=40), "edit_accepted", 12, sid)]
    flags = run(store, proto_u + fleet_u, proto_o + fleet_o, expected={"claude_code": 200})
    spent = store.con.execute("SELECT sum(cost_micros) FROM events WHERE person = 'fleet@x.com'").fetchone()[0]
    assert spent > 1_500_000_000
    assert not [f for f in flags if f.person == "fleet@x.com"]  # high spend alone is never a flag
    empty = of(flags, "no_outcome_spend")
    assert set(empty) == {"proto@x.com"}
    ev = empty["proto@x.com"].evidence
    assert ev["sessions"] == 4 and ev["projects"] == ["spike"]
    assert {s["session"] for s in ev["top_sessions"]} <= {f"proto{k}" for k in range(4)}
    assert set(ev["sample_event_ids"]) <= stored_ids(store)


def test_no_outcome_spend_ignores_cheap_dead_ends(store, book) -> None:
    usage, outs = ordinary(book, "normal@x.com")
    usage += [req(book, "normal@x.com", NOV + timedelta(days=k, hours=6), session=f"q{k}", ctx=30_000)
              for k in range(10)]  # ten one-question sessions, cents each
    assert not of(run(store, usage, outs), "no_outcome_spend")


# --- threshold_calibration ------------------------------------------------------------------------------


def _month(book, person: str, target_usd: float, late_share: float) -> list[UsageEvent]:
    """November Claude Code spend of about `target_usd`, `late_share` of it in the month's last days."""
    per = req(book, person, NOV, ctx=150_000, output=16_000).cost_micros or 0
    n = round(target_usd * 1_000_000 / per)
    late = round(n * late_share)
    events = []
    early = timedelta(days=22) / max(1, n - late)  # spread over Nov 2-24
    for i in range(n):
        if i < n - late:
            ts = datetime(2026, 11, 2, 9, tzinfo=UTC) + early * i
        else:
            ts = datetime(2026, 11, 27, 9, tzinfo=UTC) + timedelta(minutes=7 * (i - n + late))
        events.append(req(book, person, ts, ctx=150_000, output=16_000, session=f"{person}{i // 10}"))
    return events


def test_threshold_calibration_flags_late_top_ups_just_over_the_floor(store, book) -> None:
    usage = (_month(book, "cal@x.com", 206, 0.7) + _month(book, "below@x.com", 195, 0.7)
             + _month(book, "steady@x.com", 206, 0.1) + _month(book, "well-over@x.com", 260, 0.7))
    flags = run(store, usage, expected={"claude_code": 200})
    cal = of(flags, "threshold_calibration")
    assert set(cal) == {"cal@x.com"}  # just below, spread evenly, or well over: not calibration
    month = cal["cal@x.com"].evidence["months"][0]
    assert month["month"] == "2026-11" and month["threshold_usd"] == "200.000000"
    assert 200 <= float(month["cost_usd"]) <= 210 and month["late_share"] >= 0.5
    assert cal["cal@x.com"].evidence["late_days"] == CALIBRATION_LATE_DAYS
    # an unfinished month is not judged: the same spend with the period ending before November does
    assert not of(detect(store, SINCE, datetime(2026, 11, 29, tzinfo=UTC), expected_monthly_usd={"claude_code": 200}),
                  "threshold_calibration")


def test_threshold_calibration_watches_the_team_average_and_its_near_misses(store, book) -> None:
    """No floor in reach (the org's line is $500): the visible line is each person's team average, the others'
    mean November spend. Each subject has a team of its own with three steady $100 colleagues."""
    from tokenpulse.people import Person

    subjects = {"cal@x.com": (104, 0.7),  # lands just above the team average, topped up late: flagged
                "below@x.com": (96, 0.7),  # just below the line
                "over@x.com": (116, 0.7),  # more than 10% over it
                "steady@x.com": (104, 0.1),  # just above, but spread over the month
                "small@x.com": (104, 0.7)}  # just above, late, but only two colleagues: no team line
    usage, directory = [], []
    for subject, (usd, late) in subjects.items():
        team = subject.split("@")[0]
        peers = [f"{team}-peer{k}@x.com" for k in range(2 if team == "small" else 3)]
        for peer in peers:
            usage += _month(book, peer, 100, 0.1)
        usage += _month(book, subject, usd, late)
        directory += [Person(p, team=team) for p in [*peers, subject]]
    store.save_people(directory)
    flags = run(store, usage, expected={"claude_code": 500})
    cal = of(flags, "threshold_calibration")
    assert set(cal) == {"cal@x.com"}
    [month] = cal["cal@x.com"].evidence["months"]
    assert month["threshold"] == "team_average" and 99 <= float(month["threshold_usd"]) <= 101
    assert float(month["threshold_usd"]) <= float(month["cost_usd"]) <= 1.1 * float(month["threshold_usd"])
    assert "team average" in cal["cal@x.com"].summary
    assert set(cal["cal@x.com"].evidence["sample_event_ids"]) <= stored_ids(store)


def test_threshold_calibration_judges_whole_months_only(store, book, tmp_path) -> None:
    from tokenpulse.store.duckdb import DuckDBStore

    # data from 2 November: November is covered (an organisation's first events rarely fall on the 1st)
    store.write_batch(_month(book, "cal@x.com", 206, 0.7))
    assert set(of(run(store, [], expected={"claude_code": 200}), "threshold_calibration")) == {"cal@x.com"}
    # a period starting mid-month still judges the month on all of its spend, read from before the period
    mid = detect(store, datetime(2026, 11, 10, tzinfo=UTC), UNTIL, expected_monthly_usd={"claude_code": 200})
    [month] = of(mid, "threshold_calibration")["cal@x.com"].evidence["months"]
    assert 200 <= float(month["cost_usd"]) <= 210 and month["late_share"] >= 0.5
    # a store whose data starts on 20 November holds only a tail of the month: it is not judged
    tail = _month(book, "cal@x.com", 206, 0.7)
    for e in tail:
        e.ts = max(e.ts, datetime(2026, 11, 20, tzinfo=UTC))
    late_start = DuckDBStore(tmp_path / "late-start.duckdb")
    try:
        assert not of(run(late_start, tail, expected={"claude_code": 200}), "threshold_calibration")
    finally:
        late_start.close()


def test_detectors_in_a_half_hour_zone_read_the_events_instead_of_the_hourly_summaries(store, book) -> None:
    """Local midnight in Kolkata is 18:30 UTC: hourly summaries cannot be cut there, so the session and month
    figures come from the events, and give the same flags."""
    from zoneinfo import ZoneInfo

    kolkata = ZoneInfo("Asia/Kolkata")
    proto = [req(book, "proto@x.com", NOV + timedelta(days=6 + k, minutes=i), session=f"proto{k}", ctx=150_000,
                 output=12_000) for k in range(4) for i in range(40)]
    store.write_batch(_month(book, "cal@x.com", 206, 0.7) + proto)
    flags = detect(store, datetime(2026, 10, 1, tzinfo=kolkata), datetime(2026, 12, 1, tzinfo=kolkata),
                   tz="Asia/Kolkata", expected_monthly_usd={"claude_code": 200})
    assert set(of(flags, "threshold_calibration")) == {"cal@x.com"}
    assert of(flags, "no_outcome_spend")["proto@x.com"].evidence["sessions"] == 4


# --- retry_churn ----------------------------------------------------------------------------------------


def test_retry_churn_flags_repeated_failures_without_outcome_not_a_few_errors(store, book) -> None:
    usage, outs = [], []
    for person, fail_every in (("churn@x.com", 2), ("unlucky@x.com", 25)):
        for d in range(20):
            day = NOV + timedelta(days=d)
            for i in range(8):
                prompt, ts = f"{person}{d}-{i}", day + timedelta(minutes=5 * i)
                if i % 2 == 0 and (d * 8 + i) % fail_every == 0:
                    usage += [req(book, person, ts + timedelta(seconds=k), prompt=prompt, status="error")
                              for k in range(2)]
                usage.append(req(book, person, ts + timedelta(seconds=5), prompt=prompt))
            outs.append(outcome(person, day + timedelta(hours=2), "edit_rejected", 5))
            if person == "unlucky@x.com":
                outs.append(outcome(person, day + timedelta(hours=2), "commit", 1))
    churn = of(run(store, usage, outs), "retry_churn")
    assert set(churn) == {"churn@x.com"}
    ev = churn["churn@x.com"].evidence
    assert ev["failed_requests"] == 160 and ev["retried_failures"] == 160 and ev["commits"] == 0
    assert set(ev["sample_event_ids"]) <= stored_ids(store)


# --- the whole -----------------------------------------------------------------------------------------


def test_flags_sorted_and_json_ready(store, book) -> None:
    usage, outs = ordinary(book, "a@x.com")
    usage += [req(book, "a@x.com", NOV + timedelta(days=1, seconds=5 * i), prompt="x", ctx=90_000)
              for i in range(200)]
    flags = run(store, usage, outs)
    assert flags and all(f.detector in DETECTORS for f in flags)
    assert [(-f.score, f.person) for f in flags] == sorted((-f.score, f.person) for f in flags)
    for f in flags:
        assert 0 <= f.score <= 1
        json.dumps(f.to_json())


def test_demo_org_personas_found_and_deep_workers_and_fleets_clean(store) -> None:
    from tokenpulse.demo.org import generate, load

    org = generate(people=80, days=45, seed=2, end=date(2026, 11, 30))
    load(org, store)
    flags = detect(store, datetime(2026, 10, 17, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC),
                   expected_monthly_usd=org.expected_monthly_usd)
    assert not [f for f in flags if org.personas[f.person] in ("deep_worker", "fleet_builder")]
    expected = {"runaway_loop": "runaway_agent", "shallow_volume": "busywork",
                "threshold_calibration": "calibrator", "retry_churn": "retry_churner"}
    for detector, persona in expected.items():
        labelled = {p for p, label in org.personas.items() if label == persona}
        flagged = {f.person for f in flags if f.detector == detector}
        assert labelled and flagged == labelled, detector


def _every_detector(book) -> tuple[list, list, list]:
    """A small organisation in which each detector has someone to flag and someone to spare."""
    from tokenpulse.people import Person

    usage, outs = [], []
    for person in ("loop@x.com", "plain@x.com", "churn@x.com"):
        u, o = ordinary(book, person)
        usage, outs = usage + u, outs + o
    usage += [req(book, "loop@x.com", NOV + timedelta(days=2, seconds=10 * i), prompt="same", ctx=100_000,
                  session="agent") for i in range(60)]
    usage += [req(book, "busy@x.com", NOV + timedelta(days=d, minutes=i), ctx=1_500, output=4_000,
                  session=f"busy{d}") for d in range(20) for i in range(20)]
    for k in range(4):
        usage += [req(book, "proto@x.com", NOV + timedelta(days=6 + k, minutes=i), session=f"proto{k}",
                      ctx=150_000, output=12_000, project="spike") for i in range(40)]
    for d in range(20):
        for i in range(4):
            ts = NOV + timedelta(days=d, minutes=10 * i)
            usage += [req(book, "churn@x.com", ts + timedelta(seconds=k), prompt=f"c{d}-{i}", status="error")
                      for k in range(3)]
    usage += _month(book, "cal@x.com", 206, 0.7)
    for m in "abcdefg":  # d, in team core, lands just above the average of a, b and c, late
        usage += _month(book, f"{m}@x.com", 90 if m != "d" else 93, 0.1 if m != "d" else 0.8)
    people = [Person(f"{m}@x.com", team="core") for m in "abcd"] + [Person(f"{m}@x.com", team="web") for m in "efg"]
    return usage, outs, people


def test_detect_gives_the_same_flags_on_postgresql(store, pg_url, book) -> None:
    """The detectors' SQL runs on both backends (PostgreSQL has no `hash()`, names a few things differently)
    and finds the same people, with the same figures and sample ids."""
    from tokenpulse.store import open_store

    usage, outs, people = _every_detector(book)
    pg = open_store(pg_url)
    try:
        found = {}
        for name, s in (("duckdb", store), ("postgres", pg)):
            s.save_people(people)
            s.write_batch(usage, outs)
            found[name] = [f.to_json() for f in detect(s, SINCE, UNTIL, expected_monthly_usd={"claude_code": 200})]
    finally:
        pg.close()
    detectors = {(f["person"], f["detector"]) for f in found["duckdb"]}
    # (the month-long calibration runs have no outcomes either, so no_outcome_spend finds them too)
    assert {(p, d) for p, d in detectors if d != "no_outcome_spend"} == {
        ("loop@x.com", "runaway_loop"), ("busy@x.com", "shallow_volume"), ("cal@x.com", "threshold_calibration"),
        ("d@x.com", "threshold_calibration"), ("churn@x.com", "retry_churn")}
    assert ("proto@x.com", "no_outcome_spend") in detectors and "plain@x.com" not in {p for p, _ in detectors}
    assert found["postgres"] == found["duckdb"]
