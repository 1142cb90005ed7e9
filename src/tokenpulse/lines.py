"""Reading complete lines from a growing file, from a byte offset, in bounded chunks.

A line is handed on only once its newline has been written, with its 1-based number; the reader
reports where it stopped (just after the last line consumed) so the next read starts there. Bad
lines that can be recognised here (invalid UTF-8, longer than the limit) are reported with their
numbers and skipped; everything else is the parser's business.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import msgspec

from .errors import DECODE_ERRORS
from .store import IngestError

CHUNK_BYTES = 8 << 20
MAX_LINE_BYTES = 64 << 20
INCOMPLETE_LAST_LINE = "incomplete last line (no newline yet); it will be read once complete"


def _too_long() -> str:
    limit = f"{MAX_LINE_BYTES >> 20} MB" if MAX_LINE_BYTES >= 1 << 20 else f"{MAX_LINE_BYTES:,} bytes"
    return f"line longer than {limit} skipped"


class LineReader:
    """Complete lines from `offset` on, in chunks, with the position just after the last one consumed.

    `tail_open` says the last line consumed had no newline yet (it was a whole JSON object): the first
    bytes read next belong to it, and should be nothing but that newline."""

    def __init__(self, f: BinaryIO, path: str, offset: int, lines: int, tail_open: bool):
        self.f = f
        self.path = path
        self.offset = offset
        self.lines = lines
        self.tail_open = tail_open
        self.errors: list[IngestError] = []
        self.pending: IngestError | None = None
        self.bytes_read = 0

    def _error(self, line: int, message: str) -> None:
        self.errors.append(IngestError(self.path, line, message))

    def chunks(self) -> Iterator[list[tuple[int, bytes]]]:
        self.f.seek(self.offset)
        carry = b""
        base = self.offset  # file offset of carry[0]
        drop_first = self.tail_open  # the first segment continues a line already consumed
        self.tail_open = False
        oversized_line = 0
        while data := self.f.read(CHUNK_BYTES):
            self.bytes_read += len(data)
            buf = carry + data if carry else data
            cut = buf.rfind(b"\n")
            if cut < 0:
                carry = buf
                if len(carry) > MAX_LINE_BYTES:
                    if not oversized_line:
                        oversized_line = self.lines + (0 if drop_first else 1)
                        self._error(oversized_line, _too_long())
                    base += len(carry)
                    carry = b""
                continue
            segments = buf.split(b"\n")
            carry = segments.pop()  # after the last newline: the start of a line still being read
            base += cut + 1
            if oversized_line:  # the rest of a line that was too long
                segments = segments[1:]
                if not drop_first:
                    self.lines += 1
                oversized_line = 0
                drop_first = False
            elif drop_first:
                if segments[0].strip():
                    self._error(self.lines, "more text was appended to a line already read; skipped")
                segments = segments[1:]
                drop_first = False
            first = self.lines + 1
            self.lines += len(segments)
            if len(buf) > MAX_LINE_BYTES:  # only a buffer this large can hold an over-long line
                segments = self._drop_long(segments, first)
            if buf.isascii():
                out = [(n, seg) for n, seg in enumerate(segments, first) if seg and not seg.isspace()]
            else:
                out = self._valid_utf8(segments, first)
            self.offset = base
            if out:
                yield out
        if oversized_line or not carry.strip():
            if oversized_line:  # the file ends inside a line too long to read: leave it
                self.pending = IngestError(self.path, oversized_line, "unterminated line longer than the limit")
            else:
                self.offset = base + len(carry)
            return
        # An unterminated last line: consume it only if it is already a whole JSON object.
        lineno = self.lines + 1
        try:
            complete = isinstance(msgspec.json.decode(carry), dict)
        except DECODE_ERRORS:
            complete = False
        if complete:
            self.lines = lineno
            self.offset = base + len(carry)
            self.tail_open = True
            yield [(lineno, carry)]
        else:
            self.pending = IngestError(self.path, lineno, INCOMPLETE_LAST_LINE)

    def _drop_long(self, segments: list[bytes], first: int) -> list[bytes]:
        """Over-long lines become empty (skipped, numbering kept), each reported once."""
        kept = []
        for n, seg in enumerate(segments, first):
            if len(seg) > MAX_LINE_BYTES:
                self._error(n, _too_long())
                seg = b""
            kept.append(seg)
        return kept

    def _valid_utf8(self, segments: list[bytes], first: int) -> list[tuple[int, bytes]]:
        out = []
        for n, seg in enumerate(segments, first):
            if not seg or seg.isspace():
                continue
            if not seg.isascii():
                try:
                    seg.decode("utf-8")
                except UnicodeDecodeError as exc:
                    self._error(n, f"not valid UTF-8 (byte {exc.start + 1} of the line)")
                    continue
            out.append((n, seg))
        return out
