"""Flags shared by several commands, defined once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from ..config import local_timezone

RELATIVE_DAYS = {"today": 0, "yesterday": 1}


def parse_day(value: str | None) -> date | str | None:
    """`2026-11-03` or `20261103`; `today` and `yesterday` stay words until the time zone is known."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in RELATIVE_DAYS:
        return text
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise click.BadParameter(f"expected a date like 2026-11-03 (or 20261103, today, yesterday), got {value!r}")


def resolve_day(value: date | str | None, tz: str) -> date | None:
    """A parsed day in `tz`: `today` is today where the report's dates are."""
    if not isinstance(value, str):
        return value
    from ..reports import zone

    return datetime.now(zone(tz)).date() - timedelta(days=RELATIVE_DAYS[value])


def day_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> date | str | None:
    return parse_day(value)


def output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--json / --csv (stdout carries only the data; messages go to stderr)."""
    @click.option("--json", "json_", is_flag=True, help="Print JSON (a stable shape, also when empty).")
    @click.option("--csv", "csv_", is_flag=True, help="Print CSV.")
    @functools.wraps(f)
    def wrapper(*args: Any, json_: bool, csv_: bool, **kwargs: Any) -> Any:
        if json_ and csv_:
            raise click.UsageError("choose one of --json and --csv")
        return f(*args, output="json" if json_ else "csv" if csv_ else "table", **kwargs)
    return wrapper


def period_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--since/--until (local dates), --tz, --tool and --project."""
    options = [
        click.option("--since", "-s", callback=day_callback, metavar="DATE",
                     help="First local date to include (YYYY-MM-DD, YYYYMMDD, today, yesterday)."),
        click.option("--until", "-u", callback=day_callback, metavar="DATE",
                     help="Last local date to include."),
        click.option("--tz", "--timezone", "tz", metavar="ZONE",
                     help=f"IANA time zone for dates (default: the tz setting, else this machine's: "
                          f"{local_timezone()})."),
        click.option("--tool", "tools", multiple=True, metavar="TOOL",
                     help="Only this tool (claude_code, codex, …); repeatable."),
        click.option("--project", "projects", multiple=True, metavar="NAME", help="Only this project; repeatable."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


prices_option = click.option(
    "--prices", "prices", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE", help="Price file (LiteLLM JSON or tokenpulse TOML) patching the bundled prices; repeatable.")
discount_option = click.option(
    "--discount", metavar="SPEC", help="Org discount off list prices: '15%' or 'anthropic=10%,openai=5%'.")


def server_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--server URL / --key KEY: act through a running server's API instead of the local store."""
    @click.option("--server", metavar="URL",
                  help="Do this through a running server (needed while `tokenpulse serve` holds the store file).")
    @click.option("--key", metavar="KEY", help="The key for --server (default: TOKENPULSE_KEY, or the key setting).")
    @functools.wraps(f)
    def wrapper(*args: Any, server: str | None, key: str | None, **kwargs: Any) -> Any:
        return f(*args, server=server, key=key, **kwargs)
    return wrapper
