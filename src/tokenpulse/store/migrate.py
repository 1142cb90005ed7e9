"""Numbered, append-only schema migrations.

Each backend has a folder of `NNNN_name.sql` files under `store/migrations/<backend>/`. A store
applies, in order and each in its own transaction, the ones it has not applied yet, and records
them in `schema_migrations`. A migration is never edited once released: changes are new files.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from ..errors import StoreError

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations_for(backend: str) -> list[Migration]:
    folder = resources.files("tokenpulse.store").joinpath("migrations", backend)
    found = []
    for item in folder.iterdir():
        match = _NAME.match(item.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), item.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"{backend} migrations are not numbered 1..n without gaps: {versions}")
    return found


def pending(backend: str, applied: set[int], where: str) -> list[Migration]:
    """The migrations still to apply; refuses a store made by a newer tokenpulse."""
    known = migrations_for(backend)
    newest = max((m.version for m in known), default=0)
    if applied and max(applied) > newest:
        raise StoreError(
            f"{where} was written by a newer tokenpulse (schema version {max(applied)}, "
            f"this one knows up to {newest}); upgrade tokenpulse to read it"
        )
    return [m for m in known if m.version not in applied]


def apply_all(backend: str, applied: set[int], where: str,
              run: Callable[[Migration], None]) -> list[int]:
    done = []
    for migration in pending(backend, applied, where):
        run(migration)
        done.append(migration.version)
    return done
