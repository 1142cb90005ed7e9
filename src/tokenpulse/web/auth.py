"""Who is looking at the dashboard: a signed-in browser (session cookie) or a key (`Authorization: Bearer`).

The service's key middleware asks `cookie_key` when a request carries no key. A valid session becomes
a key-like record (an admin's session reads like an admin key, anyone else's like their personal key),
so every JSON route answers signed-in browsers by the same rules as keys. Requests that change something
with cookie credentials must carry the session's CSRF token (the `X-CSRF-Token` header, or the form's
`csrf` field).

`viewer_of` then turns the caller into a `Viewer`: their role and the teams they lead, from the directory.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ..errors import RequestError
from ..keys import ApiKey, hash_secret
from ..store.web import WebSession
from .access import Viewer, viewer_for
from .signin import COOKIE, csrf_ok

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CACHE_SECONDS = 10.0
"""How long a checked session (and the directory) is trusted before it is read again."""


class Sessions:
    """Signed-in sessions, checked against the store and remembered briefly."""

    def __init__(self, read: Any):
        self._read = read
        self._known: dict[str, tuple[WebSession | None, float]] = {}

    async def lookup(self, secret: str) -> WebSession | None:
        digest = hash_secret(secret)
        now = time.monotonic()
        cached = self._known.get(digest)
        if cached is not None and cached[1] > now:
            session = cached[0]
        else:
            session = await self._read(lambda store: store.web_session(digest, datetime.now(UTC)))
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[digest] = (session, now + CACHE_SECONDS)
        if session is not None and session.expires_at <= datetime.now(UTC):
            return None
        return session

    def forget(self, secret: str) -> None:
        self._known.pop(hash_secret(secret), None)


async def cookie_key(request: web.Request, sessions: Sessions) -> ApiKey | None:
    """The key a signed-in browser acts with, or None without a valid session cookie."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    session = await sessions.lookup(secret)
    if session is None:
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("X-CSRF-Token")
        if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            sent = (await request.post()).get("csrf")  # type: ignore[assignment]
        if not csrf_ok(secret, sent if isinstance(sent, str) else None):
            raise RequestError("missing or wrong CSRF token: reload the page and try again", 403)
    request["web_session"] = session
    request["web_secret"] = secret
    return ApiKey(id=f"web:{hash_secret(secret)[:8]}", kind="admin" if session.role == "admin" else "personal",
                  person=session.person, name=session.actor)


class Directory:
    """The people directory, read from the store at most every few seconds (pages need it on every request)."""

    def __init__(self, read: Any):
        self._read = read
        self._people: list[Any] = []
        self._by_id: dict[str, Any] = {}
        self._at = 0.0
        self._viewers: dict[tuple[str, bool, str | None], Viewer] = {}

    async def people(self) -> dict[str, Any]:
        if time.monotonic() > self._at:
            self._people = await self._read(lambda store: store.people())
            self._by_id = {p.person: p for p in self._people}
            self._viewers.clear()
            self._at = time.monotonic() + CACHE_SECONDS
        return self._by_id

    def forget(self) -> None:
        self._at = 0.0

    async def viewer(self, request: web.Request) -> Viewer:
        """The caller as a viewer: a session's role, an admin key, or a personal key's owner by the directory."""
        await self.people()  # refreshes the directory (and the viewers made from it) when stale
        session: WebSession | None = request.get("web_session")
        key: ApiKey = request["key"]
        if session is not None:
            actor, admin, person = session.actor, session.role == "admin", session.person
        elif key.kind == "admin":
            actor, admin, person = f"admin-key:{key.id}", True, key.person
        elif key.kind == "personal" and key.person:
            actor, admin, person = key.person, False, key.person
        else:
            raise RequestError(f"a {key.kind} key cannot read the dashboard; use a personal or admin key", 403)
        cache_key = (actor, admin, person)
        viewer = self._viewers.get(cache_key)
        if viewer is None:
            viewer = viewer_for(actor, person, self._people, admin=admin)
            self._viewers[cache_key] = viewer
        return viewer
