"""`tokenpulse sync`: read the vendors' admin APIs (usage and billed cost) into the store, once.

Admin keys come from the environment only (`ANTHROPIC_ADMIN_KEY`, `OPENAI_ADMIN_KEY`) and are never
printed; a vendor without its key is skipped with a note. The API's address can be changed in
tokenpulse.toml (`[vendors.anthropic] base_url = "…"`), e.g. for a proxy.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import click

from ..errors import ConfigError
from .app import App
from .render import console, plural, print_json

KEY_VARIABLES = {"anthropic": "ANTHROPIC_ADMIN_KEY", "openai": "OPENAI_ADMIN_KEY"}


def _base_url(app: App, vendor: str) -> str | None:
    table = app.settings.tables.get("vendors", {})
    section = table.get(vendor, {}) if isinstance(table, dict) else {}
    url = section.get("base_url") if isinstance(section, dict) else None
    if url is None:
        return None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"[vendors.{vendor}] base_url must be an http:// or https:// URL, got {url!r}")
    return url


def _client(vendor: str, key: str, base_url: str | None) -> Any:
    from ..sources.vendors import anthropic_client, openai_client

    make = anthropic_client if vendor == "anthropic" else openai_client
    return make(key, base_url) if base_url else make(key)


@click.command("sync")
@click.option("--vendor", "vendors", multiple=True, type=click.Choice(list(KEY_VARIABLES)),
              help="Sync only this vendor (repeatable; default: every vendor whose admin key is set).")
@click.option("--lookback-days", type=click.IntRange(min=0), default=3, show_default=True,
              help="Re-read this many days before the last sync (buckets still filling).")
@click.option("--first-days", type=click.IntRange(min=1), default=30, show_default=True,
              help="How far back a vendor's first sync reads.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def sync_cmd(app: App, vendors: tuple[str, ...], lookback_days: int, first_days: int, as_json: bool) -> None:
    """Sync usage and billed cost from the vendors' admin APIs (Anthropic, OpenAI).

    Admin keys are read from ANTHROPIC_ADMIN_KEY and OPENAI_ADMIN_KEY. Vendor keys and users are mapped to
    people through aliases `anthropic-key:<id>`, `openai-user:<id>` and `openai-key:<id>`; ids that map to
    no one are listed."""
    from ..sources.vendors import VendorError
    from ..sync import sync_vendor

    wanted = [v for v in KEY_VARIABLES if not vendors or v in vendors]
    results: list[dict[str, Any]] = []
    failed = False
    for vendor in wanted:
        variable = KEY_VARIABLES[vendor]
        key = os.environ.get(variable, "").strip()
        if not key:
            results.append({"vendor": vendor, "status": "skipped", "note": f"{variable} is not set"})
            continue
        client = _client(vendor, key, _base_url(app, vendor))
        try:
            report = sync_vendor(app.store, vendor, client, now=datetime.now(UTC), lookback_days=lookback_days,
                                 first_days=first_days)
        except VendorError as exc:  # its message never holds the key
            failed = True
            results.append({"vendor": vendor, "status": "failed", "error": str(exc)})
            continue
        results.append({"status": "synced", **report.to_json()})
    if as_json:
        print_json({"vendors": results})
    else:
        _print(results)
    if failed:
        raise SystemExit(1)


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
                      f"{plural(costs['read'], 'cost line')} ({costs['new']:,} new)")
            for identity, count in r["unmapped"].items():
                out.print(f"  unmapped {identity}: {plural(count, 'event')} (add it as an alias of a person)")


COMMANDS = [sync_cmd]
