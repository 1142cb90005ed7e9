"""`tokenpulse keys create|list|revoke`: ingest tokens, personal keys and admin keys.

Each command works on the local store, or through a running server's API with --server (a server on
the embedded store holds its file, so that is the way while it runs)."""

from __future__ import annotations

from typing import Any

import click

from ..errors import ConfigError
from ..keys import KINDS, hash_secret, make_key
from .app import App
from .options import server_options
from .render import console, print_json


def remote(app: App, server: str | None, key: str | None) -> Any:
    """A client for --server, or None to use the local store."""
    if not server:
        return None
    from ..client import ServerClient

    key = key or app.settings.key
    if not key:
        raise ConfigError("--server needs an admin key: pass --key or set TOKENPULSE_KEY")
    return ServerClient(server, key)


@click.group("keys")
def keys_group() -> None:
    """Manage API keys (the store keeps only a hash of each; a key is shown once, when created)."""


@keys_group.command("create")
@click.option("--kind", type=click.Choice(KINDS), default="ingest", show_default=True,
              help="ingest: send usage; personal: one person's push and reports; admin: everything; "
                   "gateway: a person's virtual key for the metering gateway.")
@click.option("--team", metavar="TEAM", help="Scope an ingest token to one team (its events are labelled with it).")
@click.option("--person", metavar="EMAIL", help="The owner of a personal or gateway key.")
@click.option("--name", metavar="TEXT", help="A note to tell keys apart (e.g. 'managed laptops').")
@server_options
@click.option("--json", "json_", is_flag=True, help="Print JSON.")
@click.pass_obj
def create(app: App, kind: str, team: str | None, person: str | None, name: str | None, server: str | None,
           key: str | None, json_: bool) -> None:
    """Create a key and print it (once: it cannot be shown again)."""
    client = remote(app, server, key)
    if client is not None:
        created = client.request("POST", "/api/v1/keys", _json({"kind": kind, "team": team, "person": person,
                                                                "name": name}))
    else:
        secret, new = make_key(kind, team=team, person=person, name=name)
        app.store.add_key(new, hash_secret(secret))
        created = {"secret": secret, **new.to_json()}
    if json_:
        print_json(created)
        return
    click.echo(created["secret"])
    console(stderr=True).print(f"[dim]Created {created['kind']} key {created['id']} ({created['scope']}). Keep it "
                               "now: only its hash is stored. Send it as `Authorization: Bearer <key>`.[/dim]")


@keys_group.command("list")
@click.option("--all", "all_", is_flag=True, help="Include revoked keys.")
@server_options
@click.option("--json", "json_", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_keys(app: App, all_: bool, server: str | None, key: str | None, json_: bool) -> None:
    """List keys (their ids and scopes; never the keys themselves)."""
    client = remote(app, server, key)
    keys = client.request("GET", "/api/v1/keys")["keys"] if client else [k.to_json() for k in app.store.api_keys()]
    keys = [k for k in keys if all_ or k["revoked_at"] is None]
    if json_:
        print_json({"keys": keys})
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("id", "kind", "scope", "name", "created", "last used", "revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(k["id"], k["kind"], k["scope"], k["name"] or "", *(_when(k[f]) for f in (
            "created_at", "last_used_at", "revoked_at")))
    console().print(table if keys else "[dim]No keys yet: `tokenpulse keys create`.[/dim]")


@keys_group.command("revoke")
@click.argument("key_id")
@server_options
@click.pass_obj
def revoke(app: App, key_id: str, server: str | None, key: str | None) -> None:
    """Revoke a key by its id. Through --server it stops working at once; revoked in the store directly, a
    running server notices within its key cache time (30 s by default)."""
    client = remote(app, server, key)
    if client is not None:
        client.request("DELETE", f"/api/v1/keys/{key_id}")
    elif not app.store.revoke_key(key_id):
        raise ConfigError(f"no active key with id {key_id!r} (see `tokenpulse keys list --all`)")
    console(stderr=True).print(f"Revoked {key_id}.")


def _json(obj: dict[str, Any]) -> bytes:
    import msgspec

    return msgspec.json.encode({k: v for k, v in obj.items() if v is not None})


def _when(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else ""


COMMANDS = [keys_group]
