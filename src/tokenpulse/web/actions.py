"""What the dashboard changes: signing in and out, moving a conversation, re-enabling a breaker, editing a
policy, sharing a session — and the downloads (exports, a session's JSONL, the OpenAPI schema).

Each change is one JSON route. The pages' forms post to the same routes (form-encoded, with the CSRF
token) and are sent back to the page they came from.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import msgspec
from aiohttp import web

from ..errors import DECODE_ERRORS, ConfigError, RequestError, TokenpulseError, json_problem
from ..keys import hash_secret
from ..server.http import json_response
from . import data, pages
from . import policy as policies
from .routes import own_session, view_of
from .signin import COOKIE, LOGIN_COOKIE, SESSION_HOURS, start_session
from .state import Dashboard, dashboard_of

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type in FORM_TYPES:
        return {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    raw = await request.read()
    try:
        body = msgspec.json.decode(raw) if raw else {}
    except DECODE_ERRORS as exc:
        raise RequestError(f"expected a JSON object: {json_problem(exc)}") from None
    if not isinstance(body, dict):
        raise RequestError("expected a JSON object")
    return body


def _text(body: dict[str, Any], name: str, *, required: bool = False, limit: int = 2000) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise RequestError(f"`{name}` is required")
        return None
    if not isinstance(value, str):
        raise RequestError(f"`{name}` must be text")
    if len(value) > limit:
        raise RequestError(f"`{name}` is longer than {limit} characters")
    return value.strip()


def _done(request: web.Request, payload: dict[str, Any], back: str) -> web.StreamResponse:
    """A form goes back to its page; an API call gets the JSON."""
    if request.content_type in FORM_TYPES:
        raise web.HTTPSeeOther(back)
    return json_response(payload)


def _local(path: str | None) -> str:
    """Only a path on this server is a place to go after signing in (never another host). Whitespace and
    control characters are refused too: `/<TAB>/evil.example` would become `//evil.example` in Location."""
    if not isinstance(path, str) or any(c.isspace() or not c.isprintable() for c in path):
        return "/"
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


# --- signing in and out -----------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    token = secrets.token_urlsafe(24)
    response = pages.render_public(request, "login.html", {"next": _local(request.query.get("next")),
                                                           "csrf": token, "error": None})
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", secure=request.secure,
                        max_age=3600, path="/login")
    return response


def _check_login_form(request: web.Request, body: dict[str, Any]) -> None:
    sent, expected = body.get("csrf"), request.cookies.get(LOGIN_COOKIE)
    if not sent or not expected or not secrets.compare_digest(str(sent), expected):
        raise RequestError("the sign-in form expired or was not sent from this site: reload it and try again", 403)


def _signed_in(request: web.Request, secret: str, next_path: str) -> web.StreamResponse:
    response = web.HTTPSeeOther(next_path)
    response.set_cookie(COOKIE, secret, httponly=True, samesite="Strict", secure=request.secure,
                        max_age=SESSION_HOURS * 3600, path="/")
    response.del_cookie(LOGIN_COOKIE, path="/login")
    return response


async def login(request: web.Request) -> web.StreamResponse:
    """Sign in with a personal or admin key (the form's `key`)."""
    from ..server.app import SERVICE

    dash = dashboard_of(request)
    body = await _body(request)
    _check_login_form(request, body)
    key = await request.app[SERVICE].keys.lookup(str(body.get("key", "")).strip())
    if key is None or key.revoked_at is not None or key.kind not in ("personal", "admin"):
        return pages.render_public(request, "login.html", {
            "next": _local(body.get("next")), "csrf": body.get("csrf"),
            "error": "That key is not a valid personal or admin key."}, status=401)
    if key.kind == "admin":
        actor, role = (key.person or f"admin-key:{key.id}"), "admin"
    else:
        actor, role = key.person or key.id, "person"
    secret = await dash.read(lambda store: start_session(store, actor=actor, role=role, person=key.person,
                                                         now=dash.clock()))
    raise _signed_in(request, secret, _local(body.get("next")))


async def link_page(request: web.Request) -> web.Response:
    """A sign-in link shows a button first: mail scanners that open links must not use them up."""
    token = secrets.token_urlsafe(24)
    response = pages.render_public(request, "login_link.html", {"csrf": token, "error": None})
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", secure=request.secure,
                        max_age=3600, path="/login")
    return response


async def use_link(request: web.Request) -> web.StreamResponse:
    dash = dashboard_of(request)
    body = await _body(request)
    _check_login_form(request, body)
    digest = hash_secret(request.match_info["token"])
    person = await dash.read(lambda store: store.use_login_link(digest, dash.clock()))
    if person is None:
        return pages.render_public(request, "login_link.html", {
            "csrf": body.get("csrf"), "error": "This sign-in link was already used or has expired."}, status=401)
    secret = await dash.read(lambda store: start_session(store, actor=person, role="person", person=person,
                                                         now=dash.clock()))
    raise _signed_in(request, secret, "/")


async def logout(request: web.Request) -> web.StreamResponse:
    dash = dashboard_of(request)
    secret = request.get("web_secret")
    if secret:
        await dash.read(lambda store: store.end_web_session(hash_secret(secret), dash.clock()))
        dash.sessions.forget(secret)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


async def create_login_link(request: web.Request) -> web.Response:
    """An admin makes a one-time sign-in link for someone (`tokenpulse login-link EMAIL --server URL`)."""
    from ..server.auth import require
    from .signin import LINK_MINUTES, new_login_link

    require(request, "read_all")
    dash = dashboard_of(request)
    body = await _body(request)
    person = (_text(body, "email", required=True, limit=320) or "").lower()
    if "@" not in person:
        raise RequestError("`email` must be an email address")
    token = await dash.read(lambda store: new_login_link(store, person, dash.clock()))
    await dash.audit(request["key"].id, "login_link", person, {})
    return json_response({"email": person, "path": f"/login/link/{token}", "expires_in_minutes": LINK_MINUTES},
                         status=201)


# --- changes ----------------------------------------------------------------------------------------


async def update_conversation(request: web.Request) -> web.StreamResponse:
    from ..insights.conversations import ConversationError, transition

    dash = dashboard_of(request)
    view = await view_of(request, dash)
    item_id = request.match_info["id"]
    body = await _body(request)
    found = await dash.read(lambda store: store.conversations(item_id=item_id))
    if not found or not view.may_see_private(found[0].person):
        raise RequestError("no such conversation item, or it is not yours to see", 404)
    item = found[0]
    if not (view.viewer.is_admin or (item.person != view.viewer.person and view.may_see_private(item.person))):
        raise RequestError("only the person's manager or an admin moves a conversation item", 403)
    try:
        transition(item, _text(body, "status", required=True) or "", by=view.viewer.actor, now=dash.clock(),
                   notes=_text(body, "notes", limit=10_000), scheduled_for=_text(body, "scheduled_for", limit=100))
    except ConversationError as exc:
        raise RequestError(str(exc), 409) from None
    await dash.read(lambda store: store.update_conversation(item))
    await dash.audit(view.viewer.actor, "conversation", item.person, {"id": item.id, "status": item.status})
    return _done(request, item.to_json(), "/conversations")


async def reenable(request: web.Request) -> web.StreamResponse:
    """Re-enable a tripped breaker: the person themself (self-service), their manager or an admin.

    Either path (the live enforcer, or closing the incidents the record shows open) also closes the person's
    open vendor-API incidents (`tokenpulse.breaker_actions`) and, when breaker actions are configured, undoes
    what their trips did (Cursor: the previous spend limit back) for the incidents this call closed."""
    from ..breaker_actions import reenable_vendor_incidents

    dash = dashboard_of(request)
    view = await view_of(request, dash)
    body = await _body(request)
    person = (_text(body, "person") or view.viewer.person or "").lower()
    reason = _text(body, "reason", required=True, limit=500) or ""
    if not person or not view.may_see_private(person):
        raise RequestError("no such person, or you may not re-enable their breaker", 404)
    open_before = await dash.read(lambda store: store.incidents(person=person, open_only=True))
    result: dict[str, Any] | None = None
    if dash.enforcer is not None:
        try:
            result = await dash.enforcer.reenable(person, view.viewer.actor, reason)
        except TokenpulseError:
            result = None  # nothing tripped in the live counters: close what the record shows open
    if result is None:
        now = dash.clock()
        open_ = await dash.read(lambda store: store.incidents(person=person, open_only=True))
        if not open_:
            raise RequestError(f"{person} has no tripped breaker to re-enable", 409)
        for incident in open_:
            await dash.read(lambda store, day=incident.day: store.close_incident(person, day, view.viewer.actor,
                                                                                 reason, now))
        await dash.audit(view.viewer.actor, "reenable", person, {"reason": reason, "days": [i.day for i in open_]})
        result = {"person": person, "reenabled": True, "days": [i.day for i in open_]}
    restored = await reenable_vendor_incidents(dash.read, dash.breaker_actions, person, open_before,
                                               view.viewer.actor, reason, dash.clock())
    dash.changed()
    if restored:
        result = {**result, "vendor_actions": restored}
    return _done(request, result, _local(_text(body, "back") or "/incidents"))


async def update_policy(request: web.Request) -> web.StreamResponse:
    dash = dashboard_of(request)
    view = await view_of(request, dash)
    if not view.viewer.is_admin:
        raise RequestError("only an admin edits policies", 403)
    body = await _body(request)
    name = _text(body, "name", required=True) or ""
    value = body.get("value")
    if request.content_type in FORM_TYPES and isinstance(value, str) and name not in ("visibility", "discount"):
        try:
            value = msgspec.json.decode(value)
        except DECODE_ERRORS as exc:
            raise RequestError(f"`value` of {name} must be JSON: {json_problem(exc)}") from None
    try:
        checked = policies.check(name, value)
    except ConfigError as exc:
        raise RequestError(str(exc)) from None
    before = (await dash.policy()).get(name)
    await dash.read(lambda store: store.set_org_setting(name, checked, view.viewer.actor, dash.clock()))
    await dash.audit(view.viewer.actor, "policy", name, {"before": before, "after": checked})
    dash.forget_policy()
    if dash.enforcer is not None and name in ("budgets", "breaker"):
        await dash.enforcer.load_overrides()
    return _done(request, {"name": name, "value": checked}, "/policies")


async def _own_session(request: web.Request) -> tuple[Dashboard, data.View, str, str, Any]:
    """The session in the URL, if it is the viewer's own; otherwise the same 404 as for no such session."""
    dash = dashboard_of(request)
    view = await view_of(request, dash)
    span = await own_session(request, dash, view)
    return dash, view, span.session, span.owner, span


async def share_session(request: web.Request) -> web.StreamResponse:
    dash, view, session, owner, span = await _own_session(request)
    token = secrets.token_urlsafe(24)
    await dash.read(lambda store: store.add_share(hash_secret(token), session, owner, dash.clock()))
    await dash.audit(view.viewer.actor, "share_session", owner, {"session": session})
    url = f"/shared/{token}"
    if request.content_type in FORM_TYPES:
        raise web.HTTPSeeOther(f"/sessions/{quote(session, safe='')}?shared={quote(url, safe='')}")
    return json_response({"session": session, "url": url}, status=201)


async def unshare_session(request: web.Request) -> web.StreamResponse:
    dash, view, session, owner, span = await _own_session(request)
    await dash.read(lambda store: store.revoke_shares(session, owner, dash.clock()))
    await dash.audit(view.viewer.actor, "unshare_session", owner, {"session": session})
    return _done(request, {"session": session, "shared": False}, f"/sessions/{quote(session, safe='')}")


# --- downloads --------------------------------------------------------------------------------------


async def export_session(request: web.Request) -> web.StreamResponse:
    """The owner's own session as JSONL (requests, then outcomes, then prompts where collected)."""
    dash, view, session, owner, span = await _own_session(request)
    detail = await dash.read(lambda store: data.session_detail(store, span, with_prompts=True))
    lines = [msgspec.json.encode({"kind": "request", **r}) for r in detail["requests"]]
    lines += [msgspec.json.encode({"kind": "outcome", **o}) for o in detail["outcomes"]]
    lines += [msgspec.json.encode({"kind": "prompt", **p}) for p in detail["prompts"] or []]
    return web.Response(body=b"".join(line + b"\n" for line in lines), content_type="application/x-ndjson",
                        headers={"Content-Disposition": f'attachment; filename="session-{session[:40]}.jsonl"'})


async def export(request: web.Request) -> web.StreamResponse:
    """Stored usage in the viewer's scope as CSV, Parquet, canonical NDJSON or FOCUS 1.2 CSV."""
    import io

    from ..exports import CONTENT_TYPES, export_filename, write_export

    dash = dashboard_of(request)
    view = await view_of(request, dash)
    fmt = request.query.get("format", "csv")
    if fmt not in CONTENT_TYPES:
        raise RequestError(f"`format` must be one of {', '.join(sorted(CONTENT_TYPES))}")
    people = export_people(view, fmt)
    since, until = view.bounds
    out = io.BytesIO()
    await dash.read(lambda store: write_export(store, fmt, out, since, until, people=people,
                                               discount=view.discount, tz=view.tz))
    await dash.audit(view.viewer.actor, "export", "org", {"format": fmt, "since": str(view.first),
                                                           "until": str(view.last)})
    name = export_filename(fmt, view.first, view.last)
    # CONTENT_TYPES may carry a charset, which aiohttp refuses in `content_type=`: set the header itself
    return web.Response(body=out.getvalue(), headers={"Content-Type": CONTENT_TYPES[fmt],
                                                      "Content-Disposition": f'attachment; filename="{name}"'})


def export_people(view: data.View, fmt: str) -> list[str] | None:
    """Whose usage an export holds (None: everyone's). FOCUS rows are daily totals per person, tool and model:
    they cover whoever's totals the viewer may see. The other formats are one row per request, with its
    session and project — a session's detail is its owner's alone, so for anyone but an admin those hold
    the viewer's own requests only."""
    if view.viewer.is_admin:
        return None
    if fmt != "focus":
        return [view.viewer.person] if view.viewer.person else []
    if view.visibility == "transparent":
        return None
    people = sorted(p.person for p in view.people.values() if view.may_see_profile(p.person))
    if view.viewer.person and view.viewer.person not in people:
        people.append(view.viewer.person)
    return people


async def openapi(request: web.Request) -> web.Response:
    from .openapi import schema

    return json_response(schema())


async def stylesheet(request: web.Request) -> web.Response:
    return web.Response(text=pages.stylesheet(), content_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})


def is_open(path: str) -> bool:
    """Routes anyone may reach: the sign-in pages and the stylesheet they use."""
    return path in ("/login", "/static/style.css") or path.startswith("/login/link/")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/login", login_page)
    r.add_post("/login", login)
    r.add_get("/login/link/{token}", link_page)
    r.add_post("/login/link/{token}", use_link)
    r.add_post("/logout", logout)
    r.add_post("/api/v1/login-links", create_login_link)
    r.add_post("/api/v1/conversations/{id}", update_conversation)
    r.add_post("/api/v1/incidents/reenable", reenable)
    r.add_post("/api/v1/policies", update_policy)
    r.add_post("/api/v1/sessions/{session}/share", share_session)
    r.add_post("/api/v1/sessions/{session}/unshare", unshare_session)
    r.add_get("/api/v1/sessions/{session}/export", export_session)
    r.add_get("/api/v1/export", export)
    r.add_get("/api/v1/openapi.json", openapi)
    r.add_get("/static/style.css", stylesheet)

