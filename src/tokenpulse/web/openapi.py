"""The OpenAPI 3.1 description of the dashboard's JSON API (served at /api/v1/openapi.json).

Every page's numbers come from one of these routes; the schema lists them with their parameters, the
bodies the changes take, and the one error shape every failure has.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..reconcile import ONLY

_ERROR = {"type": "object", "required": ["ok", "status", "error"], "properties": {
    "ok": {"const": False}, "status": {"type": "integer"}, "error": {"type": "string"},
    "errors": {"type": "array"}, "code": {"type": "integer"}, "message": {"type": "string"}}}
_OBJECT = {"type": "object"}
_DATE = {"type": "string", "format": "date"}
_PERIOD = [{"name": "since", "in": "query", "schema": _DATE, "description": "First local date (default: 29 days "
            "before `until`)."},
           {"name": "until", "in": "query", "schema": _DATE, "description": "Last local date (default: today)."}]


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description}


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1},
            "description": description}


def _responses(ok: str = "200", content: str = "application/json") -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {ok: {"description": "OK", "content": {content: {"schema": _OBJECT}}},
            "400": {"description": "Bad request", **error}, "401": {"description": "No credentials", **error},
            "403": {"description": "Not allowed", **error}, "404": {"description": "Not found", **error}}


def _get(summary: str, parameters: list[dict[str, Any]] | None = None, content: str = "application/json"
         ) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": parameters or [], "responses": _responses(content=content)}}


def _post(summary: str, body: dict[str, Any], parameters: list[dict[str, Any]] | None = None, ok: str = "200"
          ) -> dict[str, Any]:
    responses = _responses(ok)
    responses["409"] = {"description": "Conflicts with the current state",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {"post": {"summary": summary, "parameters": parameters or [], "responses": responses,
                     "requestBody": {"required": True, "content": {"application/json": {"schema": body}}}}}


def _body(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def schema() -> dict[str, Any]:
    text = {"type": "string"}
    paths = {
        "/api/v1/overview": _get("Org or team overview: spend, depth and outcomes over time, forecast, teams", [
            *_PERIOD, _query("stack", {"enum": ["tool", "model"]}, "Stack daily spend by tool or model."),
            _query("team", text, "One team (one the viewer may see).")]),
        "/api/v1/directory": _get("People the viewer may see, with spend, depth, outcomes per dollar, flags", [
            *_PERIOD, _query("q", text, "Search name, email or team."), _query("team", text, "One team."),
            _query("sort", {"enum": [p + c for c in ("team", "name", "spend", "cost_per_mtok",
                                                     "commits_per_100_usd", "flags") for p in ("", "-")]},
                   "Column to order by (- for descending); default team and name."),
            _query("page", {"type": "integer", "minimum": 1}, "Page (from 1)."),
            _query("per_page", {"type": "integer", "minimum": 1, "maximum": 1000}, "People per page (100).")]),
        "/api/v1/profiles/{person}": _get("One person's profile (audited when it is someone else's)", [
            _path("person", "The person's email."), *_PERIOD]),
        "/api/v1/sessions/{session}": _get("A session's requests and outcomes (its owner only)", [
            _path("session", "Session id.")]),
        "/api/v1/sessions/{session}/export": _get("The owner's session as JSONL", [_path("session", "Session id.")],
                                                  content="application/x-ndjson"),
        "/api/v1/sessions/{session}/share": _post("Share a session by link (owner only; audited)", _OBJECT,
                                                  [_path("session", "Session id.")], ok="201"),
        "/api/v1/sessions/{session}/unshare": _post("Revoke a session's share links", _OBJECT,
                                                    [_path("session", "Session id.")]),
        "/api/v1/shared/{token}": _get("A session shared by its owner", [_path("token", "The share token.")]),
        "/api/v1/conversations": _get("The conversation queue items the viewer may see", [
            _query("status", {"enum": ["open", "scheduled", "done", "dismissed"]}, "Only this status."),
            _query("page", {"type": "integer", "minimum": 1}, "Page (from 1; 50 items a page).")]),
        "/api/v1/conversations/{id}": _post("Move a conversation item (the person's manager or an admin)", _body(
            ["status"], status={"enum": ["open", "scheduled", "done", "dismissed"]}, notes=text,
            scheduled_for=text), [_path("id", "Item id (<period>:<person>).")]),
        "/api/v1/incidents": _get("Breaker trips the viewer may see, by cause"),
        "/api/v1/incidents/reenable": _post("Re-enable a tripped breaker (the person, their manager, an admin)",
                                            _body(["reason"], person=text, reason={"type": "string",
                                                                                   "minLength": 1})),
        "/api/v1/reconciliation": _get(
            "Vendor-reported, gateway-metered and locally-estimated spend per person, tool and UTC day, with the "
            "differences and what totals count", [
                {**_PERIOD[0], "description": "First UTC day (default: 29 days before `until`)."},
                {**_PERIOD[1], "description": "Last UTC day (default: today)."},
                _query("only", {"enum": list(ONLY)},
                       "Cells to list: all, those several sources report (default), those whose sources differ."),
                _query("tool", text, "One tool."),
                _query("page", {"type": "integer", "minimum": 1}, "Page (from 1; 100 cells a page).")]),
        "/api/v1/policies": {**_get("The org's policies"), **_post("Change one policy (admin)", _body(
            ["name", "value"], name={"enum": ["visibility", "discount", "expected_monthly_usd", "budgets",
                                              "breaker"]}, value={}))},
        "/api/v1/audit/me": _get("Who viewed my profile or shared sessions"),
        "/api/v1/exports": _get("The export formats", _PERIOD),
        "/api/v1/export": _get("Usage the viewer may see as a file", [
            *_PERIOD, _query("format", {"enum": ["csv", "parquet", "ndjson", "focus"]}, "File format.")],
            content="application/octet-stream"),
        "/api/v1/login-links": _post("Make a one-time sign-in link (admin)", _body(["email"], email=text),
                                     ok="201"),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "tokenpulse dashboard API", "version": __version__,
                 "description": "The numbers behind every dashboard page. Authenticate with a personal or admin "
                                "key (`Authorization: Bearer`), or a signed-in session cookie plus the "
                                "`X-CSRF-Token` header on changes."},
        "paths": paths,
        "components": {"schemas": {"Error": _ERROR}, "securitySchemes": {
            "key": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "tp_session"}}},
        "security": [{"key": []}, {"session": []}],
    }
