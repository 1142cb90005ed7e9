"""The `tokenpulse` command line: thin commands that parse flags, call the library and render.

Library errors (`TokenpulseError`) become one-line messages here and nowhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..errors import TokenpulseError
from .app import App

EXIT_PARTIAL = 3
"""Exit status when a command did its job but some input lines could not be read."""


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TokenpulseError as exc:
            raise click.ClickException(str(exc)) from None
        except Exception as exc:
            from ..store import engine_errors

            if isinstance(exc, engine_errors()):  # e.g. a damaged database file, a full disk
                raise click.ClickException(f"the store failed: {exc}") from None
            raise


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Data directory (default: $TOKENPULSE_HOME, else the user data directory).")
@click.option("--db", metavar="PATH|URL",
              help="The store: a DuckDB file or a postgresql:// URL (default: the db setting, else "
                   "tokenpulse.duckdb in the data directory).")
@click.version_option(__version__, prog_name="tokenpulse")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, db: str | None) -> None:
    """See what AI coding tools cost: exact, incremental reports from local logs."""
    app = App(home, db)
    ctx.obj = app
    ctx.call_on_close(app.close)


def _register() -> None:
    from . import (
        conversations,
        demo,
        depth,
        exporting,
        forecast,
        gateway,
        importing,
        insights,
        keys,
        login,
        me,
        outcomes,
        people,
        prices,
        push,
        report,
        serve,
        sync,
        widgets,
    )

    for module in (importing, report, depth, outcomes, forecast, insights, conversations, exporting, prices, push, serve, gateway, keys,
                   login, me, widgets, people, demo, sync):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="tokenpulse")
