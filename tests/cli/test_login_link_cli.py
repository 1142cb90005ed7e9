"""`tokenpulse login-link` and `tokenpulse demo --sign-in`: one-time sign-in links written to the store,
each signing its person in once (checked on the store itself; the dashboard tests use them in a browser)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cli_helpers import as_json, ok
from tokenpulse.keys import hash_secret
from tokenpulse.store.duckdb import DuckDBStore


def _use(home: Path, token: str, at: datetime) -> str | None:
    store = DuckDBStore(home / "tokenpulse.duckdb")
    try:
        return store.use_login_link(hash_secret(token), at)
    finally:
        store.close()


def test_a_login_link_signs_its_person_in_once_within_30_minutes(isolated_env: Path, tmp_path: Path) -> None:
    made = as_json(ok("login-link", "Ann@Example.com", "--url", "http://dash.example:8787/", "--json"))
    assert made["email"] == "ann@example.com" and made["expires_in_minutes"] == 30
    prefix = "http://dash.example:8787/login/link/"
    assert made["url"].startswith(prefix)
    token = made["url"].removeprefix(prefix)
    home = tmp_path / "tokenpulse"
    assert _use(home, token, datetime.now(UTC) + timedelta(minutes=31)) is None
    assert _use(home, token, datetime.now(UTC)) == "ann@example.com"
    assert _use(home, token, datetime.now(UTC)) is None
    # Plain output is the link alone, for pasting into a message.
    plain = ok("login-link", "bob@example.com").stdout.strip()
    assert plain.startswith("http://127.0.0.1:8787/login/link/") and "\n" not in plain


def test_the_demo_prints_an_admin_key_and_links_for_a_manager_and_their_engineer(tmp_path: Path) -> None:
    summary = as_json(ok("demo", "--people", "20", "--days", "3", "--seed", "4", "--end", "2026-11-30",
                         "--sign-in", "http://127.0.0.1:9999", "--json"))
    sign_in = summary["sign_in"]
    assert sign_in["admin"].startswith("http://127.0.0.1:9999/login with the key tpa_")
    [manager] = [k for k in sign_in if k.startswith("manager ")]
    [engineer] = [k for k in sign_in if k.startswith("engineer ")]
    home = tmp_path / "tokenpulse"
    store = DuckDBStore(home / "tokenpulse.duckdb")
    try:
        people = {p.person: p for p in store.people()}
        assert people[engineer.split()[1]].manager == manager.split()[1]
        assert people[manager.split()[1]].role == "manager"
        key_id = sign_in["admin"].rsplit(" ", 1)[1][:12]
        assert [k.kind for k in store.api_keys() if k.id == key_id] == ["admin"]
    finally:
        store.close()
    token = sign_in[engineer].rsplit("/", 1)[1]
    # A demo's links last the day.
    assert _use(home, token, datetime.now(UTC) + timedelta(hours=11)) == engineer.split()[1]
