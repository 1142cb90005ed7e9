"""The demo organisation: reproducible to the byte, a well-formed directory, readable by the real import path,
and each persona leaving the signature the detectors will look for (and normal people not)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tokenpulse.demo.org import DEFAULT_MIX, PERSONAS, DemoOrg, generate, load, person_stats, write
from tokenpulse.events import OutcomeEvent, UsageEvent, decode_line
from tokenpulse.store import open_store

END = date(2026, 11, 30)
"""Window 2026-10-17 .. 2026-11-30: November is a whole month inside it."""
MONTH = "2026-11"


@pytest.fixture(scope="module")
def small() -> DemoOrg:
    return generate(60, seed=7, end=END)


@pytest.fixture(scope="module")
def default_org() -> DemoOrg:
    return generate(end=END)


def ndjson(org: DemoOrg, folder: Path) -> bytes:
    return write(org, folder)[0].read_bytes()


def by_persona(org: DemoOrg) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for email, persona in org.personas.items():
        groups[persona].append(email)
    return groups


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    a = ndjson(generate(25, days=20, seed=3, end=END), tmp_path / "a")
    b = ndjson(generate(25, days=20, seed=3, end=END), tmp_path / "b")
    c = ndjson(generate(25, days=20, seed=4, end=END), tmp_path / "c")
    assert a == b
    assert a != c
    assert (tmp_path / "a" / "people.csv").read_bytes() == (tmp_path / "b" / "people.csv").read_bytes()


def test_default_org_has_every_persona_and_a_sound_directory(default_org: DemoOrg) -> None:
    org = default_org
    assert len(org.people) == 300
    counts = Counter(org.personas.values())
    assert set(counts) == set(PERSONAS)
    assert all(counts[p] >= 2 for p in PERSONAS), counts
    assert counts["normal"] + counts["light"] > 0.7 * len(org.people)
    emails = {p.person for p in org.people}
    assert len(emails) == len(org.people) and set(org.personas) == emails
    tops = [p for p in org.people if p.manager is None]
    assert len(tops) == 1
    for p in org.people:
        assert p.team
        if p.manager is not None:
            assert p.manager in emails and p.manager != p.person
    assert {e.person for e in org.usage} <= emails
    assert len({e.id for e in org.usage}) == len(org.usage)
    assert len({o.id for o in org.outcomes}) == len(org.outcomes)
    assert all(e.cost_micros is not None and e.source == "import" and e.confidence == "metered" for e in org.usage)
    assert {e.tool for e in org.usage} == {"claude_code", "codex", "cursor"}
    assert {o.type for o in org.outcomes} == {"commit", "pull_request", "lines_added", "lines_removed",
                                              "edit_accepted", "edit_rejected"}
    assert sum(e.ts.weekday() < 5 for e in org.usage) > 0.85 * len(org.usage)  # weekdays heavier


def test_mix_is_a_parameter() -> None:
    org = generate(40, days=5, seed=2, end=END, mix={"normal": 1.0, "busywork": 0.0, "light": 1.0})
    assert set(org.personas.values()) <= {"normal", "light"}
    with pytest.raises(ValueError, match="unknown persona"):
        generate(10, days=2, end=END, mix={"slacker": 1.0})
    assert set(DEFAULT_MIX) == set(PERSONAS)


def test_written_files_read_back_and_import_through_the_cli(tmp_path: Path) -> None:
    org = generate(30, days=12, seed=5, end=END)
    events, people, labels = write(org, tmp_path / "demo")
    decoded = [decode_line(line) for line in events.read_bytes().splitlines()]
    assert sum(isinstance(e, UsageEvent) for e in decoded) == len(org.usage)
    assert sum(isinstance(e, OutcomeEvent) for e in decoded) == len(org.outcomes)
    assert json.loads(labels.read_text())["personas"] == org.personas

    env = {**os.environ, "TOKENPULSE_HOME": str(tmp_path / "home")}
    db = tmp_path / "demo.duckdb"

    def tp(*args: str | Path) -> str:
        result = subprocess.run([sys.executable, "-m", "tokenpulse", "--db", str(db), *map(str, args)],
                                capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    tp("import", "--format", "ndjson", events)
    tp("people", "import", people)
    report = json.loads(tp("report", "monthly", "--json", "--no-import", "--tz", "UTC"), parse_float=Decimal)
    assert report["totals"]["requests"] == len(org.usage)
    assert report["totals"]["cost_usd"] == Decimal(sum(e.cost_micros or 0 for e in org.usage)) / 1_000_000


def test_load_puts_people_and_events_into_a_store(tmp_path: Path) -> None:
    org = generate(12, days=6, seed=9, end=END)
    store = open_store(tmp_path / "load.duckdb")
    try:
        load(org, store, chunk=500)
        load(org, store, chunk=500)  # idempotent: the ids are dedup keys
        assert {p.person for p in store.people()} == {p.person for p in org.people}
        stored = list(store.iter_usage())
        assert sorted(e.id for e in stored) == sorted(e.id for e in org.usage)
        assert sum(e.cost_micros or 0 for e in stored) == sum(e.cost_micros or 0 for e in org.usage)
        assert sum(1 for _ in store.iter_outcomes()) == len(org.outcomes)
    finally:
        store.close()


def test_persona_signatures(small: DemoOrg) -> None:
    stats = person_stats(small)
    groups = by_persona(small)
    assert set(groups) == set(PERSONAS)
    median_commits = statistics.median(s.commits for s in stats.values())

    for email in groups["fleet_builder"]:
        assert stats[email].monthly[MONTH] > 1_000_000_000
        assert stats[email].commits > median_commits

    def mean_context(persona: str) -> float:
        people = [stats[e] for e in groups[persona]]
        return sum(s.context for s in people) / sum(s.requests for s in people)

    busy = mean_context("busywork")
    assert all(busy < mean_context(p) / 5 for p in PERSONAS if p != "busywork")

    def commits_per_dollar(persona: str) -> float:
        people = [stats[e] for e in groups[persona]]
        return sum(s.commits for s in people) / (sum(s.cost_micros for s in people) / 1e6)

    assert commits_per_dollar("busywork") < commits_per_dollar("normal") / 5
    assert mean_context("deep_worker") > 2 * max(mean_context(p) for p in PERSONAS if p != "deep_worker")

    floor = small.expected_monthly_usd["claude_code"] * 1_000_000
    claude_code_month: dict[str, int] = defaultdict(int)
    for e in small.usage:
        if e.tool == "claude_code" and e.ts.strftime("%Y-%m") == MONTH:
            claude_code_month[e.person or ""] += e.cost_micros or 0
    for email in groups["calibrator"]:
        assert floor <= claude_code_month[email] <= floor * 1.10, claude_code_month[email]
    assert sum(floor <= claude_code_month[e] <= floor * 1.10 for e in groups["normal"]) <= 1

    same_prompt_per_day: Counter[tuple[str, date, str]] = Counter(
        (e.person or "", e.ts.date(), e.prompt_hash or "") for e in small.usage)
    loops = {person for (person, _, _), n in same_prompt_per_day.items() if n >= 30}
    assert set(groups["runaway_agent"]) <= loops
    assert loops <= set(groups["runaway_agent"])

    def error_share(persona: str) -> float:
        people = [stats[e] for e in groups[persona]]
        return sum(s.errors for s in people) / sum(s.requests for s in people)

    assert error_share("retry_churner") > 5 * error_share("normal")
    rejected: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    for o in small.outcomes:
        if o.type in ("edit_rejected", "edit_accepted"):
            (rejected if o.type == "edit_rejected" else accepted)[o.person or ""] += o.count
    for email in groups["retry_churner"]:
        assert rejected[email] > accepted[email]


def test_a_demo_ending_today_stops_at_the_present() -> None:
    from datetime import UTC, datetime

    org = generate(people=30, days=2, seed=3)  # ends today (UTC)
    now = datetime.now(UTC)
    assert all(e.ts <= now for e in org.usage) and all(o.ts <= now for o in org.outcomes)


def test_the_runaway_agents_breaker_trips_are_recorded() -> None:
    from tokenpulse.demo.org import breaker_incidents

    org = generate(people=60, days=10, seed=3, end=date(2026, 11, 30))
    incidents = breaker_incidents(org)
    runaway = {p for p, persona in org.personas.items() if persona == "runaway_agent"}
    assert incidents and {i.person for i in incidents} == runaway and all(i.cause == "loop" for i in incidents)
    # A trip on the last day is still open; earlier ones were re-enabled by the person, with a reason.
    for i in incidents:
        assert (i.reenabled_at is None) == (i.day == org.end.isoformat())
        assert i.reenabled_at is None or (i.reenabled_by == i.person and i.reenable_reason)
