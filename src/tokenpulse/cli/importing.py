"""`tokenpulse import`: read new usage from local logs (or given files) into the store."""

from __future__ import annotations

from pathlib import Path

import click

from ..ingest import ImportReport
from ..sources import FORMAT_ALIASES, FORMATS, Root
from .app import App
from .options import output_options, prices_option
from .render import console, plural, print_json

FORMAT_CHOICES = sorted([*FORMATS, *FORMAT_ALIASES])


def apply_pricing_flags(app: App, prices: tuple[Path, ...], discount: str | None = None) -> None:
    from ..pricing import Discount

    app.extra_prices = list(prices)
    if discount is not None:
        app.discount_override = Discount.parse(discount)


def warn_import_problems(report: ImportReport, shown: int = 5) -> None:
    """A short note on stderr about lines that could not be read (the data still prints on stdout)."""
    problems = [*report.errors, *report.pending, *report.still_pending]
    if not problems:
        return
    err = console(stderr=True)
    for problem in problems[:shown]:
        err.print(f"[yellow]warning:[/yellow] {problem.path}:{problem.line}: {problem.message}", soft_wrap=True)
    hidden = report.errors_total + len(report.pending) + len(report.still_pending) - min(len(problems), shown)
    if hidden > 0:
        err.print(f"[yellow]warning:[/yellow] … and {plural(hidden, 'more line')} "
                  "(`tokenpulse import --errors` lists the unreadable ones).")


class _ImportGroup(click.Group):
    """`tokenpulse import [PATHS]` reads logs (the `logs` subcommand, implied); `tokenpulse import git
    REPO...` reads commits."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["logs", *args]
        return super().parse_args(ctx, args)


@click.group("import", cls=_ImportGroup)
def import_group() -> None:
    """Import usage from local logs (`tokenpulse import [PATHS]`) or outcomes from git (`tokenpulse import git
    REPO...`)."""


@import_group.command("logs")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "format_", type=click.Choice(FORMAT_CHOICES), metavar="FORMAT",
              help=f"Format of the given PATHS (default: detect per file): {', '.join(sorted(FORMATS))}.")
@click.option("--errors", "show_errors", is_flag=True, help="List lines earlier imports could not read.")
@prices_option
@output_options
@click.pass_obj
def import_cmd(app: App, paths: tuple[Path, ...], format_: str | None, show_errors: bool,
               prices: tuple[Path, ...], output: str) -> None:
    """Import new usage from the standard local log folders, or from PATHS.

    Claude Code (~/.claude/projects, ~/.config/claude/projects, $CLAUDE_CONFIG_DIR) and Codex
    ($CODEX_HOME or ~/.codex: sessions/ and archived_sessions/) by default. Only what is new since
    the last import is read. Exit status 3 means some lines could not be read (the rest was kept).
    """
    apply_pricing_flags(app, prices)
    if show_errors:
        if paths or format_:
            raise click.UsageError("--errors lists what earlier imports met; it takes no PATHS or --format")
        errors = app.store.recent_errors(limit=1000)
        if output == "json":
            print_json({"errors": [e.to_json() for e in errors]})
        elif not errors:
            console().print("No unreadable lines recorded.")
        else:
            for e in errors:
                console().print(f"{e.path}:{e.line}: {e.message}", soft_wrap=True, highlight=False)
        return
    fmt = FORMAT_ALIASES.get(format_, format_) if format_ else None
    roots = [Root(p.resolve(), fmt) for p in paths] if paths else None
    report = app.import_logs(roots)
    if output == "json":
        print_json({**report.to_json(), "price_version": app.book.version, "store": app.store.path})
    else:
        _print_summary(report, app)
        warn_import_problems(report)
    if report.partial:
        click.get_current_context().exit(3)


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n / 1e3:,.1f} kB" if n >= 1000 else f"{n} bytes"


def _print_summary(report: ImportReport, app: App) -> None:
    out = console()
    w = report.written
    if not report.files_read:
        out.print(f"Nothing new: {plural(report.files_seen, 'file')} unchanged since the last import."
                  if report.files_seen else "No log files found.")
    else:
        files = (f"{report.files_read:,} of {plural(report.files_seen, 'file')} read"
                 + (f" ({report.files_unchanged:,} unchanged)" if report.files_unchanged else ""))
        out.print(f"{files}, {_size(report.bytes_read)}, {plural(report.lines_read, 'line')}.")
    out.print(f"Requests: {w.new:,} new, {w.updated:,} updated with a more complete copy, "
              f"{w.unchanged:,} already known." + (f" Outcomes: {w.outcomes_new:,} new." if w.outcomes_new else ""))
    if report.errors_total:
        out.print(f"[yellow]{plural(report.errors_total, 'line')} could not be read[/yellow] (listed below; "
                  "`tokenpulse import --errors` lists them again); everything else was kept.")
    if report.unpriced_models:
        listed = ", ".join(f"{m} ({n:,})" for m, n in sorted(report.unpriced_models.items()))
        out.print(f"[yellow]No price for:[/yellow] {listed} — shown as unpriced, not $0.")
    out.print(f"[dim]Store: {app.store.path}[/dim]")


@import_group.command("git")
@click.argument("repos", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@output_options
@click.pass_obj
def import_git(app: App, repos: tuple[Path, ...], output: str) -> None:
    """Import the commits of git repositories as outcomes: commits and changed lines per author (mapped to
    people through the directory's aliases), and whether an AI tool helped (Co-Authored-By trailers and the
    tools' markers). Only commits new since the last import are read."""
    from ..ingest_git import import_repos

    report = import_repos(app.store, list(repos))
    if output == "json":
        print_json({**report.to_json(), "store": app.store.path})
        return
    out = console()
    for repo in report.repos:
        share = f"{repo.assisted_lines / repo.lines:.0%}" if repo.lines else "—"
        out.print(f"{repo.path}: {plural(repo.commits, 'new commit')} ({repo.assisted:,} AI-assisted), "
                  f"{repo.lines:,} lines changed, {share} of them in AI-assisted commits; "
                  f"{repo.outcomes_new:,} outcomes new.", soft_wrap=True)


COMMANDS = [import_group]
