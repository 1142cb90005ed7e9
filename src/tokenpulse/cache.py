"""Fast re-runs: what the last import saw, and reports already computed, kept beside the store.

A report re-run with nothing new should not have to open the database at all:

- the *source snapshot* is a copy of the store's file read positions, saved after each import, so
  the next import can tell "nothing new" from file metadata alone;
- the *report cache* keeps the store's answers to report queries (hourly, daily… summaries), so a
  re-run formats them again (with the current clock, for 5-hour blocks) without querying.

Both are keyed on the store's generation: the size and modification time of the database file and
its write-ahead log, plus a number the store bumps after every committed write. That relies on two
things the store guarantees: every write goes through its transactions, and one process at a time
holds the database file. A missing, damaged or outdated cache file is ignored (everything here is
best effort and can be deleted at any time).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

import msgspec

from . import __version__
from .store import FileState, store_generation

KEEP_REPORTS = 64
CACHE_FORMAT = 2
"""Bumped whenever what is cached changes shape, so older entries are never read back."""


def _write_atomically(path: Path, data: bytes) -> None:
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_bytes(data)
        temporary.replace(path)


class _Snapshot(msgspec.Struct):
    version: str
    format: int
    generation: str
    states: list[FileState]


def load_snapshot(cache_dir: Path, db: Path) -> dict[str, FileState] | None:
    """The read positions as of the last import, if the store has not been written since."""
    try:
        snapshot = msgspec.msgpack.decode((cache_dir / "sources.msgpack").read_bytes(), type=_Snapshot)
    except (OSError, UnicodeDecodeError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    if (snapshot.version, snapshot.format) != (__version__, CACHE_FORMAT) or snapshot.generation != store_generation(db):
        return None
    return {s.path: s for s in snapshot.states}


def save_snapshot(cache_dir: Path, db: Path, states: dict[str, FileState]) -> None:
    data = msgspec.msgpack.encode(_Snapshot(__version__, CACHE_FORMAT, store_generation(db), list(states.values())))
    _write_atomically(cache_dir / "sources.msgpack", data)


class ReportCache:
    """Query results by (store, query, price book, store generation). Entries are pickles in the user's
    own data directory, trusted like the database next to them."""

    def __init__(self, cache_dir: Path):
        self.folder = cache_dir / "reports"

    def key(self, db: Path | str, query: Any, price_version: str, generation: str | None) -> str:
        text = repr((__version__, CACHE_FORMAT, str(db), query, price_version, generation))
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def get(self, key: str) -> Any | None:
        try:
            return pickle.loads((self.folder / f"{key}.pickle").read_bytes())
        except Exception:  # absent, half-written or from another version: just compute it again
            return None

    def put(self, key: str, value: Any) -> None:
        _write_atomically(self.folder / f"{key}.pickle", pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        with contextlib.suppress(OSError):
            entries = sorted(self.folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime)
            for stale in entries[:-KEEP_REPORTS]:
                stale.unlink()
