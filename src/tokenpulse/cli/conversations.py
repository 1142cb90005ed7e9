"""`tokenpulse conversations list|show|update`: the check-in queue `tokenpulse insights` fills."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from decimal import Decimal

import click

from ..insights.conversations import STATUSES, ConversationError, transition
from .app import App
from .render import console, print_json


@click.group("conversations")
def conversations_group() -> None:
    """The conversation queue: whom to check in with this period, why, and where each check-in stands."""


@conversations_group.command("list")
@click.option("--period", metavar="YYYY-MM", help="Only this period.")
@click.option("--status", type=click.Choice(STATUSES), help="Only items with this status.")
@click.option("--person", metavar="EMAIL", help="Only this person's items.")
@click.option("--json", "json_", is_flag=True, help="Print JSON (with the evidence packets).")
@click.pass_obj
def list_cmd(app: App, period: str | None, status: str | None, person: str | None, json_: bool) -> None:
    """The items, newest period first."""
    items = app.store.conversations(period=period, status=status, person=person.lower() if person else None)
    if json_:
        print_json({"conversations": [i.to_json() for i in items]})
        return
    if not items:
        console().print("No conversations in the queue (run `tokenpulse insights` to fill it).")
        return
    from rich.table import Table

    table = Table(title="Conversation queue", title_justify="left")
    for name in ("Id", "Person", "Team", "Status", "Why", "Spend"):
        table.add_column(name)
    for i in items:
        table.add_row(i.id, i.person, i.team or "—", i.status, ", ".join(i.reasons),
                      f"${Decimal(i.evidence.get('spend_usd') or 0):,.2f}")
    console().print(table)


@conversations_group.command("show")
@click.argument("item_id")
@click.pass_obj
def show_cmd(app: App, item_id: str) -> None:
    """One item with its whole evidence packet (JSON)."""
    print_json(_item(app, item_id).to_json())


@conversations_group.command("update")
@click.argument("item_id")
@click.option("--status", type=click.Choice(STATUSES), required=True)
@click.option("--notes", metavar="TEXT", help="What was discussed and what happens next (needed to close).")
@click.option("--when", "scheduled_for", metavar="TEXT", help="When the check-in is scheduled.")
@click.option("--by", metavar="EMAIL", help="Who is updating it (default: this user).")
@click.option("--json", "json_", is_flag=True, help="Print the updated item as JSON.")
@click.pass_obj
def update_cmd(app: App, item_id: str, status: str, notes: str | None, scheduled_for: str | None, by: str | None,
               json_: bool) -> None:
    """Move an item: open -> scheduled -> done (with notes), or dismissed (a dismissed item can be reopened)."""
    item = _item(app, item_id)
    transition(item, status, by=by or app.settings.person or getpass.getuser(), now=datetime.now(UTC), notes=notes,
               scheduled_for=scheduled_for)
    app.store.update_conversation(item)
    if json_:
        print_json(item.to_json())
    else:
        console().print(f"{item.id} is now {item.status}.")


def _item(app: App, item_id: str):
    found = app.store.conversations(item_id=item_id)
    if not found:
        raise ConversationError(f"no conversation {item_id!r} (see `tokenpulse conversations list`)")
    return found[0]


COMMANDS = [conversations_group]
