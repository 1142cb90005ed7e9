"""Input formats: where each tool keeps its logs, and which parser reads them.

One module per format, each a pure `parse(lines, context) -> ParseResult` (see `base.py`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import canonical, claude_code, codex
from .base import FileContext, LineError, Parser, ParseResult

__all__ = ["FORMATS", "FileContext", "Format", "LineError", "ParseResult", "Root", "default_roots",
           "file_context", "sniff_format"]


@dataclass(frozen=True)
class Format:
    name: str
    parse: Parser
    prefix: str = ""
    """Files under a root belong to this format when their name has this prefix and suffix."""
    suffix: str = ".jsonl"

    def accepts(self, filename: str) -> bool:
        return filename.startswith(self.prefix) and filename.endswith(self.suffix)


FORMATS: dict[str, Format] = {
    "claude_code": Format("claude_code", claude_code.parse),
    "codex": Format("codex", codex.parse, prefix="rollout-"),
    "ndjson": Format("ndjson", canonical.parse, suffix=".ndjson"),
}
SNIFFED_SUFFIXES = (".jsonl", ".ndjson")
FORMAT_ALIASES = {"claude": "claude_code", "claude-code": "claude_code", "canonical": "ndjson"}


@dataclass(frozen=True)
class Root:
    """A directory (or single file) to import from, and its format (None: sniff each file)."""

    path: Path
    format: str | None = None


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def claude_roots() -> list[Path]:
    """`CLAUDE_CONFIG_DIR` (comma-separated), else `~/.config/claude` and `~/.claude`; each `/projects`."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if configured:
        bases = [Path(p.strip()).expanduser().resolve() for p in configured.split(",") if p.strip()]
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
        bases = [Path(xdg) / "claude" if xdg else _home() / ".config" / "claude", _home() / ".claude"]
    return [b if b.name == "projects" else b / "projects" for b in bases]


def codex_roots() -> list[Path]:
    base = Path(os.environ.get("CODEX_HOME", "").strip() or _home() / ".codex").expanduser().resolve()
    return [base / "sessions", base / "archived_sessions"]


def default_roots() -> list[Root]:
    """The standard local log locations that exist on this machine."""
    roots = [Root(p, "claude_code") for p in claude_roots()] + [Root(p, "codex") for p in codex_roots()]
    return [r for r in roots if r.path.is_dir()]


def sniff_format(head: bytes) -> str:
    """Guess a file's format from its first line."""
    first = head.lstrip().split(b"\n", 1)[0]
    if b'"kind"' in first:
        return "ndjson"
    if b'"payload"' in first and b'"type"' in first:
        return "codex"
    return "claude_code"


def file_context(path: Path, root: Path, format_name: str, state: dict | None) -> FileContext:
    """Where a file sits says which session and project it belongs to."""
    session = project = None
    if format_name == "claude_code":
        try:
            parts = path.relative_to(root).parts
        except ValueError:
            parts = (path.parent.name, path.name)
        if len(parts) >= 2:
            project = parts[0]
            # <project>/<session>.jsonl or <project>/<session>/subagents/agent-….jsonl
            session = Path(parts[1]).stem if len(parts) == 2 else parts[1]
        else:
            session = path.stem
    elif format_name == "codex":
        # The thread id in `rollout-<time>-<thread>.jsonl`; a differently named file is its own session.
        session = codex.thread_id_from_path(path.name) or path.stem
    return FileContext(path=str(path), session_hint=session, project_hint=project, state=state)


def walk(root: Path, accepts: Callable[[str], bool]) -> Iterator[tuple[str, os.stat_result]]:
    """Every regular file under `root` whose name `accepts`, with its stat (symlinked dirs not followed)."""
    stack = [str(root)]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif accepts(entry.name) and entry.is_file():
                            yield entry.path, entry.stat()
                    except OSError:
                        continue
        except OSError:
            continue
