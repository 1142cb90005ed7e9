"""The import progress bar: on a terminal, for sizeable work only."""

from __future__ import annotations

import io

from rich.console import Console

from tokenpulse.cli.progress import MIN_BYTES, ByteProgress


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100), out


def test_a_bar_is_drawn_for_megabytes_on_a_terminal() -> None:
    console, out = terminal()
    with ByteProgress(enabled=True, label="Importing", console=console) as progress:
        progress.update(MIN_BYTES // 2, MIN_BYTES * 2)
        progress.update(MIN_BYTES * 2, MIN_BYTES * 2)
    assert "Importing" in out.getvalue()


def test_nothing_is_drawn_for_small_work_or_off_a_terminal() -> None:
    console, out = terminal()
    with ByteProgress(enabled=True, label="Importing", console=console) as progress:
        progress.update(100, MIN_BYTES - 1)
    assert out.getvalue() == ""
    console, out = terminal()
    with ByteProgress(enabled=False, label="Importing", console=console) as progress:
        progress.update(MIN_BYTES, MIN_BYTES * 10)
    assert out.getvalue() == ""
