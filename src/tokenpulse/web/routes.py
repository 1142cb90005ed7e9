"""The dashboard's routes: every page is a template over the same dict its JSON route returns.

    GET  /                       /api/v1/overview           org or team overview
    GET  /people                 /api/v1/directory          the directory, searchable, sortable
    GET  /people/{person}        /api/v1/profiles/{person}  one person's profile
    GET  /sessions/{session}     /api/v1/sessions/{session} a session's timeline (owner only)
    GET  /shared/{token}         /api/v1/shared/{token}     a session its owner shared by link
    GET  /conversations          /api/v1/conversations      the conversation queue
    GET  /incidents              /api/v1/incidents          breaker trips, by cause
    GET  /reconciliation         /api/v1/reconciliation     vendor vs gateway vs local figures per person/tool/day
    GET  /policies               /api/v1/policies           budgets, breaker, floors, visibility, discount
    GET  /me/views               /api/v1/audit/me           who looked at my profile and sessions
    GET  /exports                /api/v1/export?format=F    CSV, Parquet, NDJSON, FOCUS 1.2
    POST /api/v1/conversations/{id}, /api/v1/incidents/reenable, /api/v1/policies,
         /api/v1/sessions/{session}/share (the forms post the same routes, with a CSRF token)
    GET|POST /login, /login/link/{token}; POST /logout; GET /api/v1/openapi.json
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web

from ..errors import RequestError
from ..server.http import json_response
from . import data, pages
from .state import Dashboard, dashboard_of

Loader = Callable[[web.Request, Dashboard, data.View], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Page:
    path: str
    api: str
    template: str
    load: Loader
    title: str


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)


def _day(request: web.Request, name: str) -> date | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise RequestError(f"`{name}` must be a date like 2026-11-03, got {value!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:  # beyond these, date arithmetic (and time zones) overflow: a 500
        raise RequestError(f"`{name}` must be between {FIRST_DAY} and {LAST_DAY}, got {value!r}")
    return day


def _int(request: web.Request, name: str, default: int) -> int:
    value = request.query.get(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise RequestError(f"`{name}` must be a whole number, got {value!r}") from None
    if not 1 <= number <= 1_000_000:
        raise RequestError(f"`{name}` must be between 1 and 1000000")
    return number


async def view_of(request: web.Request, dash: Dashboard) -> data.View:
    """The viewer and the dates asked for (default: the last 30 days, today included, in the org's zone)."""
    viewer = await dash.directory.viewer(request)
    policy = await dash.policy()
    today = dash.today()
    last = _day(request, "until") or today
    first = _day(request, "since") or last - timedelta(days=29)
    if first > last:
        raise RequestError("`since` is after `until`")
    if (last - first).days > 800:
        raise RequestError("the period is limited to 800 days")
    return data.View(viewer=viewer, visibility=policy["visibility"], tz=dash.tz, first=first, last=last,
                     discount=dash.discount(policy), people=await dash.directory.people(),
                     budgets=list(policy.get("budgets") or []),
                     expected_monthly_usd=dict(policy.get("expected_monthly_usd") or {}))


# --- loaders: one per page, shared by its HTML and JSON routes ------------------------------------------


async def _overview(request: web.Request, dash: Dashboard, view: data.View) -> dict[str, Any]:
    stack, team = request.query.get("stack", "tool"), request.query.get("team") or None
    today = dash.today()
    result = await dash.figures(lambda store: data.overview(store, view, stack=stack, team=team, today=today))
    result["conversations_open"] = await dash.read(
        lambda store: store.conversation_counts(scope=data.private_scope(view)))
    result["incidents"] = await dash.read(lambda store: data.incidents(store, view))
    return result


async def _directory(request: web.Request, dash: Dashboard, view: data.View) -> dict[str, Any]:
    q = request.query
    page, per_page = _int(request, "page", 1), _int(request, "per_page", data.DIRECTORY_PAGE)
    return await dash.figures(lambda store: data.directory(store, view, query=q.get("q", ""),
                                                        team=q.get("team") or None, sort=q.get("sort", "team"),
                                                        page=page, per_page=per_page))


async def _profile(request: web.Request, dash: Dashboard, view: data.View) -> dict[str, Any]:
    person = request.match_info["person"].strip().lower()
    today = dash.today()
    result = await dash.figures(lambda store: data.profile(store, view, person, today=today))
    if person != view.viewer.person:
        await dash.audit(view.viewer.actor, "view_profile", person, {"path": request.path})
    return result


async def own_session(request: web.Request, dash: Dashboard, view: data.View) -> Any:
    """The span (`store.session_span`) of the session in the URL, if it is the viewer's own; otherwise the
    same 404 as for no such session, so session ids cannot be probed."""
    session = request.match_info["session"]
    span = await dash.read(lambda store: store.session_span(session))
    if span is None or span.owner is None or span.owner != view.viewer.person:
        raise RequestError("no such session, or it is not yours", 404)
    return span


async def _session(request: web.Request, dash: Dashboard, view: data.View) -> dict[str, Any]:
    span = await own_session(request, dash, view)
    return await dash.read(lambda store: {**data.session_detail(store, span, with_prompts=True),
                                          "shared": span.session in store.shared_sessions(span.owner)})


async def _shared(request: web.Request, dash: Dashboard, view: data.View) -> dict[str, Any]:
    from ..keys import hash_secret

    share = await dash.read(lambda store: store.share(hash_secret(request.match_info["token"])))
    if share is None:
        raise RequestError("this share link is unknown or was revoked", 404)
    span = await dash.read(lambda store: store.session_span(share.session))
    if span is None:
        raise RequestError("this share link is unknown or was revoked", 404)
    result = await dash.read(lambda store: data.session_detail(store, span,
                                                               with_prompts=share.person == view.viewer.person))
    if share.person != view.viewer.person:
        await dash.audit(view.viewer.actor, "view_shared_session", share.person, {"session": share.session})
    return {**result, "shared_by": share.person}


async def _conversations(request: web.Request, dash: Dashboard, view: data.View) -> dict[str, Any]:
    status = request.query.get("status") or None
    page = _int(request, "page", 1)
    return await dash.read(lambda store: data.conversations(store, view, status=status, page=page))


async def _incidents(request: web.Request, dash: Dashboard, view: data.View) -> dict[str, Any]:
    return await dash.read(lambda store: data.incidents(store, view))


async def _reconciliation(request: web.Request, dash: Dashboard, view: data.View) -> dict[str, Any]:
    only, tool, page = request.query.get("only", "multiple"), request.query.get("tool") or None, _int(request, "page", 1)
    return await dash.figures(lambda store: data.reconciliation(store, view, only=only, tool=tool, page=page))


async def _policies(request: web.Request, dash: Dashboard, view: data.View) -> dict[str, Any]:
    return {"policies": await dash.policy(), "editable": view.viewer.is_admin}


async def _views_of_me(request: web.Request, dash: Dashboard, view: data.View) -> dict[str, Any]:
    return await dash.read(lambda store: data.views_of_me(store, view))


async def _exports(request: web.Request, dash: Dashboard, view: data.View) -> dict[str, Any]:
    from ..exports import CONTENT_TYPES

    return {**data._period(view), "formats": sorted(CONTENT_TYPES)}


PAGES = (
    Page("/", "/api/v1/overview", "overview.html", _overview, "Overview"),
    Page("/people", "/api/v1/directory", "people.html", _directory, "People"),
    Page("/people/{person}", "/api/v1/profiles/{person}", "profile.html", _profile, "Profile"),
    Page("/sessions/{session}", "/api/v1/sessions/{session}", "session.html", _session, "Session"),
    Page("/shared/{token}", "/api/v1/shared/{token}", "session.html", _shared, "Shared session"),
    Page("/conversations", "/api/v1/conversations", "conversations.html", _conversations, "Conversations"),
    Page("/incidents", "/api/v1/incidents", "incidents.html", _incidents, "Incidents"),
    Page("/reconciliation", "/api/v1/reconciliation", "reconciliation.html", _reconciliation, "Reconciliation"),
    Page("/policies", "/api/v1/policies", "policies.html", _policies, "Policies"),
    Page("/me/views", "/api/v1/audit/me", "views.html", _views_of_me, "Who viewed me"),
    Page("/exports", "/api/v1/exports", "exports.html", _exports, "Exports"),
)


def _json_handler(page: Page) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        dash = dashboard_of(request)
        view = await view_of(request, dash)
        return json_response(await page.load(request, dash, view))
    return handler


def _page_handler(page: Page) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        dash = dashboard_of(request)
        view = await view_of(request, dash)
        try:
            loaded = await page.load(request, dash, view)
        except RequestError as exc:
            return pages.render_error(request, exc.status, str(exc), view)
        return pages.render(request, page.template, loaded, title=page.title, view=view)
    return handler


def add_routes(app: web.Application) -> None:
    from . import actions

    for page in PAGES:
        app.router.add_get(page.path, _page_handler(page))
        app.router.add_get(page.api, _json_handler(page))
    actions.add_routes(app)


def utc_now() -> datetime:
    return datetime.now(UTC)
