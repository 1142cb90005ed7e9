"""A fake of the Anthropic and OpenAI admin APIs (usage and cost ledgers) on 127.0.0.1, for tests.

It serves fixed pages built from the documented response shapes (trackers.md §3.1, §3.2), paginated
with `has_more` / `next_page` and the `page` query parameter, checks the admin key of each vendor, and
plays scripted failures: `ledgers.fail(path, page, kind)` makes the next request for that page answer
with `kind` once (or `times` times):

- `"429"`: HTTP 429 with `Retry-After: 2` and the vendor's rate-limit error body;
- `"500"`: HTTP 500 with the vendor's server error body, no `Retry-After`;
- `"malformed"`: HTTP 200 with an HTML body (not JSON);
- `"no_data"`: HTTP 200 with a JSON object that has no `data` list.

A request with another key gets the vendor's 401 (an expired or revoked admin key). Every request is
recorded in `ledgers.requests` as (path, query pairs, headers with lower-case names).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web
from app_thread import ScriptedFailures, fake_api

ANTHROPIC_KEY = "sk-ant-admin01-fake-valid-key-0123456789"
OPENAI_KEY = "sk-admin-fake-valid-key-0123456789"

A_USAGE = "/v1/organizations/usage_report/messages"
A_COST = "/v1/organizations/cost_report"
O_USAGE = "/v1/organization/usage/completions"
O_COST = "/v1/organization/costs"

DAY = 86_400
NOV1 = 1793491200  # 2026-11-01T00:00:00Z


def _a_bucket(day: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    next_day = f"2026-11-{int(day[-2:]) + 1:02d}"
    return {"starting_at": f"{day}T00:00:00Z", "ending_at": f"{next_day}T00:00:00Z", "results": results}


def _a_result(key: str | None, workspace: str | None, model: str | None, uncached: int, read: int, w5m: int,
              w1h: int, output: int, searches: int) -> dict[str, Any]:
    return {"account_id": None, "api_key_id": key, "workspace_id": workspace, "model": model,
            "uncached_input_tokens": uncached, "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_1h_input_tokens": w1h, "ephemeral_5m_input_tokens": w5m},
            "output_tokens": output, "server_tool_use": {"web_search_requests": searches},
            "service_tier": None, "context_window": None, "inference_geo": None}


ANTHROPIC_USAGE_PAGES: list[dict[str, Any]] = [
    {"data": [
        _a_bucket("2026-11-01", [
            _a_result("apikey_01A", "wrkspc_01W", "claude-opus-4-6", 1500, 200, 500, 1000, 500, 10),
            _a_result(None, None, "claude-sonnet-4-5", 40, 0, 0, 0, 7, 0),  # Console, default workspace
        ]),
        _a_bucket("2026-11-02", []),  # empty buckets are listed too
    ]},
    {"data": [
        _a_bucket("2026-11-03", [
            _a_result("apikey_01A", "wrkspc_01W", "claude-sonnet-4-5", 3000, 120000, 2000, 0, 900, 0),
            _a_result("apikey_01B", "wrkspc_01W", "claude-haiku-4-5", 0, 0, 0, 0, 0, 0),  # nothing used
        ]),
    ]},
    {"data": [
        _a_bucket("2026-11-04", [
            _a_result("apikey_01B", None, "claude-opus-4-6", 10, 5, 0, 300, 20, 2),
        ]),
    ]},
]

ANTHROPIC_COST_PAGES: list[dict[str, Any]] = [
    {"data": [
        _a_bucket("2026-11-01", [
            {"amount": "123.45", "currency": "USD", "cost_type": "tokens",
             "description": "Claude Opus 4.6 Usage - Input Tokens", "model": "claude-opus-4-6",
             "token_type": "uncached_input_tokens", "service_tier": "standard", "context_window": "0-200k",
             "inference_geo": None, "workspace_id": "wrkspc_01W"},
            {"amount": "0.0001", "currency": "USD", "cost_type": "tokens",
             "description": "Claude Sonnet 4.5 Usage - Output Tokens", "model": "claude-sonnet-4-5",
             "token_type": "output_tokens", "service_tier": "standard", "context_window": "0-200k",
             "inference_geo": None, "workspace_id": None},
        ]),
    ]},
    {"data": [
        _a_bucket("2026-11-03", [
            {"amount": "1000", "currency": "USD", "cost_type": "web_search", "description": "Web Search",
             "model": None, "token_type": None, "service_tier": None, "context_window": None,
             "inference_geo": None, "workspace_id": "wrkspc_01W"},
        ]),
    ]},
]


def _o_bucket(day: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    start = NOV1 + day * DAY
    return {"object": "bucket", "start_time": start, "end_time": start + DAY, "results": results}


def _o_result(user: str | None, key: str | None, project: str | None, model: str | None, input_tokens: int,
              cached: int, output: int, requests: int) -> dict[str, Any]:
    return {"object": "organization.usage.completions.result", "input_tokens": input_tokens,
            "output_tokens": output, "input_cached_tokens": cached, "input_audio_tokens": 0,
            "output_audio_tokens": 0, "num_model_requests": requests, "project_id": project,
            "user_id": user, "api_key_id": key, "model": model, "batch": None}


OPENAI_USAGE_PAGES: list[dict[str, Any]] = [
    {"object": "page", "data": [
        _o_bucket(0, [
            _o_result("user-ana", "key_A", "proj_1", "gpt-5", 1000, 800, 500, 5),
            _o_result(None, "key_B", "proj_1", "gpt-5-mini", 250, 0, 40, 2),
        ]),
    ]},
    {"object": "page", "data": [
        _o_bucket(1, []),
        _o_bucket(2, [_o_result("user-bo", "key_C", None, "gpt-5", 90000, 60000, 3000, 31)]),
    ]},
]

OPENAI_COST_PAGES: list[dict[str, Any]] = [
    {"object": "page", "data": [
        _o_bucket(0, [
            {"object": "organization.costs.result", "amount": {"value": 0.06, "currency": "usd"},
             "line_item": "gpt-5, input", "project_id": "proj_1"},
            {"object": "organization.costs.result", "amount": {"value": 12.3456789, "currency": "usd"},
             "line_item": "gpt-5, output", "project_id": "proj_1"},
        ]),
    ]},
    {"object": "page", "data": [
        _o_bucket(2, [
            {"object": "organization.costs.result", "amount": {"value": 4, "currency": "usd"},
             "line_item": "gpt-5, input", "project_id": None},
        ]),
    ]},
]

PAGES = {A_USAGE: ANTHROPIC_USAGE_PAGES, A_COST: ANTHROPIC_COST_PAGES,
         O_USAGE: OPENAI_USAGE_PAGES, O_COST: OPENAI_COST_PAGES}


@dataclass
class FakeLedgers:
    """The app's state: pages per path, scripted failures, the requests seen."""

    pages: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: dict(PAGES))
    failures: ScriptedFailures = field(default_factory=ScriptedFailures)
    requests: list[tuple[str, list[tuple[str, str]], dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def fail(self, path: str, page: int, kind: str, times: int = 1) -> None:
        assert kind in ("429", "500", "malformed", "no_data"), kind
        self.failures.add((path, page), kind, times)

    def pages_served(self, path: str) -> list[str | None]:
        """The `page` cursor of every request for `path`, in order (None for the first page)."""
        return [dict(query).get("page") for p, query, _ in self.requests if p == path]

    # --- the handler --------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path
        self.requests.append((path, list(request.query.items()),
                              {k.lower(): v for k, v in request.headers.items()}))
        if request.method != "GET":
            return _json(405, {"error": {"message": f"{request.method} is not allowed"}})
        anthropic = path.startswith("/v1/organizations/")
        if anthropic:
            if request.headers.get("x-api-key") != ANTHROPIC_KEY or not request.headers.get("anthropic-version"):
                return _json(401, {"type": "error", "error": {"type": "authentication_error",
                                                              "message": "invalid x-api-key"}})
        elif request.headers.get("Authorization") != f"Bearer {OPENAI_KEY}":
            return _json(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                         "param": None, "code": "invalid_api_key"}})
        pages = self.pages.get(path)
        if pages is None:
            return _json(404, {"error": {"message": f"no route {path}"}})
        cursor = request.query.get("page")
        index = 0 if cursor is None else _cursor_index(cursor)
        if index is None or not 0 <= index < len(pages):
            return _json(400, {"error": {"message": f"unknown page cursor {cursor!r}"}})
        kind = self.failures.take((path, index + 1))
        if kind:
            return _failure(kind, anthropic)
        more = index + 1 < len(pages)
        # A page may set `has_more` / `next_page` itself (to script a broken cursor).
        body = {"has_more": more, "next_page": f"page_{index + 1:04d}" if more else None, **pages[index]}
        return _json(200, body)


def _cursor_index(cursor: str) -> int | None:
    try:
        return int(cursor.removeprefix("page_")) if cursor.startswith("page_") else None
    except ValueError:
        return None


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=msgspec.json.encode(body), content_type="application/json",
                        headers=headers)


def _failure(kind: str, anthropic: bool) -> web.Response:
    if kind == "429":
        body = ({"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}} if anthropic
                else {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}})
        return _json(429, body, {"Retry-After": "2"})
    if kind == "500":
        body = ({"type": "error", "error": {"type": "api_error", "message": "Internal server error"}} if anthropic
                else {"error": {"message": "The server had an error", "type": "server_error"}})
        return _json(500, body)
    if kind == "malformed":
        return web.Response(status=200, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
    return _json(200, {"object": "page", "has_more": False, "next_page": None})  # no_data


# --- running it in a background thread ---------------------------------------------------------------


def running() -> AbstractContextManager[FakeLedgers]:
    """`with running() as ledgers: ...ledgers.url...` — the fake on a free port of 127.0.0.1."""
    return fake_api(FakeLedgers(), "fake-ledgers")
