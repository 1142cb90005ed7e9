"""`tokenpulse sync`: read the vendors' admin APIs (usage, outcomes and billed cost) into the store, once.

Admin keys come from the environment (`ANTHROPIC_ADMIN_KEY` for the `anthropic` and `claude_code`
connectors, `OPENAI_ADMIN_KEY`, `CURSOR_ADMIN_KEY`, `GITHUB_TOKEN` for `copilot`) or from tokenpulse.toml
(`[vendors.<name>] admin_key`, or `admin_key_env` naming another variable), and are never printed; a
vendor without its key is skipped with a note. `[vendors.<name>] base_url` changes the API's address (e.g.
for a proxy), `enabled = false` turns a connector off, and Copilot needs `[vendors.copilot] org`. After a
sync, the circuit breaker is checked for the tools outside the gateway (`tokenpulse.breaker_actions`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

from .app import App
from .options import day_callback, output_options, resolve_day
from .render import console, plural, print_json

VENDORS = ("anthropic", "claude_code", "openai", "cursor", "copilot")
ONLY = ("all", "multiple", "differing")
"""`tokenpulse.sync.VENDORS` and `tokenpulse.reconcile.ONLY`, written out so that every command starts without
loading the connectors or the reconciliation."""


@click.command("sync")
@click.option("--vendor", "vendors", multiple=True, type=click.Choice(VENDORS),
              help="Sync only this vendor (repeatable; default: every vendor whose admin key is set).")
@click.option("--lookback-days", type=click.IntRange(min=0), default=3, show_default=True,
              help="Re-read this many days before the last sync (buckets still filling).")
@click.option("--first-days", type=click.IntRange(min=1), default=30, show_default=True,
              help="How far back a vendor's first sync reads.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def sync_cmd(app: App, vendors: tuple[str, ...], lookback_days: int, first_days: int, as_json: bool) -> None:
    """Sync usage and billed cost from the vendors' admin APIs (Anthropic, Claude Code, OpenAI, Cursor,
    GitHub Copilot).

    Vendor keys, users and logins are mapped to people through aliases (`anthropic-key:<id>`,
    `openai-user:<id>`, `openai-key:<id>`, `github-login:<login>`, …) or their email; ids that map to no
    one are listed."""
    from ..breaker_actions import check_after_sync
    from ..sync import run_sync

    now = datetime.now(UTC)
    with _status() as status:
        results = run_sync(app.store, app.settings.tables, [v for v in VENDORS if not vendors or v in vendors],
                           now=now, lookback_days=lookback_days, first_days=first_days, book=app.book,
                           on_vendor=lambda name: status(f"Syncing {name} …"))
    # The breaker of the tools outside the gateway trips on what the vendors just reported.
    trips = check_after_sync(app.store, app.settings, now) if any(r["status"] == "synced" for r in results) else []
    if as_json:
        print_json({"vendors": results, "breaker_trips": [t.to_json() for t in trips]})
    else:
        _print(results)
        for trip in trips:
            actions = ", ".join(f"{a.get('action')} {'ok' if a.get('ok') else 'failed'}"
                                for a in trip.evidence.get("actions", []))
            console().print(f"breaker tripped: {trip.person} ({', '.join(trip.evidence.get('tools', []))})"
                            + (f": {actions}" if actions else "") + (" [shadow]" if trip.shadow else ""))
    if any(r["status"] == "failed" for r in results):
        raise SystemExit(1)


@contextmanager
def _status() -> Iterator[Callable[[str], None]]:
    """A spinner on stderr naming the vendor being read, on a terminal only (an admin API can take a while)."""
    import sys

    if not sys.stderr.isatty():
        yield lambda text: None
        return
    with console(stderr=True).status("Syncing …") as spinner:
        yield spinner.update


def _print(results: list[dict[str, Any]]) -> None:
    out = console()
    err = console(stderr=True)
    for r in results:
        vendor = r["vendor"]
        if r["status"] == "skipped":
            err.print(f"{vendor}: skipped ({r['note']})")
        elif r["status"] == "failed":
            err.print(f"{vendor}: failed: {r['error']}")
        else:
            events, costs = r["events"], r["costs"]
            out.print(f"{vendor}: {r['since'][:10]} … {r['until'][:16]}: {plural(events['new'], 'new event')}, "
                      f"{events['updated']:,} updated, {events['unchanged']:,} unchanged; "
                      f"{plural(r['outcomes'], 'outcome')}; {plural(costs['read'], 'cost line')} ({costs['new']:,} new)")
            for identity, count in r["unmapped"].items():
                out.print(f"  unmapped {identity}: {plural(count, 'event')} (add it as an alias of a person)")


@click.command("reconcile")
@click.option("--since", "-s", callback=day_callback, metavar="DATE", help="First UTC day (default: 29 days before --until).")
@click.option("--until", "-u", callback=day_callback, metavar="DATE", help="Last UTC day (default: today, UTC).")
@click.option("--tool", "tools", multiple=True, metavar="TOOL", help="Only this tool; repeatable.")
@click.option("--only", type=click.Choice(ONLY), default="multiple", show_default=True,
              help="Which cells to list: every one, those more than one source reports, or those whose sources "
                   "disagree. The totals always cover every cell.")
@output_options
@click.pass_obj
def reconcile_cmd(app: App, since: date | str | None, until: date | str | None, tools: tuple[str, ...], only: str,
                  output: str) -> None:
    """Vendor-reported versus gateway-metered versus locally-estimated spend, per person, tool and UTC day,
    with the differences. Totals count the vendor's figure where there is one."""
    from ..reconcile import SIDES, reconcile

    last = resolve_day(until, "UTC") or datetime.now(UTC).date()
    first = resolve_day(since, "UTC") or last - timedelta(days=29)
    if first > last:
        raise click.UsageError("--since is after --until")
    result = reconcile(app.store, first, last, tools=tools, only=only)  # type: ignore[arg-type]
    data = result.to_json()
    if output == "json":
        print_json(data)
        return
    if output == "csv":
        import csv
        import sys

        writer = csv.writer(sys.stdout)
        writer.writerow(["day", "person", "tool", *(f"{s}_usd" for s in SIDES), *(f"{s}_confidence" for s in SIDES),
                         "counted", "counted_usd"])
        for cell in data["cells"]:
            writer.writerow([cell["day"], cell["person"] or "", cell["tool"],
                             *("" if cell[s] is None else cell[s]["cost_usd"] for s in SIDES),
                             *("" if cell[s] is None else cell[s]["confidence"] for s in SIDES),
                             "+".join(cell["counted"]), cell["counted_usd"]])
        return
    _reconcile_table(data)


def _reconcile_table(data: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    from ..reconcile import SIDES

    out = console()

    def money(side: dict[str, Any] | None) -> str:
        return "" if side is None else f"${side['cost_usd']:,.2f} ({side['confidence']})"

    table = Table(title=f"Reconciliation · UTC days {data['since']} … {data['until']}", box=box.SIMPLE_HEAVY)
    for heading in ("tool", "vendor", "gateway", "local", "counted"):
        table.add_column(heading, justify="left" if heading == "tool" else "right")
    for row in data["tools"]:
        table.add_row(row["tool"], *(money(row[s]) for s in SIDES), f"${row['counted_usd']:,.2f}")
    table.add_row("[b]all[/b]", *(money(data["totals"][s]) for s in SIDES), f"[b]${data['counted_usd']:,.2f}[/b]")
    out.print(table)
    if not data["cells"]:
        out.print(f"No cells to list ({data['cells_total']:,} in all; --only all lists every one).")
        return
    cells = Table(box=box.SIMPLE, title=f"{len(data['cells']):,} of {data['cells_total']:,} cells ({data['only']})")
    for heading in ("day", "person", "tool", "vendor", "gateway", "local", "counted", "differences"):
        cells.add_column(heading, justify="right" if heading in SIDES or heading == "counted" else "left")
    for c in data["cells"]:
        diffs = ", ".join(f"{k.replace('_minus_', '−')} {v:+,.2f}" for k, v in c["differences_usd"].items() if v)
        cells.add_row(c["day"], c["person"] or "(unknown)", c["tool"], *(money(c[s]) for s in SIDES),
                      f"${c['counted_usd']:,.2f}", diffs)
    out.print(cells)


COMMANDS = [sync_cmd, reconcile_cmd]
