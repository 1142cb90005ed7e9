"""Incidents, overrides and the audit log: the same behaviour on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tokenpulse.store.governance import AuditEntry, Incident, OverrideRecord

T0 = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)


def test_an_incident_is_recorded_then_closed_by_a_reenable(any_store) -> None:
    trip = Incident("alice@example.com", "2026-12-04", "loop", T0,
                    evidence={"repeats": 14, "prompt_hash": "9b2e", "spend_micros": 41_250_000})
    shadow = Incident("alice@example.com", "2026-12-04", "spend_rate", T0 - timedelta(minutes=5), shadow=True)
    any_store.record_incident(shadow)
    any_store.record_incident(trip)
    any_store.record_incident(trip)  # recorded once however often it is sent

    assert [i.id for i in any_store.incidents(person="alice@example.com")] == [shadow.id, trip.id]
    assert [i.id for i in any_store.incidents(day="2026-12-04", open_only=True)] == [trip.id]  # shadow trips never block

    closed = any_store.close_incident("alice@example.com", "2026-12-04", "alice@example.com", "migrating a repo",
                                      T0 + timedelta(minutes=2))
    assert closed is not None and closed.id == trip.id
    [stored] = [i for i in any_store.incidents(person="alice@example.com") if i.id == trip.id]
    assert (stored.cause, stored.evidence, stored.reenabled_by, stored.reenable_reason, stored.reenabled_at) == (
        "loop", {"repeats": 14, "prompt_hash": "9b2e", "spend_micros": 41_250_000}, "alice@example.com",
        "migrating a repo", T0 + timedelta(minutes=2))
    assert any_store.incidents(open_only=True) == []
    assert any_store.close_incident("alice@example.com", "2026-12-04", "alice@example.com", "again", T0) is None


def test_overrides_are_kept_per_scope_and_period(any_store) -> None:
    scope = "person:alice@example.com|tool:claude_code"
    first = OverrideRecord(scope, "2026-12", 50_000_000, "release week", "alice@example.com", T0)
    any_store.add_override(first)
    any_store.add_override(OverrideRecord(scope, "2026-11", 10_000_000, "old", "alice@example.com", T0 - timedelta(days=30)))
    any_store.add_override(OverrideRecord("team:payments", "2026-12", 1, "team", "bob@example.com", T0))
    found = any_store.overrides_for("2026-12", [scope])
    assert [(o.id, o.raise_micros, o.reason, o.granted_at) for o in found] == [(first.id, 50_000_000, "release week", T0)]
    assert any_store.overrides_for("2026-12", []) == []
    assert sorted(o.scope for o in any_store.overrides_for("2026-12")) == [scope, "team:payments"]


def test_the_audit_log_keeps_who_did_what(any_store) -> None:
    any_store.audit(AuditEntry(T0, "gateway", "breaker_trip", "alice@example.com", {"cause": "loop"}))
    any_store.audit(AuditEntry(T0 + timedelta(seconds=1), "alice@example.com", "reenable", "alice@example.com",
                               {"reason": "migrating a repo"}))
    any_store.audit(AuditEntry(T0, "gateway", "budget_alert", "bob@example.com", {"threshold": 80}))
    entries = any_store.audit_log(subject="alice@example.com")
    assert [(e.actor, e.action, e.detail) for e in entries] == [
        ("gateway", "breaker_trip", {"cause": "loop"}),
        ("alice@example.com", "reenable", {"reason": "migrating a repo"})]
    assert len(any_store.audit_log()) == 3
