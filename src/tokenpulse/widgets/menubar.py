"""The SwiftBar / xbar menu-bar plugin output, rendered from the snapshot.

Output format (matryer/xbar-plugins CONTRIBUTING, swiftbar/SwiftBar README): the first line is the
menu-bar title, `---` starts the dropdown (and separates its sections), `--` nests a line in the
submenu of the line above, and parameters follow the first `|` as `key=value` (`color=`, `href=`,
`font=`, `refresh=true`). Text never contains `|` (a cap scope such as
`person:ann@x.io|tool:claude_code` is shown as `ann@x.io · claude_code`).

Title: `🔴 tripped` when the breaker is tripped; else `🔴 $12.34 today · 104% of cap` at or over a cap,
`🟡 $12.34 today · 84% of cap` at 80 % or more of one, `🟢 $12.34 today` otherwise (`⚪ tokenpulse`
without a snapshot); ` · stale 2h` is appended when the snapshot is more than 30 minutes old. The
amounts in the title and the statusline are list cost (what caps are measured on).

Colours (`color=`) mark what needs attention only: a cap at 80 % or more, a cap reached, a tripped
breaker, stale data; `dark` picks colours readable on a dark menu.

Like the statusline this imports only the standard library and never raises on a malformed
snapshot: a field that is absent, null or of the wrong type is left out.
"""

from __future__ import annotations

from datetime import datetime

from .statusline import (
    DEFAULT_REENABLE,
    STALE_AFTER_SECONDS,
    amount_of,
    aware,
    caps_of,
    clean,
    decimal,
    get,
    level,
    local_today,
    parse_time,
    percent,
    short_age,
    tripped,
    usd,
    usd_limit,
    zone_of,
)

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

PLUGIN_FILE = "tokenpulse.15m.sh"
"""The plugin's file name (SwiftBar's plugin id for `notify_url`); `15m` is the refresh interval."""

_DOTS = ("🟢", "🟡", "🔴")
# (light menu, dark menu): Apple's system orange/red/green, darkened for a light menu.
_COLORS = {
    "warn": ("#b25000", "#ffb340"),
    "bad": ("#c4001a", "#ff6961"),
    "good": ("#1e7a34", "#30d158"),
    "muted": ("#6e6e73", "#98989d"),
}


def render(snapshot: dict | None, now: datetime, *, dark: bool = False) -> str:
    """The plugin's whole output (lines joined by "\\n", with a final newline)."""
    try:
        lines = _render(snapshot if isinstance(snapshot, dict) else None, aware(now), dark)
    except Exception as exc:  # a plugin that fails shows ⚠️ in the menu bar: say what instead
        lines = ["⚪ tokenpulse", "---", f"tokenpulse could not render its data ({type(exc).__name__})",
                 "Refresh | refresh=true"]
    return "\n".join(lines) + "\n"


def notify_url(title: str, body: str, plugin: str = PLUGIN_FILE, *, href: str | None = None) -> str:
    """A `swiftbar://notify` URL that shows a native notification from `plugin` (its file name).

    Every value is percent-encoded (spaces as %20, newlines as %0A, `&`, `=`, `#`, `%` and non-ASCII
    as UTF-8 escapes); `href` is opened when the notification is clicked."""
    from urllib.parse import quote

    params = [("plugin", plugin), ("title", title), ("body", body)]
    if href:
        params.append(("href", href))
    return "swiftbar://notify?" + "&".join(f"{key}={quote(str(value), safe='')}" for key, value in params)


# ---------------------------------------------------------------------------------------------------------


def _text(value: Any, limit: int = 80) -> str | None:
    """Printable text safe in a menu line: no `|` (it starts the parameters), no leading `-`."""
    text = clean(value, limit)
    if text is None:
        return None
    return text.replace("|", "/").lstrip("-").strip() or None


def _line(text: str, **params: str | None) -> str:
    given = [f"{key}={value}" for key, value in params.items() if value]
    return f"{text} | {' '.join(given)}" if given else text


def _color(kind: str | None, dark: bool) -> str | None:
    return _COLORS[kind][1 if dark else 0] if kind else None


def _kind(lvl: int) -> str | None:
    return "bad" if lvl >= 2 else "warn" if lvl == 1 else None


def _scope(scope: Any) -> str | None:
    """`person:ann@x.io|tool:claude_code` -> `ann@x.io · claude_code`; `team:payments` -> `team payments`."""
    if not isinstance(scope, str) or not scope:
        return None
    shown = []
    for part in scope.split("|"):
        kind, sep, value = part.partition(":")
        if not sep:
            shown.append(part)
        elif kind in ("person", "tool"):
            shown.append(value)
        else:
            shown.append(f"{kind} {value}")
    return _text(" · ".join(p for p in shown if p))


def _when(value: Any, snap: dict[str, Any], now: datetime) -> str | None:
    """A snapshot time in the snapshot's zone: `21:10` today, `2026-12-03 21:10` another day."""
    moment = parse_time(value)
    if moment is None:
        return None
    tz = zone_of(snap)
    local = moment.astimezone(tz) if tz is not None else moment
    local_now = now.astimezone(tz) if tz is not None else now.astimezone(local.tzinfo)
    return f"{local:%H:%M}" if local.date() == local_now.date() else f"{local:%Y-%m-%d %H:%M}"


def _ago(seconds: float) -> str:
    minutes = int(max(seconds, 0) // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min ago" if hours < 6 and rest else f"{hours} h ago"
    return f"{minutes // (24 * 60)} days ago"


def _title(snap: dict[str, Any] | None, now: datetime) -> str:
    if snap is None:
        return "⚪ tokenpulse"
    if tripped(snap) is not None:
        title = "🔴 tripped"
    else:
        shares = [share for _, share in caps_of(snap) if share is not None]
        worst = max(shares) if shares else None
        lvl = level(worst)
        today = snap.get("today")
        amount = amount_of(today)
        day = get(today, "date")
        if amount is not None and (not isinstance(day, str) or day == local_today(snap, now)):
            title = f"{_DOTS[lvl]} {usd(amount)} today"
        else:
            title = f"{_DOTS[lvl]} tokenpulse"
        if lvl and worst is not None:
            title += f" · {percent(worst)}% of cap"
    stale = _stale(snap, now)
    return f"{title} · stale {stale}" if stale else title


def _stale(snap: dict[str, Any], now: datetime) -> str | None:
    """The snapshot's age when it is stale (`2h`, `age unknown`), else None."""
    generated = parse_time(snap.get("generated_at"))
    if generated is None:
        return "age unknown"
    age = (now - generated).total_seconds()
    return short_age(age) if age > STALE_AFTER_SECONDS else None


def _period_lines(label: str, period: Any) -> list[str]:
    if not isinstance(period, dict):
        return []
    list_usd, effective = decimal(period.get("list_usd")), decimal(period.get("effective_usd"))
    figures = []
    if list_usd is not None:
        figures.append(f"{usd(list_usd)} list")
    if effective is not None:
        figures.append(f"{usd(effective)} effective")
    if not figures:
        return []
    lines = [f"{label}: {' · '.join(figures)}"]
    by_tool = period.get("by_tool")
    if isinstance(by_tool, dict):
        for tool, value in by_tool.items():
            name, amount = _text(tool, 40), decimal(value)
            if name and amount is not None:
                lines.append(f"--{name}: {usd(amount)}")
    return lines


def _render(snap: dict[str, Any] | None, now: datetime, dark: bool) -> list[str]:
    lines = [_title(snap, now), "---"]
    if snap is None:
        lines += ["No data yet", "Run: tokenpulse import", "---", "Refresh | refresh=true"]
        return lines

    today_date = get(snap, "today", "date")
    is_today = not isinstance(today_date, str) or today_date == local_today(snap, now)
    today_label = "Today" if is_today else f"Day {_text(today_date, 10)}"
    week_start = _text(get(snap, "week", "start"), 10)
    month_name = _text(get(snap, "month", "month"), 7)
    sections: list[list[str]] = []
    spend = (_period_lines(today_label, snap.get("today"))
             + _period_lines(f"This week (from {week_start})" if week_start else "This week", snap.get("week"))
             + _period_lines(f"This month ({month_name})" if month_name else "This month", snap.get("month")))
    sections.append(spend)

    caps = []
    for cap, share in caps_of(snap):
        scope = _scope(cap.get("scope")) or "cap"
        period = _text(cap.get("period"), 12)
        spent, limit = decimal(cap.get("spent_usd")), decimal(cap.get("limit_usd"))
        figures = (f"{usd(spent)} of {usd_limit(limit)}" if spent is not None and limit is not None
                   else f"limit {usd_limit(limit)}" if limit is not None else None)
        used = f"{percent(share)}%" if share is not None else None
        body = " · ".join(x for x in (figures, used) if x) or "no figures"
        head = f"Cap {scope} ({period})" if period else f"Cap {scope}"
        caps.append(_line(f"{head}: {body}", color=_color(_kind(level(share)), dark)))
    sections.append(caps)

    expected_lines = []
    entries = snap.get("expected")
    for entry in entries if isinstance(entries, list) else []:
        tool = _text(get(entry, "tool"), 40)
        target, month = decimal(get(entry, "expected_usd")), decimal(get(entry, "month_usd"))
        if tool is None or target is None:
            continue
        if month is not None and target > 0:
            expected_lines.append(f"Expected {tool}: {usd(month)} of {usd_limit(target)} this month "
                                  f"· {percent(month / target)}%")
        else:
            expected_lines.append(f"Expected {tool}: {usd_limit(target)} this month")
    sections.append(expected_lines)

    breaker = snap.get("breaker")
    if isinstance(breaker, dict):
        trip = tripped(snap)
        if trip is not None:
            cause = _text(trip.get("cause"), 40)
            since = _when(trip.get("since"), snap, now)
            head = "Breaker: tripped" + (f" ({cause})" if cause else "") + (f" since {since}" if since else "")
            how = _text(trip.get("reenable"), 120) or DEFAULT_REENABLE
            sections.append([_line(head, color=_color("bad", dark)), f"Re-enable: {how}"])
        else:
            sections.append(["Breaker: not tripped"])

    block = snap.get("block")
    if isinstance(block, dict):
        cost = decimal(block.get("cost_usd"))
        burn = decimal(block.get("burn_usd_per_hour"))
        projected = decimal(block.get("projected_usd"))
        end = _when(block.get("end"), snap, now)
        active = block.get("active") is not False
        figures = [usd(cost) if cost is not None else None,
                   f"{usd(burn)}/h" if burn is not None and active else None,
                   f"projected {usd(projected)}" if projected is not None and active else None,
                   (f"ends {end}" if active else f"ended {end}") if end else None]
        body = " · ".join(f for f in figures if f)
        if body:
            sections.append([f"5-hour block: {body}" if active else f"Last 5-hour block: {body}"])

    footer = []
    generated = parse_time(snap.get("generated_at"))
    source = snap.get("source")
    origin = "server" if source == "server" else "local logs" if source == "local" else None
    stale = _stale(snap, now)
    if generated is None:
        footer.append(_line("Data age unknown: run tokenpulse import", color=_color("warn", dark)))
    else:
        updated = f"Updated {_ago((now - generated).total_seconds())}" + (f" · from {origin}" if origin else "")
        if stale:
            footer.append(_line(f"Stale: {updated.lower()}", color=_color("warn", dark)))
            footer.append("--Run: tokenpulse import")
        else:
            footer.append(updated)
    footer.extend(_links(snap))
    footer.append("Refresh | refresh=true")
    sections.append(footer)

    for section in sections:
        if section:
            lines.extend(section)
            lines.append("---")
    if lines[-1] == "---":
        lines.pop()
    return lines


def _links(snap: dict[str, Any]) -> list[str]:
    url = snap.get("dashboard_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return []
    from urllib.parse import quote

    base = quote(url.strip().rstrip("/"), safe=":/?#[]@!$&'()*+,;=%~")
    links = []
    person = snap.get("person")
    if isinstance(person, str) and person:
        links.append(_line("Open my dashboard", href=f"{base}/people/{quote(person, safe='@+')}"))
    links.append(_line("Open dashboard", href=f"{base}/"))
    return links
