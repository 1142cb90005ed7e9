"""What every command shares: settings, the store, the price book, and the import before a report."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from ..cache import ReportCache, load_snapshot, save_snapshot
from ..config import Settings, load_settings
from ..ingest import ImportReport, plan_import, run_import
from ..pricing import Discount, PriceBook, load_price_book
from ..reports import Report, ReportOptions, report_from_rows, usage_query
from ..sources import Root, default_roots
from ..store import Store, is_postgres, open_store, store_generation
from .progress import ByteProgress


class App:
    def __init__(self, home: Path | None = None, db: str | None = None):
        self._home = home
        self._db = db
        self._store: Store | None = None
        self.extra_prices: list[Path] = []
        self.discount_override: Discount | None = None

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self._home, self._db)

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

    @property
    def cache_dir(self) -> Path:
        return self.settings.home / "cache"

    def import_logs(self, roots: Sequence[Root] | None = None) -> ImportReport:
        """Import what is new from `roots` (default: the standard local log locations).

        When the last import's read positions show nothing new, the store is not even opened. A progress
        bar shows on stderr when it is a terminal and there are megabytes to read."""
        roots = list(default_roots() if roots is None else roots)
        db = self.settings.db
        local = not is_postgres(db)  # caches beside the store only for a store in a file
        snapshot = load_snapshot(self.cache_dir, Path(db)) if local else None
        if snapshot is not None:
            quick = ImportReport(roots=[str(r.path) for r in roots])
            plans, forget = plan_import(roots, snapshot, quick)
            if not plans and not forget:
                self.refresh_widgets(changed=False)
                return quick
        with ByteProgress(enabled=sys.stderr.isatty(), label="Importing") as progress:
            report = run_import(self.store, self.book, roots, person=self.settings.person,
                                on_progress=progress.update)
        if local:
            save_snapshot(self.cache_dir, Path(db), self.store.file_states())
        self.refresh_widgets(changed=bool(report.written.new or report.written.updated))
        return report

    def widget_snapshot(self) -> dict:
        """This machine's figures for the widgets (`tokenpulse me`, statusline, menu bar), from the store."""
        from datetime import UTC, datetime

        from ..web.policy import effective, file_defaults
        from ..widgets import snapshot

        settings = self.settings
        policy = effective(file_defaults(settings), self.store.org_settings())
        return snapshot.build(self.store, now=datetime.now(UTC), tz=settings.tz, discount=self.discount,
                              policy=policy, person=settings.person, dashboard_url=settings.server)

    def refresh_widgets(self, changed: bool) -> None:
        """Rewrite the widgets' snapshot after an import that wrote something, or when it has grown old."""
        from datetime import UTC, datetime

        from ..widgets import snapshot

        path = snapshot.path_in(self.settings.home)
        if changed or snapshot.is_stale(path, datetime.now(UTC)):
            self.write_widget_snapshot(self.widget_snapshot())

    def write_widget_snapshot(self, figures: dict) -> None:
        """Write what the widgets read, with the alerts it calls for (each once per threshold and period:
        posted to `[widgets] webhook_url`, and kept for the menu bar to notify)."""
        from ..widgets import alerts, snapshot

        path = snapshot.path_in(self.settings.home)
        figures["alerts"] = (snapshot.read(path) or {}).get("alerts") or []
        path.parent.mkdir(parents=True, exist_ok=True)
        alerts.record_and_send(path.parent, figures, self.settings.tables.get("widgets", {}).get("webhook_url"))
        snapshot.write(path, figures)

    def report(self, options: ReportOptions, imported: ImportReport | None) -> Report:
        """The report for `options`, from the store's summaries, or from the same summaries read earlier
        when the store has not been written since (see `tokenpulse.cache`)."""
        db = self.settings.db
        query = usage_query(options)
        cache = ReportCache(self.cache_dir) if store_generation(db) is not None else None
        rows = cache.get(cache.key(db, query, self.book.version, store_generation(db))) if cache else None
        if rows is None:
            self.reprice_if_needed()
            rows = self.store.usage_rows(query)
            if cache:
                # The key is taken again *after* reading: re-pricing and summary refreshes write to the
                # store, and the rows describe the store as it is now.
                cache.put(cache.key(db, query, self.book.version, store_generation(db)), rows)
        report = report_from_rows(rows, options, {"price_version": self.book.version, "store": str(db)})
        report.meta["import"] = imported.to_json() if imported else None
        return report

    def reprice_if_needed(self) -> int:
        """Re-price events priced with another price book (the book changed since they were stored)."""
        stale = self.store.stale_price_versions(self.book.version)
        if stale == 0:
            return 0
        if stale >= 10_000:
            from .render import console

            console(stderr=True).print(f"[dim]Prices changed: re-pricing {stale:,} stored requests with price book "
                                       f"{self.book.version}…[/dim]")
        return self.store.reprice(self.book)
