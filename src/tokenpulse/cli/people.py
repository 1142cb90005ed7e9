"""`tokenpulse people import|list|show`: the directory of people, their teams, managers and aliases."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError
from ..people import normalize_identity, parse_directory
from .app import App
from .keys import remote
from .options import server_options
from .render import console, plural, print_json


@click.group("people")
def people_group() -> None:
    """The people directory: who is in which team, under which manager, known by which aliases."""


@people_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@server_options
@click.option("--json", "json_", is_flag=True, help="Print JSON.")
@click.pass_obj
def import_people(app: App, path: Path, server: str | None, key: str | None, json_: bool) -> None:
    """Add or update people from a CSV or JSON file (columns/fields: email, name, team, manager, role, aliases).

    Usage recorded earlier under one of their aliases (another email, account:<uuid>, user:<id>) is theirs
    from now on. Exit status 3 means some rows could not be read (the rest were imported)."""
    body = path.read_bytes()
    media = "application/json" if path.suffix.lower() == ".json" else (
        mimetypes.guess_type(path.name)[0] or "text/csv")
    client = remote(app, server, key)
    if client is not None:
        answer = client.request("POST", "/api/v1/people", body, media)
    else:
        people, errors = parse_directory(body, media)
        if errors and not people:
            raise ConfigError(f"{path}: no row could be read; first problem: row {errors[0].row}: "
                              f"{errors[0].message}")
        moved = app.store.save_people(people)
        answer = {"ok": not errors, "people": len(people), "reattributed_events": moved, "rejected": len(errors),
                  "errors": [e.to_json() for e in errors]}
    if json_:
        print_json(answer)
    else:
        console(stderr=True).print(f"Imported {plural(answer['people'], 'person', 'people')}; "
                                   f"{plural(answer['reattributed_events'], 'stored event')} moved to their owner.")
    if answer["rejected"]:
        err = console(stderr=True)
        for error in answer["errors"][:5]:
            err.print(f"[yellow]warning:[/yellow] {path}: row {error['row']}: {error['message']}")
        click.get_current_context().exit(3)


@people_group.command("list")
@server_options
@click.option("--json", "json_", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_people(app: App, server: str | None, key: str | None, json_: bool) -> None:
    """Everyone in the directory, by team and email."""
    client = remote(app, server, key)
    people = client.request("GET", "/api/v1/people")["people"] if client else [
        p.to_json() for p in app.store.people()]
    if json_:
        print_json({"people": people})
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("email", "name", "team", "manager", "role", "aliases"):
        table.add_column(column)
    for p in people:
        table.add_row(p["email"], p["name"] or "", p["team"] or "", p["manager"] or "", p["role"] or "",
                      ", ".join(p["aliases"]))
    console().print(table if people else "[dim]No one yet: `tokenpulse people import FILE`.[/dim]")


@people_group.command("show")
@click.argument("identity")
@server_options
@click.option("--json", "json_", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(app: App, identity: str, server: str | None, key: str | None, json_: bool) -> None:
    """Who an email or alias (account:<uuid>, user:<id>) belongs to."""
    client = remote(app, server, key)
    found: dict[str, Any] | None
    if client is not None:
        from urllib.parse import quote

        found = client.request("GET", f"/api/v1/people/{quote(identity, safe='')}")
    else:
        person = app.store.find_person(normalize_identity(identity))
        found = {"identity": normalize_identity(identity), **person.to_json()} if person else None
    if found is None:
        raise ConfigError(f"no person is known by {identity!r}")
    if json_:
        print_json(found)
        return
    console().print(f"{found['identity']} → [bold]{found['email']}[/bold] ({found['name'] or 'no name'}, "
                    f"team {found['team'] or '—'}, manager {found['manager'] or '—'}, role {found['role'] or '—'}); "
                    f"aliases: {', '.join(found['aliases']) or 'none'}")


COMMANDS = [people_group]
