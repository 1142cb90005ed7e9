"""`tokenpulse me`: your own spend today, this week and this month, against your caps and the expected usage,
with the active 5-hour block and the breaker — from this machine's logs, or from a server (all your
machines, the gateway and vendor ledgers) with --server."""

from __future__ import annotations

from typing import Any

import click

from .app import App
from .options import server_options
from .render import console, print_json


@click.command("me")
@click.option("--no-import", is_flag=True, help="Use what is already stored.")
@server_options
@click.option("--json", "json_", is_flag=True, help="Print the snapshot as JSON (the shape the widgets read).")
@click.pass_obj
def me_cmd(app: App, no_import: bool, server: str | None, key: str | None, json_: bool) -> None:
    """Your spend against your caps and the expected usage. Also refreshes what the statusline and the menu
    bar show."""
    server = server or None
    if server:
        from .keys import remote

        figures = remote(app, server, key).request("GET", "/api/v1/me/snapshot")
    else:
        if not no_import:
            app.import_logs()
        figures = app.widget_snapshot()
    app.write_widget_snapshot(figures)
    if json_:
        print_json(figures)
        return
    _render(figures)


def _usd(text: Any) -> str:
    from ..money import decimal_usd_to_micros, format_usd

    return "–" if text is None else format_usd(decimal_usd_to_micros(str(text)))


def _render(s: dict[str, Any]) -> None:
    out = console()
    who = s.get("person") or "you"
    out.print(f"[bold]{who}[/bold] · {s.get('source')} figures · {s.get('tz')}")
    for label, part in (("Today", s["today"]), ("This week", s["week"]), ("This month", s["month"])):
        tools = ", ".join(f"{t} {_usd(v)}" for t, v in part["by_tool"].items()) or "nothing yet"
        out.print(f"  {label:<11} {_usd(part['list_usd'])} list · {_usd(part['effective_usd'])} effective  ({tools})")
    sources = (s.get("month") or {}).get("by_source") or {}
    if sources:
        out.print("  This month by source: " + ", ".join(f"{k} {_usd(v)}" for k, v in sources.items()))
    block = s.get("block")
    if block:
        out.print(f"  5-hour block until {block['end'][11:16]}: {_usd(block['cost_usd'])}, burning "
                  f"{_usd(block['burn_usd_per_hour'] or 0)}/h, projected {_usd(block['projected_usd'] or block['cost_usd'])}")
    for cap in s.get("caps") or []:
        share = cap.get("used_share")
        out.print(f"  Cap {cap['scope']} ({cap['period']}): {_usd(cap['spent_usd'])} of {_usd(cap['limit_usd'])}"
                  + (f" ({share:.0%})" if share is not None else ""))
    for e in s.get("expected") or []:
        out.print(f"  Expected {e['tool']}: {_usd(e['expected_usd'])} a month; {_usd(e['month_usd'])} so far")
    breaker = s.get("breaker")
    if breaker and breaker.get("tripped"):
        out.print(f"  [red]Breaker tripped ({breaker.get('cause')})[/red]: {breaker.get('reenable')}")


COMMANDS = [me_cmd]
