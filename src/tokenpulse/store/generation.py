"""The store's generation: a value that changes whenever the store is written, readable without
opening the database (so caches beside the store can tell they are still valid)."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path


def _generation_file(db: Path) -> Path:
    return db.with_name(db.name + ".generation")


def generation(db: Path) -> str:
    """Changes whenever the store at `db` has been written: the size and modification time of the
    database and its write-ahead log, and a counter bumped after every committed write (which
    covers writes within one tick of the file system's clock)."""
    parts = []
    for path in (db, db.with_name(db.name + ".wal")):
        try:
            st = path.stat()
            parts.append(f"{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append("-")
    try:
        parts.append(_generation_file(db).read_text(encoding="utf-8").strip())
    except OSError:
        parts.append("-")
    return "|".join(parts)


def bump_generation(db: Path) -> None:
    """Called after every committed write."""
    marker = _generation_file(db)
    try:
        count = int(marker.read_text(encoding="utf-8").strip() or 0)
    except (OSError, ValueError):
        count = 0
    with suppress(OSError):
        marker.write_text(str(count + 1), encoding="utf-8")
