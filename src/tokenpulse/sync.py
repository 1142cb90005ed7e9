"""`tokenpulse sync`: read the vendors' admin APIs into the store, incrementally and idempotently.

`sync_vendor(store, name, client, now=…)` reads one connector from its stored cursor until `now`, maps
vendor identities to people, writes the usage events, outcomes and billed cost lines, and saves the
cursor. Every id is deterministic and a bucket still filling is replaced by its fuller copy (its rank
grows), so re-reading the last `lookback_days` of buckets on each run costs nothing but the read.

The connectors (`CONNECTORS`): `anthropic` (messages usage and cost report), `claude_code` (Anthropic's
Claude Code usage report, per user and day), `openai` (completions usage and costs), `cursor` (per-request
usage events, billed) and `copilot` (GitHub Copilot usage metrics reports and AI-credit billing). Connectors
whose vendor reports whole UTC days read up to the start of today: a day is read once it has ended, so a
half-reported day never stands in for the other sources' figures of that day.

Vendor identities are mapped to people through the directory's alias table. An alias is a vendor id with
a prefix naming what it is (`ALIAS_PREFIXES`; add it to a person's aliases, e.g. in the people file);
an email is an identity as it is. Events whose vendor id maps to no one are stored under that id (e.g.
person `openai-user:user-abc`) and the ids reported (with how many events each), so they can be added:
when the directory later gives one as someone's alias, the events already stored move to that person.

Reconciliation (`tokenpulse.reconcile`): the (person, tool, UTC day) cells a sync brings vendor usage for
are recorded (`store.cover_vendor_days`); from then on the vendor's figures are what totals count for that
cell, and the gateway's and local logs' events of the cell are kept, labelled, beside them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import ConfigError
from .events import OutcomeEvent, UsageEvent
from .sources.vendors.records import VendorBatch

Identified = UsageEvent | OutcomeEvent
Fetch = Callable[..., VendorBatch]
"""`fetch(client, since, until, **options) -> VendorBatch` (options: the connector's config table)."""

ALIAS_PREFIXES = {"anthropic-key": "an Anthropic API key id (api_key_id)",
                  "anthropic-key-name": "an Anthropic API key's name (Claude Code usage report api actors)",
                  "openai-user": "an OpenAI user id (user_id)",
                  "openai-key": "an OpenAI API key id (api_key_id)",
                  "github-login": "a GitHub login (Copilot)",
                  "github-user": "a GitHub user id (Copilot)"}
"""The prefixes of the aliases that map vendor identities to people (`<prefix>:<vendor id>`)."""


@dataclass(frozen=True)
class Connector:
    name: str
    fetch: Fetch
    identities: Callable[[Identified], list[str]]
    """The aliases that may name the person behind an event or outcome, most specific first."""
    key_variable: str
    """The environment variable holding the admin key (or token)."""
    client: Callable[..., Any]
    """`client(key, base_url?) -> VendorClient`."""
    whole_days: bool = False
    """The vendor reports whole UTC days: read up to the start of today."""
    options: tuple[str, ...] = ()
    """Settings of `[vendors.<name>]` passed to `fetch` (e.g. Copilot's `org`); required ones first."""
    required: tuple[str, ...] = ()
    settings_from: str | None = None
    """Another connector whose address and key settings this one falls back to (same API and key)."""
    from_directory: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None
    """Options worked out from the store when a sync is planned (e.g. Copilot's `users = "directory"`)."""


def _copilot_users(store: Any, options: dict[str, Any]) -> dict[str, Any]:
    """`users = "directory"`: the GitHub logins the directory knows (`github-login:` aliases), so AI-credit
    billing is read per person."""
    if options.get("users") != "directory":
        return {}
    return {"users": store.vendor_aliases("github-login")}


def _extra_ids(*pairs: tuple[str, str]) -> Callable[[Identified], list[str]]:
    def identities(item: Identified) -> list[str]:
        extra = item.extra or {}
        return [f"{prefix}:{extra[key]}" for prefix, key in pairs if extra.get(key)]

    return identities


def _own_person(item: Identified) -> list[str]:
    """Cursor names people by their email, already on the event."""
    return [item.person] if item.person else []


def _module(name: str) -> Any:
    import importlib

    return importlib.import_module(f".sources.vendors.{name}", __package__)


def _late(module: str, attribute: str) -> Callable[..., Any]:
    """A connector module's function, imported when first called (the store opens without the connectors)."""
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(_module(module), attribute)(*args, **kwargs)

    return call


def _pair(module: str, function: str) -> Fetch:
    """A connector whose function returns `(events, costs)`. Options: `bucket_width` (`1d` by default, `1h`,
    `1m`: keep it fixed, as a bucket of another width is another event), and for Anthropic
    `exclude_workspaces`: usage of these workspaces is left out — e.g. the workspace Claude Code's console
    logins bill to, when the `claude_code` connector reports that usage per person (synced from both, it would
    count twice)."""
    def fetch(client: Any, since: datetime, until: datetime, exclude_workspaces: list[str] | None = None,
              bucket_width: str = "1d") -> VendorBatch:
        if bucket_width not in ("1d", "1h", "1m"):
            raise ConfigError(f"[vendors.{module}] bucket_width must be 1d, 1h or 1m, got {bucket_width!r}")
        events, costs = getattr(_module(module), function)(client, since, until, bucket_width=bucket_width)
        if exclude_workspaces:
            if not isinstance(exclude_workspaces, list):
                raise ConfigError(f"[vendors.{module}] exclude_workspaces must be a list of workspace ids")
            events = [e for e in events if (e.extra or {}).get("workspace_id") not in exclude_workspaces]
        return VendorBatch(events=events, costs=costs)

    return fetch


def _cursor_fetch(client: Any, since: datetime, until: datetime) -> VendorBatch:
    """Per-request events (billed), and each member's spend this cycle as cost lines."""
    cursor = _module("cursor")
    read = cursor.sync_cursor(client, since, until)
    return VendorBatch(events=read.events, costs=cursor.spend_costs(read.spend, until))


@functools.cache
def _connectors() -> dict[str, Connector]:
    anthropic_client = _late("client", "anthropic_client")
    return {
        "anthropic": Connector("anthropic", _pair("anthropic", "sync_anthropic"),
                               _extra_ids(("anthropic-key", "api_key_id")), "ANTHROPIC_ADMIN_KEY", anthropic_client,
                               options=("exclude_workspaces", "bucket_width")),
        "claude_code": Connector("claude_code", _late("claude_code", "sync_claude_code"),
                                 _late("claude_code", "identities"), "ANTHROPIC_ADMIN_KEY", anthropic_client,
                                 whole_days=True, settings_from="anthropic"),
        "openai": Connector("openai", _pair("openai", "sync_openai"),
                            _extra_ids(("openai-user", "user_id"), ("openai-key", "api_key_id")),
                            "OPENAI_ADMIN_KEY", _late("client", "openai_client"), options=("bucket_width",)),
        "cursor": Connector("cursor", _cursor_fetch, _own_person, "CURSOR_ADMIN_KEY", _late("cursor", "cursor_client")),
        "copilot": Connector("copilot", _late("copilot", "sync_copilot"), _late("copilot", "identities"),
                             "GITHUB_TOKEN", _late("copilot", "copilot_client"), whole_days=True, options=("org", "users"),
                             required=("org",), from_directory=_copilot_users),
    }


VENDORS = tuple(_connectors())
"""The connectors `sync_vendor` knows, by name, in the order `tokenpulse sync` runs them."""


def connector(name: str) -> Connector:
    found = _connectors().get(name)
    if found is None:
        raise ValueError(f"unknown vendor {name!r}; known: {', '.join(VENDORS)}")
    return found


# --- configuration: keys, addresses and options --------------------------------------------------------


@dataclass
class VendorSetup:
    """One connector as configured: its client, or why it is skipped."""

    name: str
    client: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None


def vendor_table(tables: Mapping[str, Any], name: str) -> dict[str, Any]:
    section = tables.get("vendors", {})
    table = section.get(name, {}) if isinstance(section, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"[vendors.{name}] must be a table")
    return table


def setup_vendor(name: str, tables: Mapping[str, Any], env: Mapping[str, str] | None = None,
                 **client_options: Any) -> VendorSetup:
    """The client for one connector from `[vendors.<name>]` (`base_url`, `admin_key` or `admin_key_env`,
    `enabled`, the connector's options) and the environment. The key is never part of a message."""
    env = os.environ if env is None else env
    spec = connector(name)
    table = vendor_table(tables, name)
    if spec.settings_from:
        shared = vendor_table(tables, spec.settings_from)
        table = {**{k: shared[k] for k in ("base_url", "admin_key", "admin_key_env") if k in shared}, **table}
    if table.get("enabled", True) is False:
        return VendorSetup(name, skipped=f"[vendors.{name}] enabled = false")
    variable = table.get("admin_key_env", spec.key_variable)
    if not isinstance(variable, str) or not variable:
        raise ConfigError(f"[vendors.{name}] admin_key_env must name an environment variable")
    key = table.get("admin_key") or env.get(variable, "")
    if not isinstance(key, str):
        raise ConfigError(f"[vendors.{name}] admin_key must be a string")
    if not key.strip():
        return VendorSetup(name, skipped=f"{variable} is not set")
    missing = [option for option in spec.required if not table.get(option)]
    if missing:
        return VendorSetup(name, skipped=f"[vendors.{name}] {missing[0]} is not set")
    url = table.get("base_url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise ConfigError(f"[vendors.{name}] base_url must be an http:// or https:// URL, got {url!r}")
    client = spec.client(key.strip(), url, **client_options) if url else spec.client(key.strip(), **client_options)
    return VendorSetup(name, client, {o: table[o] for o in spec.options if o in table})


# --- one sync -------------------------------------------------------------------------------------------


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
    outcomes: int = 0
    """Outcomes read (each stored once by id)."""
    costs: int = 0
    """Cost lines read (each stored, replacing an earlier copy of its id)."""
    costs_new: int = 0
    mapped: int = 0
    """Events and outcomes given a person through an alias (or their email)."""
    unattributed: int = 0
    """Events that carry no vendor user or key id (e.g. Anthropic Console usage)."""
    unmapped: dict[str, int] = field(default_factory=dict)
    """Vendor identities (`<prefix>:<id>`, or an email) no alias maps, with how many events and outcomes
    carry each."""

    def to_json(self) -> dict[str, Any]:
        return {"vendor": self.vendor, "since": self.since.isoformat(), "until": self.until.isoformat(),
                "cursor": self.cursor.isoformat(),
                "events": {"new": self.events_new, "updated": self.events_updated, "unchanged": self.events_unchanged},
                "outcomes": self.outcomes, "costs": {"read": self.costs, "new": self.costs_new},
                "mapped": self.mapped, "unattributed": self.unattributed,
                "unmapped": dict(sorted(self.unmapped.items()))}


def _day_start(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class SyncPlan:
    """What one run of a connector reads: [since, until), decided from its stored cursor, and its options."""

    name: str
    since: datetime
    until: datetime
    now: datetime
    options: dict[str, Any] = field(default_factory=dict)


def plan_sync(store: Any, name: str, *, now: datetime, lookback_days: int = 3, first_days: int = 30,
              options: Mapping[str, Any] | None = None) -> SyncPlan:
    """From the connector's cursor (or `first_days` before `now` on its first run), minus `lookback_days`,
    until `now` (whole-day vendors: until today's start, and at least the last whole day)."""
    spec = connector(name)
    now = now.astimezone(UTC)
    until = _day_start(now) if spec.whole_days else now
    cursor = store.sync_state(name)
    start = cursor if cursor is not None else now - timedelta(days=first_days)
    since = _day_start(start - timedelta(days=lookback_days))
    if spec.whole_days:
        since = min(since, _day_start(until - timedelta(days=1)))
    chosen = dict(options or {})
    if spec.from_directory is not None:
        chosen.update(spec.from_directory(store, chosen))
    return SyncPlan(name, since, until, now, chosen)


def fetch_batch(plan: SyncPlan, client: Any) -> VendorBatch:
    """Read the plan's range from the vendor (no store needed: run it off the store's thread). Raises
    `VendorError` when the vendor cannot be read."""
    return connector(plan.name).fetch(client, plan.since, plan.until, **plan.options)


def save_batch(store: Any, plan: SyncPlan, batch: VendorBatch, book: Any = None) -> SyncReport:
    """Map people, price (a billed event's cost is its bill) and store what was read, with the cells it
    covers and the new cursor, in one transaction."""
    spec = connector(plan.name)
    report = SyncReport(plan.name, plan.since, plan.until, _day_start(plan.until - timedelta(microseconds=1)),
                        costs=len(batch.costs), outcomes=len(batch.outcomes))
    _map_people(store, spec, [*batch.events, *batch.outcomes], report)
    if book is None:
        from .pricing import load_price_book

        book = load_price_book([])
    for event in batch.events:
        book.price(event)
    covered = {(e.person, e.tool, e.ts.astimezone(UTC).date()) for e in batch.events if e.person}
    with store.transaction():
        written = store.write_batch(batch.events, batch.outcomes)
        store.cover_vendor_days(sorted(covered))
        report.costs_new = store.save_vendor_costs(batch.costs)
        store.save_sync_state(plan.name, report.cursor, plan.now)
        store.refresh_rollups()
    report.events_new, report.events_updated, report.events_unchanged = (
        written.new, written.updated, written.unchanged)
    return report


def sync_vendor(store: Any, name: str, client: Any, *, now: datetime, lookback_days: int = 3,
                first_days: int = 30, options: Mapping[str, Any] | None = None, book: Any = None) -> SyncReport:
    """Plan, fetch and save one connector's sync (see `plan_sync`, `save_batch`). Raises `VendorError`
    (nothing stored, the cursor unchanged) when the vendor cannot be read."""
    plan = plan_sync(store, name, now=now, lookback_days=lookback_days, first_days=first_days, options=options)
    return save_batch(store, plan, fetch_batch(plan, client), book)


def _map_people(store: Any, spec: Connector, items: list[Identified], report: SyncReport) -> None:
    resolved: dict[str, str | None] = {}

    def person_of(identity: str) -> str | None:
        if identity not in resolved:
            owner = store.resolve_identity(identity)
            if owner == identity and store.find_person(identity) is None:
                owner = None  # no alias names it, and it is not a person's own id
            resolved[identity] = owner
        return resolved[identity]

    for item in items:
        identities = spec.identities(item)
        if not identities:
            if isinstance(item, UsageEvent):
                report.unattributed += 1
            continue
        person = next((p for p in map(person_of, identities) if p is not None), None)
        if person is None:
            # Kept under the vendor identity itself: when the directory later names its owner (an alias),
            # the store moves these events to them, as it does for OpenTelemetry account ids.
            item.person = identities[0]
            report.unmapped[identities[0]] = report.unmapped.get(identities[0], 0) + 1
        else:
            item.person = person
            report.mapped += 1


def run_sync(store: Any, tables: Mapping[str, Any], names: list[str], *, now: datetime, lookback_days: int = 3,
             first_days: int = 30, book: Any = None, env: Mapping[str, str] | None = None,
             on_vendor: Callable[[str], None] = lambda name: None, **client_options: Any) -> list[dict[str, Any]]:
    """Sync each named connector that is configured; one JSON-able result each (`status` synced, skipped or
    failed, with its note or error). A vendor that cannot be read fails alone: the others still sync.
    `on_vendor(name)` is called as each configured connector starts (for a progress display)."""
    from .sources.vendors.client import VendorError

    results: list[dict[str, Any]] = []
    for name in names:
        setup = setup_vendor(name, tables, env, **client_options)
        if setup.skipped:
            results.append({"vendor": name, "status": "skipped", "note": setup.skipped})
            continue
        on_vendor(name)
        try:
            report = sync_vendor(store, name, setup.client, now=now, lookback_days=lookback_days,
                                 first_days=first_days, options=setup.options, book=book)
        except VendorError as exc:  # its message never holds the key
            results.append({"vendor": name, "status": "failed", "error": str(exc)})
            continue
        results.append({"status": "synced", **report.to_json()})
    return results
