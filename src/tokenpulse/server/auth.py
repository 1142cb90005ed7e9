"""Who is calling: every route but the health check needs `Authorization: Bearer <key>`.

Keys are looked up by the SHA-256 of what was sent (the store has nothing else) and trusted for a
short while (`key_cache_seconds`), so a busy exporter does not cost a lookup per request; a revoked
key stops working within that time, or at once when revoked through this server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import quote

from aiohttp import web

from ..errors import RequestError
from ..keys import ApiKey, bearer_token, hash_secret
from .writer import Writer

OPEN_PATHS = frozenset({"/healthz"})


class KeyCache:
    def __init__(self, writer: Writer, ttl: float):
        self._writer = writer
        self._ttl = ttl
        self._known: dict[str, tuple[ApiKey | None, float]] = {}
        self._touch_tasks: set[asyncio.Task[None]] = set()

    async def lookup(self, secret: str) -> ApiKey | None:
        digest = hash_secret(secret)
        cached = self._known.get(digest)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        key = await self._writer.read(lambda store: store.key_for_hash(digest))
        if len(self._known) > 10_000:  # random wrong keys must not grow this without bound
            self._known.clear()
        self._known[digest] = (key, now + self._ttl)
        if key is not None and key.revoked_at is None:
            task = asyncio.ensure_future(self._writer.read(
                lambda store: store.touch_keys([key.id], datetime.now(UTC))))
            self._touch_tasks.add(task)
            task.add_done_callback(self._touch_tasks.discard)
        return key

    def forget(self) -> None:
        self._known.clear()


def auth_middleware(keys: KeyCache, authenticates_itself: Callable[[str], bool] = lambda path: False,
                    cookie_key: Callable[[web.Request], Awaitable[ApiKey | None]] | None = None,
                    is_open: Callable[[str], bool] = lambda path: False, sign_in_path: str | None = None,
                    ) -> Callable[..., Awaitable[web.StreamResponse]]:
    """`authenticates_itself(path)`: routes that check keys their own way (a gateway mounted in the service).
    `cookie_key`: the key a signed-in browser acts with, asked when a request carries no key. `is_open(path)`:
    routes anyone may reach (sign-in). Pages asked for by a browser without credentials are sent to
    `sign_in_path`; everything else gets 401."""
    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        if request.path in OPEN_PATHS or authenticates_itself(request.path) or is_open(request.path):
            return await handler(request)
        secret = bearer_token(request.headers.get("Authorization"))
        challenge = {"WWW-Authenticate": 'Bearer realm="tokenpulse"'}
        if secret is None:
            key = await cookie_key(request) if cookie_key is not None else None
            if key is not None:
                request["key"] = key
                return await handler(request)
            if sign_in_path and request.method == "GET" and _wants_page(request):
                raise web.HTTPSeeOther(f"{sign_in_path}?next={quote(request.path_qs, safe='')}")
            raise RequestError("missing credentials: send `Authorization: Bearer <key>` (an ingest token or "
                               "personal key from `tokenpulse keys create`) or sign in", 401, headers=challenge)
        key = await keys.lookup(secret)
        if key is None:
            raise RequestError("unknown key: check the token, or create one with `tokenpulse keys create`",
                               401, headers=challenge)
        if key.revoked_at is not None:
            raise RequestError(f"the key {key.id} was revoked", 401, headers=challenge)
        request["key"] = key
        return await handler(request)
    return middleware


def _wants_page(request: web.Request) -> bool:
    return not request.path.startswith(("/api/", "/v1/", "/metrics")) and "text/html" in request.headers.get(
        "Accept", "text/html")


def require(request: web.Request, action: str) -> ApiKey:
    key: ApiKey = request["key"]
    if not key.may(action):  # type: ignore[arg-type]
        raise RequestError(f"a {key.kind} key may not do this ({action.replace('_', ' ')})", 403)
    return key
