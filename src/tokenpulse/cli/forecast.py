"""`tokenpulse forecast`: month-end spend per person, team or the organisation, with a 90 % interval."""

from __future__ import annotations

from datetime import date, datetime

import click

from .app import App
from .importing import apply_pricing_flags
from .options import day_callback, discount_option, output_options, resolve_day
from .render import console, print_json


@click.command("forecast")
@click.option("--by", type=click.Choice(["person", "team", "org"]), default="org", show_default=True)
@click.option("--today", callback=day_callback, metavar="DATE", help="Forecast as of this day (default: today).")
@click.option("--tz", "tz", metavar="ZONE", help="Time zone of the month (default: the tz setting).")
@click.option("--no-import", is_flag=True, help="Use what is already stored.")
@discount_option
@output_options
@click.pass_obj
def forecast_cmd(app: App, by: str, today: date | str | None, tz: str | None, no_import: bool, discount: str | None,
                 output: str) -> None:
    """Month-end spend: spent so far plus the recent daily run-rate (weekdays and weekends apart), with a 90 %
    interval from how much the days vary; list cost, and effective cost after the discount."""
    from ..insights.forecast import forecasts_from_store
    from ..reports import zone

    apply_pricing_flags(app, (), discount)
    if not no_import:
        app.import_logs()
    tz = tz or app.settings.tz
    day = resolve_day(today, tz) or datetime.now(zone(tz)).date()
    results = forecasts_from_store(app.store, by, day, tz, app.discount)
    if output in ("json", "csv"):
        print_json({"by": by, "today": day.isoformat(), "timezone": tz, "discount": app.discount.describe(),
                    "forecasts": [f.to_json() for f in results]})
        return
    from rich.table import Table

    table = Table(title=f"Month-end forecast by {by}, as of {day}", title_justify="left")
    for name in (by, "Spent", "Forecast", "90 % interval", "Effective forecast"):
        table.add_column(name, justify="left" if name == by else "right")
    for f in results:
        data = f.to_json()
        low, high = data["interval_90_usd"]
        table.add_row(str(f.key or "—"), f"${data['spent_usd']:,.2f}", f"${data['forecast_usd']:,.2f}",
                      f"${low:,.2f} – ${high:,.2f}", f"${data['effective_forecast_usd']:,.2f}")
    console().print(table if results else "No usage to forecast from.")


COMMANDS = [forecast_cmd]
