"""Codex rollouts: `${CODEX_HOME:-~/.codex}/sessions/YYYY/MM/DD/rollout-<time>-<thread>.jsonl`.

Format notes (see the project's formats reference, §3):

- lines are `{"timestamp", "type", "payload"}`; `session_meta` names the thread and its working
  directory, `turn_context.model` is the model in use, and `event_msg` lines whose payload type is
  `token_count` carry `info.total_token_usage` (running total for the thread) and
  `info.last_token_usage` (the latest response);
- Codex re-emits `token_count` with unchanged totals (typically after every `turn_context`), so
  summing `last_token_usage` roughly doubles the usage. We count positive deltas of
  `total_token_usage` instead and skip rows whose totals did not move; a decrease is a reset
  (then the row's `last_token_usage` is the request);
- Codex's `input_tokens` include `cached_input_tokens`, and `output_tokens` include
  `reasoning_output_tokens`; events are converted to tokenpulse's convention (input excludes
  cache reads; reasoning is a subset of output).

A forked thread (`session_meta.forked_from_id`) or a spawned sub-agent
(`source.subagent.thread_spawn`) starts its file by replaying the parent's history, `token_count`
rows included, re-stamped with the fork's time. Those rows were counted in the parent's file: here
they only set the baseline the fork's own deltas start from. The replay ends at the first turn that
began at or after the fork was made (turn ids are UUIDv7s minted when a turn starts; a replayed turn
keeps the id it got in the parent).

An event's id is the token_count timestamp plus the running totals at that point, so the same row
read from `sessions/` and from `archived_sessions/` is stored once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

import msgspec

from ..errors import DECODE_ERRORS, json_problem
from ..events import UsageEvent, as_utc, format_ts
from .base import FileContext, LineError, ParseResult, check_unread_line, explain_rejected_line, project_name

TOOL = "codex"
REPLAY_GRACE_MS = 1000
Tokens = Annotated[int, msgspec.Meta(ge=0)]
_THREAD_ID = re.compile(r"rollout-.*?-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$")


class _TokenUsage(msgspec.Struct):
    input_tokens: Tokens = 0
    cached_input_tokens: Tokens = 0
    cache_write_input_tokens: Tokens = 0
    output_tokens: Tokens = 0
    reasoning_output_tokens: Tokens = 0

    def key(self) -> tuple[int, int, int, int, int]:
        return (self.input_tokens, self.cached_input_tokens, self.cache_write_input_tokens,
                self.output_tokens, self.reasoning_output_tokens)


class _Info(msgspec.Struct):
    total_token_usage: _TokenUsage | None = None
    last_token_usage: _TokenUsage | None = None
    model: str | None = None


class _Payload(msgspec.Struct):
    type: str | None = None
    info: _Info | None = None
    model: str | None = None
    id: str | None = None
    cwd: str | None = None
    timestamp: str | None = None
    forked_from_id: str | None = None
    source: Any = None
    turn_id: str | None = None


class _Line(msgspec.Struct):
    timestamp: datetime | None = None
    type: str | None = None
    payload: _Payload | None = None


_decode = msgspec.json.Decoder(_Line).decode


def uuid7_ms(value: str | None) -> int | None:
    """The creation time (Unix milliseconds) in a UUIDv7, or None for anything else."""
    if not value or len(value) != 36 or value[14] != "7":
        return None
    try:
        return int(value[:8] + value[9:13], 16)
    except ValueError:
        return None


def _fork_parent(payload: _Payload) -> str | None:
    """The thread this one was forked (`forked_from_id`) or spawned (`source.subagent.thread_spawn`) from."""
    if payload.forked_from_id:
        return payload.forked_from_id
    subagent = payload.source.get("subagent") if isinstance(payload.source, dict) else None
    spawn = subagent.get("thread_spawn") if isinstance(subagent, dict) else None
    parent = spawn.get("parent_thread_id") if isinstance(spawn, dict) else None
    return str(parent) if parent else None


def _fork_time_ms(payload: _Payload, line: _Line) -> int:
    """When the fork was made: its own id's UUIDv7 time, else its recorded start, else the line's time."""
    from_id = uuid7_ms(payload.id)
    if from_id is not None:
        return from_id
    try:
        return int(datetime.fromisoformat((payload.timestamp or "").replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return int(line.timestamp.timestamp() * 1000) if line.timestamp else 0


def thread_id_from_path(path: str) -> str | None:
    match = _THREAD_ID.search(path)
    return match.group(1) if match else None


def _is_relevant(obj: Any) -> bool:
    """Only the lines whose fields we rely on can be malformed; the rest may hold anything."""
    if not isinstance(obj, dict):
        return True
    payload = obj.get("payload")
    kind = obj.get("type")
    if kind in ("session_meta", "turn_context"):
        return True
    return isinstance(payload, dict) and payload.get("type") == "token_count"


def parse(lines: Iterable[tuple[int, bytes]], context: FileContext) -> ParseResult:
    state: dict[str, Any] = dict(context.state or {})
    session = state.get("session") or context.session_hint
    project = state.get("project") or context.project_hint
    model = state.get("model")
    totals: tuple[int, ...] = tuple(state.get("totals") or (0, 0, 0, 0, 0))
    result = ParseResult()
    for lineno, raw in lines:
        if b'"token_count"' not in raw and b'"turn_context"' not in raw and b'"session_meta"' not in raw:
            if problem := check_unread_line(raw):
                result.errors.append(LineError(lineno, problem))
            continue
        try:
            line = _decode(raw)
        except msgspec.ValidationError as exc:
            problem = explain_rejected_line(raw, exc, _is_relevant)
            if problem:
                result.errors.append(LineError(lineno, problem))
            continue
        except DECODE_ERRORS as exc:
            result.errors.append(LineError(lineno, f"invalid JSON: {json_problem(exc)}"))
            continue
        payload = line.payload
        if payload is None:
            continue
        if line.type == "session_meta":
            # A fork replays the parent's session_meta after its own: the first one names this file.
            if "session" not in state:
                state["session"] = session = payload.id or session
                state["project"] = project = project_name(payload.cwd) or project
                if _fork_parent(payload):
                    state["replay_until_ms"] = _fork_time_ms(payload, line)
            continue
        if line.type == "turn_context":
            model = payload.model or model
            if "replay_until_ms" in state:
                started = uuid7_ms(payload.turn_id)
                if started is None and line.timestamp is not None:
                    # Without a UUIDv7 turn id: a replay is written within moments of the fork, the
                    # fork's own first turn comes later.
                    started = int(line.timestamp.timestamp() * 1000) - REPLAY_GRACE_MS
                if started is not None and started >= state["replay_until_ms"]:
                    del state["replay_until_ms"]  # the fork's own first turn
            continue
        if payload.type != "token_count" or payload.info is None:
            continue
        info = payload.info
        total = info.total_token_usage
        if "replay_until_ms" in state:
            if total is not None:  # the parent's history, counted in its own file: only the baseline
                totals = total.key()
            continue
        if line.timestamp is None:
            result.errors.append(LineError(lineno, "token_count without a `timestamp`"))
            continue
        if total is None:
            if info.last_token_usage is None:
                continue
            delta = info.last_token_usage
            key = ("last", *delta.key())
        else:
            current = total.key()
            if current == totals:
                continue  # a re-emit: nothing new
            if all(c >= p for c, p in zip(current, totals, strict=True)):
                delta = _TokenUsage(*(c - p for c, p in zip(current, totals, strict=True)))
            else:  # the running total went down: a reset; the latest response is the request
                delta = info.last_token_usage or total
            totals = current
            key = current
        ts = as_utc(line.timestamp)
        cached = min(delta.cached_input_tokens, delta.input_tokens)
        cache_write = min(delta.cache_write_input_tokens, delta.input_tokens - cached)
        result.usage.append(UsageEvent(
            id=f"{TOOL}:{format_ts(ts)}:" + ":".join(map(str, key)),
            ts=ts,
            tool=TOOL,
            provider="openai",
            model=info.model or model or payload.model,
            input_tokens=delta.input_tokens - cached - cache_write,
            output_tokens=delta.output_tokens,
            cache_read_tokens=cached,
            cache_write_tokens=cache_write,
            reasoning_tokens=min(delta.reasoning_output_tokens, delta.output_tokens),
            session=session,
            project=project,
            source="local_log",
            confidence="estimated",
        ))
    state.update(model=model, totals=list(totals))
    result.state = state
    return result
