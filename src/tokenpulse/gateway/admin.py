"""The gateway's own small API, for people and tools rather than AI clients:

- `GET  /tokenpulse/v1/status`   — my spend today, my budgets, my breaker;
- `POST /tokenpulse/v1/reenable` — `{"reason": "…"}`: re-enable my tripped breaker for the rest of the day;
- `POST /tokenpulse/v1/override` — `{"raise_usd": "50", "reason": "…", "budget": "<scope>"}`: raise my own cap
  for this period, within the policy;
- `GET  /tokenpulse/v1/incidents` — breaker trips (mine; every one with an admin key).

A person calls them with their gateway key (self-service); an admin key may act for anyone by naming
`person`. Errors use the service's one JSON error shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from ..errors import DECODE_ERRORS, RequestError, TokenpulseError, json_problem
from ..keys import ApiKey, bearer_token
from ..server.http import json_response
from ..store.governance import AuditEntry

if TYPE_CHECKING:
    from .service import Gateway


PREFIX = "/tokenpulse/v1/"


def add_routes(app: web.Application) -> None:
    app.router.add_get(PREFIX + "status", _status)
    app.router.add_post(PREFIX + "reenable", _reenable)
    app.router.add_post(PREFIX + "override", _override)
    app.router.add_get(PREFIX + "incidents", _incidents)


def _gateway(request: web.Request) -> Gateway:
    from .service import GATEWAY

    return request.app[GATEWAY]


async def require_key(request: web.Request, kinds: tuple[str, ...] = ("gateway", "admin")) -> ApiKey:
    secret = bearer_token(request.headers.get("Authorization")) or request.headers.get("x-api-key")
    if not secret:
        raise RequestError("missing credentials: send `Authorization: Bearer <your tp- key>`", 401)
    key = await _gateway(request).keys.lookup(secret)
    if key is None or key.revoked_at is not None:
        raise RequestError("unknown or revoked key", 401)
    if key.kind not in kinds:
        raise RequestError(f"a {key.kind} key may not do this", 403)
    return key


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = msgspec.json.decode(raw) if raw.strip() else {}
    except DECODE_ERRORS as exc:
        raise RequestError(f"the body is not JSON: {json_problem(exc)}") from None
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object")
    return body


def _person(key: ApiKey, body_or_query: Any) -> str:
    """Whom the call is about: a gateway key's owner; an admin names the person."""
    if key.kind == "gateway":
        return key.person or ""
    person = body_or_query.get("person")
    if not isinstance(person, str) or not person.strip():
        raise RequestError("an admin key must name the `person`")
    return person.strip().lower()


def _reason(body: dict[str, Any]) -> str:
    reason = body.get("reason")
    if not isinstance(reason, str) or len(reason.strip()) < 3:
        raise RequestError("say why (`reason`, a few words): it goes into the audit log", 400)
    return reason.strip()[:500]


async def _status(request: web.Request) -> web.Response:
    key = await require_key(request)
    gateway = _gateway(request)
    person = _person(key, request.query)
    return json_response(gateway.enforcer.status(person, gateway.team_of(person)))


async def _reenable(request: web.Request) -> web.Response:
    key = await require_key(request)
    body = await _body(request)
    gateway = _gateway(request)
    person = _person(key, body)
    by, reason, read = key.person or key.id, _reason(body), gateway.enforcer.read_store
    open_before = await read(lambda store: store.incidents(person=person, open_only=True)) if read else []
    vendor_trips = [i for i in open_before if i.evidence.get("source") == "vendor_api"]
    try:
        result = await gateway.enforcer.reenable(person, by=by, reason=reason)
    except TokenpulseError as exc:
        if not vendor_trips:
            raise RequestError(str(exc), 409) from None
        # Tripped on vendor data only (Cursor, Copilot: `tokenpulse.breaker_actions`), not in these counters.
        result = {"person": person, "reenabled": True, "days": sorted({i.day for i in vendor_trips})}
        now = gateway.enforcer.clock()
        await read(lambda store: store.audit(AuditEntry(now, by, "reenable", person, {
            "reason": reason, "days": result["days"], "source": "vendor_api"})))
    if read is not None and vendor_trips:
        from ..breaker_actions import reenable_vendor_incidents

        restored = await reenable_vendor_incidents(read, gateway.breaker_actions, person, open_before, by, reason,
                                                   gateway.enforcer.clock())
        if restored:
            result = {**result, "vendor_actions": restored}
    return json_response(result)


async def _override(request: web.Request) -> web.Response:
    key = await require_key(request)
    body = await _body(request)
    gateway = _gateway(request)
    person = _person(key, body)
    from .settings import usd_to_micros

    try:
        raise_micros = usd_to_micros(body.get("raise_usd"), "`raise_usd`")
        result = await gateway.enforcer.override(person, gateway.team_of(person), scope=body.get("budget"),
                                                 raise_micros=raise_micros, by=key.person or key.id,
                                                 reason=_reason(body))
    except TokenpulseError as exc:
        raise RequestError(str(exc), 409 if not isinstance(exc, RequestError) else exc.status) from None
    return json_response(result)


async def _incidents(request: web.Request) -> web.Response:
    """Trips, and the same grouped by cause: a loop on a vendor that was failing (retries of 5xx) is told
    apart from an agent looping on its own."""
    key = await require_key(request)
    person = None if key.kind == "admin" else key.person
    incidents = await _gateway(request).writer.read(lambda store: store.incidents(person=person))
    groups: dict[str, dict[str, Any]] = {}
    for incident in incidents:
        group = groups.setdefault(incident_group(incident.cause, incident.evidence),
                                  {"incidents": 0, "people": set(), "shadow": 0})
        group["incidents"] += 1
        group["people"].add(incident.person)
        group["shadow"] += incident.shadow
    return json_response({"incidents": [i.to_json() for i in incidents],
                          "by_cause": {name: {**g, "people": sorted(g["people"])} for name, g in sorted(groups.items())}})


def incident_group(cause: str, evidence: dict[str, Any]) -> str:
    """`loop`, `spend_rate`, `daily_spend`, or `<cause> with upstream errors` when the vendor was failing
    meanwhile (at least 3 errors, and at least a third as many as the loop's repeats)."""
    errors = evidence.get("upstream_errors") or 0
    repeats = evidence.get("loop_count") or 0
    return f"{cause} with upstream errors" if errors >= max(3, repeats // 3) else cause
