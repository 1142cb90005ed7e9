"""The routes: OTLP/HTTP receivers, NDJSON ingest, reports, the people directory, health and metrics.

    GET  /healthz                      no key needed
    POST /v1/logs, /v1/metrics, /v1/traces   OTLP/HTTP, protobuf or JSON, gzip      ingest
    POST /api/v1/events                canonical NDJSON (tokenpulse-events/1)       ingest
    GET  /api/v1/reports/{kind}        daily|weekly|monthly|session|blocks, as `report --json`
    POST /api/v1/people                the directory, CSV or JSON                   admin
    GET|POST /api/v1/keys, DELETE /api/v1/keys/{id}   list, create, revoke keys   admin
    GET  /api/v1/people[/{identity}]   the directory; one person by email or alias
    GET  /api/v1/me, /api/v1/me/prompts   the calling key, and its owner's own prompts
    GET  /api/v1/me/snapshot           its owner's figures, as the widgets read them (`me --server`)
    GET  /metrics                      Prometheus                                   admin
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from aiohttp import web

from .. import __version__
from ..config import parse_week_start
from ..errors import DECODE_ERRORS, ConfigError, InvalidEvent, RequestError, json_problem
from ..keys import ApiKey, hash_secret, make_key
from ..people import normalize_identity, parse_directory
from ..reports import REPORT_KINDS, ReportOptions, report_from_rows, usage_query
from . import pipeline
from .app import SERVICE, Service
from .auth import require
from .http import JSON, PROTOBUF, json_response, media_type, read_body
from .metrics import CONTENT_TYPE

_REJECTED_FIELD = {"logs": "rejectedLogRecords", "metrics": "rejectedDataPoints", "traces": "rejectedSpans"}
_MAX_IGNORED_LABELS = 200


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", health)
    for signal in ("logs", "metrics", "traces"):
        app.router.add_post(f"/v1/{signal}", _otlp_handler(signal))
    app.router.add_post("/api/v1/events", ingest_ndjson)
    app.router.add_get("/api/v1/reports/{kind}", report)
    app.router.add_post("/api/v1/people", import_people)
    app.router.add_get("/api/v1/people", list_people)
    app.router.add_get("/api/v1/people/{identity}", find_person)
    app.router.add_get("/api/v1/keys", list_keys)
    app.router.add_post("/api/v1/keys", create_key)
    app.router.add_delete("/api/v1/keys/{id}", revoke_key)
    app.router.add_get("/api/v1/me", me)
    app.router.add_get("/api/v1/me/prompts", my_prompts)
    app.router.add_get("/api/v1/me/snapshot", my_snapshot)
    app.router.add_get("/metrics", metrics)


def _service(request: web.Request) -> Service:
    return request.app[SERVICE]


def _overrides(key: ApiKey) -> pipeline.Overrides:
    if key.kind == "personal":
        return pipeline.Overrides(person=key.person)
    return pipeline.Overrides(team=key.team if key.kind == "ingest" else None)


def _count_ignored(service: Service, decoded: pipeline.Decoded) -> None:
    for name, count in decoded.ignored.items():
        label = name if len(service.metrics.seen_ignored) < _MAX_IGNORED_LABELS or name in \
            service.metrics.seen_ignored else "(other)"
        service.metrics.seen_ignored.add(label)
        service.metrics.ignored.labels(label).inc(count)


def _record_ingest(service: Service, path: str, decoded: pipeline.Decoded) -> None:
    m = service.metrics
    m.records.labels(path, "accepted").inc(decoded.size)
    m.records.labels(path, "rejected").inc(decoded.rejected)
    m.events.labels("usage").inc(decoded.usage_count)
    m.events.labels("outcome").inc(len(decoded.outcomes) + len(decoded.cumulative))
    m.events.labels("prompt").inc(len(decoded.prompts))
    m.pending.set(service.writer.pending_events)
    _count_ignored(service, decoded)


async def health(request: web.Request) -> web.Response:
    service = _service(request)
    return json_response({"ok": True, "version": __version__, "store": service.store_label,
                          "pending_events": service.writer.pending_events})


# --- ingest ---------------------------------------------------------------------------------------


def _otlp_handler(signal: pipeline.Signal) -> Any:
    async def handler(request: web.Request) -> web.Response:
        service = _service(request)
        key = require(request, "ingest")
        kind = media_type(request)
        if kind not in (PROTOBUF, JSON):
            raise RequestError(f"OTLP bodies must be {PROTOBUF} or {JSON}, not {kind or 'unspecified'}", 415)
        encoding = "protobuf" if kind == PROTOBUF else "json"
        body = await read_body(request, service.settings.max_body_bytes)
        decoded = await service.ingest(pipeline.decode_otlp, signal, body, encoding, _overrides(key), size=len(body))
        _record_ingest(service, f"/v1/{signal}", decoded)
        return _otlp_success(signal, encoding, decoded)
    return handler


def _otlp_success(signal: pipeline.Signal, encoding: str, decoded: pipeline.Decoded) -> web.Response:
    """An Export…ServiceResponse; `partial_success` only when records were rejected, as the spec asks."""
    message = "; ".join(e["message"] for e in decoded.errors[:5])
    if decoded.rejected > len(decoded.errors[:5]):
        message += f" (and {decoded.rejected - len(decoded.errors[:5])} more)"
    if encoding == "json":
        body: dict[str, Any] = {}
        if decoded.rejected:
            body["partialSuccess"] = {_REJECTED_FIELD[signal]: str(decoded.rejected), "errorMessage": message}
        return json_response(body)
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    response = {"logs": ExportLogsServiceResponse, "metrics": ExportMetricsServiceResponse,
                "traces": ExportTraceServiceResponse}[signal]()
    if decoded.rejected:
        partial = response.partial_success
        setattr(partial, {"logs": "rejected_log_records", "metrics": "rejected_data_points",
                          "traces": "rejected_spans"}[signal], decoded.rejected)
        partial.error_message = message
    return web.Response(body=response.SerializeToString(), content_type=PROTOBUF)


async def ingest_ndjson(request: web.Request) -> web.Response:
    """Canonical NDJSON: good lines are stored, bad ones reported by line number (200 unless none was good)."""
    service = _service(request)
    key = require(request, "ingest")
    body = await read_body(request, service.settings.max_body_bytes)

    def some_good(decoded: pipeline.Decoded) -> None:
        if decoded.rejected and not decoded.size:
            raise RequestError(f"no line could be read ({decoded.rejected} rejected)", 400, decoded.errors)

    decoded = await service.ingest(pipeline.decode_ndjson, body, _overrides(key), size=len(body), check=some_good)
    _record_ingest(service, "/api/v1/events", decoded)
    return json_response({"ok": decoded.rejected == 0, "accepted": decoded.size, "rejected": decoded.rejected,
                          "errors": decoded.errors})


# --- reports --------------------------------------------------------------------------------------


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    for parse in (date.fromisoformat, lambda v: datetime.strptime(v, "%Y%m%d").date()):
        try:
            return parse(value)
        except ValueError:
            continue
    raise RequestError(f"`{name}` must be a date like 2026-11-03, got {value!r}")


def _many(request: web.Request, name: str) -> tuple[str, ...]:
    return tuple(v.strip() for value in request.query.getall(name, []) for v in value.split(",") if v.strip())


async def report(request: web.Request) -> web.Response:
    """The same report as `tokenpulse report KIND --json`. A personal key sees its owner's usage only."""
    service = _service(request)
    key: ApiKey = request["key"]
    kind = request.match_info["kind"]
    if kind not in REPORT_KINDS:
        raise RequestError(f"no report {kind!r}; reports: {', '.join(REPORT_KINDS)}", 404)
    people = tuple(normalize_identity(p) for p in _many(request, "person"))
    if key.may("read_all"):
        pass
    elif key.may("read_own"):
        if people and people != (key.person,):
            raise RequestError("a personal key reads its owner's usage only", 403)
        people = (key.person,)  # type: ignore[assignment]
    else:
        raise RequestError(f"a {key.kind} key may not read reports", 403)
    q = request.query
    try:
        options = ReportOptions(
            kind=kind, tz=q.get("tz") or service.tz, since=_day(q.get("since"), "since"),  # type: ignore[arg-type]
            until=_day(q.get("until"), "until"), tools=_many(request, "tool"), projects=_many(request, "project"),
            people=people, breakdown=q.get("breakdown") == "model",
            order="desc" if q.get("order") == "desc" else "asc",
            week_start=parse_week_start(q["week_start"]) if q.get("week_start") else 0)
        query = usage_query(options)
    except ConfigError as exc:
        raise RequestError(str(exc)) from None
    rows = await service.writer.read(lambda store: store.usage_rows(query))
    result = report_from_rows(rows, options, {"price_version": service.book.version, "store": service.store_label})
    return json_response(result.to_json())


# --- people -----------------------------------------------------------------------------------------


async def import_people(request: web.Request) -> web.Response:
    service = _service(request)
    require(request, "read_all")
    body = await read_body(request, service.settings.max_body_bytes)
    people, errors = parse_directory(body, media_type(request))
    rows = [e.to_json() for e in errors]
    if errors and not people:
        raise RequestError(f"no row could be read ({len(errors)} rejected)", 400, rows)
    moved = await service.writer.read(lambda store: store.save_people(people))
    _directory_changed(request)
    return json_response({"ok": not errors, "people": len(people), "reattributed_events": moved,
                          "rejected": len(errors), "errors": rows})


def _directory_changed(request: web.Request) -> None:
    """The dashboard reads the directory afresh (teams, managers) and recomputes its figures."""
    from ..web.state import DASHBOARD

    dashboard = request.app.get(DASHBOARD)
    if dashboard is not None:
        dashboard.directory.forget()
        dashboard.changed()


async def list_people(request: web.Request) -> web.Response:
    require(request, "directory")
    people = await _service(request).writer.read(lambda store: store.people())
    return json_response({"people": [p.to_json() for p in people]})


async def find_person(request: web.Request) -> web.Response:
    """One person, by their email or any alias (`account:<uuid>`, `user:<id>`, another email)."""
    require(request, "directory")
    identity = normalize_identity(request.match_info["identity"])
    person = await _service(request).writer.read(lambda store: store.find_person(identity))
    if person is None:
        raise RequestError(f"no person is known by {identity!r}", 404)
    return json_response({"identity": identity, **person.to_json()})


# --- keys -------------------------------------------------------------------------------------------


async def list_keys(request: web.Request) -> web.Response:
    require(request, "read_all")
    keys = await _service(request).writer.read(lambda store: store.api_keys())
    return json_response({"keys": [k.to_json() for k in keys]})


async def create_key(request: web.Request) -> web.Response:
    """Create a key; the answer carries the secret, the only time it is ever shown."""
    require(request, "read_all")
    service = _service(request)
    try:
        spec = msgspec.json.decode(await read_body(request, 64 * 1024))
    except DECODE_ERRORS as exc:
        raise RequestError(f"expected a JSON object: {json_problem(exc)}") from None
    if not isinstance(spec, dict):
        raise RequestError("expected a JSON object with `kind` and, as needed, `team`, `person`, `name`")
    secret, key = make_key(spec.get("kind", "ingest"), team=spec.get("team"), person=spec.get("person"),
                           name=spec.get("name"))
    await service.writer.read(lambda store: store.add_key(key, hash_secret(secret)))
    return json_response({"secret": secret, **key.to_json()}, status=201)


async def revoke_key(request: web.Request) -> web.Response:
    require(request, "read_all")
    service = _service(request)
    key_id = request.match_info["id"]
    if not await service.writer.read(lambda store: store.revoke_key(key_id)):
        raise RequestError(f"no active key with id {key_id!r}", 404)
    service.keys.forget()  # this server stops accepting it now, not when its cache entry expires
    return json_response({"ok": True, "revoked": key_id})


async def me(request: web.Request) -> web.Response:
    key: ApiKey = request["key"]
    return json_response({"key": key.to_json()})


async def my_snapshot(request: web.Request) -> web.Response:
    """The caller's figures as the widgets read them (`tokenpulse me --server`): every machine's usage and the
    gateway's, the caps and expected usage of the org's policy, and whether their breaker is tripped."""
    from datetime import UTC
    from datetime import datetime as clock

    from ..web.state import DASHBOARD
    from ..widgets import snapshot

    key: ApiKey = request["key"]
    if not key.person or not key.may("read_own"):
        raise RequestError("figures are a person's own: use a personal key", 403)
    service = _service(request)
    dashboard = request.app[DASHBOARD]
    policy = await dashboard.policy()
    person = key.person
    team = (await dashboard.directory.people()).get(person)
    now = clock.now(UTC)

    def build(store: Any) -> dict[str, Any]:
        from ..reports import zone

        today = now.astimezone(zone(service.tz)).date().isoformat()  # a trip stops the rest of its day only
        tripped = store.incidents(person=person, day=today, open_only=True)
        breaker = {"tripped": True, "cause": tripped[-1].cause, "since": tripped[-1].tripped_at.isoformat(),
                   "reenable": 'tokenpulse reenable --reason "..." (or the dashboard)'} if tripped else None
        return snapshot.build(store, now=now, tz=service.tz, discount=dashboard.discount(policy), policy=policy,
                              person=person, people=(person,), team=team.team if team else None, source="server",
                              dashboard_url=str(request.url.origin()), breaker=breaker)

    return json_response(await service.writer.read(build))


async def my_prompts(request: web.Request) -> web.Response:
    """The caller's own prompts. Prompt text is private: no key can read anyone else's."""
    key: ApiKey = request["key"]
    if key.kind != "personal" or not key.person:
        raise RequestError("prompts are readable by their owner only, with a personal key", 403)
    try:
        limit = min(int(request.query.get("limit", "200")), 5000)
    except ValueError:
        raise InvalidEvent("`limit` must be an integer", field="limit") from None
    prompts = await _service(request).writer.read(lambda store: store.prompts_of(key.person, limit=limit))
    return json_response({"prompts": [{"id": p.id, "ts": p.ts.isoformat(), "tool": p.tool, "session": p.session,
                                       "prompt_id": p.prompt_id, "length": p.length, "text": p.text}
                                      for p in prompts]})


async def metrics(request: web.Request) -> web.Response:
    require(request, "read_all")
    service = _service(request)
    service.metrics.pending.set(service.writer.pending_events)
    return web.Response(body=service.metrics.render(), headers={"Content-Type": CONTENT_TYPE})
