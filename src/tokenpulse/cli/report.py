"""`tokenpulse report daily|weekly|monthly|session|blocks`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from ..config import parse_week_start
from ..reports import REPORT_KINDS, ReportKind, ReportOptions
from .app import App
from .importing import apply_pricing_flags, warn_import_problems
from .options import discount_option, output_options, period_options, prices_option, resolve_day
from .render import render_report

_HELP = {
    "daily": "Usage and cost per day.",
    "weekly": "Usage and cost per week.",
    "monthly": "Usage and cost per month.",
    "session": "Usage and cost per session, most recent last.",
    "blocks": "Usage in 5-hour blocks, with burn rate and projection for the active one.",
}


def _week_start_option(kind: ReportKind) -> Callable[[Any], Any]:
    """--week-start, on the weekly report only (the others have no weeks)."""
    if kind != "weekly":
        return lambda f: f
    return click.option("--week-start", metavar="DAY",
                        help="First day of the week (default: the week_start setting, else monday).")


def _make_command(kind: ReportKind) -> click.Command:
    @click.command(kind, help=_HELP[kind] + "\n\nRuns an import of new local usage first unless --no-import.")
    @period_options
    @click.option("--breakdown", type=click.Choice(["model"]), help="Also show each model's share.")
    @click.option("--order", type=click.Choice(["asc", "desc"]), default="asc", show_default=True)
    @_week_start_option(kind)
    @click.option("--no-import", is_flag=True, help="Report on what is already stored.")
    @prices_option
    @discount_option
    @output_options
    @click.pass_obj
    def command(app: App, since: date | str | None, until: date | str | None, tz: str | None, tools: tuple[str, ...],
                projects: tuple[str, ...], breakdown: str | None, order: str, no_import: bool,
                prices: tuple[Path, ...], discount: str | None, output: str, week_start: str | None = None) -> None:
        apply_pricing_flags(app, prices, discount)
        settings = app.settings
        imported = None if no_import else app.import_logs()
        tz = tz or settings.tz
        options = ReportOptions(
            kind=kind, tz=tz, since=resolve_day(since, tz), until=resolve_day(until, tz), tools=tools,
            projects=projects,
            breakdown=breakdown == "model", order=order,  # type: ignore[arg-type]
            week_start=parse_week_start(week_start) if week_start else settings.week_start,
            discount=app.discount,
        )
        render_report(app.report(options, imported), output)
        if imported is not None:
            warn_import_problems(imported)
            if imported.partial:
                click.get_current_context().exit(3)

    return command


class _ReportGroup(click.Group):
    """`tokenpulse report` with no kind is the daily report."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0].startswith("-") and args[0] not in ("-h", "--help"):
            args = ["daily", *args]
        return super().parse_args(ctx, args)


@click.group("report", cls=_ReportGroup)
def report_group() -> None:
    """Usage and cost reports (default: daily)."""


for _kind in REPORT_KINDS:
    report_group.add_command(_make_command(_kind))

COMMANDS = [report_group]
