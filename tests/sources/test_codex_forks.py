"""Codex forks and spawned sub-agents replay the parent's history: it is counted once, in the parent.

A fork's rollout begins with its own `session_meta` (naming the parent in `forked_from_id`, or a
sub-agent's `source.subagent.thread_spawn.parent_thread_id`), then a copy of the parent's lines,
`token_count` rows included, re-stamped with the fork's time. The parent's rows must only set the
baseline that the fork's own usage is measured from.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tokenpulse.ingest import run_import
from tokenpulse.sources import Root

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # the parent thread starts
FORK = T0 + timedelta(hours=1)  # the fork is made


def uuid7(at: datetime, tail: int = 1) -> str:
    """A UUIDv7 minted at `at` (what Codex uses for thread and turn ids)."""
    ms = int(at.timestamp() * 1000)
    h = f"{ms:012x}"
    return f"{h[:8]}-{h[8:]}-7000-8000-{tail:012x}"


def stamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def meta(at: datetime, thread: str, **extra) -> dict:
    return {"timestamp": stamp(at), "type": "session_meta",
            "payload": {"id": thread, "timestamp": stamp(at), "cwd": "/src/app", **extra}}


def turn(at: datetime, turn_id: str | None) -> dict:
    payload = {"model": "gpt-5.3-codex", "cwd": "/src/app"}
    if turn_id:
        payload["turn_id"] = turn_id
    return {"timestamp": stamp(at), "type": "turn_context", "payload": payload}


def count(at: datetime, inp: int, cached: int, out: int) -> dict:
    usage = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
             "reasoning_output_tokens": 0, "total_tokens": inp + out}
    return {"timestamp": stamp(at), "type": "event_msg",
            "payload": {"type": "token_count", "info": {"total_token_usage": usage, "last_token_usage": usage}}}


PARENT = uuid7(T0, 1)


def parent_lines() -> list[dict]:
    return [meta(T0, PARENT), turn(T0 + timedelta(seconds=1), uuid7(T0 + timedelta(seconds=1), 2)),
            count(T0 + timedelta(seconds=2), 1000, 200, 100),      # request 1: 800 new input, 200 cached, 100 out
            count(T0 + timedelta(seconds=10), 3000, 800, 300)]     # request 2: 1400 new, 600 cached, 200 out


def fork_lines(own_meta: dict, turn_ids: bool = True) -> list[dict]:
    replay_at = FORK + timedelta(milliseconds=10)
    replayed = [meta(replay_at, PARENT), turn(replay_at, uuid7(T0 + timedelta(seconds=1), 2) if turn_ids else None),
                count(replay_at, 1000, 200, 100), count(replay_at, 3000, 800, 300)]
    own_turn_at = FORK + timedelta(seconds=60)
    own = [turn(own_turn_at, uuid7(own_turn_at, 3) if turn_ids else None),
           count(own_turn_at + timedelta(seconds=5), 3500, 900, 350)]  # the fork's one request: 400 new, 100, 50
    return [own_meta, *replayed, *own]


def write(path: Path, lines: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
    return path


def sums(store) -> tuple:
    return store.con.execute(
        "SELECT count(*), sum(input_tokens), sum(cache_read_tokens), sum(output_tokens) FROM events").fetchone()


FORKED = uuid7(FORK, 9)
VARIANTS = {
    "forked_from_id": meta(FORK, FORKED, forked_from_id=PARENT),
    "spawned sub-agent": meta(FORK, FORKED, source={"subagent": {"thread_spawn": {"parent_thread_id": PARENT,
                                                                                  "depth": 1}}}),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_parents_replayed_history_is_counted_once(tmp_path, store, book, variant) -> None:
    sessions = tmp_path / "codex" / "sessions" / "2026" / "03" / "01"
    write(sessions / f"rollout-2026-03-01T09-00-00-{PARENT}.jsonl", parent_lines())
    write(sessions / f"rollout-2026-03-01T10-00-00-{FORKED}.jsonl", fork_lines(VARIANTS[variant]))
    run_import(store, book, [Root(tmp_path / "codex" / "sessions", "codex")])
    # Parent: 800 + 1400 new input, 200 + 600 cached, 100 + 200 out. Fork: its own request only.
    assert sums(store) == (3, 800 + 1400 + 400, 200 + 600 + 100, 100 + 200 + 50)
    by_session = dict(store.con.execute(
        "SELECT session, sum(input_tokens) FROM events GROUP BY session").fetchall())
    assert by_session == {PARENT: 2200, FORKED: 400}


def test_a_fork_whose_parent_is_gone_counts_only_its_own_usage(tmp_path, store, book) -> None:
    path = write(tmp_path / f"rollout-2026-03-01T10-00-00-{FORKED}.jsonl",
                 fork_lines(VARIANTS["forked_from_id"]))
    run_import(store, book, [Root(path, "codex")])
    assert sums(store) == (1, 400, 100, 50)


def test_without_uuid7_turn_ids_the_replay_ends_at_the_first_later_turn(tmp_path, store, book) -> None:
    # Older rollouts: no turn ids; the replay is written within moments of the fork, the own turn later.
    path = write(tmp_path / f"rollout-2026-03-01T10-00-00-{FORKED}.jsonl",
                 fork_lines(VARIANTS["forked_from_id"], turn_ids=False))
    run_import(store, book, [Root(path, "codex")])
    assert sums(store) == (1, 400, 100, 50)


def test_a_fork_read_in_pieces_keeps_its_replay_state(tmp_path, store, book) -> None:
    lines = fork_lines(VARIANTS["forked_from_id"])
    path = write(tmp_path / f"rollout-2026-03-01T10-00-00-{FORKED}.jsonl", lines[:3])  # stops inside the replay
    run_import(store, book, [Root(path, "codex")])
    assert sums(store) == (0, None, None, None)
    write(path, lines)
    run_import(store, book, [Root(path, "codex")])
    assert sums(store) == (1, 400, 100, 50)
