"""The JSON API of a running collector: NDJSON ingest, reports and who may read them, the people
directory, keys, health and Prometheus metrics."""

from __future__ import annotations

import gzip
from decimal import Decimal

import msgspec

from canonical_lines import ev
from http_helpers import call, post_json


def ndjson(*lines: dict) -> bytes:
    return b"".join(msgspec.json.encode(line) + b"\n" for line in lines)


def post_events(collector, body: bytes, key: str = "ingest", gzipped: bool = False) -> tuple[int, dict]:
    headers = {**collector.auth(key), "Content-Type": "application/x-ndjson"}
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    status, _, data = call("POST", f"{collector.url}/api/v1/events", body, headers)
    return status, msgspec.json.decode(data)


def usage_line(id: str, ts: str, person: str, tokens: int, **fields) -> dict:
    return ev(id, ts, input_tokens=tokens, output_tokens=0, person=person, **fields)


def test_ndjson_is_stored_once_and_reported_with_the_same_figures_as_the_cli(collector) -> None:
    body = ndjson(usage_line("u1", "2026-11-03T09:00:00Z", "alice@example.com", 100_000),
                  usage_line("u2", "2026-11-03T10:00:00Z", "bob@example.com", 150_000),
                  {"kind": "outcome", "id": "o1", "ts": "2026-11-03T11:00:00Z", "person": "alice@example.com",
                   "tool": "claude_code", "type": "commit", "count": 2})
    assert post_events(collector, body) == (200, {"ok": True, "accepted": 3, "rejected": 0, "errors": []})
    assert post_events(collector, body, gzipped=True)[0] == 200  # again, compressed: still once

    status, report = collector.get("/api/v1/reports/daily?tz=UTC&breakdown=model")
    assert status == 200
    assert report["schema"] == "tokenpulse-report/1"
    (row,) = report["rows"]
    # 250,000 input tokens of claude-sonnet-4-5 at $3 per million
    assert (row["key"], row["requests"], row["input_tokens"], Decimal(str(row["cost_usd"]))) == (
        "2026-11-03", 2, 250_000, Decimal("0.75"))
    assert report["meta"]["people"] == []

    status, only_bob = collector.get("/api/v1/reports/monthly?tz=UTC&person=Bob@Example.com")
    assert status == 200 and only_bob["totals"]["requests"] == 1
    assert collector.get("/api/v1/reports/hourly")[0] == 404
    assert collector.get("/api/v1/reports/daily?since=last-week")[0] == 400

    assert collector.stop() == 0
    store = collector.store()
    try:
        assert store.counts()["events"] == 2
        assert [(o.id, o.person, o.count) for o in store.iter_outcomes()] == [("o1", "alice@example.com", 2)]
    finally:
        store.close()


def test_a_personal_key_sends_as_its_owner_and_reads_only_its_owner(collector) -> None:
    # Alice's key: whatever person the lines name, they are hers.
    body = ndjson(usage_line("a1", "2026-11-03T09:00:00Z", "someone-else@example.com", 1000),
                  usage_line("a2", "2026-11-03T09:30:00Z", None, 1000))
    assert post_events(collector, body, key="alice")[0] == 200
    assert post_events(collector, ndjson(usage_line("b1", "2026-11-03T09:00:00Z", "bob@example.com", 5000)))[0] == 200

    status, mine = collector.get("/api/v1/reports/daily?tz=UTC", key="alice")
    assert (status, mine["totals"]["input_tokens"], mine["meta"]["people"]) == (200, 2000, ["alice@example.com"])
    status, error = collector.get("/api/v1/reports/daily?person=bob@example.com", key="alice")
    assert status == 403 and error["error"] == "a personal key reads its owner's usage only"
    status, error = collector.get("/api/v1/reports/daily", key="ingest")
    assert (status, error["ok"]) == (403, False)
    status, everyone = collector.get("/api/v1/reports/daily?tz=UTC", key="admin")
    assert everyone["totals"]["input_tokens"] == 7000


def test_a_team_token_labels_what_it_sends(collector) -> None:
    assert post_events(collector, ndjson(usage_line("t1", "2026-11-03T09:00:00Z", "dan@example.com", 10)),
                       key="team")[0] == 200
    collector.stop()
    store = collector.store()
    try:
        (event,) = store.iter_usage()
        assert event.extra == {"ingest_team": "payments"}
    finally:
        store.close()


def test_the_people_directory_and_alias_lookup(collector) -> None:
    csv = (b"email,name,team,manager,role,aliases\n"
           b"alice@example.com,Alice,payments,carol@example.com,engineer,account:aaaa-1111;alice@home.example\n"
           b"carol@example.com,Carol,payments,,manager,\n"
           b"not-an-email,Nobody,,,,\n")
    # Usage that arrived under an alias before the directory did.
    assert post_events(collector, ndjson(usage_line("x1", "2026-11-03T09:00:00Z", "account:aaaa-1111", 10)))[0] == 200
    status, _, data = call("POST", f"{collector.url}/api/v1/people", csv,
                           {**collector.auth("admin"), "Content-Type": "text/csv"})
    answer = msgspec.json.decode(data)
    assert status == 200
    assert answer == {"ok": False, "people": 2, "reattributed_events": 1, "rejected": 1,
                      "errors": [{"row": 4, "message": "`email` must be an email address, got 'not-an-email'"}]}

    status, found = collector.get("/api/v1/people/account:aaaa-1111", key="alice")
    assert status == 200
    assert found == {"identity": "account:aaaa-1111", "email": "alice@example.com", "name": "Alice",
                     "team": "payments", "manager": "carol@example.com", "role": "engineer",
                     "aliases": ["account:aaaa-1111", "alice@home.example"]}
    assert collector.get("/api/v1/people/ALICE@HOME.EXAMPLE")[1]["email"] == "alice@example.com"
    assert collector.get("/api/v1/people/nobody@example.com")[0] == 404
    status, listing = collector.get("/api/v1/people")
    assert [p["email"] for p in listing["people"]] == ["alice@example.com", "carol@example.com"]
    assert collector.get("/api/v1/people", key="ingest")[0] == 403
    status, _, _ = call("POST", f"{collector.url}/api/v1/people", csv,
                        {**collector.auth("alice"), "Content-Type": "text/csv"})
    assert status == 403  # only admins change the directory
    status, report = collector.get("/api/v1/reports/daily?person=alice@example.com")
    assert report["totals"]["requests"] == 1


def test_keys_are_created_listed_and_revoked_through_the_api(collector) -> None:
    status, _, created = post_json(f"{collector.url}/api/v1/keys", {"kind": "personal", "person": "Dan@Example.com",
                                                                   "name": "dan's laptop"}, collector.auth("admin"))
    assert status == 201
    assert (created["kind"], created["person"], created["scope"]) == ("personal", "dan@example.com",
                                                                      "person:dan@example.com")
    secret = created["secret"]
    assert secret.startswith("tpk_") and created["id"] == secret[:12]
    status, me = collector.get("/api/v1/me", key="admin")
    collector.keys["dan"] = secret
    status, me = collector.get("/api/v1/me", key="dan")
    assert (status, me["key"]["id"]) == (200, created["id"])
    listed = collector.get("/api/v1/keys")[1]["keys"]
    assert created["id"] in [k["id"] for k in listed] and all("secret" not in k for k in listed)

    status, _, body = call("DELETE", f"{collector.url}/api/v1/keys/{created['id']}", headers=collector.auth("admin"))
    assert status == 200
    status, error = collector.get("/api/v1/me", key="dan")
    assert status == 401 and "revoked" in error["error"]
    assert call("DELETE", f"{collector.url}/api/v1/keys/{created['id']}", headers=collector.auth("admin"))[0] == 404
    status, _, error = post_json(f"{collector.url}/api/v1/keys", {"kind": "personal"}, collector.auth("admin"))
    assert (status, error["error"]) == (400, "a personal key needs the person (their email) it belongs to")
    assert post_json(f"{collector.url}/api/v1/keys", {"kind": "admin"}, collector.auth("ingest"))[0] == 403


def test_health_needs_no_key_and_metrics_count_what_happened(collector) -> None:
    status, _, body = call("GET", f"{collector.url}/healthz")
    health = msgspec.json.decode(body)
    assert status == 200 and health["ok"] is True
    post_events(collector, ndjson(usage_line("m1", "2026-11-03T09:00:00Z", "a@example.com", 1), {"kind": "usage"}))
    call("GET", f"{collector.url}/api/v1/me")  # no key: 401
    status, headers, text = call("GET", f"{collector.url}/metrics", headers=collector.auth("admin"))
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    metrics = text.decode()
    assert 'tokenpulse_ingest_records_total{path="/api/v1/events",result="accepted"} 1.0' in metrics
    assert 'tokenpulse_ingest_records_total{path="/api/v1/events",result="rejected"} 1.0' in metrics
    assert 'tokenpulse_http_requests_total{route="/api/v1/me",status="401"} 1.0' in metrics
    assert "tokenpulse_write_queue_events 0.0" in metrics
    assert call("GET", f"{collector.url}/metrics", headers=collector.auth("ingest"))[0] == 403
