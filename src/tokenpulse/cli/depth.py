"""`tokenpulse depth`: what kind of tokens, per person, team, tool or model (whose tokens cost the most)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import click

from .app import App
from .options import output_options, period_options, resolve_day
from .render import console, print_json


@click.command("depth")
@click.option("--by", type=click.Choice(["person", "team", "tool", "model"]), default="person", show_default=True)
@click.option("--over", type=click.Choice(["day", "week"]),
              help="Depth per local day or week instead: of the whole org, or of --key of the --by grouping.")
@click.option("--key", metavar="NAME", help="With --over: the person, team, tool or model (per --by) to follow.")
@period_options
@click.option("--no-import", is_flag=True, help="Use what is already stored.")
@output_options
@click.pass_obj
def depth_cmd(app: App, by: str, over: str | None, key: str | None, since: date | str | None,
              until: date | str | None, tz: str | None, tools: tuple[str, ...], projects: tuple[str, ...],
              no_import: bool, output: str) -> None:
    """Depth of usage: cost per million tokens, mean context per request, cache-read and output shares.
    Ranked by cost per million tokens (whose tokens cost the most); groups with few requests come last.
    With --over day|week: the same figures over time, for the org or for --key of the --by grouping."""
    from ..insights.depth import depth_from_store
    from ..reports import local_bounds, zone

    if projects:
        raise click.UsageError("depth has no --project filter yet")
    if key is not None and over is None:
        raise click.UsageError("--key goes with --over (depth over time of one person, team, tool or model)")
    if not no_import:
        app.import_logs()
    tz = tz or app.settings.tz
    zone(tz)
    start, end = local_bounds(tz, resolve_day(since, tz), resolve_day(until, tz))
    if over is not None:
        _over_time(app, over, by if key is not None else None, key, start, end, tz, tools, output)
        return
    rows = depth_from_store(app.store, by, since=start, until=end, tz=tz, tools=tools)
    if output == "json":
        print_json({"depth": by, "timezone": tz, "since": start.isoformat() if start else None,
                    "until": end.isoformat() if end else None, "rows": [r.to_json() for r in rows]})
        return
    if output == "csv":
        import csv
        import sys

        writer = csv.writer(sys.stdout)
        fields = ["key", "requests", "tokens", "cost_usd", "cost_per_mtok_usd", "cost_per_request_usd",
                  "mean_context_tokens", "cache_read_share", "output_share", "ranked"]
        writer.writerow(fields)
        for r in rows:
            data = r.to_json()
            writer.writerow([data[f] for f in fields])
        return
    from rich.table import Table

    table = Table(title=f"Depth by {by}", title_justify="left")
    for name in (by, "Requests", "Tokens", "Cost", "$/MTok", "$/request", "Mean context", "Cache read", "Output"):
        table.add_column(name, justify="left" if name == by else "right")
    for r in rows:
        data = r.to_json()
        table.add_row(str(r.key or "—"), f"{r.requests:,}", f"{r.tokens:,}", f"${data['cost_usd']:,.2f}",
                      f"${data['cost_per_mtok_usd']:,.2f}" if r.tokens else "—",
                      f"${data['cost_per_request_usd']:,.4f}" if r.requests else "—",
                      f"{r.mean_context:,}" if r.mean_context is not None else "—",
                      f"{r.cache_read_share:.0%}" if r.cache_read_share is not None else "—",
                      f"{r.output_share:.1%}" if r.output_share is not None else "—",
                      style="dim" if not data["ranked"] else None)
    console().print(table if rows else "No usage in this period.")


_CSV_FIELDS = ["requests", "tokens", "cost_usd", "cost_per_mtok_usd", "cost_per_request_usd", "mean_context_tokens",
               "cache_read_share", "output_share"]


def _over_time(app: App, over: str, by: str | None, key: str | None, start: Any, end: Any, tz: str,
               tools: tuple[str, ...], output: str) -> None:
    from ..insights.depth import depth_over_time

    series = depth_over_time(app.store, over, by=by, key=key, since=start, until=end, tz=tz,
                             week_start=app.settings.week_start, tools=tools)
    data = series.to_json()
    if output == "json":
        print_json({"depth": by, "timezone": tz, "since": start.isoformat() if start else None,
                    "until": end.isoformat() if end else None, **data})
        return
    if output == "csv":
        import csv
        import sys

        writer = csv.writer(sys.stdout)
        writer.writerow(["period", *_CSV_FIELDS])
        for p in data["points"]:
            writer.writerow([p["period"], *("" if p[f] is None else p[f] for f in _CSV_FIELDS)])
        return
    from rich.table import Table

    who = f"{by} {key}" if key is not None else "the organisation"
    table = Table(title=f"Depth per {over} of {who}", title_justify="left")
    for name in (over.capitalize(), "Requests", "Cost", "$/MTok", "Mean context", "Cache read", "Output"):
        table.add_column(name, justify="left" if name == over.capitalize() else "right")
    for p in data["points"]:
        table.add_row(p["period"], f"{p['requests']:,}", f"${Decimal(p['cost_usd']):,.2f}",
                      f"${Decimal(p['cost_per_mtok_usd']):,.2f}" if p["cost_per_mtok_usd"] else "—",
                      f"{p['mean_context_tokens']:,}" if p["mean_context_tokens"] is not None else "—",
                      f"{p['cache_read_share']:.0%}" if p["cache_read_share"] is not None else "—",
                      f"{p['output_share']:.1%}" if p["output_share"] is not None else "—")
    console().print(table if data["points"] else "No usage in this period.")


COMMANDS = [depth_cmd]
