"""Detector quality and speed: precision and recall per detector against the demo's persona labels.

    python bench/detectors.py [--seeds 1,2,3,4,5] [--sizes 300,500,400,600,800] [--days 45]
        [--events-target 10000000] [--json]

For each seed it generates a demo organisation (`tokenpulse.demo.org.generate`, fixed end date), loads it into
a fresh DuckDB store under bench/.work, runs `detect` over the whole window with the demo's expected monthly
floor, and scores every detector against the labels:

    runaway_loop -> runaway_agent, shallow_volume -> busywork, threshold_calibration -> calibrator,
    retry_churn -> retry_churner

Precision = flagged people with the matching persona / flagged people; recall = matching people flagged /
people with the persona. Targets: precision >= 0.9 and recall >= 0.85 for every detector. `no_outcome_spend`
has no persona of its own: its precision is the share of flags whose listed sessions really have no commit,
pull request or accepted edit (checked with a separate query against the outcomes), and the table shows which
personas it flags. Deep workers and fleet builders must never be flagged by anything. Thresholds were tuned on
seeds 1-3; seeds 4-5 are held out (marked so in the table).

`--events-target N` also builds a large organisation of about N usage events — a generated base organisation
cloned in SQL under new names until it reaches N (generating tens of millions of Python objects would take
longer than anything measured here) — and prints `detect()`'s time against the 5 s target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tokenpulse.demo.org import generate, load
from tokenpulse.insights.detectors import DETECTORS, Flag, detect
from tokenpulse.store.duckdb import DuckDBStore

WORK = Path(__file__).parent / ".work" / "detectors"
END = date(2026, 11, 30)
SEEDS = (1, 2, 3, 4, 5)
SIZES = (300, 500, 400, 600, 800)
TUNED_ON = frozenset({1, 2, 3})
PERSONA_OF = {"runaway_loop": "runaway_agent", "shallow_volume": "busywork", "threshold_calibration": "calibrator",
              "retry_churn": "retry_churner"}
PROTECTED = ("deep_worker", "fleet_builder")
"""Personas no detector may flag."""
PRECISION, RECALL = 0.9, 0.85
DETECT_TARGET_S = 5.0
BASE_PEOPLE = 1_000
"""People in the base organisation the large one is cloned from."""


def _fresh_store(name: str) -> DuckDBStore:
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return DuckDBStore(folder / "tokenpulse.duckdb")


def _window(days: int) -> tuple[datetime, datetime]:
    until = datetime(END.year, END.month, END.day, tzinfo=UTC) + timedelta(days=1)
    return until - timedelta(days=days), until


def _timed_detect(store: DuckDBStore, since: datetime, until: datetime, floor: dict[str, int]) -> tuple[list[Flag],
                                                                                                         float]:
    start = time.perf_counter()
    flags = detect(store, since, until, expected_monthly_usd=floor)
    return flags, time.perf_counter() - start


def _empty_sessions_really_empty(store: DuckDBStore, flags: list[Flag]) -> dict[str, bool]:
    """Per no_outcome_spend flag: do its listed sessions have no commit, PR or accepted edit at all?"""
    out = {}
    for f in flags:
        if f.detector != "no_outcome_spend":
            continue
        sessions = [s["session"] for s in f.evidence["top_sessions"]]
        n = store.con.execute("""SELECT count(*) FROM outcomes WHERE person = ? AND session IN (SELECT unnest(?))
                                 AND type IN ('commit', 'pull_request', 'edit_accepted') AND count > 0""",
                              [f.person, sessions]).fetchone()[0]
        out[f.person] = n == 0
    return out


def run_seed(seed: int, people: int, days: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    org = generate(people=people, days=days, seed=seed, end=END)
    store = _fresh_store(f"seed{seed}")
    try:
        load(org, store)
        load_s = time.perf_counter() - t0
        since, until = _window(days)
        flags, detect_s = _timed_detect(store, since, until, org.expected_monthly_usd)
        really_empty = _empty_sessions_really_empty(store, flags)
    finally:
        store.close()
    personas = org.personas
    result: dict[str, Any] = {"seed": seed, "people": people, "events": len(org.usage), "held_out": seed not in TUNED_ON,
                              "load_s": round(load_s, 2), "detect_s": round(detect_s, 3), "detectors": {}}
    flagged: dict[str, set[str]] = {d: set() for d in DETECTORS}
    for f in flags:
        flagged[f.detector].add(f.person)
    for detector, persona in PERSONA_OF.items():
        truth = {p for p, label in personas.items() if label == persona}
        hit = flagged[detector] & truth
        precision = len(hit) / len(flagged[detector]) if flagged[detector] else 1.0
        recall = len(hit) / len(truth) if truth else 1.0
        result["detectors"][detector] = {
            "flagged": len(flagged[detector]), "labelled": len(truth), "precision": round(precision, 4),
            "recall": round(recall, 4), "pass": precision >= PRECISION and recall >= RECALL,
            "false_positives": sorted(personas[p] for p in flagged[detector] - truth),
        }
    empty = flagged["no_outcome_spend"]
    by_persona: dict[str, int] = {}
    for p in empty:
        by_persona[personas[p]] = by_persona.get(personas[p], 0) + 1
    precision = sum(really_empty.values()) / len(really_empty) if really_empty else 1.0
    result["detectors"]["no_outcome_spend"] = {
        "flagged": len(empty), "precision": round(precision, 4), "by_persona": dict(sorted(by_persona.items())),
        "pass": precision >= PRECISION and not any(by_persona.get(p) for p in PROTECTED),
    }
    result["protected_flags"] = sum(1 for f in flags if personas.get(f.person) in PROTECTED)
    return result


def run_large(events_target: int, days: int) -> dict[str, Any]:
    """A base org cloned in SQL (new people, sessions, prompt hashes and ids per copy) up to about
    `events_target` events."""
    t0 = time.perf_counter()
    org = generate(people=BASE_PEOPLE, days=days, seed=99, end=END)
    store = _fresh_store("large")
    try:
        load(org, store)
        base = len(org.usage)
        copies = max(1, round(events_target / base))
        con = store.con
        for table in ("events", "outcomes"):
            con.execute(f"CREATE TEMP TABLE base_{table} AS SELECT * FROM {table}")
            for k in range(1, copies):  # one copy per statement: the store's memory limit holds
                hashed = f", prompt_hash || '~{k}' AS prompt_hash" if table == "events" else ""
                con.execute(f"""INSERT INTO {table} SELECT b.* REPLACE (
                                    id || '~{k}' AS id, person || '~{k}' AS person, session || '~{k}' AS session{hashed})
                                FROM base_{table} b""")
            con.execute(f"DROP TABLE base_{table}")
        store.checkpoint()
        events = con.execute("SELECT count(*) FROM events").fetchone()[0]
        build_s = time.perf_counter() - t0
        since, until = _window(days)
        detect(store, since, until, expected_monthly_usd=org.expected_monthly_usd)  # warm the file cache
        flags, detect_s = _timed_detect(store, since, until, org.expected_monthly_usd)
    finally:
        store.close()
    return {"events": events, "people": BASE_PEOPLE * copies, "build_s": round(build_s, 1),
            "detect_s": round(detect_s, 3), "flags": len(flags), "target_s": DETECT_TARGET_S,
            "pass": detect_s < DETECT_TARGET_S}


def _machine() -> str:
    import duckdb

    return (f"machine: {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}")


def _print(results: list[dict[str, Any]], large: dict[str, Any] | None) -> None:
    print(_machine())
    print(f"targets: precision >= {PRECISION}, recall >= {RECALL}; 0 flags on {' / '.join(PROTECTED)}; "
          f"detect() < {DETECT_TARGET_S:.0f} s on {10_000_000:,} events")
    header = f"{'seed':>4} {'people':>6} {'events':>8} {'set':>8}  {'detector':<22} {'flagged':>7} {'labelled':>8} " \
             f"{'precision':>9} {'recall':>6}  result"
    print(header)
    print("-" * len(header))
    for r in results:
        tag = "held-out" if r["held_out"] else "tuning"
        for d in DETECTORS:
            x = r["detectors"][d]
            if d == "no_outcome_spend":
                personas = ", ".join(f"{k} {v}" for k, v in x["by_persona"].items()) or "-"
                print(f"{r['seed']:>4} {r['people']:>6} {r['events']:>8} {tag:>8}  {d:<22} {x['flagged']:>7} "
                      f"{'-':>8} {x['precision']:>9.3f} {'-':>6}  {'PASS' if x['pass'] else 'FAIL'}  ({personas})")
            else:
                extra = f"  fp: {', '.join(x['false_positives'])}" if x["false_positives"] else ""
                print(f"{r['seed']:>4} {r['people']:>6} {r['events']:>8} {tag:>8}  {d:<22} {x['flagged']:>7} "
                      f"{x['labelled']:>8} {x['precision']:>9.3f} {x['recall']:>6.3f}  "
                      f"{'PASS' if x['pass'] else 'FAIL'}{extra}")
        ok = r["protected_flags"] == 0
        print(f"{r['seed']:>4} {'':>6} {'':>8} {'':>8}  {'deep/fleet flags':<22} {r['protected_flags']:>7} "
              f"{'':>8} {'':>9} {'':>6}  {'PASS' if ok else 'FAIL'}   detect() {r['detect_s'] * 1000:.0f} ms")
    if large:
        print(f"large org: {large['events']:,} events, {large['people']:,} people (built in {large['build_s']} s): "
              f"detect() {large['detect_s']:.2f} s, target < {DETECT_TARGET_S:.0f} s: "
              f"{'PASS' if large['pass'] else 'FAIL'} ({large['flags']:,} flags)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="people per seed, in order")
    parser.add_argument("--days", type=int, default=45)
    parser.add_argument("--events-target", type=int, default=0, help="also time detect() on a large org")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if len(sizes) < len(seeds):
        sizes += [sizes[-1]] * (len(seeds) - len(sizes))
    results = [run_seed(seed, size, args.days) for seed, size in zip(seeds, sizes, strict=False)]
    large = run_large(args.events_target, args.days) if args.events_target else None
    if args.json:
        json.dump({"machine": _machine(), "seeds": results, "large": large}, sys.stdout, indent=1)
        print()
    else:
        _print(results, large)
    passed = all(x["pass"] for r in results for x in r["detectors"].values()) and all(
        r["protected_flags"] == 0 for r in results) and (large is None or large["pass"])
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
