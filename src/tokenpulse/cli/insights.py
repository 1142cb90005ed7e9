"""`tokenpulse insights`: detector flags with their evidence, and the conversation queue they feed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import click

from ..errors import ConfigError
from .app import App
from .options import day_callback, resolve_day
from .render import console, print_json


def expected_usage(app: App) -> dict[str, float]:
    """The organisation's expected monthly spend per tool, in USD: the floor `threshold_calibration` watches.
    What an admin saved in the dashboard's policies wins over `[insights] expected_monthly_usd` (e.g.
    `{claude_code = 200}`) in tokenpulse.toml."""
    from ..gateway.settings import usd_to_micros
    from ..web.policy import effective, file_defaults

    table = effective(file_defaults(app.settings), app.store.org_settings())["expected_monthly_usd"]
    if not isinstance(table, dict):
        raise ConfigError("[insights] expected_monthly_usd must be a table of tool = USD")
    return {tool: usd_to_micros(usd, f"[insights] expected_monthly_usd.{tool}") / 1_000_000 for tool, usd in table.items()}


@click.command("insights")
@click.option("--since", "-s", callback=day_callback, metavar="DATE", help="First local date (default: 30 days ago).")
@click.option("--until", "-u", callback=day_callback, metavar="DATE", help="Last local date (default: today).")
@click.option("--tz", "tz", metavar="ZONE", help="Time zone of the dates (default: the tz setting).")
@click.option("--team", metavar="TEAM", help="Only this team's people.")
@click.option("--top", "top_n", type=click.IntRange(0, 1000), default=10, show_default=True,
              help="Top spenders to check in with, besides everyone flagged.")
@click.option("--no-import", is_flag=True, help="Use what is already stored.")
@click.option("--json", "json_", is_flag=True, help="Print JSON: {\"flags\": [...], \"conversations\": [...]}.")
@click.pass_obj
def insights_cmd(app: App, since: date | str | None, until: date | str | None, tz: str | None, team: str | None,
                 top_n: int, no_import: bool, json_: bool) -> None:
    """Flags for usage that looks gamed or stuck (runaway_loop, shallow_volume, no_outcome_spend,
    threshold_calibration, retry_churn), each with evidence to check, and the conversation queue: the top
    spenders, anyone far above their team's median, and everyone flagged. High spend alone is never a flag."""
    from ..insights.conversations import build_queue
    from ..insights.detectors import detect
    from ..reports import local_bounds, zone

    if not no_import:
        app.import_logs()
    tz = tz or app.settings.tz
    zone(tz)
    last = resolve_day(until, tz) or datetime.now(zone(tz)).date()
    first = resolve_day(since, tz) or last - timedelta(days=29)
    start, end = local_bounds(tz, first, last)
    store = app.store
    flags = detect(store, start, end, tz, expected_monthly_usd=expected_usage(app))
    period = f"{first:%Y-%m}" if (first.year, first.month) == (last.year, last.month) else f"{first}..{last}"
    items = build_queue(store, period, start, end, tz, flags, datetime.now(UTC), top_n=top_n)
    if team is not None:
        members = {p for p, t in store.person_teams().items() if t == team}
        flags = [f for f in flags if f.person in members]
        items = [i for i in items if i.person in members]
    store.save_conversations(items)
    if json_:
        print_json({"since": first.isoformat(), "until": last.isoformat(), "timezone": tz, "team": team,
                    "flags": [f.to_json() for f in flags], "conversations": [i.to_json() for i in items]})
        return
    out = console()
    out.print(f"Insights {first} – {last} ({tz}): {len(flags)} flags, {len(items)} people to check in with.")
    for f in flags:
        out.print(f"  [bold]{f.person}[/bold] {f.detector} ({f.score:.2f}): {f.summary}", soft_wrap=True)
    if items:
        out.print("Conversation queue (`tokenpulse conversations list`):")
        for i in items:
            spent = Decimal(i.evidence["spend_usd"])
            out.print(f"  {i.person} ({i.team or 'no team'}): {', '.join(i.reasons)}; spent ${spent:,.2f}")


COMMANDS = [insights_cmd]
