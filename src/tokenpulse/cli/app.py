"""What every command shares: settings, the store, the price book, and the import before a report."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from ..config import Settings, load_settings
from ..ingest import ImportReport, run_import
from ..pricing import Discount, PriceBook, load_price_book
from ..sources import Root, default_roots
from ..store import Store, open_store
from .progress import ByteProgress


class App:
    def __init__(self, home: Path | None = None):
        self._home = home
        self._store: Store | None = None
        self.extra_prices: list[Path] = []
        self.discount_override: Discount | None = None

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self._home)

    @property
    def discount(self) -> Discount:
        return self.discount_override if self.discount_override is not None else self.settings.discount

    @property
    def price_files(self) -> list[Path]:
        return [*self.settings.prices, *self.extra_prices]

    @cached_property
    def book(self) -> PriceBook:
        return load_price_book(self.price_files)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings.db)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def import_logs(self, roots: Sequence[Root] | None = None) -> ImportReport:
        """Import what is new from `roots` (default: the standard local log locations).

        A progress bar shows on stderr when it is a terminal and there are megabytes to read."""
        with ByteProgress(enabled=sys.stderr.isatty(), label="Importing") as progress:
            return run_import(self.store, self.book, list(default_roots() if roots is None else roots),
                              person=self.settings.person, on_progress=progress.update)

    def reprice_if_needed(self) -> int:
        """Re-price events priced with another price book (the book changed since they were stored)."""
        if self.store.stale_price_versions(self.book.version) == 0:
            return 0
        return self.store.reprice(self.book)
