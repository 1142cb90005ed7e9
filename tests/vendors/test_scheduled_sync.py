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


def test_a_scheduled_sync_trips_the_breaker_and_sets_the_cursor_limit(store, cursor: FakeCursor,
                                                                     tmp_path: Path) -> None:
    import asyncio
    from decimal import Decimal

    from tokenpulse.config import Settings
    from tokenpulse.pricing import load_price_book
    from tokenpulse.server.vendor_sync import ScheduledSync

    tables = {"vendors": {"sync_first_days": 3, "cursor": {"base_url": cursor.url, "breaker_action": "spend_limit"}},
              "gateway": {"breaker": {"floor_usd": "0.10"}}}
    settings = Settings(home=tmp_path, db=str(tmp_path / "unused.duckdb"), tz="UTC", tables=tables)

    async def read(call):  # the service's writer runs calls on the store's thread; here, the test's
        return call(store)

    cursor.limits["dev@company.com"] = Decimal(250)
    sync = ScheduledSync(read, settings, load_price_book([]), clock=lambda: datetime(2026, 11, 1, 12, tzinfo=UTC),
                         env={"CURSOR_ADMIN_KEY": CURSOR_KEY}, sleep=lambda s: None)
    assert sync.enabled and sync.interval_s == 3600
    [result] = asyncio.run(sync.run_once())
    assert (result["vendor"], result["status"], result["events"]["new"]) == ("cursor", "synced", 6)
    # Dev's $0.14 of Cursor today is above the $0.10 floor: tripped, and their Cursor limit set to $0.
    [incident] = store.incidents()
    assert (incident.person, incident.cause, incident.evidence["tools"]) == ("dev@company.com", "daily_spend",
                                                                           ["cursor"])
    assert incident.evidence["actions"][0]["previous_hard_limit_dollars"] == "250"
    assert cursor.limits["dev@company.com"] == Decimal(0)
    assert [a.action for a in store.audit_log()] == ["breaker_trip", "breaker_action"]
    asyncio.run(sync.run_once())  # nothing new: no second trip
    assert len(store.incidents()) == 1
