"""Personal reports from local logs: tokenpulse against ccusage 20.0.24, on the same generated files.

    python bench/local_reports.py [--assistant-lines 1000000] [--runs 5] [--work bench/.work]

Generates a Claude Code corpus (bench/claude_corpus.py; reused when already there), then measures
as whole processes, each with a fresh empty HOME and no network:

- ccusage `daily --json --offline --timezone UTC` (it rescans every file on every run);
- tokenpulse `report daily --json --tz UTC`, cold (empty store: everything is imported), warm (a
  re-run with nothing new) and after one session file grew by a few responses;

and prints wall time and memory side by side: peak RSS of the largest process (what /usr/bin/time
reports) and the sampled peak of all the command's processes together (tokenpulse's cold import runs
parse workers beside the main process; their PSS is summed, so shared library pages count once).
Then it checks that both tools agree on every day's token totals, and on cost wherever no request
crosses 200k prompt tokens.

Python runs with its bytecode compiled, as after any install (`compileall` runs first).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import claude_corpus  # noqa: E402

DEFAULT_CCUSAGE = REPO / ".peers" / "ccusage" / "node_modules" / ".bin" / "ccusage"
CORPUS_END = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def tree_pss_mb(pid: int) -> float:
    """Memory of a process and its children together, in MB: the sum of their proportional set sizes
    (PSS), which counts pages the processes share (libraries) once rather than once per process."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    total_kb = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def run(cmd: list[str], env: dict[str, str], stdout_path: Path | None = None) -> dict:
    """Run a command: wall time, the kernel's peak RSS (of the largest process in the tree, as /usr/bin/time
    reports it) and the sampled peak of the whole tree's memory (PSS summed over its processes)."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115
    start = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.PIPE)
    peak_sum = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_sum
        while not done.is_set():
            peak_sum = max(peak_sum, tree_pss_mb(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if stdout_path:
        out.close()
    if process.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd)} failed ({process.returncode}):\n{stderr[-2000:]}")
    return {"wall": wall, "peak_mb": usage.ru_maxrss / 1024, "tree_mb": peak_sum}


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def compare(ours: Path, theirs: Path) -> dict:
    tp = json.loads(ours.read_text(), parse_float=Decimal)
    cc = json.loads(theirs.read_text(), parse_float=Decimal)
    cc_days = {row["period"]: row for row in cc["daily"]}
    tp_days = {row["key"]: row for row in tp["rows"]}
    token_mismatches = []
    cost_diffs = []
    for day in sorted(set(cc_days) | set(tp_days)):
        c, t = cc_days.get(day), tp_days.get(day)
        if c is None or t is None:
            token_mismatches.append(day)
            continue
        for theirs_key, ours_key in (("inputTokens", "input_tokens"), ("outputTokens", "output_tokens"),
                                     ("cacheCreationTokens", "cache_write_tokens"),
                                     ("cacheReadTokens", "cache_read_tokens"), ("totalTokens", "total_tokens")):
            if c[theirs_key] != t[ours_key]:
                token_mismatches.append(f"{day} {ours_key}: ccusage {c[theirs_key]}, tokenpulse {t[ours_key]}")
        cost_diffs.append((day, t["cost_usd"] - c["totalCost"]))
    return {
        "days": len(cc_days),
        "token_mismatches": token_mismatches,
        "max_cost_diff": max((abs(d) for _, d in cost_diffs), default=Decimal(0)),
        "days_cost_off_by_a_cent_or_more": [day for day, d in cost_diffs if abs(d) >= Decimal("0.005")],
        "total_cost": (cc["totals"]["totalCost"], tp["totals"]["cost_usd"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assistant-lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="warm re-runs to time (median and p95 shown)")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=REPO / "bench" / ".work")
    parser.add_argument("--ccusage", type=Path, default=DEFAULT_CCUSAGE)
    parser.add_argument("--tokenpulse", default=str(Path(sys.executable).parent / "tokenpulse"))
    parser.add_argument("--max-prompt", type=int, default=400_000,
                        help="cap on a request's prompt; the default lets some cross the 200k long-context line")
    args = parser.parse_args()
    if not args.ccusage.exists():
        raise SystemExit(f"ccusage not found at {args.ccusage} (run `make peers`)")

    corpus = args.work / f"claude-{args.assistant_lines}-{args.max_prompt}"
    if not (corpus / "summary.json").exists():
        shutil.rmtree(corpus, ignore_errors=True)
        print(f"generating {args.assistant_lines:,} assistant lines into {corpus} …", flush=True)
        summary = claude_corpus.generate(corpus, args.assistant_lines, seed=7, days=45, end=CORPUS_END,
                                         max_prompt=args.max_prompt)
        (corpus / "summary.json").write_text(json.dumps(summary))
    summary = json.loads((corpus / "summary.json").read_text())
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "tokenpulse")], check=True)

    scratch = Path(tempfile.mkdtemp(prefix="tp-bench-"))
    empty_home = scratch / "home"
    empty_home.mkdir()
    base_env = {k: v for k, v in os.environ.items() if k not in ("CODEX_HOME", "XDG_CONFIG_HOME")}
    base_env.update(HOME=str(empty_home), CLAUDE_CONFIG_DIR=str(corpus), TZ="UTC")
    ccusage_cmd = [str(args.ccusage), "daily", "--json", "--offline", "--timezone", "UTC"]
    ours_cmd = [args.tokenpulse, "report", "daily", "--json", "--tz", "UTC"]

    print(f"corpus: {summary['assistant_lines']:,} assistant lines, {summary['files']:,} files, "
          f"{summary['bytes'] / 1e6:,.0f} MB", flush=True)
    cc_runs = [run(ccusage_cmd, base_env, scratch / "ccusage.json") for _ in range(args.cold_runs)]

    cold_runs = []
    for i in range(args.cold_runs):
        home = scratch / f"tp-{i}"
        env = {**base_env, "TOKENPULSE_HOME": str(home)}
        cold_runs.append(run(ours_cmd, env, scratch / "tokenpulse.json"))
    env = {**base_env, "TOKENPULSE_HOME": str(scratch / f"tp-{args.cold_runs - 1}")}
    warm_runs = [run(ours_cmd, env) for _ in range(args.runs)]

    # One session grows by a few responses: the next report reads only those.
    grown = sorted(corpus.glob("projects/*/*.jsonl"))[0]
    backup = grown.read_bytes()
    try:
        session = claude_corpus.Session(claude_corpus.random.Random(99), "service-00", CORPUS_END, args.max_prompt)
        with grown.open("a", encoding="utf-8") as f:
            for _ in range(5):
                f.write("\n".join(session.response_lines()) + "\n")
        grown_run = run(ours_cmd, env)
    finally:
        grown.write_bytes(backup)
    check = compare(scratch / "tokenpulse.json", scratch / "ccusage.json")

    def row(name: str, runs: list[dict], key: str = "wall") -> str:
        return f"{name:<44} {median([r[key] for r in runs]):>8.2f}"

    print()
    print(f"{'':<44} {'wall s':>8} {'peak RSS MB':>12} {'all procs MB':>13}")
    for name, runs in (("ccusage 20.0.24 daily (every run rescans)", cc_runs),
                       ("tokenpulse report daily, cold (empty store)", cold_runs),
                       ("tokenpulse report daily, warm (nothing new)", warm_runs),
                       ("tokenpulse report daily, after one file grew", [grown_run])):
        print(f"{row(name, runs)} {median([r['peak_mb'] for r in runs]):>12.0f} "
              f"{median([r['tree_mb'] for r in runs]):>13.0f}")
    print(f"{'tokenpulse warm p95 over ' + str(len(warm_runs)) + ' runs':<44} "
          f"{p95([r['wall'] for r in warm_runs]):>8.2f}")
    print()
    print(f"days compared: {check['days']}; token mismatches: {len(check['token_mismatches'])}")
    for line in check["token_mismatches"][:10]:
        print("  ", line)
    print(f"cost, all days: ccusage ${check['total_cost'][0]:.2f}, tokenpulse ${check['total_cost'][1]:.2f}; "
          f"days differing by half a cent or more: {len(check['days_cost_off_by_a_cent_or_more'])} "
          f"(max difference ${check['max_cost_diff']:.6f})")
    if args.max_prompt > 200_000:
        print("  (this corpus has requests above 200k prompt tokens: tokenpulse bills such a request wholly at the "
              "long-context rates, as Anthropic does; ccusage bills only each kind's tokens beyond 200k at the "
              "higher rate. Run with --max-prompt 200000 for an equal-cost check.)")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
