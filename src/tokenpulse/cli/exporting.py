"""`tokenpulse export`: stored events as canonical NDJSON (the default), CSV, Parquet or FOCUS 1.2 CSV."""

from __future__ import annotations

import sys
from datetime import date

import click

from ..exports import FORMATS, write_export
from ..reports import local_bounds
from .app import App
from .importing import apply_pricing_flags
from .options import discount_option, parse_day, resolve_day


@click.command("export")
@click.option("--format", "format_", type=click.Choice(FORMATS), default="ndjson", show_default=True,
              help="ndjson re-imports with `import`; csv and parquet: one row per usage event; "
                   "focus: FOCUS 1.2 cost and usage rows per UTC day, person, tool and model.")
@click.option("--since", "-s", callback=lambda c, p, v: parse_day(v), metavar="DATE")
@click.option("--until", "-u", callback=lambda c, p, v: parse_day(v), metavar="DATE")
@click.option("--tz", "tz", metavar="ZONE", help="Time zone of --since/--until (default: the tz setting).")
@click.option("--person", "people", multiple=True, metavar="ID", help="Only this person's events; repeatable.")
@discount_option
@click.option("--output", "-o", type=click.File("wb"), default="-", help="File to write (default: stdout).")
@click.pass_obj
def export_cmd(app: App, format_: str, since: date | str | None, until: date | str | None, tz: str | None,
               people: tuple[str, ...], discount: str | None, output) -> None:
    """Write stored events (NDJSON: usage and outcomes, re-importable with `import`)."""
    apply_pricing_flags(app, (), discount)
    tz = tz or app.settings.tz
    start, end = local_bounds(tz, resolve_day(since, tz), resolve_day(until, tz))
    out = output if output is not None else sys.stdout.buffer
    write_export(app.store, format_, out, start, end, people=people or None, discount=app.discount, tz=tz)
    out.flush()


COMMANDS = [export_cmd]
