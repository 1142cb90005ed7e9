"""The widgets' fast path: read the snapshot, render, print — in a few milliseconds, whatever the history.

Only the standard library and the renderers are imported here. A statusline must never break the terminal,
so any failure prints a short line and the process exits 0."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime


def _open(url: str) -> None:
    """SwiftBar shows a notification when its `swiftbar://notify` URL is opened (macOS `open`)."""
    import contextlib
    import subprocess

    with contextlib.suppress(OSError):  # not on macOS: nothing to notify with
        subprocess.Popen(["open", url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(kind: str) -> int:
    try:
        from ..paths import data_dir
        from . import snapshot

        figures = snapshot.read(snapshot.path_in(data_dir()))
        now = datetime.now(UTC)
        if kind == "statusline":
            from . import statusline

            stdin = sys.stdin.buffer.read() if not sys.stdin.isatty() else b""
            text = statusline.render(stdin, figures, now, color=not os.environ.get("NO_COLOR"))
        else:
            from . import menubar

            dark = os.environ.get("OS_APPEARANCE") == "Dark" or os.environ.get("XBARDarkMode") == "true"  # noqa: SIM112 - xbar names it so
            text = menubar.render(figures, now, dark=dark)
            if os.environ.get("SWIFTBAR") == "1":
                from .alerts import notify_pending

                notify_pending(data_dir(), figures, _open)
    except Exception as exc:  # noqa: BLE001 - a widget prints something and never fails its host
        text = f"tokenpulse: {type(exc).__name__}"
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
    return 0
