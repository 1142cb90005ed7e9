"""Canonical NDJSON (`tokenpulse-events/1`): every usage event, then every outcome, re-importable as is."""

from __future__ import annotations

import itertools
from typing import BinaryIO

from ..events import encode_line
from ..store import Store
from .selection import Selection, write_chunks


def write_ndjson(store: Store, out: BinaryIO, selection: Selection) -> int:
    """Usage lines in time order, then outcome lines; returns the number of lines."""
    events = itertools.chain(selection.usage(store), selection.outcomes(store))
    return write_chunks(out, (encode_line(e) for e in events))
