"""What every source parser takes and returns.

A parser is a pure function: `parse(lines, context) -> ParseResult`. `lines` are `(line number,
raw bytes)` pairs of complete lines; the parser reads nothing else, prices nothing and stores
nothing. Parsers that need to remember something between two reads of a growing file (Codex's
running totals) get it in `context.state` and hand the new state back in the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePath
from typing import Any, NamedTuple, Protocol

import msgspec

from ..errors import DECODE_ERRORS, json_problem
from ..events import OutcomeEvent, UsageEvent, explain_validation


class LineError(NamedTuple):
    line: int
    message: str


@dataclass
class FileContext:
    path: str
    """The file's path, as shown in messages."""
    session_hint: str | None = None
    """A session id implied by where the file is (used when lines carry none)."""
    project_hint: str | None = None
    state: dict[str, Any] | None = None
    """Parser state carried over from the previous read of this file (None on a first read)."""


@dataclass
class ParseResult:
    usage: list[UsageEvent] = field(default_factory=list)
    outcomes: list[OutcomeEvent] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    state: dict[str, Any] | None = None


class Parser(Protocol):
    def __call__(self, lines: Iterable[tuple[int, bytes]], context: FileContext) -> ParseResult: ...


@lru_cache(maxsize=4096)
def project_name(cwd: str | None) -> str | None:
    """A working directory's last component: `/home/ana/src/payments-api` -> `payments-api`."""
    if not cwd:
        return None
    name = PurePath(cwd.rstrip("/\\")).name
    return name or None


_decode_any = msgspec.json.Decoder().decode


def check_unread_line(raw: bytes) -> str | None:
    """For a line the parser does not need: is it at least a whole JSON object? (None if so.)

    Lines without usage are not decoded (in real transcripts they hold most of the bytes: tool
    output, file snapshots); they are only checked for the damage that happens in practice, a line
    cut short. Lines that carry usage are always fully decoded and validated."""
    if raw[:1] == b"{" and raw[-1:] == b"}":  # the usual case, without copying the line
        return None
    line = raw.strip()
    if line[:1] == b"{" and line[-1:] == b"}":
        return None
    try:
        _decode_any(raw)
    except DECODE_ERRORS as exc:
        return f"invalid JSON: {json_problem(exc)}"
    return "not a JSON object"


def explain_rejected_line(raw: bytes, exc: msgspec.ValidationError,
                          relevant: Callable[[Any], bool]) -> str | None:
    """A line failed typed decoding. Say why if it matters, or None if it is a line we do not read.

    Typed decoding stops at the first unexpected value, so the line may also be invalid JSON further on;
    `relevant(obj)` decides, on the loosely decoded object, whether the parser needs this line."""
    try:
        obj = _decode_any(raw)
    except DECODE_ERRORS as decode_exc:
        return f"invalid JSON: {json_problem(decode_exc)}"
    if not relevant(obj):
        return None
    return explain_validation(exc)[1]
