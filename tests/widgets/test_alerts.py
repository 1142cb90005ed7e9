"""Alerts once per threshold and period: a cap at 80 % and at 100 %, the breaker tripping — never repeated on
the next refresh, afresh in the next period; posted to the webhook when the snapshot is written, and opened
as SwiftBar notifications once each by the menu-bar plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from canonical_lines import ev
from cli_helpers import ok, write_ndjson
from tokenpulse.widgets.alerts import due


def snap(share: float, month: str = "2026-12", tripped: bool = False, day: str = "2026-12-04") -> dict:
    return {"month": {"month": month}, "today": {"date": day},
            "caps": [{"scope": "person:me@x.io", "period": "month", "limit_usd": "10", "spent_usd": str(10 * share),
                      "used_share": share}],
            "breaker": {"tripped": True, "cause": "loop", "reenable": "tokenpulse reenable"} if tripped else None}


def test_each_threshold_alerts_once_per_period() -> None:
    alerts, state = due(snap(0.5), {})
    assert alerts == []
    alerts, state = due(snap(0.82), state)
    assert [(a["kind"], a["threshold"]) for a in alerts] == [("cap", 80)]
    assert due(snap(0.9), state)[0] == []  # still 80 %: said already
    alerts, state = due(snap(1.0), state)
    assert [a["threshold"] for a in alerts] == [100] and alerts[0]["title"] == "AI spend cap reached"
    assert due(snap(1.3), state)[0] == []
    # A new month starts afresh; jumping straight past 100 % alerts once, not twice.
    alerts, state = due(snap(1.1, month="2027-01"), state)
    assert [a["threshold"] for a in alerts] == [100]
    assert due(snap(0.85, month="2027-01"), state)[0] == []


def test_a_tripped_breaker_alerts_once_a_day() -> None:
    alerts, state = due(snap(0.1, tripped=True), {})
    assert [a["kind"] for a in alerts] == ["breaker"] and "tokenpulse reenable" in alerts[0]["body"]
    assert due(snap(0.1, tripped=True), state)[0] == []
    assert [a["kind"] for a in due(snap(0.1, tripped=True, day="2026-12-05"), state)[0]] == ["breaker"]


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_an_import_that_crosses_a_cap_posts_once_and_the_menubar_notifies_once(tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hook.received = []
    try:
        home = Path(os.environ["TOKENPULSE_HOME"])
        home.mkdir(parents=True, exist_ok=True)
        (home / "tokenpulse.toml").write_text(
            f'tz = "UTC"\nperson = "me@x.io"\n[widgets]\nwebhook_url = "http://127.0.0.1:{server.server_port}/hook"\n'
            '[[gateway.budgets]]\neach = "person"\nusd = "0.50"\n')
        stamp = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        write_ndjson(tmp_path / "a.ndjson", [ev("a", stamp, input_tokens=150_000)])  # $0.45: 90 % of $0.50
        ok("import", "--format", "ndjson", str(tmp_path / "a.ndjson"))
        write_ndjson(tmp_path / "b.ndjson", [ev("b", stamp, input_tokens=10_000)])  # +$0.03: still under 100 %
        ok("import", "--format", "ndjson", str(tmp_path / "b.ndjson"))
        assert [[a["threshold"] for a in p["alerts"]] for p in _Hook.received] == [[80]]

        # The plugin under SwiftBar opens swiftbar://notify for it once (a stand-in `open` records the URLs).
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        opened = tmp_path / "opened.txt"
        (bin_dir / "open").write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
        (bin_dir / "open").chmod(0o755)
        env = {**os.environ, "SWIFTBAR": "1", "PATH": f"{bin_dir}:{os.environ['PATH']}"}
        for _ in range(2):
            done = subprocess.run([sys.executable, "-m", "tokenpulse", "menubar"], env=env, capture_output=True,
                                  timeout=60)
            assert done.returncode == 0
        for _ in range(50):
            if opened.exists():
                break
            threading.Event().wait(0.1)
        urls = opened.read_text().split()
        assert len(urls) == 1 and urls[0].startswith("swiftbar://notify?")
        assert "80%25%20of%20your%20cap" in urls[0]
    finally:
        server.shutdown()
        server.server_close()
