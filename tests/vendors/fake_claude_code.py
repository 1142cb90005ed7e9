"""A fake of the Anthropic Admin API's Claude Code usage report on 127.0.0.1, for tests.

`GET /v1/organizations/usage_report/claude_code?starting_at=YYYY-MM-DD&limit=…&page=…` serves the fixed
pages of `PAGES[day]` (a day without pages answers one empty page), built from the documented record shape
and paginated with `has_more` / `next_page` (an opaque cursor that only works for its own day). It checks
the admin key (`x-api-key` and `anthropic-version`; another key gets the 401 of an expired key), answers 400
for a missing or malformed `starting_at` or a `limit` outside 1…1000, and plays scripted failures:
`fake.fail(day, page, kind)` makes the next request for that page answer with `kind` once (or `times`):

- `"429"`: HTTP 429 with `Retry-After: 2` and Anthropic's rate-limit error body;
- `"500"`: HTTP 500 with Anthropic's server error body, no `Retry-After`;
- `"malformed"`: HTTP 200 with an HTML body (not JSON).

Every request is recorded in `fake.requests` as (query pairs, headers with lower-case names).
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec
from aiohttp import web
from app_thread import ScriptedFailures, fake_api

CLAUDE_CODE_KEY = "sk-ant-admin01-fake-claude-code-key-0123456789"
PATH = "/v1/organizations/usage_report/claude_code"


def user(email: str) -> dict[str, str]:
    return {"type": "user_actor", "email_address": email}


def api(name: str) -> dict[str, str]:
    return {"type": "api_actor", "api_key_name": name}


def model(name: str, input: int, output: int, read: int, write: int, cents: int | Decimal) -> dict[str, Any]:
    return {"model": name, "tokens": {"input": input, "output": output, "cache_read": read, "cache_creation": write},
            "estimated_cost": {"currency": "USD", "amount": cents}}


def record(day: str, actor: dict[str, str], terminal: str | None, customer: str, **parts: Any) -> dict[str, Any]:
    return {"date": f"{day}T00:00:00Z", "actor": actor, "organization_id": "dc9f6c26-b22c-4831-8d01-0446bada88f1",
            "customer_type": customer, "terminal_type": terminal, **parts}


PAGES: dict[str, list[dict[str, Any]]] = {
    "2026-11-01": [
        {"data": [
            # The documented example, plus a model entry with no tokens (no event).
            record("2026-11-01", user("Dev@Company.com"), "vscode", "api",
                   core_metrics={"num_sessions": 5, "lines_of_code": {"added": 1543, "removed": 892},
                                 "commits_by_claude_code": 12, "pull_requests_by_claude_code": 2},
                   tool_actions={"edit_tool": {"accepted": 45, "rejected": 5},
                                 "multi_edit_tool": {"accepted": 1, "rejected": 0},
                                 "write_tool": {"accepted": 3, "rejected": 1},
                                 "notebook_edit_tool": {"accepted": 0, "rejected": 0}},
                   model_breakdown=[model("claude-opus-4-6", 100000, 35000, 10000, 5000, 141),
                                    model("claude-haiku-4-5", 0, 0, 0, 0, 0)]),
            # The same person on another terminal the same day; a fraction of a cent; no tool_actions.
            record("2026-11-01", user("dev@company.com"), "iTerm.app", "subscription",
                   core_metrics={"num_sessions": 1, "lines_of_code": {"added": 10, "removed": 0},
                                 "commits_by_claude_code": 0, "pull_requests_by_claude_code": None},
                   model_breakdown=[model("claude-sonnet-4-5", 2000, 500, 0, 0, Decimal("2.5"))]),
        ]},
        {"data": [
            # An API key, no terminal; half a micro-USD rounds to even; a null count.
            record("2026-11-01", api("ci-bot"), None, "api",
                   core_metrics={"num_sessions": 3, "lines_of_code": {"added": 200, "removed": 50},
                                 "commits_by_claude_code": 1, "pull_requests_by_claude_code": 0},
                   tool_actions={"edit_tool": {"accepted": 7, "rejected": None}},
                   model_breakdown=[model("claude-sonnet-4-5", 50000, 8000, 40000, 1200, Decimal("12.34565"))]),
        ]},
    ],
    "2026-11-03": [
        {"data": [
            # No model_breakdown at all: outcomes only.
            record("2026-11-03", user("ana@company.com"), "vscode", "subscription",
                   core_metrics={"num_sessions": 2, "lines_of_code": {"added": 40, "removed": 0},
                                 "commits_by_claude_code": 0, "pull_requests_by_claude_code": 0},
                   tool_actions={"edit_tool": {"accepted": 3, "rejected": 2}}),
        ]},
    ],
}

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_encode = msgspec.json.Encoder(decimal_format="number").encode


@dataclass
class FakeClaudeCode:
    """The app's state: pages per day, scripted failures, the requests seen."""

    pages: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: dict(PAGES))
    failures: ScriptedFailures = field(default_factory=ScriptedFailures)
    requests: list[tuple[list[tuple[str, str]], dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def fail(self, day: str, page: int, kind: str, times: int = 1) -> None:
        assert kind in ("429", "500", "malformed"), kind
        self.failures.add((day, page), kind, times)

    def days_asked(self) -> list[str]:
        """The `starting_at` of every request for a first page, in order."""
        return [dict(q)["starting_at"] for q, _ in self.requests if "page" not in dict(q)]

    async def handle(self, request: web.Request) -> web.Response:
        query = list(request.query.items())
        self.requests.append((query, {k.lower(): v for k, v in request.headers.items()}))
        if request.method != "GET" or request.path != PATH:
            return _error(404, "not_found_error", f"no route {request.method} {request.path}")
        if request.headers.get("x-api-key") != CLAUDE_CODE_KEY or not request.headers.get("anthropic-version"):
            return _error(401, "authentication_error", "invalid x-api-key")
        day = request.query.get("starting_at", "")
        if not _DAY.fullmatch(day):
            return _error(400, "invalid_request_error", "starting_at: expected a date YYYY-MM-DD")
        limit = request.query.get("limit", "20")
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            return _error(400, "invalid_request_error", "limit: must be between 1 and 1000")
        pages = self.pages.get(day) or [{"data": []}]
        cursor = request.query.get("page")
        index = 0 if cursor is None else _cursor_index(cursor, day)
        if index is None or not 0 <= index < len(pages):
            return _error(400, "invalid_request_error", f"unknown page cursor {cursor!r}")
        kind = self.failures.take((day, index + 1))
        if kind:
            return _failure(kind)
        more = index + 1 < len(pages)
        body = {**pages[index], "has_more": more, "next_page": f"cc_{day}_{index + 1}" if more else None}
        return web.Response(status=200, body=_encode(body), content_type="application/json")


def _cursor_index(cursor: str, day: str) -> int | None:
    prefix = f"cc_{day}_"
    rest = cursor.removeprefix(prefix)
    return int(rest) if cursor.startswith(prefix) and rest.isdigit() else None


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return web.Response(status=status, body=_encode(body), content_type="application/json", headers=headers)


def _failure(kind: str) -> web.Response:
    if kind == "429":
        return _error(429, "rate_limit_error", "Rate limited", {"Retry-After": "2"})
    if kind == "500":
        return _error(500, "api_error", "Internal server error")
    return web.Response(status=200, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")


def running() -> AbstractContextManager[FakeClaudeCode]:
    """`with running() as fake: ...fake.url...` — the fake on a free port of 127.0.0.1."""
    return fake_api(FakeClaudeCode(), "fake-claude-code")
