"""A fake of the Cursor Admin API on 127.0.0.1, for tests (trackers.md §3.3).

Routes: `GET /teams/members`, `POST /teams/filtered-usage-events` (pages with `pagination.hasNextPage`),
`POST /teams/spend` (pages with `totalPages`; a `searchTerm` answers one page of the matching rows), and
`POST /teams/user-spend-limit {email, hardLimitDollars}`, whose limits `/teams/spend` then reports as
`hardLimitOverrideDollars`. Auth is HTTP Basic with the admin key as user name and an empty password;
another key gets a 401. `cursor.fail(path, page, kind)` scripts failures as `FakeLedgers.fail` does
(`"429"` with `Retry-After: 2`, `"500"`, `"malformed"`, `"no_items"`). Every request is recorded in
`cursor.requests` as (method, path, JSON body or None, headers with lower-case names).
"""

from __future__ import annotations

import base64
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec
from aiohttp import web
from app_thread import ScriptedFailures, fake_api

CURSOR_KEY = "key_fake0123456789abcdef0123456789abcdef"

MEMBERS = "/teams/members"
EVENTS = "/teams/filtered-usage-events"
SPEND = "/teams/spend"
LIMIT = "/teams/user-spend-limit"

NOV1_MS = 1_793_491_200_000  # 2026-11-01T00:00:00Z
HOUR_MS = 3_600_000

TEAM_MEMBERS: dict[str, Any] = {"teamMembers": [
    {"name": "Dev One", "email": "Dev@Company.com", "role": "owner", "id": 101},
    {"name": "Ana", "email": "ana@company.com", "role": "member", "id": 102},
    {"name": "Bo", "email": "bo@company.com", "role": "member", "id": 103, "isRemoved": False},
]}


def _event(hour: int, email: str | None, model: str, tokens: dict[str, Any] | None, **more: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"timestamp": str(NOV1_MS + hour * HOUR_MS), "model": model, "kind": "composer",
                             "maxMode": False, "requestsCosts": 1, "isTokenBasedCall": True, "isChargeable": True,
                             "isHeadless": False}
    if email is not None:
        event["userEmail"] = email
    if tokens is not None:
        event["tokenUsage"] = tokens
    event.update(more)
    return event


EVENT_PAGES: list[dict[str, Any]] = [
    {"usageEvents": [
        # The documented example (new shape: `chargedCents` beside `tokenUsage.totalCents`).
        _event(1, "Dev@Company.com", "claude-4-sonnet-thinking",
               {"inputTokens": 12000, "outputTokens": 800, "cacheWriteTokens": 3000, "cacheReadTokens": 9000,
                "totalCents": 14, "discountPercentOff": 0}, chargedCents=14, cursorTokenFee=0),
        # Same millisecond, user and model, another request: told apart by its tokens.
        _event(1, "dev@company.com", "claude-4-sonnet-thinking",
               {"inputTokens": 10, "outputTokens": 5, "cacheWriteTokens": 0, "cacheReadTokens": 0,
                "totalCents": 0.0123, "discountPercentOff": 0}, chargedCents=0.0123, cursorTokenFee=0),
    ], "totalUsageEventsCount": 7, "pagination": {"numPages": 3, "currentPage": 1, "pageSize": 3,
                                                   "hasNextPage": True, "hasPreviousPage": False}},
    {"usageEvents": [
        # Charged less than the tokens' list cost (included usage), fraction of a cent, Cursor's fee.
        _event(2, "ana@company.com", "gpt-5", {"inputTokens": 400, "outputTokens": 100, "cacheWriteTokens": 0,
                                                "cacheReadTokens": 1600, "totalCents": 0.37,
                                                "discountPercentOff": 0},
               chargedCents=0.25, cursorTokenFee=0.05, maxMode=True),
        # Older shape: no `chargedCents`, the cents only in `tokenUsage.totalCents` (a decimal string).
        _event(3, "ana@company.com", "auto", {"inputTokens": 50, "outputTokens": 20, "cacheReadTokens": 0,
                                              "cacheWriteTokens": 0, "totalCents": "3.5"}),
        # Only a user id: the email comes from the members list.
        _event(4, None, "gemini-2.5-pro", {"inputTokens": 7, "outputTokens": 3}, userId=103, chargedCents=0,
               isChargeable=False),
    ], "totalUsageEventsCount": 7, "pagination": {"numPages": 3, "currentPage": 2, "pageSize": 3,
                                                   "hasNextPage": True, "hasPreviousPage": True}},
    {"usageEvents": [
        # A request-based call with the legacy dollar string and no token usage.
        _event(5, "bo@company.com", "composer-1", None, isTokenBasedCall=False, usageBasedCosts="$0.04"),
        # Outside the synced range [Nov 1, Nov 4): dropped.
        _event(72, "bo@company.com", "gpt-5", {"inputTokens": 1, "outputTokens": 1}, chargedCents=1),
    ], "totalUsageEventsCount": 7, "pagination": {"numPages": 3, "currentPage": 3, "pageSize": 3,
                                                   "hasNextPage": False, "hasPreviousPage": True}},
]

SPEND_PAGES: list[dict[str, Any]] = [
    {"teamMemberSpend": [
        # 2026 shape: `spendCents` is the overage, `overallSpendCents` the cycle total.
        {"userId": 101, "email": "Dev@Company.com", "name": "Dev One", "role": "owner", "spendCents": 350.25,
         "overallSpendCents": 2000.5, "fastPremiumRequests": 150, "monthlyLimitDollars": 100,
         "hardLimitOverrideDollars": 0, "effectivePerUserLimitDollars": 100},
    ], "subscriptionCycleStart": NOV1_MS, "totalMembers": 3, "totalPages": 2},
    {"teamMemberSpend": [
        # Older shape: `spendCents` is the cycle total, `includedSpendCents` the included part.
        {"userId": 102, "email": "ana@company.com", "name": "Ana", "role": "member", "spendCents": 2500,
         "includedSpendCents": 2000, "fastPremiumRequests": 12},
        {"userId": 103, "email": "bo@company.com", "name": "Bo", "role": "member", "spendCents": 100,
         "fastPremiumRequests": 0},
    ], "subscriptionCycleStart": NOV1_MS, "totalMembers": 3, "totalPages": 2},
]


@dataclass
class FakeCursor:
    members: dict[str, Any] = field(default_factory=lambda: TEAM_MEMBERS)
    event_pages: list[dict[str, Any]] = field(default_factory=lambda: list(EVENT_PAGES))
    spend_pages: list[dict[str, Any]] = field(default_factory=lambda: list(SPEND_PAGES))
    limits: dict[str, Decimal | None] = field(default_factory=dict)
    failures: ScriptedFailures = field(default_factory=ScriptedFailures)
    requests: list[tuple[str, str, Any, dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def fail(self, path: str, page: int, kind: str, times: int = 1) -> None:
        assert kind in ("429", "500", "malformed", "no_items"), kind
        self.failures.add((path, page), kind, times)

    def bodies(self, path: str) -> list[Any]:
        return [body for _, p, body, _ in self.requests if p == path]

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = msgspec.json.Decoder(float_hook=Decimal).decode(raw) if raw else None
        self.requests.append((request.method, request.path, body,
                              {k.lower(): v for k, v in request.headers.items()}))
        expected = "Basic " + base64.b64encode(f"{CURSOR_KEY}:".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return _json(401, {"error": "Unauthorized", "message": "Invalid API key"})
        path = request.path
        page = int(body.get("page", 1)) if isinstance(body, dict) else 1
        kind = self.failures.take((path, page))
        if kind:
            return _failure(kind)
        if path == MEMBERS and request.method == "GET":
            return _json(200, self.members)
        if path == EVENTS and request.method == "POST":
            return self._page(self.event_pages, page)
        if path == SPEND and request.method == "POST":
            return self._spend(body or {}, page)
        if path == LIMIT and request.method == "POST":
            return self._set_limit(body or {})
        return _json(404, {"error": f"no route {request.method} {path}"})

    def _page(self, pages: list[dict[str, Any]], page: int) -> web.Response:
        if not 1 <= page <= len(pages):
            return _json(400, {"error": f"page {page} out of range"})
        return _json(200, pages[page - 1])

    def _spend(self, body: dict[str, Any], page: int) -> web.Response:
        pages = [{**p, "teamMemberSpend": [self._with_limit(r) for r in p["teamMemberSpend"]]}
                 for p in self.spend_pages]
        term = body.get("searchTerm")
        if term:
            rows = [r for p in pages for r in p["teamMemberSpend"] if term.lower() in r["email"].lower()]
            pages = [{"teamMemberSpend": rows, "subscriptionCycleStart": NOV1_MS, "totalMembers": len(rows),
                      "totalPages": 1}]
        return self._page(pages, page)

    def _with_limit(self, row: dict[str, Any]) -> dict[str, Any]:
        email = row["email"].lower()
        return {**row, "hardLimitOverrideDollars": self.limits[email]} if email in self.limits else row

    def _set_limit(self, body: dict[str, Any]) -> web.Response:
        email = body.get("email")
        amount = body.get("hardLimitDollars")
        known = {m["email"].lower() for m in self.members["teamMembers"]}
        if not isinstance(email, str) or "hardLimitDollars" not in body:
            return _json(400, {"error": "email and hardLimitDollars are required"})
        if email.lower() not in known:
            return _json(404, {"error": f"User {email} not found in team"})
        self.limits[email.lower()] = amount
        return _json(200, {"outcome": "success", "message": f"Spend limit set to ${amount} for {email}"})


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    encode = msgspec.json.Encoder(decimal_format="number").encode
    return web.Response(status=status, body=encode(body), content_type="application/json", headers=headers)


def _failure(kind: str) -> web.Response:
    if kind == "429":
        return _json(429, {"error": "Too Many Requests", "message": "Rate limit exceeded"}, {"Retry-After": "2"})
    if kind == "500":
        return _json(500, {"error": "Internal Server Error"})
    if kind == "malformed":
        return web.Response(status=200, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
    return _json(200, {"pagination": {"hasNextPage": False}})  # no_items


def running() -> AbstractContextManager[FakeCursor]:
    """`with running() as cursor: ...cursor.url...` — the fake on a free port of 127.0.0.1."""
    return fake_api(FakeCursor(), "fake-cursor")
