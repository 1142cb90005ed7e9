"""Widget speed: p50 and p95 wall time of `tokenpulse statusline` and `tokenpulse menubar` as whole processes,
with a 1M-line Claude Code history on disk and with none (the time must not depend on the history).

    python bench/widgets.py [--assistant-lines 1000000] [--runs 50]

The corpus is bench/claude_corpus.py's (generated once under bench/.work, shared with local_reports.py). It is
imported once (`tokenpulse import`, which also writes the snapshot the widgets read); then each widget runs
`--runs` times as a fresh process, exactly as Claude Code and SwiftBar start it — the statusline with the
statusline JSON on stdin. Target: p95 <= 80 ms either way.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import claude_corpus  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
STDIN = (REPO / "tests" / "data" / "statusline" / "statusline-test.json").read_bytes()
TARGET_MS = 80.0
CORPUS_END = datetime(2026, 12, 4, tzinfo=UTC)


def _time(cmd: list[str], env: dict[str, str], stdin: bytes | None, runs: int) -> tuple[float, float, str]:
    times = []
    out = ""
    for _ in range(runs + 2):  # two warm-ups: the file cache, as on a laptop that renders all day
        started = time.perf_counter()
        done = subprocess.run(cmd, input=stdin, env=env, capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
        out = done.stdout.decode().splitlines()[0] if done.stdout else ""
    times = sorted(times[2:])
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)], out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assistant-lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    work = REPO / "bench" / ".work"
    corpus = work / f"claude-{args.assistant_lines}-400000"
    if not (corpus / "summary.json").exists():
        shutil.rmtree(corpus, ignore_errors=True)
        print(f"generating {args.assistant_lines:,} assistant lines into {corpus} …", flush=True)
        summary = claude_corpus.generate(corpus, args.assistant_lines, seed=7, days=45, end=CORPUS_END)
        (corpus / "summary.json").write_text(json.dumps(summary))
    summary = json.loads((corpus / "summary.json").read_text())
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "tokenpulse")], check=True)
    tokenpulse = str(Path(sys.executable).parent / "tokenpulse")
    scratch = Path(tempfile.mkdtemp(prefix="tp-widgets-"))
    try:
        rows = []
        for label, claude_dir in (("1M-line history", corpus), ("no history", scratch / "empty")):
            home = scratch / label.replace(" ", "-")
            (scratch / "empty").mkdir(exist_ok=True)
            env = {**os.environ, "TOKENPULSE_HOME": str(home), "CLAUDE_CONFIG_DIR": str(claude_dir),
                   "HOME": str(scratch), "TZ": "UTC", "NO_COLOR": "1"}
            started = time.perf_counter()
            subprocess.run([tokenpulse, "import"], env=env, capture_output=True, check=False)
            imported = time.perf_counter() - started
            for widget, stdin in (("statusline", STDIN), ("menubar", None)):
                p50, p95, line = _time([tokenpulse, widget], env, stdin, args.runs)
                rows.append((label, widget, p50, p95, line, imported))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"history: {summary.get('assistant_lines', args.assistant_lines):,} assistant lines, "
          f"{summary.get('bytes', 0) / 1e9:.2f} GB; {args.runs} runs per row as whole processes; "
          f"target p95 <= {TARGET_MS:.0f} ms")
    print(f"{'history':<16} {'widget':<11} {'p50 ms':>7} {'p95 ms':>7}  result  first line")
    for label, widget, p50, p95, line, _ in rows:
        print(f"{label:<16} {widget:<11} {p50:>7.1f} {p95:>7.1f}  {'PASS' if p95 <= TARGET_MS else 'FAIL':<6}  "
              f"{line[:70]}")
    print(f"(the import that wrote the snapshot took {rows[0][5]:.1f} s with the history, once)")
    return 0 if all(r[3] <= TARGET_MS for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
