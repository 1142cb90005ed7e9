"""Circuit-breaker actions for the tools outside the gateway: Cursor's spend limit, a webhook for the others.

Real stores, real HTTP to the fake Cursor Admin API and to a webhook receiver on 127.0.0.1, the dashboard's
re-enable route over real HTTP, and an injected clock (nothing sleeps)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from app_thread import serving
from fake_cursor import CURSOR_KEY, LIMIT, FakeCursor

from tokenpulse.breaker_actions import (
    BreakerActions,
    CursorSpendLimitAction,
    VendorFigures,
    WebhookAction,
    check_vendor_breakers,
    cursor_email,
    decide_vendor_trip,
    restore_after_reenable,
)
from tokenpulse.config import Settings
from tokenpulse.errors import ConfigError
from tokenpulse.events import UsageEvent
from tokenpulse.keys import ApiKey
from tokenpulse.people import Person
from tokenpulse.policy import BreakerPolicy
from tokenpulse.server.http import errors_middleware
from tokenpulse.sources.vendors.cursor import cursor_client, set_spend_limit
from tokenpulse.store.governance import Incident
from tokenpulse.web import actions as web_actions
from tokenpulse.web.state import DASHBOARD, Dashboard

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # the fake's events are of 2026-11-01, 01:00–05:00 UTC
TODAY = "2026-11-01"
POLICY = BreakerPolicy(tz="UTC", floor_micros=100_000, rate_limit_micros=None, loop_repeats=None)
"""Trips above $0.10 a day (k × baseline when that is more)."""
SHADOW = BreakerPolicy(tz="UTC", floor_micros=100_000, rate_limit_micros=None, loop_repeats=None, shadow=True)


def usage(person: str, tool: str, at: datetime, micros: int, n: int = 0, *, source: str = "vendor_api",
          list_micros: int | None = None) -> UsageEvent:
    return UsageEvent(id=f"{tool}:{person}:{at.isoformat()}:{n}", ts=at, tool=tool, person=person, model="gpt-5",
                      source=source, confidence="billed" if source == "vendor_api" else "metered",
                      reported_cost_micros=micros if source == "vendor_api" else None,
                      # As the price book stores it: a billed event's cost is its bill.
                      cost_micros=micros if source == "vendor_api" or list_micros is None else list_micros)


@pytest.fixture
def client(cursor: FakeCursor, sleeps: list[float]):
    return cursor_client(CURSOR_KEY, cursor.url, sleep=sleeps.append)


@dataclass
class Receiver:
    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1: records each JSON body; answers 500 every time while `fail`."""
    state = Receiver()

    async def hook(request: web.Request) -> web.Response:
        state.received.append(await request.json())
        return web.Response(status=500 if state.fail else 200, text="ok")

    app = web.Application()
    app.router.add_post("/hook/T000/secret", hook)
    with serving(app, "webhook-receiver") as url:
        state.url = f"{url}/hook/T000/secret"
        yield state


def cursor_actions(cursor: FakeCursor, sleeps: list[float], **table: Any) -> BreakerActions:
    return BreakerActions.from_settings(
        {"vendors": {"cursor": {"breaker_action": "spend_limit", "base_url": cursor.url, **table}}},
        {"CURSOR_ADMIN_KEY": CURSOR_KEY}, sleep=sleeps.append)


def limit_posts(cursor: FakeCursor) -> list[Any]:
    return cursor.bodies(LIMIT)


# --- the dashboard's re-enable route, over real HTTP ------------------------------------------------------


@dataclass
class DashboardServer:
    url: str
    dashboard: Dashboard

    def reenable(self, person: str, reason: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(f"{self.url}/api/v1/incidents/reenable", method="POST",
                                         data=json.dumps({"person": person, "reason": reason}).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read())


@pytest.fixture
def dashboard_server(store, tmp_path: Path):
    """The dashboard's action routes with `store` behind them, as an admin key sees them (the service's key
    check is replaced by one fixed admin key); the test's clock."""
    def serve(actions: BreakerActions | None, enforcer: Any = None):
        async def read(call: Any) -> Any:
            return call(store)

        settings = Settings(home=tmp_path, db=tmp_path / "x.duckdb", tz="UTC")
        dashboard = Dashboard(read, settings, tz="UTC", clock=lambda: NOW + timedelta(hours=2),
                              enforcer=enforcer, breaker_actions=actions)

        @web.middleware
        async def admin_key(request: web.Request, handler: Any) -> web.StreamResponse:
            with warnings.catch_warnings():  # the service's key middleware stores it under this name too
                warnings.simplefilter("ignore", web.NotAppKeyWarning)
                request["key"] = ApiKey(id="k1", kind="admin", name="admin")
            return await handler(request)

        app = web.Application(middlewares=[errors_middleware, admin_key])
        app[DASHBOARD] = dashboard
        web_actions.add_routes(app)
        return app, dashboard

    @contextmanager
    def running_dashboard(actions: BreakerActions | None, enforcer: Any = None) -> Iterator[DashboardServer]:
        app, dashboard = serve(actions, enforcer)
        with serving(app, "dashboard") as url:
            yield DashboardServer(url, dashboard)

    return running_dashboard


# --- end to end: Cursor ------------------------------------------------------------------------------------


def test_cursor_usage_above_the_threshold_sets_the_spend_limit_and_a_reenable_restores_it(
        store, cursor: FakeCursor, client, sleeps: list[float], dashboard_server) -> None:
    from tokenpulse.sync import sync_vendor

    set_spend_limit(client, "dev@company.com", 250)  # the limit Dev had before
    sync_vendor(store, "cursor", client, now=NOW)
    cursor.requests.clear()
    actions = cursor_actions(cursor, sleeps)

    # Dev was charged $0.140123 today (above the $0.10 floor; no earlier day); Ana $0.0375, Bo $0.04.
    [incident] = check_vendor_breakers(store, POLICY, actions, NOW)
    assert (incident.person, incident.day, incident.cause, incident.shadow) == (
        "dev@company.com", TODAY, "daily_spend", False)
    assert cursor.limits["dev@company.com"] == 0  # the trip limit: no further on-demand spend
    assert limit_posts(cursor) == [{"email": "dev@company.com", "hardLimitDollars": 0}]
    ev = incident.evidence
    assert ev["source"] == "vendor_api" and ev["tools"] == ["cursor"]
    assert (ev["spend_today_micros"], ev["threshold_micros"], ev["baseline_micros"]) == (140_123, 100_000, 0)
    assert ev["actions"] == [{"action": "cursor_spend_limit", "email": "dev@company.com",
                              "previous_hard_limit_dollars": "250", "set_hard_limit_dollars": "0", "ok": True}]
    [stored] = store.incidents(person="dev@company.com")
    assert stored.id == incident.id and stored.evidence == ev
    trail = [(a.actor, a.action, a.subject) for a in store.audit_log()]
    assert trail == [("tokenpulse", "breaker_trip", "dev@company.com"),
                     ("tokenpulse", "breaker_action", "dev@company.com")]
    assert store.audit_log()[1].detail == {"incident": incident.id, "day": TODAY, **ev["actions"][0]}
    assert store.incidents(person="ana@company.com") == [] and store.incidents(person="bo@company.com") == []
    assert sleeps == []

    # Checked again the same day (after another sync): the open incident stands, nothing new is done.
    sync_vendor(store, "cursor", client, now=NOW + timedelta(minutes=30))
    before = len(limit_posts(cursor))
    assert check_vendor_breakers(store, POLICY, actions, NOW + timedelta(hours=1)) == []
    assert len(limit_posts(cursor)) == before and len(store.incidents()) == 1

    # Re-enabled through the dashboard: the previous limit is back, and the restore is audited.
    with dashboard_server(actions) as dash:
        status, answer = dash.reenable("dev@company.com", "a big refactor, intended")
    assert status == 200, answer
    assert answer["reenabled"] is True and answer["days"] == [TODAY]
    assert cursor.limits["dev@company.com"] == 250
    assert limit_posts(cursor)[-1] == {"email": "dev@company.com", "hardLimitDollars": 250}
    [restored] = answer["vendor_actions"]
    assert restored == {"incident": incident.id, "day": TODAY, "by": "admin-key:k1",
                        "action": "cursor_spend_limit_restore", "email": "dev@company.com",
                        "restored_hard_limit_dollars": "250", "ok": True}
    [closed] = store.incidents(person="dev@company.com")
    assert closed.reenabled_at is not None and closed.reenable_reason == "a big refactor, intended"
    audit = [(a.action, a.subject) for a in store.audit_log()]
    assert audit[-2:] == [("reenable", "dev@company.com"), ("breaker_action_restore", "dev@company.com")]
    assert store.audit_log()[-1].detail == restored

    # Re-enabled today, Dev's threshold is now raised over the spend at the trip: the next check leaves them be.
    assert check_vendor_breakers(store, POLICY, actions, NOW + timedelta(hours=3)) == []
    assert cursor.limits["dev@company.com"] == 250


def test_no_override_before_the_trip_is_restored_as_none_and_an_alias_gives_the_email(
        any_store, cursor: FakeCursor, sleeps: list[float]) -> None:
    # The person is keyed by a handle; their Cursor email is an alias of theirs.
    any_store.save_people([Person("ana", aliases=["ana@company.com", "github-login:ana-gh"])])
    any_store.write_batch([usage("ana", "cursor", NOW - timedelta(hours=2), 80_000, 1),
                           usage("ana", "cursor", NOW - timedelta(hours=1), 70_000, 2)])
    actions = cursor_actions(cursor, sleeps, trip_limit_dollars="5")
    [incident] = check_vendor_breakers(any_store, POLICY, actions, NOW)
    assert incident.evidence["actions"] == [{"action": "cursor_spend_limit", "email": "ana@company.com",
                                             "previous_hard_limit_dollars": None, "set_hard_limit_dollars": "5",
                                             "ok": True}]
    assert cursor.limits["ana@company.com"] == 5

    closed = any_store.close_incident("ana", TODAY, "ana", "intended", NOW + timedelta(hours=1))
    records = restore_after_reenable(any_store, actions, "ana", [closed], "ana", NOW + timedelta(hours=1))
    assert [r["restored_hard_limit_dollars"] for r in records] == [None]
    assert limit_posts(cursor)[-1] == {"email": "ana@company.com", "hardLimitDollars": None}  # null: no override
    assert cursor.limits["ana@company.com"] is None
    assert [a.action for a in any_store.audit_log(subject="ana")][-1] == "breaker_action_restore"
    # Restored once: asked again (or for a still-open incident), nothing more is sent to Cursor.
    posts = len(limit_posts(cursor))
    assert restore_after_reenable(any_store, actions, "ana", [closed], "ana", NOW + timedelta(hours=2)) == []
    assert restore_after_reenable(any_store, actions, "ana", [incident], "ana", NOW + timedelta(hours=2)) == []
    assert len(limit_posts(cursor)) == posts


def test_a_limit_changed_in_cursor_since_the_trip_is_left_alone(any_store, cursor: FakeCursor, client,
                                                                sleeps: list[float]) -> None:
    any_store.write_batch([usage("dev@company.com", "cursor", NOW - timedelta(hours=1), 500_000)])
    actions = cursor_actions(cursor, sleeps)
    [incident] = check_vendor_breakers(any_store, POLICY, actions, NOW)
    # Not re-enabled yet: nothing to restore.
    assert restore_after_reenable(any_store, actions, "dev@company.com", [incident], "dev@company.com", NOW) == []
    assert cursor.limits["dev@company.com"] == 0
    set_spend_limit(client, "dev@company.com", 40)  # an admin raised it by hand meanwhile
    closed = any_store.close_incident("dev@company.com", TODAY, "dev@company.com", "ok", NOW)
    [record] = restore_after_reenable(any_store, actions, "dev@company.com", [closed], "dev@company.com", NOW)
    assert record["ok"] is True and "left alone" in record["skipped"]
    assert cursor.limits["dev@company.com"] == 40


def test_below_the_threshold_nothing_happens(any_store, cursor: FakeCursor, sleeps: list[float]) -> None:
    # Usual days of $0.20: the threshold is 3 × $0.20 = $0.60, and today's $0.50 is below it.
    earlier = [usage("dev@company.com", "cursor", NOW - timedelta(days=d), 200_000, d) for d in range(1, 6)]
    any_store.write_batch([*earlier, usage("dev@company.com", "cursor", NOW - timedelta(hours=1), 500_000)])
    assert check_vendor_breakers(any_store, POLICY, cursor_actions(cursor, sleeps), NOW) == []
    assert cursor.requests == [] and any_store.incidents() == [] and any_store.audit_log() == []

    # Gateway spend counts too (all tools, as the gateway counts a day): $0.15 more puts Dev over.
    any_store.write_batch([usage("dev@company.com", "claude_code", NOW - timedelta(minutes=5), 150_000,
                                 source="gateway")])
    [incident] = check_vendor_breakers(any_store, POLICY, cursor_actions(cursor, sleeps), NOW)
    assert incident.evidence["tools"] == ["cursor"]
    assert (incident.evidence["spend_today_micros"], incident.evidence["threshold_micros"],
            incident.evidence["baseline_micros"]) == (650_000, 600_000, 200_000)


# --- webhooks -----------------------------------------------------------------------------------------------


def test_a_copilot_only_person_gets_the_webhook_on_trip_and_on_reenable(any_store, receiver: Receiver) -> None:
    any_store.write_batch([usage("cy@company.com", "copilot", NOW - timedelta(hours=3), 300_000)])
    actions = BreakerActions(webhook=WebhookAction(receiver.url, sleep=pytest.fail))
    [incident] = check_vendor_breakers(any_store, POLICY, actions, NOW)
    [payload] = receiver.received
    assert payload["tokenpulse"] == {"event": "breaker_trip", "person": "cy@company.com", "day": TODAY,
                                     "cause": "daily_spend", "tools": ["copilot"], "spend_today_usd": "0.300000",
                                     "threshold_usd": "0.100000", "incident": incident.id}
    assert "cy@company.com" in payload["text"] and "$0.30" in payload["text"]
    [record] = incident.evidence["actions"]
    host = receiver.url.split("/hook")[0]
    assert record == {"action": "webhook", "event": "breaker_trip", "to": host, "ok": True, "attempts": 1,
                      "status": 200}
    assert "secret" not in json.dumps(incident.evidence)  # the URL's path (its secret) is not recorded

    closed = any_store.close_incident("cy@company.com", TODAY, "cy@company.com", "release day", NOW)
    [restore] = restore_after_reenable(any_store, actions, "cy@company.com", [closed], "cy@company.com", NOW)
    assert restore["action"] == "webhook_restore" and restore["ok"] is True
    assert receiver.received[1]["tokenpulse"]["event"] == "reenable"
    assert receiver.received[1]["tokenpulse"]["reason"] == "release day"


def test_a_failing_webhook_is_recorded_and_the_incident_kept(any_store, receiver: Receiver) -> None:
    receiver.fail = True
    waits: list[float] = []
    any_store.write_batch([usage("cy@company.com", "copilot", NOW - timedelta(hours=3), 300_000)])
    actions = BreakerActions(webhook=WebhookAction(receiver.url, sleep=waits.append))
    [incident] = check_vendor_breakers(any_store, POLICY, actions, NOW)
    assert len(receiver.received) == 3 and waits == [0.5, 1.0]  # three attempts, backing off (not slept)
    [record] = incident.evidence["actions"]
    assert record["ok"] is False and record["status"] == 500 and record["attempts"] == 3
    assert "HTTP 500" in record["error"]
    assert [i.id for i in any_store.incidents(person="cy@company.com")] == [incident.id]
    [entry] = [a for a in any_store.audit_log() if a.action == "breaker_action"]
    assert entry.detail["ok"] is False and "HTTP 500" in entry.detail["error"]


def test_a_webhook_nobody_listens_to_and_a_cursor_failure_are_recorded(any_store, cursor: FakeCursor,
                                                                      sleeps: list[float]) -> None:
    # zed is not a member of the Cursor team; the webhook's port has nothing listening.
    any_store.write_batch([usage("zed@company.com", "cursor", NOW - timedelta(hours=1), 900_000),
                           usage("zed@company.com", "copilot", NOW - timedelta(hours=1), 100_000)])
    actions = cursor_actions(cursor, sleeps)
    actions.webhook = WebhookAction("http://127.0.0.1:9/nothing", timeout_seconds=2, sleep=sleeps.append)
    [incident] = check_vendor_breakers(any_store, POLICY, actions, NOW)
    cursor_record, webhook_record = incident.evidence["actions"]
    assert cursor_record["ok"] is False and "not a member" in cursor_record["error"]
    assert webhook_record["ok"] is False and webhook_record["attempts"] == 3
    assert incident.evidence["tools"] == ["copilot", "cursor"]
    assert limit_posts(cursor) == [] and any_store.incidents(person="zed@company.com")
    # Nothing was changed in Cursor, so a re-enable has nothing to restore there.
    closed = any_store.close_incident("zed@company.com", TODAY, "zed@company.com", "ok", NOW)
    actions.webhook = None
    assert restore_after_reenable(any_store, actions, "zed@company.com", [closed], "zed@company.com", NOW) == []


# --- shadow mode ------------------------------------------------------------------------------------------


def test_shadow_mode_records_a_shadow_incident_and_calls_no_action(any_store, cursor: FakeCursor,
                                                                   receiver: Receiver, sleeps: list[float]) -> None:
    any_store.write_batch([usage("dev@company.com", "cursor", NOW - timedelta(hours=1), 500_000),
                           usage("cy@company.com", "copilot", NOW - timedelta(hours=1), 500_000)])
    actions = cursor_actions(cursor, sleeps)
    actions.webhook = WebhookAction(receiver.url, sleep=sleeps.append)
    incidents = check_vendor_breakers(any_store, SHADOW, actions, NOW)
    assert sorted(i.person for i in incidents) == ["cy@company.com", "dev@company.com"]
    assert all(i.shadow and i.evidence["actions"] == [] for i in incidents)
    assert cursor.requests == [] and receiver.received == []
    assert [a.action for a in any_store.audit_log()] == ["breaker_trip", "breaker_trip"]
    assert all(a.detail["shadow"] is True for a in any_store.audit_log())
    # One would-trip a day.
    assert check_vendor_breakers(any_store, SHADOW, actions, NOW + timedelta(hours=1)) == []
    assert len(any_store.incidents()) == 2


# --- the dashboard with a live enforcer ---------------------------------------------------------------------


class StubEnforcer:
    """What `Enforcer.reenable` does to the record: closes the person's latest open incident of the day."""

    def __init__(self, store: Any):
        self.store = store
        self.calls: list[tuple[str, str, str]] = []

    async def reenable(self, person: str, by: str, reason: str) -> dict[str, Any]:
        self.calls.append((person, by, reason))
        self.store.close_incident(person, TODAY, by, reason, NOW)
        return {"person": person, "day": TODAY, "reenabled": True, "cause": "spend_rate"}


def test_the_enforcer_path_also_closes_and_restores_the_vendor_incident(store, cursor: FakeCursor, client,
                                                                        sleeps: list[float], dashboard_server
                                                                        ) -> None:
    set_spend_limit(client, "dev@company.com", 75)
    store.write_batch([usage("dev@company.com", "cursor", NOW - timedelta(hours=1), 500_000)])
    actions = cursor_actions(cursor, sleeps)
    [vendor] = check_vendor_breakers(store, POLICY, actions, NOW)
    # Then the gateway trips too (its incident is the latest open one of the day).
    store.record_incident(Incident("dev@company.com", TODAY, "spend_rate", NOW + timedelta(minutes=5)))
    enforcer = StubEnforcer(store)
    with dashboard_server(actions, enforcer) as dash:
        status, answer = dash.reenable("dev@company.com", "intended")
    assert status == 200, answer
    assert enforcer.calls == [("dev@company.com", "admin-key:k1", "intended")]
    assert store.incidents(person="dev@company.com", open_only=True) == []
    assert [r["incident"] for r in answer["vendor_actions"]] == [vendor.id]
    assert cursor.limits["dev@company.com"] == 75


def test_without_configured_actions_the_reenable_route_still_closes_everything(store, dashboard_server) -> None:
    store.write_batch([usage("dev@company.com", "cursor", NOW - timedelta(hours=1), 500_000)])
    check_vendor_breakers(store, POLICY, BreakerActions(), NOW)
    with dashboard_server(None) as dash:
        status, answer = dash.reenable("dev@company.com", "intended")
        assert status == 200 and "vendor_actions" not in answer
        assert dash.reenable("dev@company.com", "again")[0] == 409
    assert store.incidents(person="dev@company.com", open_only=True) == []


# --- the pure parts and the settings --------------------------------------------------------------------------


def test_the_trip_decision_is_a_pure_function_of_the_figures() -> None:
    figures = VendorFigures("p", ("cursor",), spend_today_micros=700_000,
                            previous_days_micros=[0, 200_000, 0, 100_000])
    trip = decide_vendor_trip(figures, POLICY, NOW)
    assert trip is not None and (trip.threshold_micros, trip.baseline_micros, trip.day) == (600_000, 200_000, TODAY)
    assert decide_vendor_trip(VendorFigures("p", ("cursor",), 600_000, [200_000]), POLICY, NOW) is None
    assert decide_vendor_trip(VendorFigures("p", ("cursor",), 700_000, [200_000], open_incident=True),
                              POLICY, NOW) is None
    # After a re-enable at $0.70: max($0.60 + $0.60, $0.70 + $0.60) = $1.30.
    again = VendorFigures("p", ("cursor",), 1_250_000, [200_000], reenables_today=1,
                          spend_at_last_trip_micros=700_000)
    assert decide_vendor_trip(again, POLICY, NOW) is None
    assert decide_vendor_trip(VendorFigures("p", ("cursor",), 1_300_001, [200_000], reenables_today=1,
                                            spend_at_last_trip_micros=700_000), POLICY, NOW) is not None
    assert decide_vendor_trip(VendorFigures("p", (), 9_000_000), POLICY, NOW) is None
    assert decide_vendor_trip(VendorFigures("p", ("copilot",), 9_000_000, shadow_incident=True), SHADOW, NOW) is None
    # The day is the policy's: 23:30 UTC on Nov 1 is Nov 2 in Tokyo.
    tokyo = BreakerPolicy(tz="Asia/Tokyo", floor_micros=100_000)
    late = decide_vendor_trip(VendorFigures("p", ("cursor",), 200_000), tokyo, datetime(2026, 11, 1, 23, 30, tzinfo=UTC))
    assert late is not None and late.day == "2026-11-02"


def test_the_cursor_email_rule() -> None:
    assert cursor_email("Dev@Company.com") == "dev@company.com"
    assert cursor_email("dev", ["github-login:dev", "zz@company.com", "dev@company.com"]) == "dev@company.com"
    assert cursor_email("dev", ["github-login:dev"]) is None


def test_the_settings(cursor: FakeCursor) -> None:
    tables = {"vendors": {"breaker_webhook": "https://hooks.example.com/services/T0/B0/s3cr3t",
                          "breaker_webhook_timeout_seconds": 3,
                          "cursor": {"breaker_action": "spend_limit", "trip_limit_dollars": "2.50",
                                     "base_url": cursor.url}}}
    actions = BreakerActions.from_settings(tables, {"CURSOR_ADMIN_KEY": CURSOR_KEY})
    assert isinstance(actions.cursor, CursorSpendLimitAction)
    assert actions.cursor.trip_limit_dollars == Decimal("2.50")
    assert actions.webhook is not None and actions.webhook.timeout_seconds == 3.0
    assert [a.name for a in actions.for_tools(["cursor"])] == ["cursor_spend_limit", "webhook"]
    assert [a.name for a in actions.for_tools(["copilot"])] == ["webhook"]
    shown = repr(actions)
    assert CURSOR_KEY not in shown and "s3cr3t" not in shown
    assert BreakerActions.from_settings({}, {}) == BreakerActions()
    assert BreakerActions.from_settings({"vendors": {"cursor": {"breaker_action": "none"}}},
                                        {"CURSOR_ADMIN_KEY": CURSOR_KEY}).cursor is None
    with pytest.raises(ConfigError, match="CURSOR_ADMIN_KEY") as missing:
        BreakerActions.from_settings({"vendors": {"cursor": {"breaker_action": "spend_limit"}}}, {})
    assert CURSOR_KEY not in str(missing.value)
    for bad in ({"cursor": {"breaker_action": "block"}}, {"breaker_webhook": "ftp://x"},
                {"cursor": {"breaker_action": "spend_limit", "trip_limit_dollars": "-1"}}):
        with pytest.raises(ConfigError):
            BreakerActions.from_settings({"vendors": bad}, {"CURSOR_ADMIN_KEY": CURSOR_KEY})


def test_the_dashboard_keeps_the_actions(tmp_path: Path) -> None:
    async def read(call: Any) -> Any:
        return None

    settings = Settings(home=tmp_path, db=tmp_path / "x.duckdb", tz="UTC")
    assert Dashboard(read, settings, tz="UTC").breaker_actions is None
    actions = BreakerActions()
    assert Dashboard(read, settings, tz="UTC", breaker_actions=actions).breaker_actions is actions
    assert asyncio.iscoroutinefunction(web_actions.reenable)


def test_tokenpulse_reenable_through_the_gateway_restores_a_vendor_trip(cursor: FakeCursor, client,
                                                                         tmp_path: Path) -> None:
    """`tokenpulse reenable` goes to the gateway's admin API: a trip on vendor data is not in the gateway's
    counters, yet re-enabling it there closes the incident and puts the Cursor limit back."""
    from http_helpers import call
    from service_process import ServiceProcess
    from tokenpulse.keys import hash_secret, new_key
    from tokenpulse.store import open_store
    from tokenpulse.sync import sync_vendor

    location = str(tmp_path / "gw" / "tokenpulse.duckdb")
    store = open_store(location)
    try:
        set_spend_limit(client, "dev@company.com", 250)
        sync_vendor(store, "cursor", client, now=NOW)
        [incident] = check_vendor_breakers(store, POLICY, cursor_actions(cursor, []), NOW)
        secret, key = new_key("gateway", now=NOW, person="dev@company.com")
        store.add_key(key, hash_secret(secret))
    finally:
        store.close()
    assert cursor.limits["dev@company.com"] == 0
    home = tmp_path / "gw-home"
    home.mkdir()
    (home / "tokenpulse.toml").write_text(f'[vendors.cursor]\nbase_url = "{cursor.url}"\n'
                                          f'breaker_action = "spend_limit"\nadmin_key = "{CURSOR_KEY}"\n')
    gateway = ServiceProcess(["tokenpulse", "--db", location, "gateway", "--port", "0", "--anthropic-upstream",
                              "http://127.0.0.1:9", "--openai-upstream", "http://127.0.0.1:9"],
                             env={"TOKENPULSE_HOME": str(home), "TOKENPULSE_TZ": "UTC"}).start()
    try:
        status, _, body = call("POST", gateway.url + "/tokenpulse/v1/reenable",
                               json.dumps({"reason": "an intended batch job"}).encode(),
                               {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
    finally:
        gateway.stop()
    answer = json.loads(body)
    assert status == 200, answer
    assert answer["reenabled"] is True and answer["days"] == [TODAY]
    assert [a["action"] for a in answer["vendor_actions"]] == ["cursor_spend_limit_restore"]
    assert cursor.limits["dev@company.com"] == 250
    assert CURSOR_KEY not in "".join(gateway.log)
    store = open_store(location)
    try:
        [closed] = store.incidents(person="dev@company.com")
        assert closed.id == incident.id and closed.reenable_reason == "an intended batch job"
        assert [a.action for a in store.audit_log()][-2:] == ["reenable", "breaker_action_restore"]
    finally:
        store.close()
