"""`tokenpulse push`: a machine's local usage reaches the collector once, incrementally, as its owner's;
and the key and people commands work through a running server."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

from cli_helpers import ok, tp


def test_push_sends_new_local_usage_once_as_the_keys_owner(collector, data: Path, tmp_path: Path,
                                                           monkeypatch) -> None:
    logs = tmp_path / "claude"
    (logs / "projects").mkdir(parents=True)
    shutil.copytree(data / "claude" / "projects" / "spotter", logs / "projects" / "spotter")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(logs))
    monkeypatch.setenv("TOKENPULSE_KEY", collector.keys["alice"])

    first = json.loads(ok("push", "--server", collector.url, "--json").stdout)
    local = json.loads(ok("report", "daily", "--no-import", "--tz", "UTC", "--json").stdout, parse_float=Decimal)
    assert first["usage_sent"] == local["totals"]["requests"] > 0
    assert first["as"] == "alice@example.com"
    assert first["import"]["files"]["read"] > 0
    assert json.loads(ok("push", "--server", collector.url, "--json").stdout)["usage_sent"] == 0

    # New sessions on this machine: only they are sent.
    shutil.copytree(data / "claude" / "projects" / "project-alpha", logs / "projects" / "project-alpha")
    second = json.loads(ok("push", "--server", collector.url, "--json").stdout)
    local = json.loads(ok("report", "daily", "--no-import", "--tz", "UTC", "--json").stdout, parse_float=Decimal)
    assert second["usage_sent"] == local["totals"]["requests"] - first["usage_sent"] > 0

    # The server has the same usage and cost as the machine, all of it Alice's.
    status, remote = collector.get("/api/v1/reports/daily?tz=UTC&person=alice@example.com")
    assert status == 200
    for field in ("requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
        assert remote["totals"][field] == local["totals"][field], field
    assert Decimal(str(remote["totals"]["cost_usd"])) == local["totals"]["cost_usd"]
    status, everyone = collector.get("/api/v1/reports/daily?tz=UTC")
    assert everyone["totals"]["requests"] == local["totals"]["requests"]


def test_push_without_a_server_or_key_says_what_is_missing(monkeypatch) -> None:
    result = tp("push")
    assert result.exit_code == 1 and "no server to push to" in result.stderr
    result = tp("push", "--server", "http://127.0.0.1:9")
    assert result.exit_code == 1 and "no key" in result.stderr


def test_push_to_an_unreachable_server_fails_cleanly(monkeypatch) -> None:
    import tokenpulse.client

    monkeypatch.setattr(tokenpulse.client, "RETRIES", 1)
    result = tp("push", "--server", "http://127.0.0.1:9", "--key", "tpk_x", "--no-import")
    assert result.exit_code == 1
    assert "cannot reach http://127.0.0.1:9" in result.stderr and "tpk_x" not in result.stderr


def test_push_with_a_wrong_key_fails_before_sending(collector) -> None:
    result = tp("push", "--server", collector.url, "--key", "tpk_wrong", "--no-import")
    assert result.exit_code == 1
    assert "answered 401: unknown key" in result.stderr and "tpk_wrong" not in result.stderr


def test_keys_and_people_through_the_server(collector, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TOKENPULSE_KEY", collector.keys["admin"])
    created = json.loads(ok("keys", "create", "--kind", "ingest", "--team", "search", "--name", "ci",
                            "--server", collector.url, "--json").stdout)
    assert (created["kind"], created["scope"], created["name"]) == ("ingest", "team:search", "ci")
    listed = json.loads(ok("keys", "list", "--server", collector.url, "--json").stdout)["keys"]
    assert created["id"] in [k["id"] for k in listed]
    ok("keys", "revoke", created["id"], "--server", collector.url)
    listed = json.loads(ok("keys", "list", "--server", collector.url, "--json").stdout)["keys"]
    assert created["id"] not in [k["id"] for k in listed]
    result = tp("keys", "revoke", created["id"], "--server", collector.url)
    assert result.exit_code == 1 and "answered 404" in result.stderr

    directory = tmp_path / "people.json"
    directory.write_text(json.dumps({"people": [
        {"email": "erin@example.com", "name": "Erin", "team": "search", "aliases": ["user:erin-laptop"]}]}))
    answer = json.loads(ok("people", "import", directory, "--server", collector.url, "--json").stdout)
    assert (answer["people"], answer["rejected"]) == (1, 0)
    shown = json.loads(ok("people", "show", "user:erin-laptop", "--server", collector.url, "--json").stdout)
    assert (shown["email"], shown["team"]) == ("erin@example.com", "search")
    result = tp("keys", "list", "--server", collector.url, "--key", collector.keys["ingest"])
    assert result.exit_code == 1 and "answered 403" in result.stderr
