"""`tokenpulse import git` on real repositories made here with the git CLI: AI-assistance trailers, merges,
renames, a huge commit, a non-UTF-8 author name, incremental re-imports and rewritten history."""

from __future__ import annotations

import itertools
import os
import subprocess
from pathlib import Path

import pytest

from cli_helpers import as_json, ok, tp
from tokenpulse.ingest_git import import_repos
from tokenpulse.people import Person
from tokenpulse.sources.git import assistants

# One minute apart, in the order the commands run, so commits sort as they were made.
DATES = (f"2026-11-{1 + n // 600:02d}T{10 + n // 60 % 10:02d}:{n % 60:02d}:00+01:00" for n in itertools.count())


def git(repo: Path, *args: str, author: bytes | str = "Ana <ana@example.com>", message: str | None = None) -> str:
    name, _, email = (author.encode() if isinstance(author, str) else author).partition(b" <")
    date = next(DATES)
    env = {**os.environb, b"GIT_AUTHOR_NAME": name, b"GIT_AUTHOR_EMAIL": email.rstrip(b">"),
           b"GIT_COMMITTER_NAME": b"CI", b"GIT_COMMITTER_EMAIL": b"ci@example.com",
           b"GIT_AUTHOR_DATE": date.encode(), b"GIT_COMMITTER_DATE": date.encode(), b"HOME": bytes(repo)}
    command = ["git", "-C", str(repo), *args] + (["-m", message] if message is not None else [])
    return subprocess.run(command, env=env, check=True, capture_output=True).stdout.decode(errors="replace")


def write(repo: Path, name: str, lines: int, start: int = 0) -> None:
    (repo / name).write_text("".join(f"line {i}\n" for i in range(start, start + lines)))


def commit(repo: Path, message: str, author: bytes | str = "Ana <ana@example.com>") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", author=author, message=message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "payments-api"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    return path


def outcomes_by_sha(store) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for o in store.iter_outcomes():
        found.setdefault(o.extra["sha"], {})[o.type] = o.count
    return found


def test_trailers_and_markers_name_the_assistant() -> None:
    assert assistants("Fix retries\n\nCo-Authored-By: Claude <noreply@anthropic.com>") == ["claude_code"]
    assert assistants("Add tests\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)") == ["claude_code"]
    assert assistants("Refactor\n\nCo-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>") == ["copilot"]
    assert assistants("Port module\n\nCo-authored-by: chatgpt-codex-connector[bot] <x@users.noreply.github.com>") \
        == ["codex"]
    assert assistants("Tidy\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>") == ["cursor"]
    assert assistants("Claude Shannon's entropy estimate, by hand\n\nCo-authored-by: Bob <bob@example.com>") == []


def test_commits_lines_and_ai_assistance_are_read_exactly(repo: Path, store) -> None:
    write(repo, "retry.py", 40)
    commit(repo, "Add retry module")
    write(repo, "retry.py", 50)  # 10 lines added
    commit(repo, "Retry on 503\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    git(repo, "mv", "retry.py", "backoff.py")  # a rename with 2 lines edited: counts 2 added, 2 removed
    (repo / "backoff.py").write_text((repo / "backoff.py").read_text().replace("line 3\n", "x\n")
                                     .replace("line 7\n", "y\n"))
    commit(repo, "Rename retry to backoff\n\nCo-authored-by: Copilot <copilot@users.noreply.github.com>",
           author="Bob <Bob@Example.com>")
    (repo / "logo.png").write_bytes(bytes(range(256)) * 4)  # binary: a file, no lines
    commit(repo, "Add logo")

    report = import_repos(store, [repo])
    [r] = report.repos
    assert (r.commits, r.assisted, r.lines, r.assisted_lines, r.full) == (4, 2, 40 + 10 + 4, 10 + 4, True)
    assert r.outcomes_new == 4 + 4  # four commits; lines for three of them

    rows = sorted((o.ts, o.type, o.count, o.person, o.tool, o.project, o.extra["ai_assisted"])
                  for o in store.iter_outcomes())
    kinds = [(kind, count, person, tool) for _, kind, count, person, tool, _, _ in rows]
    assert kinds == [
        ("commit", 1, "ana@example.com", None), ("lines_added", 40, "ana@example.com", None),
        ("commit", 1, "ana@example.com", "claude_code"), ("lines_added", 10, "ana@example.com", "claude_code"),
        ("commit", 1, "bob@example.com", "copilot"), ("lines_added", 2, "bob@example.com", "copilot"),
        ("lines_removed", 2, "bob@example.com", "copilot"),
        ("commit", 1, "ana@example.com", None)]
    assert {project for *_, project, _ in rows} == {"payments-api"}
    assert rows[0][0].utcoffset().total_seconds() == 0 and rows[0][0].hour == 9  # committed at 10:00+01:00


def test_merges_are_not_counted_twice(repo: Path, store) -> None:
    write(repo, "a.py", 5)
    commit(repo, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, "b.py", 7)
    commit(repo, "feature work")
    git(repo, "checkout", "-q", "main")
    write(repo, "c.py", 3)
    commit(repo, "main work")
    git(repo, "merge", "-q", "--no-ff", "feature", message="Merge feature")
    [r] = import_repos(store, [repo]).repos
    assert (r.commits, r.lines) == (3, 5 + 7 + 3)


def test_a_huge_commit_and_a_non_utf8_author_name(repo: Path, store) -> None:
    write(repo, "generated.sql", 200_000)
    commit(repo, "Vendor the schema dump", author=b"Jos\xe9 Mart\xednez <jose@example.com>")  # Latin-1 bytes
    [r] = import_repos(store, [repo]).repos
    assert (r.commits, r.lines) == (1, 200_000)
    [commit_event] = [o for o in store.iter_outcomes() if o.type == "commit"]
    assert commit_event.person == "jose@example.com"


def test_reimports_read_only_new_commits_and_rewritten_history_is_not_double_counted(repo: Path, store) -> None:
    write(repo, "a.py", 5)
    commit(repo, "one")
    assert import_repos(store, [repo]).repos[0].commits == 1
    assert import_repos(store, [repo]).repos[0].commits == 0  # nothing new
    write(repo, "a.py", 8)
    commit(repo, "two")
    again = import_repos(store, [repo]).repos[0]
    assert (again.commits, again.full, again.outcomes_new) == (1, False, 2)

    git(repo, "commit", "-q", "--amend", message="two, reworded")  # history rewritten: HEAD is a new commit
    rewritten = import_repos(store, [repo]).repos[0]
    assert (rewritten.commits, rewritten.full, rewritten.outcomes_new) == (2, True, 2)  # only the amended one is new
    assert len(outcomes_by_sha(store)) == 3  # the replaced commit's outcomes stay (see the module's notes)


def test_authors_are_people_through_the_directorys_aliases(repo: Path, store) -> None:
    store.save_people([Person("ana@example.com", team="payments", aliases=["ana.dev@gmail.com"])])
    write(repo, "a.py", 3)
    commit(repo, "from a personal machine", author="Ana <ana.dev@gmail.com>")
    import_repos(store, [repo])
    assert {o.person for o in store.iter_outcomes()} == {"ana@example.com"}


def test_the_command_line(repo: Path, tmp_path: Path) -> None:
    write(repo, "a.py", 3)
    commit(repo, "work\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    first = as_json(ok("import", "git", str(repo), "--json"))
    assert [(r["commits"], r["ai_assisted_commits"], r["ai_assisted_lines"]) for r in first["repos"]] == [(1, 1, 3)]
    assert as_json(ok("import", "git", str(repo), "--json"))["repos"][0]["commits"] == 0
    not_a_repo = tmp_path / "plain"
    not_a_repo.mkdir()
    result = tp("import", "git", str(not_a_repo))
    assert result.exit_code == 1 and "not a git repository" in result.stderr
