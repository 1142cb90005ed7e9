"""`tokenpulse keys create|list|revoke`: ingest tokens, personal keys and admin keys."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from ..errors import ConfigError
from ..keys import KINDS, hash_secret, new_key
from ..people import normalize_identity
from .app import App
from .render import console, print_json


@click.group("keys")
def keys_group() -> None:
    """Manage API keys (the store keeps only a hash of each; a key is shown once, when created)."""


@keys_group.command("create")
@click.option("--kind", type=click.Choice(KINDS), default="ingest", show_default=True,
              help="ingest: send usage; personal: one person's push and reports; admin: everything.")
@click.option("--team", metavar="TEAM", help="Scope an ingest token to one team (its events are labelled with it).")
@click.option("--person", metavar="EMAIL", help="The owner of a personal key.")
@click.option("--name", metavar="TEXT", help="A note to tell keys apart (e.g. 'managed laptops').")
@click.option("--json", "json_", is_flag=True, help="Print JSON.")
@click.pass_obj
def create(app: App, kind: str, team: str | None, person: str | None, name: str | None, json_: bool) -> None:
    """Create a key and print it (once: it cannot be shown again)."""
    if kind == "personal" and not person:
        raise ConfigError("a personal key needs --person EMAIL")
    if kind != "personal" and person:
        raise ConfigError("--person is for personal keys")
    if kind != "ingest" and team:
        raise ConfigError("--team scopes ingest tokens only")
    secret, key = new_key(kind, now=datetime.now(UTC), team=team,  # type: ignore[arg-type]
                          person=normalize_identity(person) if person else None, name=name)
    app.store.add_key(key, hash_secret(secret))
    if json_:
        print_json({"secret": secret, **key.to_json()})
        return
    click.echo(secret)
    console(stderr=True).print(f"[dim]Created {key.kind} key {key.id} ({key.scope}). Keep it now: only its hash "
                               f"is stored. Send it as `Authorization: Bearer <key>`.[/dim]")


@keys_group.command("list")
@click.option("--all", "all_", is_flag=True, help="Include revoked keys.")
@click.option("--json", "json_", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_keys(app: App, all_: bool, json_: bool) -> None:
    """List keys (their ids and scopes; never the keys themselves)."""
    keys = [k for k in app.store.api_keys() if all_ or k.revoked_at is None]
    if json_:
        print_json({"keys": [k.to_json() for k in keys]})
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("id", "kind", "scope", "name", "created", "last used", "revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(k.id, k.kind, k.scope, k.name or "", _when(k.created_at), _when(k.last_used_at),
                      _when(k.revoked_at))
    console().print(table if keys else "[dim]No keys yet: `tokenpulse keys create`.[/dim]")


@keys_group.command("revoke")
@click.argument("key_id")
@click.pass_obj
def revoke(app: App, key_id: str) -> None:
    """Revoke a key by its id (a running server stops accepting it within its key cache time, 30 s by default)."""
    if not app.store.revoke_key(key_id):
        raise ConfigError(f"no active key with id {key_id!r} (see `tokenpulse keys list --all`)")
    console(stderr=True).print(f"Revoked {key_id}.")


def _when(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M") if ts else ""


COMMANDS = [keys_group]
