"""Property-based run of the dashboard's JSON API against its own OpenAPI schema (schemathesis), over real
HTTP against `tokenpulse serve` on the demo org, as the admin key: no request gives a 5xx, and every
response the schema describes matches it.

The schema is loaded from the running server's /api/v1/openapi.json; each operation is one test, driven by
Hypothesis with a bounded, derandomized number of examples, with valid and with invalid data. (Operations
are listed from `tokenpulse.web.openapi.schema()` at collection time, before the server runs; a test checks
that the served schema is the same.)

The run may change the org's policies: this module has its own server, so no other module sees them.
"""

from __future__ import annotations

import pytest
import schemathesis
from dashboard_demo import DemoServer
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tokenpulse.web.openapi import schema as local_schema
from tokenpulse.web.routes import PAGES

CHECKS = [not_a_server_error, response_schema_conformance]
OPERATIONS = sorted((path, method.upper()) for path, item in local_schema()["paths"].items() for method in item)
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def admin_headers(demo_server: DemoServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo_server.keys['admin']}"}


@pytest.fixture(scope="module")
def api_schema(demo_server: DemoServer, admin_headers: dict[str, str]) -> schemathesis.BaseSchema:
    # the schema itself is behind the same credentials as the API it describes
    loaded = schemathesis.openapi.from_url(f"{demo_server.url}/api/v1/openapi.json", headers=admin_headers)
    return loaded


def test_the_served_schema_lists_every_dashboard_route(api_schema: schemathesis.BaseSchema) -> None:
    paths = api_schema.raw_schema["paths"]
    assert sorted((p, m.upper()) for p, item in paths.items() for m in item) == OPERATIONS
    assert {page.api for page in PAGES} <= set(paths)
    assert {"/api/v1/conversations/{id}", "/api/v1/incidents/reenable", "/api/v1/policies",
            "/api/v1/sessions/{session}/share", "/api/v1/export"} <= set(paths)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_no_server_errors_and_schema_conformance(api_schema: schemathesis.BaseSchema, demo_server: DemoServer,
                                                 admin_headers: dict[str, str], path: str, method: str,
                                                 mode: GenerationMode) -> None:
    operation = api_schema[path][method]

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=demo_server.url, headers=admin_headers, checks=CHECKS)

    run()


DATED = [path for path, method in OPERATIONS if method == "GET" and any(
    p["name"] == "until" for p in local_schema()["paths"][path]["get"]["parameters"])]


@pytest.mark.parametrize("query", ["until=0001-01-05", "since=0001-01-01&until=0001-01-02",
                                   "since=9999-12-30&until=9999-12-31", "until=9999-12-31", "since=2026-13-01",
                                   "since=2026-11-30&until=2026-11-01", "since=2020-01-01&until=2026-11-30"])
@pytest.mark.parametrize("path", DATED)
def test_out_of_range_dates_are_a_bad_request(demo_server: DemoServer, admin_headers: dict[str, str], path: str,
                                               query: str) -> None:
    """Dates the fuzzer rarely draws: the ends of the calendar overflowed date arithmetic (a 500)."""
    import urllib.error
    import urllib.request

    url = demo_server.url + path.replace("{person}", demo_server.person("engineer")) + "?" + query
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(url, headers=admin_headers), timeout=60).close()
    with refused.value as response:
        assert response.code == 400, response.read()
