"""Starting a tokenpulse service for a benchmark: `python -m tokenpulse ARGS…` (a command that prints
`listening on URL`), its stderr then drained into a log in the background so it never blocks on a full pipe."""

from __future__ import annotations

import subprocess
import sys
import threading


def start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, str, list[str], threading.Thread]:
    """(the process, its URL, its log so far and from then on, the thread draining it); exits the benchmark if
    it does not start."""
    proc = subprocess.Popen([sys.executable, "-m", "tokenpulse", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    log: list[str] = []
    for line in proc.stderr:
        log.append(line)
        if "listening on " in line:
            url = line.split("listening on ", 1)[1].split()[0]
            break
    else:
        raise SystemExit(f"tokenpulse {' '.join(args)} did not start:\n" + "".join(log))
    stream = proc.stderr
    drain = threading.Thread(target=lambda: log.extend(stream), daemon=True)
    drain.start()
    return proc, url, log, drain
