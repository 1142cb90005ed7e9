"""`tokenpulse push`: send this machine's usage to a collector."""

from __future__ import annotations

import sys

import click

from ..errors import ConfigError
from .app import App
from .importing import warn_import_problems
from .render import console, plural, print_json


@click.command("push")
@click.option("--server", metavar="URL", help="The collector (default: the server setting, TOKENPULSE_SERVER).")
@click.option("--key", metavar="KEY", help="Your personal key (default: TOKENPULSE_KEY, or the key setting).")
@click.option("--no-import", is_flag=True, help="Push what is already stored; do not read the local logs first.")
@click.option("--json", "json_", is_flag=True, help="Print JSON.")
@click.pass_obj
def push_command(app: App, server: str | None, key: str | None, no_import: bool, json_: bool) -> None:
    """Send this machine's usage to a tokenpulse server, so usage from all your machines adds up there.

    Imports new local usage first, then sends everything the server has not acknowledged yet (only what
    is new since the last push). The server records it as yours, whatever this machine calls you."""
    from ..client import ServerClient
    from ..push import push

    server = server or app.settings.server
    key = key or app.settings.key
    if not server:
        raise ConfigError("no server to push to: pass --server URL, or set TOKENPULSE_SERVER or `server` in "
                          "tokenpulse.toml")
    if not key:
        raise ConfigError("no key: pass --key, or set TOKENPULSE_KEY (a personal key from `tokenpulse keys create "
                          "--kind personal` on the server)")
    imported = None if no_import else app.import_logs()
    client = ServerClient(server, key)
    sent = 0
    status = console(stderr=True).status("Pushing…") if sys.stderr.isatty() else None

    def progress(count: int) -> None:
        nonlocal sent
        sent += count
        if status is not None:
            status.update(f"Pushing… {sent:,} events sent")

    if status is not None:
        status.start()
    try:
        report = push(app.store, client, on_progress=progress)
    finally:
        if status is not None:
            status.stop()
    if json_:
        print_json({**report.to_json(), "import": imported.to_json() if imported else None})
    elif report.usage_sent or report.outcomes_sent:
        console(stderr=True).print(
            f"Pushed {plural(report.usage_sent, 'usage event')} and {plural(report.outcomes_sent, 'outcome')} "
            f"to {report.server} as {report.sender}.")
    else:
        console(stderr=True).print(f"Nothing new to push to {report.server} (as {report.sender}).")
    if imported is not None:
        warn_import_problems(imported)
    if report.rejected:
        err = console(stderr=True)
        for error in report.errors[:5]:
            err.print(f"[yellow]warning:[/yellow] the server refused line {error.get('line')}: {error.get('message')}")
        err.print(f"[yellow]warning:[/yellow] {plural(report.rejected, 'event')} refused by the server.")
        click.get_current_context().exit(3)


COMMANDS = [push_command]
