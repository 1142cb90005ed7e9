"""Rendering reports: a Rich table for people, JSON and CSV for programs.

JSON goes through one encoder (`print_json`): money is written as exact decimal numbers.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import msgspec

from ..money import format_usd
from ..reports import Report, ReportRow, Totals

_encoder = msgspec.json.Encoder(decimal_format="number")

_CENT = Decimal("0.01")
_HEADINGS = {"daily": "Usage by day", "weekly": "Usage by week", "monthly": "Usage by month",
             "session": "Usage by session", "blocks": "Usage in 5-hour blocks"}
_TITLES = {"daily": "Date", "weekly": "Week of", "monthly": "Month", "session": "Session", "blocks": "Block start"}


def print_json(data: Any) -> None:
    sys.stdout.buffer.write(_encoder.encode(data) + b"\n")
    sys.stdout.flush()


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    # On a terminal Rich measures it; piped output gets $COLUMNS or a width that fits a full report.
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "0") or 0) or 160
    return Console(stderr=stderr, width=width, highlight=False)


def _n(value: int) -> str:
    return f"{value:,}"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 request`, `2 requests`, `1,234 tokens`; `many` for irregular plurals (person, people)."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def _cost_cell(t: Totals, micros: int) -> str:
    """The cost, marked `*` when part of the usage has no price, and `—` when none of it has."""
    if not t.costed:
        return "— *"
    text = format_usd(micros)
    return text if t.complete else f"{text} *"


def _per_mtok(t: Totals) -> str:
    value = t.cost_per_mtok
    return "—" if value is None else f"${value.quantize(_CENT, rounding=ROUND_HALF_UP):,}"


def render_report(report: Report, output: str) -> None:
    if output == "json":
        print_json(report.to_json())
    elif output == "csv":
        _write_csv(report)
    else:
        _print_table(report)


def short_model(name: str) -> str:
    """Tables show `opus-4-6` for `claude-opus-4-6` (JSON and CSV keep the full id)."""
    return name.removeprefix("claude-")


def _short_session(session: str) -> str:
    """UUID session ids are shown by their first eight characters, as git shows commits."""
    return f"{session[:8]}…" if len(session) >= 32 else session


def _first_column(report: Report, row: ReportRow) -> str:
    kind = report.options.kind
    if kind == "session":
        project = row.info.get("project")
        last = (row.info.get("last_activity") or "")[:16].replace("T", " ")
        name = f"{project} · {_short_session(row.key)}" if project else _short_session(row.key)
        return f"{name}\n[dim]last {last}[/dim]" if last else name
    if kind == "blocks":
        start = row.info["start"][:16].replace("T", " ")
        return start
    return row.key


def _print_table(report: Report) -> None:
    from rich import box
    from rich.table import Table

    opts = report.options
    out = console()
    if not report.rows:
        scope = f" between {opts.since or 'the start'} and {opts.until or 'now'}" if opts.since or opts.until else ""
        out.print(f"No usage found{scope}.")
        imported = report.meta.get("import")
        if imported is not None and not imported["files"]["seen"]:
            from ..sources import claude_roots, codex_roots

            looked = ", ".join(str(p) for p in [*claude_roots(), *codex_roots()])
            out.print(f"[dim]No Claude Code or Codex logs were found (looked in {looked}). "
                      "`tokenpulse import PATH` reads logs from elsewhere.[/dim]", soft_wrap=True)
        return
    discount = opts.discount.active
    t = report.totals
    # (header, footer, numeric) per column, then the rows as plain cells.
    columns: list[tuple[str, str, bool]] = [(_TITLES[opts.kind], "Total", False)]
    if opts.kind == "blocks":
        columns.append(("Status", "", False))
    columns.append(("Models", "", False))
    columns += [("Input", _n(t.input_tokens), True), ("Output", _n(t.output_tokens), True),
                ("Cache write", _n(t.cache_write_tokens), True), ("Cache read", _n(t.cache_read_tokens), True),
                ("Total", _n(t.total_tokens), True), ("Cost", _cost_cell(t, t.cost_micros), True)]
    if discount:
        columns.append(("Effective", _cost_cell(t, t.effective_micros), True))
    columns.append(("$/MTok", _per_mtok(t), True))

    rows: list[tuple[list[str], bool]] = []  # (cells, dim)
    for row in report.rows:
        if row.info.get("gap"):
            cells = [_first_column(report, row), "idle"]
            rows.append((cells + [""] * (len(columns) - len(cells)), True))
            continue
        models = "\n".join(short_model(m) for m in sorted(row.models))
        summary = models if not opts.breakdown else f"{len(row.models)} model{'s' if len(row.models) != 1 else ''}"
        rows.append((_cells(report, row, row.totals, summary, discount), False))
        if opts.breakdown:
            for name, totals in sorted(row.models.items()):
                rows.append((_cells(report, None, totals, f"└ {short_model(name)}", discount), True))

    table = Table(title=f"{_HEADINGS[opts.kind]} · {opts.tz}", box=box.SIMPLE_HEAVY, show_footer=True,
                  header_style="bold", footer_style="bold", pad_edge=False)
    for i, (header, footer, numeric) in enumerate(columns):
        # Numbers never truncate: the text columns give way instead.
        width = max([len(footer), *(len(c[i]) for c, _ in rows)]) if numeric else None
        table.add_column(header, footer=footer, justify="right" if numeric else "left", no_wrap=numeric,
                         min_width=width, overflow="fold")
    for cells, dim in rows:
        table.add_row(*[f"[dim]{c}[/dim]" if dim and c else c for c in cells])
    out.print(table)
    for note in _footnotes(report):
        out.print(note)


def _status(row: ReportRow) -> str:
    info = row.info
    if info.get("active"):
        projection = info.get("projection") or {}
        left = projection.get("remaining_minutes", 0)
        return f"[green]active[/green], {left // 60}h {left % 60:02d}m left"
    return "done"


def _cells(report: Report, row: ReportRow | None, t: Totals, models: str, discount: bool) -> list[str]:
    kind = report.options.kind
    cells = [_first_column(report, row) if row else ""]
    if kind == "blocks":
        cells.append(_status(row) if row else "")
    cells += [models, _n(t.input_tokens), _n(t.output_tokens), _n(t.cache_write_tokens), _n(t.cache_read_tokens),
              _n(t.total_tokens), _cost_cell(t, t.cost_micros)]
    if discount:
        cells.append(_cost_cell(t, t.effective_micros))
    cells.append(_per_mtok(t))
    return cells


def _footnotes(report: Report) -> list[str]:
    notes = []
    unpriced = report.totals.unpriced
    if unpriced:
        listed = "; ".join(f"{u.model} ({plural(u.requests, 'request')}, {plural(u.tokens, 'token')})"
                           for u in sorted(unpriced.values(), key=lambda u: u.model))
        notes.append(f"[yellow]* Costs leave out models with no price:[/yellow] {listed}. "
                     "Add their prices in a file named in tokenpulse.toml (`prices = [\"…\"]`).")
    for row in report.rows:
        projection = row.info.get("projection")
        burn = row.info.get("burn_rate")
        if row.info.get("active") and projection:
            rate = f"{burn['tokens_per_minute']:,} tokens/min, {format_usd(_usd_micros(burn['cost_per_hour_usd']))}/h" \
                if burn else "not enough activity for a rate yet"
            notes.append(f"Active block: burn rate {rate}; projected by "
                         f"{row.info['end'][11:16]}: {projection['total_tokens']:,} tokens, "
                         f"{format_usd(_usd_micros(projection['cost_usd']))}.")
    if report.options.discount.active:
        notes.append("[dim]Effective = list cost less the org discount "
                     f"({', '.join(f'{k}: {v}' for k, v in report.options.discount.describe().items())}).[/dim]")
    return notes


def _usd_micros(value: Decimal) -> int:
    return int(value * 1_000_000)


_CSV_FIELDS = ("key", "model", "models", "requests", "input_tokens", "output_tokens", "cache_write_tokens",
               "cache_write_1h_tokens", "cache_read_tokens", "reasoning_tokens", "total_tokens", "cost_usd",
               "effective_cost_usd", "cost_per_mtok_usd", "cost_complete", "unpriced_models")
_CSV_INFO = {"session": ("project", "first_activity", "last_activity"),
             "blocks": ("start", "end", "first_activity", "last_activity", "active", "gap")}


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return value


def _csv_row(key: str, info: list[Any], model: str, models: Sequence[str], t: Totals) -> list[Any]:
    j = t.to_json()
    return [_csv_cell(v) for v in (
        key, *info, model, ";".join(models), j["requests"], j["input_tokens"], j["output_tokens"],
        j["cache_write_tokens"], j["cache_write_1h_tokens"], j["cache_read_tokens"], j["reasoning_tokens"],
        j["total_tokens"], j["cost_usd"], j["effective_cost_usd"], j["cost_per_mtok_usd"], j["cost_complete"],
        ";".join(u["model"] for u in j["unpriced"]))]


def _write_csv(report: Report) -> None:
    """One row per period (plus one per model with --breakdown); kind-specific columns after the key."""
    info_fields = _CSV_INFO.get(report.options.kind, ())
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([_CSV_FIELDS[0], *info_fields, *_CSV_FIELDS[1:]])
    for row in report.rows:
        info = [row.info.get(name) for name in info_fields]
        writer.writerow(_csv_row(row.key, info, "", sorted(row.models), row.totals))
        if report.options.breakdown:
            for name, totals in sorted(row.models.items()):
                writer.writerow(_csv_row(row.key, info, name, [name], totals))
