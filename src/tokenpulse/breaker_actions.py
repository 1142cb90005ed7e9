"""Circuit-breaker actions for the AI tools that cannot pass through the gateway (Cursor, GitHub Copilot).

The gateway's breaker refuses requests; Cursor's and Copilot's traffic never reaches it. Their usage arrives
afterwards from the vendors' admin APIs (`tokenpulse.sync`, events with `source="vendor_api"`), so here the
same daily-spend rule (`tokenpulse.policy.breaker`) is checked over what the store holds, and a trip *acts*
on the vendor instead of refusing:

- Cursor (`CursorSpendLimitAction`): the member's hard spend limit is set to `trip_limit_dollars` ($0 by
  default: no further on-demand spend) after reading the limit they had, which the action record keeps; a
  re-enable puts that limit back (no override before: `null` is sent, i.e. no override again). A limit an
  admin changed in Cursor since the trip is left alone.
- Any other vendor-only tool, e.g. Copilot, whose admin API has no such switch (`WebhookAction`): a
  Slack-compatible webhook (`{"text": …, "tokenpulse": {"event": "breaker_trip"|"reenable", "person",
  "day", "cause", "tools", "spend_today_usd", "threshold_usd", …}}`, as `gateway/webhooks.py` sends) so a
  person can act on it. When configured, the webhook is also sent as the notification of every trip (one
  call per trip, whatever the tools) and of its re-enable.

Which tools a trip acts on are the tools the person used through a vendor API today (of those checked). A
failing action never loses the incident: the incident is recorded all the same, with the failure (`"ok":
false, "error": …`) in its action record and in the audit entry.

The person's Cursor email (the rule): their person id when it is an email (people are keyed by their work
email, as Cursor names its members); otherwise the first plain-email alias of theirs in the directory
(sorted). Without either, the Cursor action fails (recorded) for that person.

Spend, as the breaker sees it here: every tool's usage of the day, as every total counts it (a vendor's
figure for the cells it reported, a billed event at its bill: Cursor's charged cents; see
`tokenpulse.reconcile`). The baseline is the same measure over the previous `3 × baseline_days` days,
through `baseline_micros`, as `gateway.enforce` loads it. Re-enables today are today's closed incidents of the person; the threshold is
`daily_threshold(policy, baseline, re-enables today, spend at the last trip)`. A person with an open
incident today (the gateway's or this module's) is not tripped again; in shadow mode one shadow incident a
day is recorded and no action runs.

Settings (tokenpulse.toml), read by `BreakerActions.from_settings(settings.tables, os.environ)`:

    [vendors]
    breaker_webhook = "https://hooks.slack.com/services/…"   # optional: Copilot & other tools, and every trip
    breaker_webhook_timeout_seconds = 5                      # optional (default 5; 3 attempts)

    [vendors.cursor]
    breaker_action = "spend_limit"     # "spend_limit" or "none" (the default: Cursor is left alone)
    trip_limit_dollars = 0             # the hard limit a trip sets (default 0)
    base_url = "https://api.cursor.com"  # optional, e.g. a proxy
    admin_key_env = "CURSOR_ADMIN_KEY" # optional: which variable holds the admin key (the default)

The Cursor admin key comes from the environment (`CURSOR_ADMIN_KEY`; or `[vendors.cursor] admin_key`,
as `tokenpulse sync` reads it); it is never logged, shown or put in a record. A webhook URL is a secret
too: records name only its scheme and host.

Who calls what: `check_vendor_breakers(store, policy, actions, now)` after each vendor sync (or on a
timer); `restore_after_reenable(...)` when incidents are re-enabled — the dashboard's
`POST /api/v1/incidents/reenable` does it through `undo_vendor_actions` and `audit_restores` (the vendor
calls off the store's thread).
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from urllib.parse import urlsplit

import msgspec

from .errors import ConfigError
from .money import format_usd, micros_to_decimal_usd
from .policy import BreakerPolicy, baseline_micros, daily_threshold, period_end, period_id, period_start
from .policy.periods import require_aware, zone
from .store.governance import AuditEntry, Incident

log = logging.getLogger("tokenpulse.breaker_actions")

VENDOR_TOOLS = ("cursor", "copilot")
"""The tools checked by default: their traffic cannot pass through the gateway."""
CAUSE = "daily_spend"
ACTOR = "tokenpulse"
WEBHOOK_ATTEMPTS = 3
WEBHOOK_TIMEOUT_SECONDS = 5.0
CURSOR_TIMEOUT_SECONDS = 10.0
CURSOR_ATTEMPTS = 3


def _usd(micros: int) -> str:
    return str(micros_to_decimal_usd(micros))


# --- the trip decision (pure) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorFigures:
    """What the store says about one person for the day being checked (all spend in micro-USD)."""

    person: str
    tools: tuple[str, ...]
    """The checked tools they used through a vendor API today."""
    spend_today_micros: int
    previous_days_micros: Sequence[int] = ()
    """Spend of each earlier day, oldest first (days without spend may be left out or be 0)."""
    reenables_today: int = 0
    spend_at_last_trip_micros: int = 0
    open_incident: bool = False
    """An open (not shadow) incident today, the gateway's or a vendor one: already tripped."""
    shadow_incident: bool = False
    """A shadow vendor incident today: the one would-trip of the day is recorded."""


@dataclass(frozen=True)
class VendorTrip:
    person: str
    day: str
    tools: tuple[str, ...]
    spend_today_micros: int
    threshold_micros: int
    baseline_micros: int
    reenables_today: int
    shadow: bool


def decide_vendor_trip(figures: VendorFigures, policy: BreakerPolicy, now: datetime) -> VendorTrip | None:
    """Trip (a `VendorTrip`) or not (None): today's spend above `daily_threshold`, nothing open today, and
    in shadow mode no shadow vendor incident yet today. Pure."""
    require_aware(now)
    if not figures.tools or figures.open_incident or (policy.shadow and figures.shadow_incident):
        return None
    baseline = baseline_micros(list(figures.previous_days_micros), policy)
    threshold = daily_threshold(policy, baseline, figures.reenables_today, figures.spend_at_last_trip_micros)
    if figures.spend_today_micros <= threshold:
        return None
    return VendorTrip(figures.person, period_id("day", now, policy.tz), tuple(figures.tools),
                      figures.spend_today_micros, threshold, baseline, figures.reenables_today, policy.shadow)


def cursor_email(person: str, aliases: Iterable[str] = ()) -> str | None:
    """The person's Cursor email: their id when it is an email, else their first plain-email alias."""
    def plain(identity: str) -> bool:
        return "@" in identity and ":" not in identity and " " not in identity

    if plain(person):
        return person.strip().lower()
    found = sorted(a.strip().lower() for a in aliases if plain(a.strip()))
    return found[0] if found else None


# --- actions --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TripContext:
    """What an action knows of a trip."""

    person: str
    day: str
    tools: tuple[str, ...]
    spend_today_micros: int
    threshold_micros: int
    incident: str = ""
    cause: str = CAUSE
    cursor_email: str | None = None


@dataclass(frozen=True)
class ReenableContext:
    """What an action knows of a re-enable (`trip` is the incident's trip, as recorded)."""

    trip: TripContext
    by: str
    reason: str | None
    at: datetime


class BreakerAction(Protocol):
    name: str
    """The `action` of the records it returns (`<name>_restore` for undoing)."""

    def on_trip(self, ctx: TripContext) -> dict[str, Any]:
        """Act; a record of what was done (`ok` false and `error` when it failed). Never raises."""
        ...

    def on_reenable(self, ctx: ReenableContext, record: dict[str, Any]) -> dict[str, Any] | None:
        """Undo (or notify of) `record`, this action's record of the trip; None when nothing is to be done."""
        ...


def _failure(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:300]


class CursorSpendLimitAction:
    """On a trip, set the member's Cursor hard spend limit to `trip_limit_dollars` (after reading the one they
    had); on re-enable, put the previous one back. `client` is a `cursor_client(...)` (its key never shows)."""

    name = "cursor_spend_limit"

    def __init__(self, client: Any, trip_limit_dollars: Decimal | int | str = Decimal(0)):
        try:
            limit = Decimal(str(trip_limit_dollars))
        except (InvalidOperation, ValueError):
            raise ConfigError(f"trip_limit_dollars must be an amount of dollars, got {trip_limit_dollars!r}") from None
        if not limit.is_finite() or limit < 0:
            raise ConfigError(f"trip_limit_dollars must be an amount of dollars ≥ 0, got {trip_limit_dollars!r}")
        self.client = client
        self.trip_limit_dollars = limit

    def __repr__(self) -> str:
        return f"CursorSpendLimitAction(base_url={getattr(self.client, 'base_url', '?')!r}, " \
               f"trip_limit_dollars={self.trip_limit_dollars!r})"

    def on_trip(self, ctx: TripContext) -> dict[str, Any]:
        from .sources.vendors.cursor import get_spend_limit, set_spend_limit

        record: dict[str, Any] = {"action": self.name, "email": ctx.cursor_email,
                                  "previous_hard_limit_dollars": None,
                                  "set_hard_limit_dollars": str(self.trip_limit_dollars), "ok": False}
        if not ctx.cursor_email:
            record["error"] = f"no Cursor email known for {ctx.person} (neither their id nor an alias is an email)"
            return record
        try:
            current = get_spend_limit(self.client, ctx.cursor_email)
            if current is None:
                record["error"] = f"{ctx.cursor_email} is not a member of the Cursor team"
                return record
            previous = current.hard_limit_dollars
            record["previous_hard_limit_dollars"] = None if previous is None else str(previous)
            set_spend_limit(self.client, ctx.cursor_email, self.trip_limit_dollars)
        except Exception as exc:  # a failed action is recorded, never lost with the incident
            record["error"] = _failure(exc)
            return record
        record["ok"] = True
        return record

    def on_reenable(self, ctx: ReenableContext, record: dict[str, Any]) -> dict[str, Any] | None:
        from .sources.vendors.cursor import get_spend_limit, set_spend_limit

        if not record.get("ok"):
            return None  # the trip changed nothing: nothing to restore
        email = record.get("email")
        previous = record.get("previous_hard_limit_dollars")
        out: dict[str, Any] = {"action": f"{self.name}_restore", "email": email,
                               "restored_hard_limit_dollars": previous, "ok": False}
        try:
            current = get_spend_limit(self.client, str(email))
            now_set = None if current is None else current.hard_limit_dollars
            was_set = record.get("set_hard_limit_dollars")
            if now_set is not None and was_set is not None and Decimal(now_set) != Decimal(str(was_set)):
                out.update(ok=True, restored_hard_limit_dollars=None, skipped=(
                    f"the hard limit is now ${now_set}, not the ${was_set} the trip set: changed in Cursor "
                    "since, left alone"))
                return out
            set_spend_limit(self.client, str(email), None if previous is None else Decimal(str(previous)))
        except Exception as exc:
            out["error"] = _failure(exc)
            return out
        out["ok"] = True
        return out


@dataclass
class WebhookAction:
    """POST a Slack-compatible JSON notification, synchronously: `timeout_seconds` per attempt, `attempts`
    tries with a short backoff (`sleep` is injectable). A URL is a secret: records show its host only."""

    url: str
    timeout_seconds: float = WEBHOOK_TIMEOUT_SECONDS
    attempts: int = WEBHOOK_ATTEMPTS
    backoff_seconds: float = 0.5
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    name: str = field(default="webhook", init=False)

    def __repr__(self) -> str:
        return f"WebhookAction(to={self.target!r})"

    @property
    def target(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"

    def on_trip(self, ctx: TripContext) -> dict[str, Any]:
        tools = ", ".join(ctx.tools)
        text = (f"AI spend circuit breaker tripped for {ctx.person} on {ctx.cause} ({tools}, used outside the "
                f"gateway): {format_usd(ctx.spend_today_micros)} spent today, above today's threshold of "
                f"{format_usd(ctx.threshold_micros)}.")
        return self.post("breaker_trip", text, ctx)

    def on_reenable(self, ctx: ReenableContext, record: dict[str, Any]) -> dict[str, Any] | None:
        trip = ctx.trip
        text = (f"{ctx.by} re-enabled the AI spend circuit breaker of {trip.person} for {trip.day} "
                f"(tripped on {trip.cause}, {', '.join(trip.tools)})"
                + (f": \"{ctx.reason}\"." if ctx.reason else "."))
        return self.post("reenable", text, trip, by=ctx.by, reason=ctx.reason)

    def post(self, event: str, text: str, ctx: TripContext, **more: Any) -> dict[str, Any]:
        payload = {"text": text, "tokenpulse": {
            "event": event, "person": ctx.person, "day": ctx.day, "cause": ctx.cause, "tools": list(ctx.tools),
            "spend_today_usd": _usd(ctx.spend_today_micros), "threshold_usd": _usd(ctx.threshold_micros),
            "incident": ctx.incident, **more}}
        body = msgspec.json.encode(payload)
        record: dict[str, Any] = {"action": self.name if event == "breaker_trip" else f"{self.name}_restore",
                                  "event": event, "to": self.target, "ok": False}
        problem = ""
        for attempt in range(1, self.attempts + 1):
            record["attempts"] = attempt
            try:
                request = urllib.request.Request(self.url, data=body, method="POST", headers={
                    "Content-Type": "application/json", "User-Agent": "tokenpulse"})
                with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                    record["status"] = response.status
                    if response.status < 300:
                        record["ok"] = True
                        return record
                    problem = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                record["status"] = exc.code
                problem = f"HTTP {exc.code}"
                exc.close()
            except (urllib.error.URLError, OSError, ValueError) as exc:
                problem = _failure(getattr(exc, "reason", None) or exc)
            if attempt < self.attempts:
                self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        record["error"] = f"not delivered after {self.attempts} attempts ({problem})"
        log.error("breaker webhook %s to %s: %s", event, self.target, record["error"])
        return record


# --- the configured set ---------------------------------------------------------------------------------


@dataclass
class BreakerActions:
    """The actions configured: Cursor's spend limit for "cursor", the webhook for other tools and for all."""

    cursor: CursorSpendLimitAction | None = None
    webhook: WebhookAction | None = None

    @classmethod
    def from_settings(cls, settings_tables: Mapping[str, Any], env: Mapping[str, str], **client_options: Any
                      ) -> BreakerActions:
        """From `[vendors]` and `[vendors.cursor]` (see the module docstring) and the environment.
        `client_options` go to `cursor_client` (e.g. `sleep` in tests)."""
        vendors = settings_tables.get("vendors", {}) or {}
        if not isinstance(vendors, Mapping):
            raise ConfigError("[vendors] must be a table")
        webhook = None
        url = vendors.get("breaker_webhook")
        if url:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ConfigError("[vendors] breaker_webhook must be an http:// or https:// URL")
            timeout = vendors.get("breaker_webhook_timeout_seconds", WEBHOOK_TIMEOUT_SECONDS)
            if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
                raise ConfigError("[vendors] breaker_webhook_timeout_seconds must be a number of seconds, 0 < s ≤ 60")
            webhook = WebhookAction(url, timeout_seconds=float(timeout))
        from .sync import setup_vendor, vendor_table

        cursor_table = vendor_table(settings_tables, "cursor")
        kind = cursor_table.get("breaker_action", "none")
        if kind not in ("spend_limit", "none"):
            raise ConfigError(f"[vendors.cursor] breaker_action must be \"spend_limit\" or \"none\", got {kind!r}")
        cursor = None
        if kind == "spend_limit":
            # The key, address and client as `tokenpulse sync` makes them.
            options = {"timeout_s": CURSOR_TIMEOUT_SECONDS, "max_attempts": CURSOR_ATTEMPTS, **client_options}
            setup = setup_vendor("cursor", settings_tables, env, **options)
            if setup.client is None:
                raise ConfigError(f"[vendors.cursor] breaker_action = \"spend_limit\" needs the Cursor admin API: "
                                  f"{setup.skipped}")
            cursor = CursorSpendLimitAction(setup.client, cursor_table.get("trip_limit_dollars", 0))
        return cls(cursor=cursor, webhook=webhook)

    def for_tools(self, tools: Iterable[str]) -> list[BreakerAction]:
        """The actions a trip over `tools` runs: Cursor's for "cursor"; the webhook (once) for any trip."""
        chosen: list[BreakerAction] = []
        if self.cursor is not None and "cursor" in tools:
            chosen.append(self.cursor)
        if self.webhook is not None:
            chosen.append(self.webhook)
        return chosen

    def by_name(self, name: str) -> BreakerAction | None:
        return {"cursor_spend_limit": self.cursor, "webhook": self.webhook}.get(name)

    def unactioned(self, tools: Iterable[str]) -> list[str]:
        """Tools a trip over `tools` takes no action on (nothing configured for them)."""
        if self.webhook is not None:
            return []
        return [t for t in tools if not (t == "cursor" and self.cursor is not None)]


# --- checking the store ----------------------------------------------------------------------------------


def gather_figures(store: Any, policy: BreakerPolicy, now: datetime, tools: Sequence[str] = VENDOR_TOOLS
                   ) -> list[VendorFigures]:
    """The figures of everyone with vendor-API usage of `tools` today (in the policy's zone): spend per day
    as every total counts it (a vendor's figure where it reported, a bill being its cost)."""
    require_aware(now)
    tz = policy.tz
    start, end = period_start("day", now, tz), period_end("day", now, tz)
    store.refresh_rollups()
    used: dict[str, set[str]] = {}
    for row in store.usage_grouped(["person", "tool", "source"], since=start, until=end, tz=tz):
        if row["source"] == "vendor_api" and row["tool"] in tools and row["person"]:
            used.setdefault(row["person"], set()).add(row["tool"])
    if not used:
        return []
    # Each day's spend per person over the baseline's days and today, in one query (noon steps clear of DST).
    from .store.web import Scope

    first = period_start("day", start + timedelta(hours=12) - timedelta(days=policy.baseline_days * 3), tz)
    today = start.astimezone(zone(tz)).date()
    daily: dict[str, dict[Any, int]] = {}
    for row in store.usage_grouped(["person", "day"], since=first, until=end, tz=tz,
                                   scope=Scope(people=tuple(sorted(used)))):
        daily.setdefault(row["person"], {})[row["day"]] = int(row["cost_micros"])
    incidents_today: dict[str, list[Incident]] = {}
    for incident in store.incidents(day=period_id("day", now, tz), limit=1_000_000):
        incidents_today.setdefault(incident.person, []).append(incident)
    figures = []
    for person in sorted(used):
        incidents = incidents_today.get(person, [])
        closed = [i for i in incidents if not i.shadow and i.reenabled_at is not None]
        last = closed[-1].evidence if closed else {}
        at_trip = last.get("spend_today_micros", last.get("today_micros", 0))
        days = daily.get(person, {})
        figures.append(VendorFigures(
            person=person, tools=tuple(sorted(used[person])), spend_today_micros=days.get(today, 0),
            previous_days_micros=[days[d] for d in sorted(days) if d < today and days[d]],
            reenables_today=len(closed), spend_at_last_trip_micros=at_trip if isinstance(at_trip, int) else 0,
            open_incident=any(not i.shadow and i.reenabled_at is None for i in incidents),
            shadow_incident=any(i.shadow and i.evidence.get("source") == "vendor_api" for i in incidents)))
    return figures


def _cursor_email_of(store: Any, person: str) -> str | None:
    found = cursor_email(person)
    if found is None and hasattr(store, "find_person"):
        known = store.find_person(person)
        found = cursor_email(person, known.aliases if known is not None else ())
    return found


@dataclass
class PendingTrip:
    """A trip decided on the store's figures, its actions not yet run (`act`) nor the incident recorded."""

    incident: Incident
    ctx: TripContext
    actions: list[BreakerAction]


def plan_trips(store: Any, policy: BreakerPolicy, actions: BreakerActions, now: datetime,
               tools: Sequence[str] = VENDOR_TOOLS) -> list[PendingTrip]:
    """Whom to trip now, with the incident to record and the actions to run (reads the store only)."""
    pending = []
    for figures in gather_figures(store, policy, now, tools):
        trip = decide_vendor_trip(figures, policy, now)
        if trip is None:
            continue
        evidence: dict[str, Any] = {
            "source": "vendor_api", "tools": list(trip.tools), "spend_today_micros": trip.spend_today_micros,
            "threshold_micros": trip.threshold_micros, "baseline_micros": trip.baseline_micros,
            "reenables": trip.reenables_today, "floor_micros": policy.floor_micros,
            "baseline_days": policy.baseline_days, "baseline_percentile": policy.baseline_percentile,
            "actions": []}
        unactioned = [] if trip.shadow else actions.unactioned(trip.tools)
        if unactioned:
            evidence["unactioned_tools"] = unactioned
        incident = Incident(trip.person, trip.day, CAUSE, now, evidence=evidence, shadow=trip.shadow)
        chosen = [] if trip.shadow else actions.for_tools(trip.tools)
        email = _cursor_email_of(store, trip.person) if any(a.name == "cursor_spend_limit" for a in chosen) else None
        ctx = TripContext(trip.person, trip.day, trip.tools, trip.spend_today_micros, trip.threshold_micros,
                          incident.id, CAUSE, email)
        pending.append(PendingTrip(incident, ctx, chosen))
    return pending


def act(pending: Sequence[PendingTrip]) -> None:
    """Run each trip's actions (vendor calls: off the store's thread), keeping their records in the evidence."""
    for trip in pending:
        records = []
        for action in trip.actions:
            try:
                records.append(action.on_trip(trip.ctx))
            except Exception as exc:  # an action's own bug: recorded, the incident kept
                records.append({"action": action.name, "ok": False, "error": _failure(exc)})
        trip.incident.evidence["actions"] = records


def record_trips(store: Any, pending: Sequence[PendingTrip], now: datetime) -> list[Incident]:
    """Record each incident, and audit the trip and each action."""
    for trip in pending:
        incident, person, evidence = trip.incident, trip.ctx.person, trip.incident.evidence
        store.record_incident(incident)
        store.audit(AuditEntry(now, ACTOR, "breaker_trip", person, {
            "incident": incident.id, "cause": CAUSE, "shadow": incident.shadow, **{
                k: v for k, v in evidence.items() if k != "actions"}}))
        for record in evidence["actions"]:
            store.audit(AuditEntry(now, ACTOR, "breaker_action", person, {
                "incident": incident.id, "day": incident.day, **record}))
    return [trip.incident for trip in pending]


def check_vendor_breakers(store: Any, policy: BreakerPolicy, actions: BreakerActions, now: datetime,
                          tools: Sequence[str] = VENDOR_TOOLS) -> list[Incident]:
    """Trip the breaker of everyone whose spend today (with vendor-API usage of `tools`) is above their
    threshold: record the incident (shadow policy: a shadow incident, no action), run the actions and audit
    each. Returns the new incidents. (The service runs the three steps apart, the actions off the store's
    thread: `plan_trips`, `act`, `record_trips`.)"""
    pending = plan_trips(store, policy, actions, now, tools)
    act(pending)
    return record_trips(store, pending, now)


# --- re-enabling -----------------------------------------------------------------------------------------


def vendor_incidents(incidents: Iterable[Incident]) -> list[Incident]:
    """The incidents this module recorded with actions (the ones a re-enable may have to undo)."""
    return [i for i in incidents if i.evidence.get("source") == "vendor_api" and i.evidence.get("actions")]


def _trip_of(incident: Incident) -> TripContext:
    ev = incident.evidence
    email = next((r.get("email") for r in ev.get("actions", []) if r.get("action") == "cursor_spend_limit"), None)
    return TripContext(incident.person, incident.day, tuple(ev.get("tools", ())),
                       int(ev.get("spend_today_micros", 0)), int(ev.get("threshold_micros", 0)), incident.id,
                       incident.cause, email)


def undo_vendor_actions(actions: BreakerActions, incidents: Iterable[Incident], by: str, now: datetime,
                        reason: str | None = None) -> list[tuple[Incident, dict[str, Any]]]:
    """Undo (Cursor: the previous limit back) or notify (webhook) each action recorded on the re-enabled
    `incidents`; the store is not touched (the dashboard runs this off the store's thread). Never raises."""
    done: list[tuple[Incident, dict[str, Any]]] = []
    for incident in vendor_incidents(incidents):
        if incident.reenabled_at is None:
            continue  # still open: nothing to undo yet
        ctx = ReenableContext(_trip_of(incident), by, reason or incident.reenable_reason, now)
        for record in incident.evidence["actions"]:
            name = record.get("action", "")
            action = actions.by_name(name)
            if action is None:
                if name == "cursor_spend_limit" and record.get("ok"):
                    done.append((incident, {"action": f"{name}_restore", "email": record.get("email"),
                                            "ok": False, "error": "no Cursor breaker action is configured to "
                                            "restore the previous limit with"}))
                continue
            try:
                out = action.on_reenable(ctx, record)
            except Exception as exc:
                out = {"action": f"{name}_restore", "ok": False, "error": _failure(exc)}
            if out is not None:
                done.append((incident, out))
    return done


def audit_restores(store: Any, person: str, restored: Iterable[tuple[Incident, dict[str, Any]]], by: str,
                   now: datetime) -> list[dict[str, Any]]:
    """One `breaker_action_restore` audit entry per record; returns the records (with their incident)."""
    records = []
    for incident, record in restored:
        entry = {"incident": incident.id, "day": incident.day, "by": by, **record}
        store.audit(AuditEntry(now, ACTOR, "breaker_action_restore", person, entry))
        records.append(entry)
    return records


def restore_after_reenable(store: Any, actions: BreakerActions, person: str, incidents: Iterable[Incident],
                           by: str, now: datetime) -> list[dict[str, Any]]:
    """For the re-enabled `incidents` that carry action records: undo them, audit each, return the records.
    An incident whose restore is already in the audit log is not restored twice."""
    done = {a.detail.get("incident") for a in store.audit_log(subject=person, limit=1000, newest_first=True)
            if a.action == "breaker_action_restore"}
    todo = [i for i in incidents if i.id not in done]
    return audit_restores(store, person, undo_vendor_actions(actions, todo, by, now), by, now)


async def reenable_vendor_incidents(read: Callable[..., Any], actions: BreakerActions | None, person: str,
                                    open_before: Sequence[Incident], by: str, reason: str, now: datetime
                                    ) -> list[dict[str, Any]]:
    """After a re-enable (the dashboard's, or the gateway's `POST /tokenpulse/v1/reenable`): close the
    person's vendor-API incidents still open (the gateway's enforcer closes only its own), then undo what the
    trips this re-enable closed did (Cursor: the previous spend limit back), the vendor calls off the store's
    thread. `read` runs a call on the store's thread; `open_before` are the person's open incidents before
    the re-enable. Returns the restore records (audited)."""
    import asyncio

    wanted = {i.id for i in open_before}
    vendor_open = [i for i in open_before if i.evidence.get("source") == "vendor_api"]

    def close_vendor(store: Any) -> list[Incident]:
        for _ in open_before:
            still = {i.id for i in store.incidents(person=person, open_only=True)}
            left = [i for i in vendor_open if i.id in still]
            if not left:
                break
            store.close_incident(person, left[0].day, by, reason, now)
        after = [i for day in sorted({i.day for i in open_before}) for i in store.incidents(person=person, day=day)]
        return [i for i in after if i.id in wanted and i.reenabled_at is not None]

    closed = await read(close_vendor)
    if actions is None or not closed:
        return []
    undone = await asyncio.to_thread(undo_vendor_actions, actions, closed, by, now, reason)
    if not undone:
        return []
    return await read(lambda store: audit_restores(store, person, undone, by, now))


# --- after a sync ------------------------------------------------------------------------------------------


def vendor_breaker_policy(settings: Any, saved: Mapping[str, Any] | None = None) -> BreakerPolicy:
    """The breaker policy the gateway enforces: `[gateway.breaker]`, or the one an admin saved on the
    dashboard's Policies page (`saved`, the store's org settings), which wins."""
    from .gateway.enforce import breaker_policy
    from .gateway.settings import gateway_settings

    options = gateway_settings(settings)
    if saved and "breaker" in saved:
        options.breaker = dict(saved["breaker"])
    return breaker_policy(options)


def configured(store: Any, settings: Any, env: Mapping[str, str] | None = None, **client_options: Any
               ) -> tuple[BreakerPolicy, BreakerActions]:
    """The breaker policy and actions configured (the policy an admin saved in the dashboard winning)."""
    import os

    actions = BreakerActions.from_settings(settings.tables, os.environ if env is None else env, **client_options)
    return vendor_breaker_policy(settings, store.org_settings()), actions


def check_after_sync(store: Any, settings: Any, now: datetime, env: Mapping[str, str] | None = None,
                     **client_options: Any) -> list[Incident]:
    """`check_vendor_breakers` with the configured policy and actions (what `tokenpulse sync` runs once the
    vendors' usage is stored)."""
    policy, actions = configured(store, settings, env, **client_options)
    return check_vendor_breakers(store, policy, actions, now)
