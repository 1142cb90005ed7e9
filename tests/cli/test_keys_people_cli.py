"""`tokenpulse keys` and `tokenpulse people` on the local store."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import as_json, assert_clean_failure, ok, tp
from tokenpulse.store import open_store


def test_a_created_key_is_printed_once_and_only_its_hash_is_stored(tmp_path: Path) -> None:
    result = ok("keys", "create", "--kind", "personal", "--person", "Alice@Example.com", "--name", "laptop")
    secret = result.stdout.strip()
    assert secret.startswith("tpk_") and len(secret) > 30
    assert "Keep it now" in result.stderr
    listed = as_json(ok("keys", "list", "--json"))["keys"]
    assert [(k["id"], k["kind"], k["scope"], k["name"]) for k in listed] == [
        (secret[:12], "personal", "person:alice@example.com", "laptop")]
    assert secret not in json.dumps(listed)
    store = open_store(Path(tmp_path / "tokenpulse" / "tokenpulse.duckdb"))
    try:
        rows = store.con.execute("SELECT * FROM api_keys").fetchall()
    finally:
        store.close()
    assert secret not in repr(rows)

    ok("keys", "revoke", secret[:12])
    assert as_json(ok("keys", "list", "--json"))["keys"] == []
    assert as_json(ok("keys", "list", "--all", "--json"))["keys"][0]["revoked_at"] is not None
    result = tp("keys", "revoke", secret[:12])
    assert_clean_failure(result)
    assert "no active key" in result.stderr


def test_key_scopes_must_fit_their_kind() -> None:
    for args, message in ((("--kind", "personal"), "needs the person"),
                          (("--kind", "admin", "--team", "x"), "only ingest tokens are scoped to a team"),
                          (("--kind", "gateway"), "a gateway key needs the person"),
                          (("--kind", "ingest", "--person", "a@example.com"),
                           "only personal and gateway keys belong to a person")):
        result = tp("keys", "create", *args)
        assert_clean_failure(result)
        assert message in result.stderr
    assert as_json(ok("keys", "list", "--json")) == {"keys": []}


def test_people_import_reports_bad_rows_and_keeps_the_rest(tmp_path: Path) -> None:
    directory = tmp_path / "people.csv"
    directory.write_text("Email,Name,Team,Manager,Role,Aliases\n"
                         "alice@example.com,Alice,payments,carol@example.com,engineer,account:aa-11 user:al\n"
                         "carol@example.com,Carol,payments,,manager,\n"
                         "bob@example.com,Bob,search,not an email,,\n")
    result = tp("people", "import", directory)
    assert result.exit_code == 3
    assert "Imported 2 people" in result.stderr
    assert f"{directory}: row 4: `manager` must be an email address, got 'not an email'" in result.stderr
    people = as_json(ok("people", "list", "--json"))["people"]
    assert [(p["email"], p["team"], p["aliases"]) for p in people] == [
        ("alice@example.com", "payments", ["account:aa-11", "user:al"]), ("carol@example.com", "payments", [])]
    shown = as_json(ok("people", "show", "ACCOUNT:aa-11", "--json"))
    assert (shown["identity"], shown["email"], shown["manager"]) == ("account:aa-11", "alice@example.com",
                                                                     "carol@example.com")
    result = tp("people", "show", "nobody@example.com")
    assert_clean_failure(result)
    assert "no person is known by" in result.stderr
