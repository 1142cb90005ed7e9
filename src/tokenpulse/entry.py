"""The `tokenpulse` command. `tokenpulse statusline` and `tokenpulse menubar` (with no other arguments) run
on every render of a terminal's statusline or a menu bar, so they skip the command-line framework and every
heavy import: they read the snapshot and print (widgets/fast.py). Everything else is the CLI."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] in (["statusline"], ["menubar"]):
        from .widgets.fast import run

        sys.exit(run(sys.argv[1]))
    from .cli import main as cli_main

    cli_main()
