"""`tokenpulse import git`: commits of local repositories as outcomes, incrementally.

For each repository the store remembers the HEAD it last read (a `source_files` row, format `git`); the
next import reads only the commits after it. If history was rewritten since (that commit is no longer an
ancestor of HEAD), the whole history is read again: outcome ids come from commit hashes, so nothing is
counted twice either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .sources import git
from .store import FileState, Store


@dataclass
class RepoImport:
    path: str
    commits: int = 0
    assisted: int = 0
    lines: int = 0
    assisted_lines: int = 0
    outcomes_new: int = 0
    head: str | None = None
    full: bool = False
    """The whole history was read (first import, or history rewritten)."""

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "commits": self.commits, "ai_assisted_commits": self.assisted,
                "lines_changed": self.lines, "ai_assisted_lines": self.assisted_lines,
                "outcomes_new": self.outcomes_new, "head": self.head, "full_history": self.full}


@dataclass
class GitImport:
    repos: list[RepoImport] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"repos": [r.to_json() for r in self.repos]}


def _key(path: Path) -> str:
    return f"git:{path.resolve()}"


def import_repos(store: Store, paths: list[Path]) -> GitImport:
    report = GitImport()
    states = store.file_states()
    for path in paths:
        report.repos.append(_import_repo(store, path, states.get(_key(path))))
    return report


def _import_repo(store: Store, path: Path, state: FileState | None) -> RepoImport:
    result = RepoImport(path=str(path.resolve()))
    git.check_repo(path)
    head = git.head(path)
    if head is None:  # a repository without commits yet
        return result
    result.head = head
    since = state.head_hash if state is not None and state.head_hash else None
    if since == head:
        return result
    if since is not None and not git.is_ancestor(path, since, head):
        since = None
    result.full = since is None
    name = git.repo_name(path)
    events = []
    for commit in git.parse_log(git.read_log(path, since)):
        result.commits += 1
        changed = commit.added + commit.removed
        result.lines += changed
        if commit.assisted_by:
            result.assisted += 1
            result.assisted_lines += changed
        events.extend(git.outcomes(commit, name))
    written = store.write_batch([], events, file_states=[FileState(
        path=_key(path), format="git", device=0, inode=0, size=0, mtime_ns=0, offset=0, lines=result.commits,
        head_hash=head)])
    result.outcomes_new = written.outcomes_new
    return result
