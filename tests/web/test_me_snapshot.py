"""`GET /api/v1/me/snapshot` (`tokenpulse me --server`): a person's figures from the server, as the widgets
read them — their usage from every source, the org's caps and expected usage, today's breaker state."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest
from dashboard_demo import DemoServer


def _get(server: DemoServer, role: str, path: str) -> dict:
    request = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {server.keys[role]}"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def test_a_person_gets_their_own_figures_and_an_admin_key_has_none(demo_server: DemoServer) -> None:
    engineer = demo_server.person("engineer")
    s = _get(demo_server, "engineer", "/api/v1/me/snapshot")
    assert (s["schema"], s["source"], s["person"]) == ("tokenpulse-snapshot/1", "server", engineer)
    assert s["dashboard_url"] == demo_server.url and s["breaker"] is None  # their trips were on other days
    month = datetime.now(UTC).strftime("%Y-%m")
    first = f"{month}-01"
    today = datetime.now(UTC).date().isoformat()
    profile = _get(demo_server, "engineer", f"/api/v1/profiles/{engineer}?since={first}&until={today}")
    assert s["month"]["month"] == month
    assert float(s["month"]["list_usd"]) == pytest.approx(float(profile["totals"]["spend_usd"]), abs=1e-6)
    with pytest.raises(urllib.error.HTTPError) as refused:
        _get(demo_server, "admin", "/api/v1/me/snapshot")
    assert refused.value.code == 403
    refused.value.close()
