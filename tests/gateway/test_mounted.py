"""The gateway mounted in `tokenpulse serve --gateway`: one process collects telemetry and meters the
vendor routes, into one store; the collector's routes still need their own keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import anthropic
from test_gateway_sdk import ANTHROPIC_MICROS, ANTHROPIC_USAGE

from http_helpers import call
from service_process import ServiceProcess
from tokenpulse.keys import hash_secret, new_key
from tokenpulse.store import open_store


def test_serve_with_the_gateway_meters_vendor_routes_into_the_collectors_store(vendor: ServiceProcess,
                                                                              tmp_path: Path) -> None:
    location = str(tmp_path / "store.duckdb")
    store = open_store(location)
    gateway_secret, gateway_key = new_key("gateway", now=datetime.now(UTC), person="alice@example.com")
    store.add_key(gateway_key, hash_secret(gateway_secret))
    store.close()
    server = ServiceProcess(["tokenpulse", "--db", location, "serve", "--port", "0", "--decode-workers", "0",
                             "--gateway"],
                            env={"TOKENPULSE_HOME": str(tmp_path / "home"),
                                 "TOKENPULSE_GATEWAY_ANTHROPIC_UPSTREAM": vendor.url}).start()
    try:
        with anthropic.Anthropic(base_url=server.url, api_key=gateway_secret, max_retries=0) as client:
            reply = client.messages.create(model="claude-sonnet-4-5", max_tokens=1000,
                                           messages=[{"role": "user", "content": "hi"}],
                                           extra_headers={"x-fake-usage": json.dumps(ANTHROPIC_USAGE)})
        assert reply.usage.output_tokens == 350
        # A gateway key opens only the gateway: the collector's API still wants one of its own keys.
        status, _, body = call("GET", server.url + "/api/v1/reports/daily",
                               headers={"Authorization": f"Bearer {gateway_secret}"})
        assert status == 403 and json.loads(body)["ok"] is False
        status, _, _ = call("POST", server.url + "/v1/logs", b"{}", {"Content-Type": "application/json"})
        assert status == 401
    finally:
        assert server.stop() == 0, "".join(server.log)
    store = open_store(location)
    try:
        [event] = list(store.iter_usage())
    finally:
        store.close()
    assert (event.source, event.person, event.cost_micros) == ("gateway", "alice@example.com", ANTHROPIC_MICROS)
