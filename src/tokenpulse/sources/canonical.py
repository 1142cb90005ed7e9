"""Canonical NDJSON (`tokenpulse-events/1`): what `import --format ndjson` reads and `export` writes.

Unknown fields are kept; a line that cannot be read is reported with its line number and the
field at fault, and the rest of the file is kept.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import InvalidEvent
from ..events import OutcomeEvent, decode_line
from .base import FileContext, LineError, ParseResult


def parse(lines: Iterable[tuple[int, bytes]], context: FileContext) -> ParseResult:
    result = ParseResult()
    for lineno, raw in lines:
        try:
            event = decode_line(raw)
        except InvalidEvent as exc:
            result.errors.append(LineError(lineno, str(exc)))
            continue
        if isinstance(event, OutcomeEvent):
            result.outcomes.append(event)
        else:
            result.usage.append(event)
    return result
