"""`tokenpulse export`: every stored event as canonical NDJSON (`tokenpulse-events/1`)."""

from __future__ import annotations

import sys
from datetime import date

import click

from ..events import encode_line
from ..reports import local_bounds
from .app import App
from .options import parse_day, resolve_day


@click.command("export")
@click.option("--format", "format_", type=click.Choice(["ndjson"]), default="ndjson", show_default=True)
@click.option("--since", "-s", callback=lambda c, p, v: parse_day(v), metavar="DATE")
@click.option("--until", "-u", callback=lambda c, p, v: parse_day(v), metavar="DATE")
@click.option("--tz", "tz", metavar="ZONE", help="Time zone of --since/--until (default: the tz setting).")
@click.option("--output", "-o", type=click.File("wb"), default="-", help="File to write (default: stdout).")
@click.pass_obj
def export_cmd(app: App, format_: str, since: date | str | None, until: date | str | None, tz: str | None,
               output) -> None:
    """Write stored usage and outcome events as canonical NDJSON (re-importable with `import`)."""
    tz = tz or app.settings.tz
    start, end = local_bounds(tz, resolve_day(since, tz), resolve_day(until, tz))
    store = app.store
    out = output if output is not None else sys.stdout.buffer
    for event in store.iter_usage(start, end):
        out.write(encode_line(event))
    for outcome in store.iter_outcomes(start, end):
        out.write(encode_line(outcome))
    out.flush()


COMMANDS = [export_cmd]
