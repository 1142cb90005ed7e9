"""Claude Code transcripts: `~/.claude/projects/<project>/<session>.jsonl` (and sub-agents).

Format notes (see the project's formats reference, §1):

- every line is a JSON object; only lines whose `message.usage` is an object carry token usage
  (the line `type` is not required: older and third-party writers omit it);
- one API response is written as one line per content block; all of them share `message.id`
  and `requestId` and repeat `usage`, but early lines carry a placeholder `output_tokens`. Every
  line becomes an event with the same id and a `rank` equal to its token total, so the store
  keeps the most complete copy (largest total; on a tie, the main-chain copy over a sidechain
  replay) no matter in which order or in how many reads the lines arrive;
- `message.model == "<synthetic>"` marks client-made lines (API errors, "no response"): skipped;
- sub-agents live in `<session>/subagents/agent-*.jsonl` with the parent's `sessionId`;
- `cache_creation.ephemeral_5m/1h_input_tokens` split cache writes by TTL (priced differently);
- tokens are estimates (`confidence=estimated`): local transcripts are not bills.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from ..errors import DECODE_ERRORS, InvalidEvent, json_problem
from ..events import UsageEvent, as_utc
from ..money import decimal_usd_to_micros
from .base import FileContext, LineError, ParseResult, check_unread_line, explain_rejected_line, project_name

TOOL = "claude_code"
SYNTHETIC_MODEL = "<synthetic>"

Tokens = Annotated[int, msgspec.Meta(ge=0)]


class _CacheCreation(msgspec.Struct):
    ephemeral_5m_input_tokens: Tokens | None = None
    ephemeral_1h_input_tokens: Tokens | None = None


class _ServerToolUse(msgspec.Struct):
    web_search_requests: Tokens | None = None


class _OutputDetails(msgspec.Struct):
    thinking_tokens: Tokens | None = None


class _Usage(msgspec.Struct):
    input_tokens: Tokens | None = None
    output_tokens: Tokens | None = None
    cache_creation_input_tokens: Tokens | None = None
    cache_read_input_tokens: Tokens | None = None
    cache_creation: _CacheCreation | None = None
    server_tool_use: _ServerToolUse | None = None
    output_tokens_details: _OutputDetails | None = None
    service_tier: str | None = None
    inference_geo: str | None = None
    speed: str | None = None


class _Message(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    usage: _Usage | None = None


class _Line(msgspec.Struct):
    message: _Message | None = None
    timestamp: datetime | None = None
    requestId: str | None = None  # noqa: N815 - the field's name on disk
    sessionId: str | None = None  # noqa: N815
    isSidechain: bool | None = None  # noqa: N815
    agentId: str | None = None  # noqa: N815
    cwd: str | None = None
    uuid: str | None = None
    costUSD: Decimal | None = None  # noqa: N815 - written by Claude Code <= 1.0.8 only


_decode = msgspec.json.Decoder(_Line).decode


def _carries_usage(obj: Any) -> bool:
    """Only usage lines matter: any other line may hold whatever it likes."""
    if not isinstance(obj, dict):
        return True  # a line that is not even an object is malformed
    message = obj.get("message")
    return isinstance(message, dict) and isinstance(message.get("usage"), dict)


def _fallback_id(line: _Line, raw: bytes) -> str:
    """For lines without `message.id` (some third-party backends): the line's uuid, else its bytes."""
    if line.uuid:
        return f"uuid:{line.uuid}"
    return f"line:{hashlib.sha256(raw).hexdigest()[:32]}"


def parse(lines: Iterable[tuple[int, bytes]], context: FileContext) -> ParseResult:
    result = ParseResult()
    errors = result.errors
    # One response is several consecutive lines: keep only the best copy of each id before building
    # events (the store applies the same rule across reads and files). This loop runs once per line
    # of every transcript, so it is kept tight.
    best: dict[str, tuple[int, _Line, _Usage, int, int, int | None]] = {}
    get_best = best.get
    for lineno, raw in lines:
        if b'"usage"' not in raw:
            if problem := check_unread_line(raw):
                errors.append(LineError(lineno, problem))
            continue
        try:
            line = _decode(raw)
        except msgspec.ValidationError as exc:
            problem = explain_rejected_line(raw, exc, _carries_usage)
            if problem:
                errors.append(LineError(lineno, problem))
            continue
        except DECODE_ERRORS as exc:
            errors.append(LineError(lineno, f"invalid JSON: {json_problem(exc)}"))
            continue
        message = line.message
        if message is None or (u := message.usage) is None or message.model == SYNTHETIC_MODEL:
            continue
        if line.timestamp is None:
            errors.append(LineError(lineno, "usage line without a `timestamp`"))
            continue
        reported = None
        if line.costUSD is not None:
            try:
                reported = decimal_usd_to_micros(line.costUSD)
            except InvalidEvent as exc:
                errors.append(LineError(lineno, f"unexpected value at `costUSD`: {exc}"))
                continue
        cc = u.cache_creation
        if cc is not None and (cc.ephemeral_5m_input_tokens is not None or cc.ephemeral_1h_input_tokens is not None):
            write_1h = cc.ephemeral_1h_input_tokens or 0
            cache_write = (cc.ephemeral_5m_input_tokens or 0) + write_1h
        else:
            write_1h = 0
            cache_write = u.cache_creation_input_tokens or 0
        # Rank: the largest token total wins; on a tie, the main chain over a sidechain replay.
        rank = 2 * ((u.input_tokens or 0) + (u.output_tokens or 0) + (u.cache_read_input_tokens or 0)
                    + cache_write) + (0 if line.isSidechain else 1)
        key = message.id or _fallback_id(line, raw)
        previous = get_best(key)
        if previous is None or rank > previous[0]:
            best[key] = (rank, line, u, cache_write, write_1h, reported)
    result.usage = [_event(key, *entry, context) for key, entry in best.items()]
    return result


def _event(key: str, rank: int, line: _Line, u: _Usage, cache_write: int, write_1h: int, reported: int | None,
           context: FileContext) -> UsageEvent:
    ts = line.timestamp
    assert ts is not None
    output = u.output_tokens or 0
    reasoning = (u.output_tokens_details.thinking_tokens or 0) if u.output_tokens_details else 0
    return UsageEvent(
        id=f"{TOOL}:{key}",
        ts=as_utc(ts),
        tool=TOOL,
        provider="anthropic",
        model=line.message.model if line.message else None,
        input_tokens=u.input_tokens or 0,
        output_tokens=output,
        cache_read_tokens=u.cache_read_input_tokens or 0,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=write_1h,
        reasoning_tokens=min(reasoning, output),
        web_search_requests=(u.server_tool_use.web_search_requests or 0) if u.server_tool_use else 0,
        session=line.sessionId or context.session_hint,
        project=project_name(line.cwd) or context.project_hint,
        request_id=line.requestId,
        speed=u.speed,
        service_tier=u.service_tier,
        inference_geo=u.inference_geo,
        reported_cost_micros=reported,
        source="local_log",
        confidence="estimated",
        rank=rank,
        extra={"agent_id": line.agentId} if line.agentId else None,
    )
