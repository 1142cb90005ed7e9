"""The vendors' ledgers, the same on both backends (migration 0006): billed cost lines and each sync
connector's cursor.

Like `web.py`, the SQL is shared (`?` placeholders) and each backend supplies `_rows`, `_run` and
`_insert_many`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
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

    # --- the cells a vendor reported (its figures count there) ---------------------------------------

    def cover_vendor_days(self, cells: Sequence[tuple[str, str, date]]) -> int:
        """Record (person, tool, UTC day) cells a vendor reported usage for, and mark those days' hours for
        their summaries to be rebuilt: from now on the vendor's events are what those cells count. Returns
        how many cells were new."""
        unique = sorted(set(cells))
        if not unique:
            return 0
        with self.transaction():
            known = {(p, t, d) for p, t, d in self._rows("SELECT person, tool, day FROM vendor_days "
                                                          "WHERE day >= ? AND day <= ?", [unique[0][2], unique[-1][2]])}
            new = [c for c in unique if c not in known]
            if new:
                self._insert_many("vendor_days", ("person", "tool", "day"), new, "ON CONFLICT DO NOTHING")
                self._dirty_days({d for _, _, d in new})
        return len(new)

    def _move_vendor_days(self) -> None:
        """Cells recorded under an alias become its person's (with `apply_aliases`, which moves the events)."""
        days = {d for (d,) in self._rows("SELECT v.day FROM vendor_days v JOIN aliases a ON v.person = a.alias")}
        if days:
            self._run("""INSERT INTO vendor_days SELECT a.person, v.tool, v.day FROM vendor_days v
                         JOIN aliases a ON v.person = a.alias ON CONFLICT DO NOTHING""")
            self._run("DELETE FROM vendor_days WHERE person IN (SELECT alias FROM aliases)")
            self._dirty_days(days)

    def _dirty_days(self, days: set[date]) -> None:
        hours = [(datetime.combine(d, time()) + timedelta(hours=h),) for d in sorted(days) for h in range(24)]
        self._insert_many("dirty_hours", ("hour",), hours, "ON CONFLICT DO NOTHING")

    def vendor_days(self, since: date | None = None, until: date | None = None) -> list[tuple[str, str, date]]:
        """The covered cells with a day in [since, until), in order."""
        clauses, params = [], []
        if since is not None:
            clauses.append("day >= ?")
            params.append(since)
        if until is not None:
            clauses.append("day < ?")
            params.append(until)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return [(p, t, d) for p, t, d in self._rows(f"SELECT person, tool, day FROM vendor_days {where} "
                                                    "ORDER BY day, person, tool", params)]

    def reconciliation(self, since: date, until: date, *, scope: Any = None, tools: Sequence[str] = (),
                       only: str = "multiple", limit: int | None = None, offset: int = 0
                       ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Usage per (person, tool, UTC day) cell and side over the UTC days [since, until), summed and paged
        in SQL. A side is `vendor` (a vendor's admin API), `gateway`, or `local` (local logs, OpenTelemetry,
        imports). `only` picks the cells listed: `all`, `multiple` (more than one side), `differing` (sides
        whose costs differ).

        Returns (totals, page). Totals: one row per tool and side — requests, tokens, cost (micro-USD; a
        billed event's bill), unpriced requests, billed requests, local copies of gateway requests and their
        cost, the cost totals count (`summaries.counted_table`), the cells and the cells listed (each counted on one of its
        rows). Page: the listed cells' rows, ordered by day, person and tool, `offset` cells skipped and at
        most `limit` cells (None: all) — person, tool, day, side, then the measures as in totals."""
        from .web import narrow

        clauses = ["ts >= ?", "ts < ?"]
        params: list[Any] = [datetime.combine(since, time()), datetime.combine(until, time())]
        narrow(clauses, params, scope)
        if tools:
            clauses.append(f"tool IN ({', '.join('?' for _ in tools)})")
            params.extend(tools)
        listed = {"all": "TRUE", "multiple": "sides > 1", "differing": "sides > 1 AND spread > 0"}[only]
        cells = _RECONCILIATION_CELLS.format(where=" AND ".join(clauses))
        totals = self._rows(f"""{cells}
            SELECT tool, side, sum(requests), sum(tokens), sum(cost), sum(unpriced), sum(billed), sum(dups),
                   sum(dup_cost),
                   sum(CASE WHEN side = 'vendor' THEN cost WHEN has_vendor = 1 THEN 0
                            WHEN side = 'local' THEN cost - dup_cost ELSE cost END),
                   sum(CASE WHEN first = 1 THEN 1 ELSE 0 END),
                   sum(CASE WHEN first = 1 AND {listed} THEN 1 ELSE 0 END)
            FROM marked GROUP BY 1, 2 ORDER BY 1, 2""", params)
        window = "" if limit is None else f"WHERE n > {int(offset)} AND n <= {int(offset) + int(limit)}"
        page = self._rows(f"""{cells},
            ranked AS (SELECT *, dense_rank() OVER (ORDER BY day, person NULLS FIRST, tool) AS n
                       FROM marked WHERE {listed})
            SELECT person, tool, day, side, requests, tokens, cost, unpriced, billed, dups, dup_cost
            FROM ranked {window} ORDER BY n, side""", params)
        return totals, page

    def vendor_aliases(self, prefix: str) -> list[str]:
        """The vendor ids the directory knows with this alias prefix (`github-login` → the logins), sorted."""
        return [alias.split(":", 1)[1] for (alias,) in self._rows(
            "SELECT alias FROM aliases WHERE alias LIKE ? ORDER BY alias", [f"{prefix}:%"])]

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


# The cells of a reconciliation: events of the period (`where`) summed per person, tool, UTC day and side,
# each row marked with what its cell holds (a vendor side, how many sides, the spread of their costs) and
# whether it is its cell's first row. Local copies of gateway requests (same request id) are `dups`.
_RECONCILIATION_CELLS = """
    WITH base AS (SELECT * FROM events WHERE {where}),
    gateway_ids AS (SELECT DISTINCT request_id FROM base WHERE source = 'gateway' AND request_id IS NOT NULL),
    e AS (SELECT person, tool, ts, source, confidence, cost_micros,
                 input_tokens + output_tokens + cache_read_tokens + cache_write_tokens AS tokens,
                 (source <> 'gateway' AND source <> 'vendor_api' AND request_id IS NOT NULL
                  AND request_id IN (SELECT request_id FROM gateway_ids)) AS dup
          FROM base),
    cells AS (
        SELECT person, tool, CAST(ts AS DATE) AS day,
               CASE WHEN source = 'vendor_api' THEN 'vendor' WHEN source = 'gateway' THEN 'gateway'
                    ELSE 'local' END AS side,
               count(*) AS requests, coalesce(sum(tokens), 0) AS tokens, coalesce(sum(cost_micros), 0) AS cost,
               count(*) FILTER (WHERE cost_micros IS NULL) AS unpriced,
               count(*) FILTER (WHERE confidence = 'billed') AS billed, count(*) FILTER (WHERE dup) AS dups,
               coalesce(sum(cost_micros) FILTER (WHERE dup), 0) AS dup_cost
        FROM e GROUP BY 1, 2, 3, 4),
    marked AS (
        SELECT *, max(CASE WHEN side = 'vendor' THEN 1 ELSE 0 END) OVER w AS has_vendor, count(*) OVER w AS sides,
               max(cost) OVER w - min(cost) OVER w AS spread, row_number() OVER (PARTITION BY person, tool, day
                                                                               ORDER BY side) AS first
        FROM cells WINDOW w AS (PARTITION BY person, tool, day))"""
