"""`tokenpulse depth`: what kind of tokens, per person, team, tool or model (whose tokens cost the most)."""

from __future__ import annotations

from datetime import date

import click

from .app import App
from .options import output_options, period_options, resolve_day
from .render import console, print_json


@click.command("depth")
@click.option("--by", type=click.Choice(["person", "team", "tool", "model"]), default="person", show_default=True)
@period_options
@click.option("--no-import", is_flag=True, help="Use what is already stored.")
@output_options
@click.pass_obj
def depth_cmd(app: App, by: str, since: date | str | None, until: date | str | None, tz: str | None,
              tools: tuple[str, ...], projects: tuple[str, ...], no_import: bool, output: str) -> None:
    """Depth of usage: cost per million tokens, mean context per request, cache-read and output shares.
    Ranked by cost per million tokens (whose tokens cost the most); groups with few requests come last."""
    from ..insights.depth import depth_from_store
    from ..reports import local_bounds, zone

    if projects:
        raise click.UsageError("depth has no --project filter yet")
    if not no_import:
        app.import_logs()
    tz = tz or app.settings.tz
    zone(tz)
    start, end = local_bounds(tz, resolve_day(since, tz), resolve_day(until, tz))
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


COMMANDS = [depth_cmd]
