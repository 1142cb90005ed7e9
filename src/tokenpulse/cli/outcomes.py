"""`tokenpulse outcomes`: commits and pull requests per $100 and the AI-assisted share of changed lines, per
person or team — each ratio beside the spend and counts it comes from and the team's median."""

from __future__ import annotations

from datetime import date

import click

from .app import App
from .options import output_options, period_options, resolve_day
from .render import console, print_json

CSV_FIELDS = ("key", "team", "people", "spend_usd", "commits", "pull_requests", "lines_added", "lines_removed",
              "ai_assisted_lines", "ai_assisted_share", "commits_per_100usd", "prs_per_100usd",
              "team_median_commits_per_100usd", "team_median_prs_per_100usd", "lines_source")


@click.command("outcomes")
@click.option("--by", type=click.Choice(["person", "team"]), default="person", show_default=True)
@click.option("--team", metavar="TEAM", help="Only this team's people.")
@period_options
@click.option("--no-import", is_flag=True, help="Use what is already stored.")
@output_options
@click.pass_obj
def outcomes_cmd(app: App, by: str, team: str | None, since: date | str | None, until: date | str | None,
                 tz: str | None, tools: tuple[str, ...], projects: tuple[str, ...], no_import: bool,
                 output: str) -> None:
    """Outcomes per dollar: spend, commits, pull requests, lines changed and the share of them that was
    AI-assisted, with commits and PRs per $100 of list spend beside the team's median. Sorted by name:
    the figures are context for a conversation, not a ranking."""
    from ..insights.outcomes import outcomes_per_dollar
    from ..reports import local_bounds, zone

    if tools or projects:
        # Outcomes are not reliably tied to one tool or project (a commit mixes the work of several).
        raise click.UsageError("outcomes has no --tool or --project filter")
    if not no_import:
        app.import_logs()
    tz = tz or app.settings.tz
    zone(tz)
    start, end = local_bounds(tz, resolve_day(since, tz), resolve_day(until, tz))
    report = outcomes_per_dollar(app.store, by, since=start, until=end, tz=tz, team=team)
    data = report.to_json()
    if output == "json":
        print_json({"outcomes": by, "timezone": tz, "team": team, **data})
        return
    if output == "csv":
        import csv
        import sys

        writer = csv.writer(sys.stdout)
        writer.writerow(CSV_FIELDS)
        for row in data["rows"]:
            writer.writerow(["" if row[f] is None else row[f] for f in CSV_FIELDS])
        return
    _table(by, data)


def _table(by: str, data: dict) -> None:
    from decimal import Decimal

    from rich.table import Table

    def ratio(value: float | None, median: float | None) -> str:
        if value is None:
            return "—"
        return f"{value:.1f}" + (f" (team {median:.1f})" if median is not None else "")

    table = Table(title=f"Outcomes per dollar by {by}", title_justify="left")
    for name in (by, "Team" if by == "person" else "People", "Spend", "Commits", "PRs", "Lines ±", "AI lines",
                 "Commits/$100", "PRs/$100"):
        table.add_column(name, justify="left" if name in (by, "Team") else "right")
    for r in data["rows"]:
        share = r["ai_assisted_share"]
        table.add_row(str(r["key"] or "—"), str(r["team"] or "—") if by == "person" else str(r["people"]),
                      f"${Decimal(r['spend_usd']):,.2f}", f"{r['commits']:,}", f"{r['pull_requests']:,}",
                      f"+{r['lines_added']:,} −{r['lines_removed']:,}",
                      f"{share:.0%}" if share is not None else "—",
                      ratio(r["commits_per_100usd"], r["team_median_commits_per_100usd"] if by == "person" else None),
                      ratio(r["prs_per_100usd"], r["team_median_prs_per_100usd"] if by == "person" else None))
    console().print(table if data["rows"] else "No spend or outcomes in this period.")


COMMANDS = [outcomes_cmd]
