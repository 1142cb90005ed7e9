"""`tokenpulse sync`: read the vendors' admin APIs into the store, incrementally and idempotently.

`sync_vendor(store, name, client, now=…)` reads one connector ("anthropic", "openai") from its stored
cursor until `now`, maps vendor identities to people, writes the usage events and billed cost lines, and
saves the cursor. Every id is deterministic and a bucket still filling is replaced by its fuller copy (its
rank grows), so re-reading the last `lookback_days` of buckets on each run costs nothing but the read.

Vendor identities are mapped to people through the directory's alias table. An alias is a vendor id with
a prefix naming what it is (add it to a person's aliases, e.g. in the people file):

- `anthropic-key:<api_key_id>`: an Anthropic API key (`apikey_…`);
- `openai-user:<user_id>`: an OpenAI organization user (`user-…`);
- `openai-key:<api_key_id>`: an OpenAI API key (`key_…`).

An OpenAI event is mapped through its user first, then its key. Events whose vendor id maps to no one
are stored under that id (e.g. person `openai-user:user-abc`) and the ids reported (with how many events
each), so they can be added: when the directory later gives one as someone's alias, the events already
stored move to that person, as OpenTelemetry account ids do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .events import UsageEvent
from .sources.vendors.client import VendorClient
from .sources.vendors.records import VendorCost

Connector = Callable[[VendorClient, datetime, datetime], tuple[list[UsageEvent], list[VendorCost]]]

ALIAS_PREFIXES = {"anthropic-key": "an Anthropic API key id (api_key_id)",
                  "openai-user": "an OpenAI user id (user_id)",
                  "openai-key": "an OpenAI API key id (api_key_id)"}
"""The prefixes of the aliases that map vendor identities to people (`<prefix>:<vendor id>`)."""


def _connectors() -> dict[str, Connector]:
    from .sources.vendors.anthropic import sync_anthropic
    from .sources.vendors.openai import sync_openai

    return {"anthropic": sync_anthropic, "openai": sync_openai}


VENDORS = ("anthropic", "openai")
"""The connectors `sync_vendor` knows, by name."""


def vendor_identities(name: str, event: UsageEvent) -> list[str]:
    """The aliases that may name the person behind a vendor event, most specific first."""
    extra = event.extra or {}
    if name == "anthropic":
        keys = [("anthropic-key", extra.get("api_key_id"))]
    elif name == "openai":
        keys = [("openai-user", extra.get("user_id")), ("openai-key", extra.get("api_key_id"))]
    else:
        keys = []
    return [f"{prefix}:{value}" for prefix, value in keys if value]


@dataclass
class SyncReport:
    """What one connector's sync read and stored."""

    vendor: str
    since: datetime
    until: datetime
    cursor: datetime
    """The cursor saved: the start of the last (UTC day) bucket read."""
    events_new: int = 0
    events_updated: int = 0
    events_unchanged: int = 0
    costs: int = 0
    """Cost lines read (each stored, replacing an earlier copy of its id)."""
    costs_new: int = 0
    mapped: int = 0
    """Events given a person through an alias."""
    unattributed: int = 0
    """Events that carry no vendor user or key id (e.g. Anthropic Console usage)."""
    unmapped: dict[str, int] = field(default_factory=dict)
    """Vendor identities (`<prefix>:<id>`) no alias maps, with how many events carry each."""

    def to_json(self) -> dict[str, Any]:
        return {"vendor": self.vendor, "since": self.since.isoformat(), "until": self.until.isoformat(),
                "cursor": self.cursor.isoformat(),
                "events": {"new": self.events_new, "updated": self.events_updated, "unchanged": self.events_unchanged},
                "costs": {"read": self.costs, "new": self.costs_new}, "mapped": self.mapped,
                "unattributed": self.unattributed, "unmapped": dict(sorted(self.unmapped.items()))}


def _day_start(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def sync_vendor(store: Any, name: str, client: VendorClient, *, now: datetime, lookback_days: int = 3,
                first_days: int = 30, connector: Connector | None = None) -> SyncReport:
    """Sync one connector from its cursor (or `first_days` before `now` on its first run), minus
    `lookback_days`, until `now`; events, cost lines and the new cursor are stored in one transaction.
    Raises `VendorError` (nothing stored, the cursor unchanged) when the vendor cannot be read."""
    if connector is None:
        connectors = _connectors()
        if name not in connectors:
            raise ValueError(f"unknown vendor {name!r}; known: {', '.join(connectors)}")
        connector = connectors[name]
    now = now.astimezone(UTC)
    cursor = store.sync_state(name)
    start = cursor if cursor is not None else now - timedelta(days=first_days)
    since = _day_start(start - timedelta(days=lookback_days))
    events, costs = connector(client, since, now)
    report = SyncReport(name, since, now, _day_start(now), costs=len(costs))
    _map_people(store, name, events, report)
    with store.transaction():
        written = store.write_batch(events)
        report.costs_new = store.save_vendor_costs(costs)
        store.save_sync_state(name, report.cursor, now)
        store.refresh_rollups()
    report.events_new, report.events_updated, report.events_unchanged = (
        written.new, written.updated, written.unchanged)
    return report


def _map_people(store: Any, name: str, events: list[UsageEvent], report: SyncReport) -> None:
    resolved: dict[str, str | None] = {}

    def person_of(alias: str) -> str | None:
        if alias not in resolved:
            owner = store.resolve_identity(alias)
            resolved[alias] = owner if owner != alias else None
        return resolved[alias]

    for event in events:
        identities = vendor_identities(name, event)
        if not identities:
            report.unattributed += 1
            continue
        person = next((p for p in map(person_of, identities) if p is not None), None)
        if person is None:
            # Kept under the vendor identity itself: when the directory later names its owner (an alias),
            # the store moves these events to them, as it does for OpenTelemetry account ids.
            event.person = identities[0]
            report.unmapped[identities[0]] = report.unmapped.get(identities[0], 0) + 1
        else:
            event.person = person
            report.mapped += 1
