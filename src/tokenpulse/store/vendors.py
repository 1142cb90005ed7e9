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
                       only: str = "multiple", limit: int | None = None, offset: int = 0, count_cells: bool = True
                       ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int | None, int]:
        """Usage per (person, tool, UTC day) cell and side over the UTC days [since, until), summed and paged
        in SQL. A side is `vendor` (a vendor's admin API), `gateway`, or `local` (local logs, OpenTelemetry,
        imports). `only` picks the cells listed: `all`, `multiple` (more than one side: so a vendor or gateway
        side, which is where the work is), `differing` (sides whose costs differ).

        Returns (totals, page, cells, listed):
        - totals, one row per tool and side: requests, tokens, cost (micro-USD; a billed event's bill),
          unpriced requests, billed requests, local copies of gateway requests and their cost, and the cost
          totals count (`summaries.counted_table`);
        - page, the listed cells' rows ordered by day, person and tool (`offset` cells skipped, at most
          `limit`; None: all): person, tool, day, side, the measures as in totals but the last, and whether
          a vendor covers the cell (then only its figures count);
        - how many cells there are (None unless `count_cells`), and how many are listed."""
        from .web import narrow

        clauses = ["ts >= ?", "ts < ?"]
        params: list[Any] = [datetime.combine(since, time()), datetime.combine(until, time())]
        narrow(clauses, params, scope)
        if tools:
            clauses.append(f"tool IN ({', '.join('?' for _ in tools)})")
            params.extend(tools)
        where = " AND ".join(clauses)
        events = f"(SELECT * FROM events WHERE {where})"  # each use takes `params` once
        # Local copies of requests the gateway metered in the period (matched by request id).
        copies = f"""(SELECT e.* FROM {events} e
            JOIN (SELECT DISTINCT request_id FROM events WHERE {where} AND source = 'gateway'
                  AND request_id IS NOT NULL) g ON g.request_id = e.request_id
            WHERE e.source <> 'gateway' AND e.source <> 'vendor_api')"""
        uncovered = ("LEFT JOIN vendor_days v ON v.person = e.person AND v.tool = e.tool "
                     "AND v.day = CAST(e.ts AS DATE)")
        sides = {(tool, side): list(rest) for tool, side, *rest in self._rows(
            f"SELECT tool, {_SIDE}, {_MEASURES} FROM {events} e GROUP BY 1, 2", params)}
        kept = {(tool, side): int(cost) for tool, side, cost in self._rows(
            f"""SELECT e.tool, {_SIDE}, coalesce(sum(e.cost_micros), 0) FROM {events} e {uncovered}
                WHERE e.source = 'vendor_api' OR v.day IS NULL GROUP BY 1, 2""", params)}
        for tool, n, cost, uncovered_cost in self._rows(
                f"""SELECT e.tool, count(*), coalesce(sum(e.cost_micros), 0),
                           coalesce(sum(e.cost_micros) FILTER (WHERE v.day IS NULL), 0)
                    FROM {copies} e {uncovered} GROUP BY 1""", params * 2):
            sides[(tool, "local")][-2:] = [n, cost]
            kept[(tool, "local")] = kept.get((tool, "local"), 0) - int(uncovered_cost)
        totals = [(tool, side, *rest, kept.get((tool, side), 0)) for (tool, side), rest in sorted(sides.items())]

        cell_count = None
        if count_cells or only == "all":
            cell_count = int(self._rows(f"SELECT count(*) FROM (SELECT DISTINCT person, tool, CAST(ts AS DATE) "
                                        f"FROM events WHERE {where}) c", params)[0][0])
        window = "" if limit is None else f"WHERE r.n > {int(offset)} AND r.n <= {int(offset) + int(limit)}"
        keys = f"SELECT DISTINCT person, tool, CAST(ts AS DATE) AS day FROM events WHERE {where}"
        if only == "all":  # every cell is listed: pick the page's cells first, then sum only theirs
            if limit is not None:
                keys = f"{keys} ORDER BY day, person NULLS FIRST, tool LIMIT {int(limit)} OFFSET {int(offset)}"
                window = ""
        else:  # a cell with more than one side has a vendor's or the gateway's
            keys = f"{keys} AND source IN ('vendor_api', 'gateway')"
        listed = {"all": "TRUE", "multiple": "sides > 1", "differing": "sides > 1 AND spread > 0"}[only]
        on_key = "k.person IS NOT DISTINCT FROM e.person AND k.tool = e.tool AND k.day = CAST(e.ts AS DATE)"
        page = self._rows(f"""
            WITH k AS ({keys}),
            cells AS (SELECT e.person, e.tool, CAST(e.ts AS DATE) AS day, {_SIDE} AS side, {_MEASURES}
                      FROM {events} e JOIN k ON {on_key} GROUP BY 1, 2, 3, 4),
            copied AS (SELECT e.person, e.tool, CAST(e.ts AS DATE) AS day, count(*) AS n,
                              coalesce(sum(e.cost_micros), 0) AS cost
                       FROM {copies} e JOIN k ON {on_key} GROUP BY 1, 2, 3),
            marked AS (SELECT *, count(*) OVER w AS sides, max(cost) OVER w - min(cost) OVER w AS spread
                       FROM cells WINDOW w AS (PARTITION BY person, tool, day)),
            ranked AS (SELECT *, dense_rank() OVER (ORDER BY day, person NULLS FIRST, tool) AS n FROM marked
                       WHERE {listed}),
            numbered AS (SELECT *, max(n) OVER () AS listed FROM ranked)
            SELECT r.person, r.tool, r.day, r.side, r.requests, r.tokens, r.cost, r.unpriced, r.billed,
                   CASE WHEN r.side = 'local' THEN coalesce(c.n, 0) ELSE 0 END,
                   CASE WHEN r.side = 'local' THEN coalesce(c.cost, 0) ELSE 0 END, v.day IS NOT NULL, r.listed
            FROM numbered r
            LEFT JOIN copied c ON c.person IS NOT DISTINCT FROM r.person AND c.tool = r.tool AND c.day = r.day
            LEFT JOIN vendor_days v ON v.person = r.person AND v.tool = r.tool AND v.day = r.day
            {window} ORDER BY r.n, r.side""", params * 4)
        if only == "all":
            listed_count = cell_count or 0
        elif page:
            listed_count = int(page[0][-1])
        else:  # nothing on this page: is there anything to list at all?
            listed_count = 0 if offset == 0 else self.reconciliation(
                since, until, scope=scope, tools=tools, only=only, limit=None, count_cells=False)[3]
        return totals, [r[:-1] for r in page], cell_count if count_cells else None, listed_count

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


# A reconciliation's side of an event, and a side's measures: requests, tokens, cost, unpriced and billed
# requests, then local copies of gateway requests and their cost (0 here: counted apart, where there are any).
_SIDE = "CASE WHEN e.source = 'vendor_api' THEN 'vendor' WHEN e.source = 'gateway' THEN 'gateway' ELSE 'local' END"
_MEASURES = """count(*) AS requests,
    coalesce(sum(e.input_tokens + e.output_tokens + e.cache_read_tokens + e.cache_write_tokens), 0) AS tokens,
    coalesce(sum(e.cost_micros), 0) AS cost, count(*) FILTER (WHERE e.cost_micros IS NULL) AS unpriced,
    count(*) FILTER (WHERE e.confidence = 'billed') AS billed, 0 AS dups, 0 AS dup_cost"""
