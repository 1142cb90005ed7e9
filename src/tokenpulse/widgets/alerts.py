"""Alerts: a cap reaching 80 % and 100 %, and the breaker tripping — each once per threshold and period.

`due` is a pure function of a snapshot and what was already alerted (kept in `alerts.json` beside the
snapshot), so a refresh every few minutes never repeats an alert and a new month starts afresh. The alerts it
returns go out as a webhook (`[widgets] webhook_url`) when the snapshot is written, and as desktop
notifications when the menu-bar plugin next runs under SwiftBar (`swiftbar://notify`, opened once each).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

THRESHOLDS = (80, 100)
STATE_FILE = "alerts.json"
SHOWN_FILE = "alerts-shown.json"


def _period(snapshot: dict[str, Any], kind: str) -> str | None:
    if kind == "month":
        return (snapshot.get("month") or {}).get("month")
    return (snapshot.get("today") or {}).get("date")


def due(snapshot: dict[str, Any], alerted: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The alerts this snapshot calls for that were not yet given in their period, and the updated record
    (alert key -> the period it was given in)."""
    record = dict(alerted)
    out = []
    for cap in snapshot.get("caps") or []:
        share, period = cap.get("used_share"), _period(snapshot, cap.get("period", "month"))
        if share is None or period is None:
            continue
        crossed = [t for t in THRESHOLDS if float(share) * 100 >= t]
        if not crossed:
            continue
        threshold = crossed[-1]  # 100 % reached at once alerts once, not twice
        key = f"cap:{cap['scope']}:{threshold}"
        if record.get(key) == period or any(record.get(f"cap:{cap['scope']}:{t}") == period
                                            for t in THRESHOLDS if t > threshold):
            continue
        record[key] = period
        for lower in (t for t in THRESHOLDS if t < threshold):
            record[f"cap:{cap['scope']}:{lower}"] = period
        out.append({"id": f"{key}:{period}", "kind": "cap", "threshold": threshold, "period": period,
                    "title": f"AI spend at {threshold}% of your cap" if threshold < 100 else "AI spend cap reached",
                    "body": f"{cap['scope']}: ${cap['spent_usd']} of ${cap['limit_usd']} this {cap.get('period')}."})
    breaker = snapshot.get("breaker") or {}
    today = _period(snapshot, "day")
    if breaker.get("tripped") and today and record.get("breaker") != today:
        record["breaker"] = today
        out.append({"id": f"breaker:{today}", "kind": "breaker", "threshold": None, "period": today,
                    "title": "AI spend circuit breaker tripped",
                    "body": f"Cause: {breaker.get('cause')}. Re-enable: {breaker.get('reenable')}"})
    return out, record


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def record_and_send(home: Path, snapshot: dict[str, Any], webhook_url: str | None) -> list[dict[str, Any]]:
    """Work out the alerts due, remember them, post them to the webhook, and keep them in the snapshot (under
    `alerts`, with earlier ones not yet shown) for the menu bar to notify."""
    alerted = _load(home / STATE_FILE)
    new, record = due(snapshot, alerted if isinstance(alerted, dict) else {})
    (home / STATE_FILE).write_text(json.dumps(record, indent=1))
    if new and webhook_url:
        _post(webhook_url, {"text": "\n".join(f"{a['title']}: {a['body']}" for a in new), "alerts": new})
    shown = _load(home / SHOWN_FILE)
    shown_ids = set(shown) if isinstance(shown, list) else set()
    pending = [a for a in (_load_previous(snapshot) + new) if a["id"] not in shown_ids]
    snapshot["alerts"] = pending[-20:]
    return new


def _load_previous(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in snapshot.get("alerts") or [] if isinstance(a, dict) and "id" in a]


def _post(url: str, payload: dict[str, Any]) -> None:
    """Best effort and short: an alert hook that is down must not hold up an import."""
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=3):
            pass
    except OSError:
        pass


def notify_pending(home: Path, snapshot: dict[str, Any] | None, opener: Any) -> int:
    """Under SwiftBar: open `swiftbar://notify` once for each alert not yet shown; returns how many.
    `opener(url)` opens a URL (the `open` command on macOS)."""
    from .menubar import notify_url

    if not snapshot:
        return 0
    shown = _load(home / SHOWN_FILE)
    shown_ids = list(shown) if isinstance(shown, list) else []
    count = 0
    for alert in snapshot.get("alerts") or []:
        if not isinstance(alert, dict) or alert.get("id") in shown_ids:
            continue
        opener(notify_url(str(alert.get("title")), str(alert.get("body"))))
        shown_ids.append(alert["id"])
        count += 1
    if count:
        (home / SHOWN_FILE).write_text(json.dumps(shown_ids[-200:]))
    return count
