"""Server-side charts: pure functions from numbers to inline SVG markup (no JavaScript, no external assets).

Every chart has a fixed viewBox and `width="100%"` (it scales with its container), `role="img"` and an
aria-label, a visible title, and a `<title>` tooltip on every mark. Colours are never written into the
SVG: marks carry classes (`s1` … `s8` for series) that `CHART_CSS` maps to CSS custom properties, so one
stylesheet gives the light and the dark theme. Output is deterministic: the same input gives the same bytes.
Money and token values are integers (micro-USD, tokens); `formatter` turns one into a label ("$12.34").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from html import escape

Formatter = Callable[[int | float], str]
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 72, 12, 32, 28
"""Plot margins: y labels on the left, the title on top, x labels below."""
PALETTE_SIZE = 8
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _esc(value: object) -> str:
    return escape(str(value), quote=True)


def _n(x: float) -> str:
    """A coordinate: one decimal at most, no trailing `.0` (stable text for stable bytes)."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _cls(index: int) -> str:
    return f"s{index % PALETTE_SIZE + 1}"


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def nice_ticks(top: float, count: int = 4, *, integer: bool = False) -> list[int | float]:
    """0 and up to `count` round steps (1, 2, 2.5 or 5 × 10ⁿ) whose last one is at least `top`
    (3–4 steps when the values allow; `integer`: whole-number steps only, for counts and micro-USD)."""
    if top <= 0:
        return [0, 1]
    magnitude = 10 ** math.floor(math.log10(top / count))
    for step in (m * magnitude for m in (1, 2, 2.5, 5, 10, 20)):
        if integer and not float(step).is_integer():
            continue
        if math.ceil(top / step - 1e-9) <= count:
            return [_num(round(i * step, 10)) for i in range(math.ceil(top / step - 1e-9) + 1)]
    return [0, _num(math.ceil(top))]  # only for fractional values under `integer`


def _svg(title: str, body: list[str], *, height: int = HEIGHT, width: int = WIDTH, summary: str = "",
         kind: str = "chart") -> str:
    label = f"{title}: {summary}" if summary else title
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" viewBox="0 0 {width} {height}" '
            f'width="100%" role="img" aria-label="{_esc(label)}">')
    return "".join([head, f"<title>{_esc(label)}</title>", *body, "</svg>"])


def _title(title: str) -> str:
    return f'<text class="chart-title" x="{LEFT}" y="18">{_esc(title)}</text>'


def empty(title: str, *, message: str = "No data") -> str:
    """A chart with nothing to show: the title and a message, same size as the others."""
    return _svg(title, [_title(title), f'<text class="chart-empty" x="{WIDTH // 2}" y="{HEIGHT // 2}" '
                                       f'text-anchor="middle">{_esc(message)}</text>'], summary=message.lower(),
                kind="empty")


def _y_axis(ticks: Sequence[int | float], top_y: float, bottom_y: float, formatter: Formatter) -> list[str]:
    parts = []
    for tick in ticks:
        y = bottom_y - (bottom_y - top_y) * tick / ticks[-1]
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_n(y)}" y2="{_n(y)}"/>')
        parts.append(f'<text class="tick y" x="{LEFT - 6}" y="{_n(y + 4)}" text-anchor="end">'
                     f"{_esc(formatter(tick))}</text>")
    return parts


def _x_labels(xs: Sequence[str], centres: Sequence[float], y: float) -> list[str]:
    """Labels thinned to fit (at most one per 56 px); ISO days are shortened to MM-DD."""
    every = max(1, math.ceil(len(xs) * 56 / (WIDTH - LEFT - RIGHT)))
    return [f'<text class="tick x" x="{_n(cx)}" y="{_n(y)}" text-anchor="middle">'
            f'{_esc(x[5:] if _ISO_DAY.fullmatch(x) else x)}</text>'
            for i, (x, cx) in enumerate(zip(xs, centres, strict=True)) if i % every == 0]


def _legend(names: Sequence[str], y: float) -> tuple[list[str], float]:
    """Swatches and names in rows across the width; returns the parts and the y below them."""
    parts, x = [], float(LEFT)
    for i, name in enumerate(names):
        span = 18 + 7 * len(name) + 16
        if x + span > WIDTH - RIGHT and x > LEFT:
            x, y = float(LEFT), y + 16
        parts.append(f'<rect class="swatch {_cls(i)}" x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10"/>')
        parts.append(f'<text class="legend" x="{_n(x + 14)}" y="{_n(y)}">{_esc(name)}</text>')
        x += span
    return parts, y + 10


def stacked_bars(days: Sequence[str], series: dict[str, Sequence[int]], *, title: str, unit: str = "",
                 formatter: Formatter = str) -> str:
    """Bars per day stacked by series (in the dict's order); zero values draw nothing. Negative values
    count as zero. `unit` names what the values are, for screen readers ("USD", "tokens")."""
    totals = [sum(max(0, s[i]) for s in series.values()) for i in range(len(days))]
    if not days or not series or not any(totals):
        return empty(title)
    ticks = nice_ticks(max(totals), integer=True)
    plot_top, plot_bottom = TOP + 8, HEIGHT - BOTTOM - 20
    slot = (WIDTH - LEFT - RIGHT) / len(days)
    bar = min(slot * 0.7, 48)
    scale = (plot_bottom - plot_top) / ticks[-1]
    body = [_title(title), *_y_axis(ticks, plot_top, plot_bottom, formatter)]
    for d, day in enumerate(days):
        x, y = LEFT + slot * d + (slot - bar) / 2, float(plot_bottom)
        for s, (name, values) in enumerate(series.items()):
            value = max(0, values[d])
            if value == 0:
                continue
            h = value * scale
            y -= h
            body.append(f'<rect class="bar {_cls(s)}" x="{_n(x)}" y="{_n(y)}" width="{_n(bar)}" height="{_n(h)}">'
                        f"<title>{_esc(f'{day} · {name} · {formatter(value)}')}</title></rect>")
    centres = [LEFT + slot * (d + 0.5) for d in range(len(days))]
    body += _x_labels(days, centres, plot_bottom + 16)
    legend, below = _legend(list(series), plot_bottom + 38)
    summary = f"{len(days)} days, {unit + ' ' if unit else ''}by {', '.join(series)}; total {formatter(sum(totals))}"
    return _svg(title, body + legend, height=max(HEIGHT, math.ceil(below + 6)), summary=summary, kind="bars")


def line_chart(xs: Sequence[str], series: dict[str, Sequence[int | float | None]], *, title: str, unit: str = "",
               formatter: Formatter = str) -> str:
    """One line per series from 0 up; None leaves a gap; every point has a tooltip."""
    known = [v for values in series.values() for v in values if v is not None]
    if not xs or not known or max(known) <= 0:
        return empty(title)
    ticks = nice_ticks(max(known))
    plot_top, plot_bottom = TOP + 8, HEIGHT - BOTTOM - 20
    slot = (WIDTH - LEFT - RIGHT) / len(xs)
    centres = [LEFT + slot * (i + 0.5) for i in range(len(xs))]
    scale = (plot_bottom - plot_top) / ticks[-1]
    body = [_title(title), *_y_axis(ticks, plot_top, plot_bottom, formatter)]
    for s, (name, values) in enumerate(series.items()):
        path, pen_down, points = [], False, []
        for x, cx, value in zip(xs, centres, values, strict=True):
            if value is None:
                pen_down = False
                continue
            cy = plot_bottom - max(0, value) * scale
            path.append(f"{'L' if pen_down else 'M'}{_n(cx)} {_n(cy)}")
            pen_down = True
            points.append(f'<circle class="point {_cls(s)}" cx="{_n(cx)}" cy="{_n(cy)}" r="3">'
                          f"<title>{_esc(f'{x} · {name} · {formatter(value)}')}</title></circle>")
        if path:
            body.append(f'<path class="line {_cls(s)}" d="{" ".join(path)}"/>')
        body += points
    body += _x_labels(xs, centres, plot_bottom + 16)
    legend, below = _legend(list(series), plot_bottom + 38)
    summary = f"{len(xs)} points, {unit + ' ' if unit else ''}for {', '.join(series)}"
    return _svg(title, body + legend, height=max(HEIGHT, math.ceil(below + 6)), summary=summary, kind="lines")


def hbars(labels: Sequence[str], values: Sequence[int], *, title: str, unit: str = "",
          formatter: Formatter = str) -> str:
    """One horizontal bar per label (in the given order), its value written after it."""
    if not labels or max(values, default=0) <= 0:
        return empty(title)
    row, label_width = 22, 150
    top = max(values)
    span = WIDTH - RIGHT - label_width - 90  # room for the value text after the longest bar
    body = [_title(title)]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + 6 + i * row
        w = max(0, value) / top * span
        short = label if len(label) <= 20 else label[:19] + "…"
        tip = f"<title>{_esc(f'{label} · {formatter(value)}')}</title>"
        body.append(f'<text class="tick label" x="{label_width - 6}" y="{_n(y + 14)}" text-anchor="end">'
                    f"{_esc(short)}{tip}</text>")
        body.append(f'<rect class="bar {_cls(0)}" x="{label_width}" y="{_n(y + 3)}" width="{_n(w)}" height="{row - 6}">'
                    f"{tip}</rect>")
        body.append(f'<text class="value" x="{_n(label_width + w + 6)}" y="{_n(y + 14)}">{_esc(formatter(value))}</text>')
    summary = f"{len(labels)} bars{', ' + unit if unit else ''}"
    return _svg(title, body, height=TOP + 12 + len(labels) * row, summary=summary, kind="hbars")


def sparkline(values: Sequence[int | float | None], *, label: str = "trend") -> str:
    """A tiny line (100 × 24), no axes; None leaves a gap."""
    known = [v for v in values if v is not None]
    head = '<svg xmlns="http://www.w3.org/2000/svg" class="chart sparkline" viewBox="0 0 100 24" width="100%" role="img"'
    if not known:
        return f'{head} aria-label="{_esc(label)}: no data"><title>{_esc(label)}: no data</title></svg>'
    low, high = min(known), max(known)
    step = 100 / max(1, len(values) - 1)
    path, pen_down = [], False
    for i, value in enumerate(values):
        if value is None:
            pen_down = False
            continue
        y = 22 - (value - low) / (high - low) * 20 if high > low else 12
        path.append(f"{'L' if pen_down else 'M'}{_n(i * step)} {_n(y)}")
        pen_down = True
    return (f'{head} aria-label="{_esc(label)}"><title>{_esc(label)}</title>'
            f'<path class="line {_cls(0)}" d="{" ".join(path)}"/></svg>')


def burn(spent: int, budget: int | None, forecast: int | None, *, title: str = "Budget burn",
         formatter: Formatter = str) -> str:
    """Spent so far, the forecast to month end behind it, and the budget as a vertical line."""
    if spent <= 0 and not budget and not forecast:
        return empty(title)
    ticks = nice_ticks(max(spent, budget or 0, forecast or 0), integer=True)
    height, bar_y, bar_h = 96, TOP + 6, 22
    scale = (WIDTH - LEFT - RIGHT) / ticks[-1]
    over = budget is not None and spent > budget

    def rect(kind: str, value: int, tip: str) -> str:
        return (f'<rect class="{kind}" x="{LEFT}" y="{bar_y}" width="{_n(max(0, value) * scale)}" height="{bar_h}">'
                f"<title>{_esc(tip)}</title></rect>")

    body = [_title(title)]
    if forecast is not None:
        body.append(rect("burn-forecast", forecast, f"forecast to month end · {formatter(forecast)}"))
    body.append(rect("burn-spent burn-over" if over else "burn-spent", spent, f"spent · {formatter(spent)}"))
    if budget is not None:
        bx = _n(LEFT + budget * scale)
        body.append(f'<line class="burn-budget" x1="{bx}" x2="{bx}" y1="{bar_y - 6}" y2="{bar_y + bar_h + 6}">'
                    f"<title>{_esc(f'budget · {formatter(budget)}')}</title></line>")
    for i, tick in enumerate(ticks):
        anchor = "start" if i == 0 else "end" if i == len(ticks) - 1 else "middle"
        body.append(f'<text class="tick x" x="{_n(LEFT + tick * scale)}" y="{bar_y + bar_h + 22}" '
                    f'text-anchor="{anchor}">{_esc(formatter(tick))}</text>')
    parts = [f"spent {formatter(spent)}"]
    if forecast is not None:
        parts.append(f"forecast {formatter(forecast)}")
    if budget is not None:
        parts.append(f"budget {formatter(budget)}")
    body.append(f'<text class="caption" x="{WIDTH - RIGHT}" y="18" text-anchor="end">{_esc(" · ".join(parts))}</text>')
    return _svg(title, body, height=height, summary=", ".join(parts), kind="burn")


_LIGHT = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626")
_DARK = ("#60a5fa", "#fbbf24", "#34d399", "#f472b6", "#a78bfa", "#22d3ee", "#a3e635", "#f87171")


def _palette(colours: Sequence[str]) -> str:
    return " ".join(f"--series-{i}: {c};" for i, c in enumerate(colours, 1))


CHART_CSS = "\n".join([
    f":root {{ {_palette(_LIGHT)} --chart-ink: #1f2937; --chart-muted: #6b7280; --chart-grid: #e5e7eb; "
    "--chart-over: #dc2626; --chart-forecast: #cbd5e1; }",
    "@media (prefers-color-scheme: dark) {",
    f"  :root {{ {_palette(_DARK)} --chart-ink: #e5e7eb; --chart-muted: #9ca3af; --chart-grid: #374151; "
    "--chart-over: #f87171; --chart-forecast: #475569; }",
    "}",
    ".chart { display: block; height: auto; font: 11px system-ui, sans-serif; fill: var(--chart-ink); }",
    ".chart .chart-title { font-size: 13px; font-weight: 600; }",
    ".chart .tick, .chart .chart-empty { fill: var(--chart-muted); }",
    ".chart .grid { stroke: var(--chart-grid); stroke-width: 1; }",
    ".chart .line { fill: none; stroke-width: 2; stroke-linejoin: round; }",
    ".chart.sparkline .line { stroke-width: 1.5; }",
    *(f".chart .s{i} {{ fill: var(--series-{i}); }} .chart .line.s{i} {{ stroke: var(--series-{i}); fill: none; }}"
      for i in range(1, PALETTE_SIZE + 1)),
    ".chart .bar:hover, .chart .point:hover { opacity: 0.8; }",
    ".chart .burn-spent { fill: var(--series-1); } .chart .burn-over { fill: var(--chart-over); }",
    ".chart .burn-forecast { fill: var(--chart-forecast); }",
    ".chart .burn-budget { stroke: var(--chart-ink); stroke-width: 2; stroke-dasharray: 4 3; }",
])
"""The charts' stylesheet (light, and dark under prefers-color-scheme), for the page's own stylesheet."""
