"""Commits from git history as outcome events: who committed, how many lines, and whether an AI tool
helped (by the trailers and markers the tools write into commit messages).

`parse_log` is a pure function over the bytes of `git log` in the format `LOG_ARGS` asks for;
`read_log` runs git. Each commit yields a `commit` outcome and its `lines_added` / `lines_removed`,
with ids derived from the commit hash, so importing the same history again adds nothing.

Merge commits are skipped: their changes are the merged commits' own, counted already. Renames are
detected (`-M`), so a moved file counts only its edited lines; binary files count no lines. Author
names and messages that are not UTF-8 (old Latin-1 repositories) are read with replacement characters.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import SourceError
from ..events import OutcomeEvent

_RECORD = "\x1e"
_FIELD = "\x1f"
LOG_ARGS = ["log", "--no-merges", "-M", "-l0", "--numstat", "--no-color",
            f"--format={_RECORD}%H{_FIELD}%aE{_FIELD}%aN{_FIELD}%aI{_FIELD}%cI{_FIELD}%B{_FIELD}"]

# Markers of AI assistance in a commit message, per tool (trailers such as `Co-Authored-By: Claude
# <noreply@anthropic.com>`, footers such as "Generated with [Claude Code]").
_ASSISTANTS: list[tuple[str, re.Pattern[str]]] = [
    ("claude_code", re.compile(r"co-authored-by:\s*claude\b|generated with \[?claude code|noreply@anthropic\.com",
                               re.IGNORECASE)),
    ("codex", re.compile(r"co-authored-by:\s*[^\n<]*codex|generated (with|by) \[?codex|chatgpt-codex-connector",
                         re.IGNORECASE)),
    ("copilot", re.compile(r"co-authored-by:\s*[^\n<]*copilot|copilot-swe-agent", re.IGNORECASE)),
    ("cursor", re.compile(r"co-authored-by:\s*cursor\b|cursoragent@cursor\.com", re.IGNORECASE)),
    ("gemini_cli", re.compile(r"co-authored-by:\s*gemini\b|gemini-code-assist", re.IGNORECASE)),
]


@dataclass
class Commit:
    sha: str
    author_email: str
    author_name: str
    authored: datetime
    committed: datetime
    message: str
    added: int = 0
    removed: int = 0
    files: int = 0
    binary_files: int = 0
    assisted_by: list[str] = field(default_factory=list)


def assistants(message: str) -> list[str]:
    """The AI tools a commit message credits, in a fixed order."""
    return [tool for tool, pattern in _ASSISTANTS if pattern.search(message)]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.strip()).astimezone(UTC)


def parse_log(data: bytes) -> Iterator[Commit]:
    """Commits from `git log` output in the `LOG_ARGS` format (newest first, as git prints them)."""
    text = data.decode("utf-8", errors="replace")
    for record in text.split(_RECORD)[1:]:
        parts = record.split(_FIELD)
        if len(parts) < 7:
            raise SourceError(f"unexpected git log output near {record[:60]!r}")
        sha, email, name, authored, committed, message, stats = parts[:7]
        commit = Commit(sha=sha.strip(), author_email=email.strip().lower(), author_name=name.strip(),
                        authored=_time(authored), committed=_time(committed), message=message.strip())
        for line in stats.splitlines():
            added, _, rest = line.partition("\t")
            removed, _, _path = rest.partition("\t")
            if not _path:
                continue
            commit.files += 1
            if added == "-" or removed == "-":
                commit.binary_files += 1
                continue
            commit.added += int(added)
            commit.removed += int(removed)
        commit.assisted_by = assistants(commit.message)
        yield commit


def outcomes(commit: Commit, repo: str) -> list[OutcomeEvent]:
    """A commit's outcome events: the commit itself and its lines (ids from the hash: re-imports add nothing)."""
    tool = commit.assisted_by[0] if commit.assisted_by else None
    extra = {"repo": repo, "sha": commit.sha, "ai_assisted": bool(commit.assisted_by),
             "assisted_by": commit.assisted_by or None, "files": commit.files}
    events = [OutcomeEvent(id=f"git:{commit.sha}:commit", ts=commit.committed, type="commit", count=1,
                           person=commit.author_email or None, tool=tool, project=repo, source="git", extra=extra)]
    for kind, count in (("lines_added", commit.added), ("lines_removed", commit.removed)):
        if count:
            events.append(OutcomeEvent(id=f"git:{commit.sha}:{kind}", ts=commit.committed, type=kind, count=count,
                                       person=commit.author_email or None, tool=tool, project=repo, source="git",
                                       extra=extra))
    return events


def check_repo(path: Path) -> None:
    """Raise `SourceError` unless `path` is (inside) a git repository."""
    _git(path, "rev-parse", "--git-dir")


def head(path: Path) -> str | None:
    """The repository's HEAD commit, or None for a repository without commits."""
    result = _git(path, "rev-parse", "--verify", "--quiet", "HEAD", check=False)
    return result.stdout.decode().strip() or None


def is_ancestor(path: Path, older: str, newer: str) -> bool:
    return _git(path, "merge-base", "--is-ancestor", older, newer, check=False).returncode == 0


def read_log(path: Path, since: str | None = None) -> bytes:
    """`git log` of HEAD in the `LOG_ARGS` format; with `since`, only the commits after it."""
    return _git(path, *LOG_ARGS, f"{since}..HEAD" if since else "HEAD").stdout


def repo_name(path: Path) -> str:
    return path.resolve().name


def _git(path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        result = subprocess.run(["git", "-C", str(path), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise SourceError("git is not installed (it is needed to read commits)") from None
    if check and result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise SourceError(f"{path}: {message[-1] if message else 'git failed'}")
    return result
