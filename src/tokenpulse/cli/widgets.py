"""`tokenpulse statusline` and `tokenpulse menubar`: the widgets, and installing them.

Rendering goes through the fast path (widgets/fast.py: the snapshot, no store, no logs); `tokenpulse
statusline` and `tokenpulse menubar` alone never even load this module (see entry.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .app import App
from .render import console


def _render(kind: str, app: App) -> None:
    """Through the CLI (e.g. with --home): the same fast path, pointed at this data directory."""
    import os

    from ..widgets.fast import run

    os.environ["TOKENPULSE_HOME"] = str(app.settings.home)
    sys.exit(run(kind))


def _command() -> str:
    """This installation's `tokenpulse`, by absolute path (widgets run without the user's shell PATH)."""
    beside = Path(sys.executable).parent / "tokenpulse"
    return str(beside) if beside.exists() else "tokenpulse"


@click.group("statusline", invoke_without_command=True)
@click.pass_context
def statusline(ctx: click.Context) -> None:
    """Print Claude Code's statusline from the JSON it pipes on stdin: model, session cost, today, the month
    against your cap, context use, rate limits, a breaker warning. Reads the snapshot imports write; never
    the logs. `tokenpulse statusline install` sets it up in ~/.claude/settings.json."""
    if ctx.invoked_subcommand is None:
        _render("statusline", ctx.obj)


def _settings_option(f):  # noqa: ANN001, ANN202 - a click decorator
    return click.option("--settings", "settings_path", type=click.Path(dir_okay=False, path_type=Path),
                        default=lambda: Path.home() / ".claude" / "settings.json", show_default="~/.claude/settings.json",
                        help="Claude Code's settings file.")(f)


@statusline.command("install")
@_settings_option
@click.option("--force", is_flag=True, help="Replace another tool's statusline (uninstall puts it back).")
@click.pass_obj
def statusline_install(app: App, settings_path: Path, force: bool) -> None:
    """Set Claude Code's statusLine to tokenpulse (a backup of the file first; other settings are kept)."""
    from ..widgets.install import install_statusline

    result = install_statusline(settings_path, f"{_command()} statusline", force=force)
    console().print(result.message)


@statusline.command("uninstall")
@_settings_option
@click.pass_obj
def statusline_uninstall(app: App, settings_path: Path) -> None:
    """Remove tokenpulse's statusLine (restoring the one it replaced, if any)."""
    from ..widgets.install import uninstall_statusline

    console().print(uninstall_statusline(settings_path).message)


@click.group("menubar", invoke_without_command=True)
@click.pass_context
def menubar(ctx: click.Context) -> None:
    """Print SwiftBar/xbar plugin output: today's spend in the menu bar; today, week, month, caps, expected
    usage, the breaker and links to the dashboard in the dropdown. `tokenpulse menubar install --dir DIR`
    writes the plugin (refreshing every 15 minutes)."""
    if ctx.invoked_subcommand is None:
        _render("menubar", ctx.obj)


_dir_option = click.option("--dir", "plugin_dir", required=True,
                           type=click.Path(file_okay=False, path_type=Path),
                           help="SwiftBar's or xbar's plugin folder (SwiftBar: Preferences > Plugin Folder).")


@menubar.command("install")
@_dir_option
def menubar_install(plugin_dir: Path) -> None:
    """Write the plugin `tokenpulse.15m.sh` into the plugin folder."""
    from ..widgets.install import install_menubar

    console().print(f"Wrote {install_menubar(plugin_dir, _command())} (refreshes every 15 minutes).")


@menubar.command("uninstall")
@_dir_option
def menubar_uninstall(plugin_dir: Path) -> None:
    """Remove the plugin from the plugin folder."""
    from ..widgets.install import uninstall_menubar

    removed = uninstall_menubar(plugin_dir)
    console().print("Removed " + ", ".join(map(str, removed)) if removed else "No tokenpulse plugin was there.")


COMMANDS = [statusline, menubar]
