"""The vendors' ledgers, the same on both backends (migration 0006): billed cost lines and each sync
connector's cursor.

Like `web.py`, the SQL is shared (`?` placeholders) and each backend supplies `_rows`, `_run` and
`_insert_many`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .summaries import aware, naive_utc, time_bounds

if TYPE_CHECKING:  # the store does not load the connectors (or the log parsers beside them) to open
    from ..sources.vendors.records import VendorCost

_COST_COLUMNS = ("id", "vendor", "day", "starting_at", "ending_at", "amount_micros", "currency", "scope", "item",
                 "cost_type", "model", "token_type", "service_tier", "context_window", "inference_geo", "source",
                 "confidence")
_REPLACE = ", ".join(f"{c} = excluded.{c}" for c in _COST_COLUMNS[1:])


class VendorTables:
    _rows: Any
    _run: Any
    _insert_many: Any
    transaction: Any

    # --- billed cost lines ------------------------------------------------------------------------

    def save_vendor_costs(self, records: Sequence[VendorCost]) -> int:
        """Store cost lines by id: a later copy of an id replaces the stored one (a day still being billed
        grows). Returns how many ids were not stored before."""
        unique = {r.id: r for r in records}  # within one batch, the last copy wins
        if not unique:
            return 0
        ids = sorted(unique)
        with self.transaction():
            known: set[str] = set()
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                known.update(r[0] for r in self._rows(
                    f"SELECT id FROM vendor_costs WHERE id IN ({', '.join('?' for _ in chunk)})", chunk))
            self._insert_many("vendor_costs", _COST_COLUMNS, [
                (r.id, r.vendor, r.day, naive_utc(r.starting_at), naive_utc(r.ending_at), r.amount_micros,
                 r.currency, r.scope, r.item, r.cost_type, r.model, r.token_type, r.service_tier,
                 r.context_window, r.inference_geo, r.source, r.confidence)
                for r in (unique[i] for i in ids)], f"ON CONFLICT (id) DO UPDATE SET {_REPLACE}")
        return len(ids) - len(known)

    def vendor_costs(self, since: datetime | None = None, until: datetime | None = None) -> list[VendorCost]:
        """Stored cost lines whose bucket starts in [since, until) (either bound optional), by day and id."""
        clauses, params = time_bounds("starting_at", since, until)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        from ..sources.vendors.records import VendorCost

        rows = self._rows(f"SELECT {', '.join(_COST_COLUMNS)} FROM vendor_costs {where} ORDER BY day, id", params)
        out = []
        for r in rows:
            item = dict(zip(_COST_COLUMNS, r, strict=True))
            item["starting_at"] = aware(item["starting_at"])
            item["ending_at"] = aware(item["ending_at"])
            out.append(VendorCost(**item))
        return out

    # --- sync cursors -----------------------------------------------------------------------------

    def sync_state(self, name: str) -> datetime | None:
        """The start (UTC) of the last bucket the connector `name` synced; None before its first sync."""
        rows = self._rows("SELECT last_start FROM sync_state WHERE name = ?", [name])
        return aware(rows[0][0]) if rows else None

    def save_sync_state(self, name: str, last_start: datetime, now: datetime) -> None:
        self._insert_many("sync_state", ("name", "last_start", "updated_at"),
                          [(name, naive_utc(last_start), naive_utc(now))],
                          "ON CONFLICT (name) DO UPDATE SET last_start = excluded.last_start, "
                          "updated_at = excluded.updated_at")
