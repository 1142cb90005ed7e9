"""The service's scheduled sync: a real `tokenpulse serve` reads the fake Cursor admin API on its own, stores
the usage through its writer, and the reconciliation route and page show it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from fake_cursor import CURSOR_KEY, FakeCursor
from test_cursor import EXPECTED_EVENTS

from http_helpers import call
from service_process import ServiceProcess
from tokenpulse.keys import hash_secret, new_key
from tokenpulse.store import open_store

PERIOD = "since=2026-11-01&until=2026-11-03"


def test_serve_syncs_the_configured_vendors_on_its_own(tmp_path: Path, cursor: FakeCursor) -> None:
    home = tmp_path / "service-home"
    home.mkdir()
    (home / "tokenpulse.toml").write_text(
        '[vendors]\nsync_interval_minutes = 60\nsync_first_days = 1000\n\n'
        f'[vendors.cursor]\nbase_url = "{cursor.url}"\n')
    db = str(tmp_path / "store.duckdb")
    store = open_store(db)
    secret, key = new_key("admin", now=datetime.now(UTC), name="admin")
    store.add_key(key, hash_secret(secret))
    store.close()
    service = ServiceProcess(args=["tokenpulse", "--db", db, "serve", "--port", "0"],
                             env={"TOKENPULSE_HOME": str(home), "CURSOR_ADMIN_KEY": CURSOR_KEY}).start()
    try:
        auth = {"Authorization": f"Bearer {secret}"}
        deadline = time.monotonic() + 60
        while True:
            status, _, body = call("GET", f"{service.url}/api/v1/reconciliation?{PERIOD}&only=all", headers=auth)
            assert status == 200, body
            data = json.loads(body)
            if data["cells"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        # Every billed Cursor event is there, each counted at its bill.
        assert data["totals"]["vendor"]["requests"] == len(EXPECTED_EVENTS)
        billed = sum(e.reported_cost_micros or 0 for e in EXPECTED_EVENTS)
        assert round(float(data["counted_usd"]) * 1_000_000) == billed
        assert {c["tool"] for c in data["cells"]} == {"cursor"}
        assert all(c["counted"] == ["vendor"] and c["vendor"]["confidence"] == "billed" for c in data["cells"])
        status, _, page = call("GET", f"{service.url}/reconciliation?{PERIOD}&only=all", headers=auth)
        assert status == 200 and b"dev@company.com" in page and b"cursor" in page
    finally:
        service.stop()
    log = "".join(service.log)
    assert "vendor sync: cursor: 7 new" in log  # the six of Nov 1–3 and one of Nov 4
    assert CURSOR_KEY not in log
    assert ("POST", "/teams/filtered-usage-events") in {(m, p) for m, p, _, _ in cursor.requests}
