"""`tokenpulse prices`: what a model costs, and which price book is in use."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from ..pricing import ModelPrice, Rates
from .app import App
from .importing import apply_pricing_flags
from .options import output_options, prices_option
from .render import console, print_json

_PER_MTOK = Decimal(1_000_000)


def _rates_json(r: Rates) -> dict[str, Decimal]:
    return {name: Decimal(getattr(r, name)) / _PER_MTOK for name in
            ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read", "reasoning")}


def _decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def price_json(p: ModelPrice) -> dict[str, Any]:
    return {
        "model": p.name, "provider": p.provider, "usd_per_mtok": _rates_json(p.rates),
        "long_context": None if p.long_context is None else
        {"above_input_tokens": p.long_context_above, "usd_per_mtok": _rates_json(p.long_context)},
        "multipliers": {k: _decimal(v) for k, v in sorted(p.multipliers.items())},
        "web_search_usd_per_1k": Decimal(p.web_search_pico) / _PER_MTOK / 1000,
        "source": p.source,
    }


@click.group("prices")
def prices_group() -> None:
    """Inspect the price book (bundled table, patched by --prices files)."""


@prices_group.command("show")
@click.argument("models", nargs=-1, required=True)
@prices_option
@output_options
@click.pass_obj
def show(app: App, models: tuple[str, ...], prices: tuple[Path, ...], output: str) -> None:
    """What MODELS cost, under any spelling of their ids."""
    apply_pricing_flags(app, prices)
    found = {m: app.book.lookup(m) for m in models}
    if output == "json":
        print_json({"price_version": app.book.version,
                    "models": {m: price_json(p) if p else None for m, p in found.items()}})
        return
    out = console()
    for model, price in found.items():
        if price is None:
            out.print(f"{model}: [yellow]no price known[/yellow] (usage is reported as unpriced)")
            continue
        rates = _rates_json(price.rates)
        line = ", ".join(f"{k.replace('_', ' ')} ${v:f}" for k, v in rates.items())
        out.print(f"[bold]{model}[/bold] → {price.name} ({price.provider}), USD per million tokens: {line}")
        if price.long_context is not None:
            lc = ", ".join(f"{k.replace('_', ' ')} ${v:f}" for k, v in _rates_json(price.long_context).items())
            out.print(f"  above {price.long_context_above:,} prompt tokens, the whole request: {lc}")
        if price.multipliers:
            out.print("  multipliers: " + ", ".join(f"{k} ×{_decimal(v)}" for k, v in sorted(price.multipliers.items())))
    out.print(f"[dim]Price book {app.book.version} ({', '.join(app.book.sources)})[/dim]")


@prices_group.command("list")
@click.option("--provider", help="Only this provider (anthropic, openai, google, …).")
@prices_option
@output_options
@click.pass_obj
def list_prices(app: App, provider: str | None, prices: tuple[Path, ...], output: str) -> None:
    """Every priced model."""
    apply_pricing_flags(app, prices)
    models = [p for p in app.book.models.values() if provider is None or p.provider == provider]
    if output == "json":
        print_json({"price_version": app.book.version, "as_of": app.book.as_of,
                    "models": [price_json(p) for p in models]})
        return
    from rich.table import Table

    table = Table(title=f"Price book {app.book.version}, USD per million tokens")
    for header in ("Model", "Provider", "Input", "Output", "Cache write 5m", "Cache write 1h", "Cache read",
                   "Long context"):
        table.add_column(header, justify="left" if header in ("Model", "Provider") else "right")
    for p in models:
        r = _rates_json(p.rates)
        table.add_row(p.name, p.provider, *(f"{r[k]:f}" for k in
                                             ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")),
                      f"> {p.long_context_above:,}" if p.long_context else "")
    console().print(table)


@click.command("reprice")
@prices_option
@click.pass_obj
def reprice(app: App, prices: tuple[Path, ...]) -> None:
    """Re-price stored usage with the current price book (reports also do this when it changed)."""
    apply_pricing_flags(app, prices)
    changed = app.store.reprice(app.book, only_stale=False)
    console().print(f"Re-priced {changed:,} requests with price book {app.book.version}.")


COMMANDS = [prices_group, reprice]
