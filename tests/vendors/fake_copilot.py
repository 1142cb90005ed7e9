"""A fake of GitHub's Copilot metrics reports and AI-credit billing API on 127.0.0.1, for tests (trackers.md §3.4).

Routes (auth `Authorization: Bearer <GITHUB_TOKEN>`; another token gets a 401 "Bad credentials"):

- `GET /orgs/{org}` → `{login, id}` (404 for another org);
- `GET /orgs/{org}/copilot/metrics/reports/users-1-day?day=…` → `{download_links, report_day}` whose links
  point back at this server (`/signed/…?sig=…`); a day in `NO_CONTENT_DAYS` answers 204, any other day
  without a report 404 "Not Found" (as GitHub does for a day not generated yet);
- `GET /signed/{day}/{n}.ndjson?sig=…` → the NDJSON file; like a storage host it refuses (400) a request that
  carries an Authorization header beside the signature;
- `GET /organizations/{org}/settings/billing/ai_credit/usage?year&month&day[&user]`.

`github.fail(path, kind, times=1)` scripts failures of a route (matched on the path): `"429"` (with
`Retry-After: 2`), `"500"`, `"malformed"` (an HTML page), `"bad_envelope"` (`download_links` a string, not a
list), `"bad_line"` (a report file whose 2nd line is not JSON). Every request is recorded in `github.requests` as (path, query dict, headers with lower-case names).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web
from app_thread import ScriptedFailures, fake_api

GITHUB_TOKEN = "ghp_fakeToken0123456789abcdefABCDEF0123"
ORG = "acme-corp"
NO_CONTENT_DAYS = {"2026-11-03"}


def _line(day: str, user_id: int, login: str, **more: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"day": day, "enterprise_id": "7", "organization_id": "22", "user_id": user_id,
                            "user_login": login, "user_initiated_interaction_count": 0,
                            "code_generation_activity_count": 0, "code_acceptance_activity_count": 0,
                            "loc_added_sum": 0, "loc_deleted_sum": 0, "loc_suggested_to_add_sum": 0,
                            "loc_suggested_to_delete_sum": 0, "totals_by_feature": [], "totals_by_ide": [],
                            "used_agent": False, "used_chat": True}
    line.update(more)
    return line


def _cli(prompts: int, requests: int, sessions: int, prompt_tokens: int, output_tokens: int,
         avg: float | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {"prompt_tokens_sum": prompt_tokens, "output_tokens_sum": output_tokens}
    if avg is not None:
        usage["avg_tokens_per_request"] = avg
    return {"prompt_count": prompts, "request_count": requests, "session_count": sessions,
            "last_known_cli_version": {"cli_version": "1.0.8", "sampled_at": "2026-11-01T00:01:43.000Z"},
            "token_usage": usage}


# Each day's report: a list of files, each a list of lines (several download links = several "pages").
REPORTS: dict[str, list[list[dict[str, Any]]]] = {
    "2026-11-01": [
        [_line("2026-11-01", 1, "OctoCat", code_generation_activity_count=4, code_acceptance_activity_count=3,
               user_initiated_interaction_count=2, loc_added_sum=32, loc_deleted_sum=6,
               loc_suggested_to_add_sum=34, loc_suggested_to_delete_sum=6, ai_credits_used=12.5,
               totals_by_cli=_cli(2, 2, 1, 3800, 5000, 4400.0),
               totals_by_ide=[{"ide": "vscode", "loc_added_sum": 32}], some_future_field={"nested": True})],
        [_line("2026-11-01", 2, "hubot", code_generation_activity_count=1, loc_suggested_to_add_sum=5),
         # Only CLI use: tokens but no lines.
         _line("2026-11-01", 3, "mona", totals_by_cli=_cli(1, 3, 1, 900, 100))],
    ],
    "2026-11-02": [
        [_line("2026-11-02", 1, "OctoCat", loc_added_sum=10, code_acceptance_activity_count=1,
               totals_by_cli=_cli(0, 0, 0, 0, 0))],  # token usage present but all zero: no event
        [],  # an empty file
        [_line("2026-11-02", 2, "hubot", loc_deleted_sum=4, totals_by_cli=None)],
    ],
}


def _item(model: str, gross_qty: float, gross: float, discount_qty: float, discount: float, net_qty: float,
          net: float, sku: str = "Copilot AI Credits") -> dict[str, Any]:
    return {"product": "Copilot", "sku": sku, "model": model, "unitType": "ai-credits", "pricePerUnit": 0.01,
            "grossQuantity": gross_qty, "grossAmount": gross, "discountQuantity": discount_qty,
            "discountAmount": discount, "netQuantity": net_qty, "netAmount": net}


# AI-credit usage per (day, user or None): the organization's items, and one user's when asked with `user=`.
CREDITS: dict[tuple[str, str | None], list[dict[str, Any]]] = {
    ("2026-11-01", None): [_item("claude-sonnet-4.5", 520, 5.2, 300, 3, 220, 2.2),
                           _item("gpt-5", 80, 0.8, 80, 0.8, 0, 0)],
    ("2026-11-01", "octocat"): [_item("claude-sonnet-4.5", 420, 4.2, 300, 3, 120, 1.2)],
    ("2026-11-01", "hubot"): [_item("claude-sonnet-4.5", 100, 1, 0, 0, 100, 1),
                              _item("gpt-5", 80, 0.8, 80, 0.8, 0, 0)],
    ("2026-11-02", None): [_item("claude-sonnet-4.5", 33.3333, 0.333333, 0, 0, 33.3333, 0.333333)],
    ("2026-11-02", "octocat"): [_item("claude-sonnet-4.5", 33.3333, 0.333333, 0, 0, 33.3333, 0.333333)],
}


@dataclass
class FakeGitHub:
    reports: dict[str, list[list[dict[str, Any]]]] = field(default_factory=lambda: dict(REPORTS))
    credits: dict[tuple[str, str | None], list[dict[str, Any]]] = field(default_factory=lambda: dict(CREDITS))
    failures: ScriptedFailures = field(default_factory=ScriptedFailures)
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def fail(self, path: str, kind: str, times: int = 1) -> None:
        assert kind in ("429", "500", "malformed", "bad_envelope", "bad_line"), kind
        self.failures.add(path, kind, times)

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.requests]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        query = dict(request.query)
        self.requests.append((path, query, {k.lower(): v for k, v in request.headers.items()}))
        if path.startswith("/signed/"):
            return self._download(request, path)
        if request.headers.get("Authorization") != f"Bearer {GITHUB_TOKEN}":
            return _json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        kind = self.failures.take(path)
        if kind:
            return _failure(kind)
        if path == f"/orgs/{ORG}":
            return _json(200, {"login": ORG, "id": 22})
        if path == f"/orgs/{ORG}/copilot/metrics/reports/users-1-day":
            return self._report(query.get("day", ""))
        if path == f"/organizations/{ORG}/settings/billing/ai_credit/usage":
            return self._credits(query)
        return _not_found()

    def _report(self, day: str) -> web.Response:
        if day in NO_CONTENT_DAYS:
            return web.Response(status=204)
        if day not in self.reports:
            return _not_found()
        links = [f"{self.url}/signed/{day}/{n}.ndjson?sig=s3cr3t-{day}-{n}&se=2026-11-05T00%3A00Z"
                 for n in range(1, len(self.reports[day]) + 1)]
        return _json(200, {"download_links": links, "report_day": day})

    def _download(self, request: web.Request, path: str) -> web.Response:
        if "Authorization" in request.headers:  # a storage host refuses two kinds of auth at once
            return web.Response(status=400, text="<Error><Code>InvalidArgument</Code></Error>")
        kind = self.failures.take(path)
        if kind == "bad_line":
            return web.Response(status=200, text='{"day": "2026-11-01", "user_id": 9}\n{"day": 2026-\n')
        if kind:
            return _failure(kind)
        day, name = path.removeprefix("/signed/").split("/")
        files = self.reports.get(day, [])
        number = int(name.removesuffix(".ndjson"))
        if not 1 <= number <= len(files) or not request.query.get("sig"):
            return web.Response(status=403, text="<Error><Code>AuthenticationFailed</Code></Error>")
        body = b"".join(msgspec.json.encode(line) + b"\n" for line in files[number - 1])
        return web.Response(status=200, body=body, content_type="application/x-ndjson")

    def _credits(self, query: dict[str, str]) -> web.Response:
        year, month, day = int(query["year"]), int(query["month"]), int(query["day"])
        key = f"{year:04d}-{month:02d}-{day:02d}"
        user = query.get("user")
        answer: dict[str, Any] = {"timePeriod": {"year": year, "month": month, "day": day}, "organization": ORG}
        if user is not None:
            answer["user"] = user
        answer["usageItems"] = self.credits.get((key, user.lower() if user else None), [])
        return _json(200, answer)


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=msgspec.json.encode(body), content_type="application/json",
                        headers=headers)


def _not_found() -> web.Response:
    return _json(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest",
                       "status": "404"})


def _failure(kind: str) -> web.Response:
    if kind == "429":
        return _json(429, {"message": "API rate limit exceeded"}, {"Retry-After": "2"})
    if kind == "500":
        return _json(500, {"message": "Server Error"})
    if kind == "bad_envelope":
        return _json(200, {"download_links": "https://storage.invalid/report.ndjson", "report_day": "2026-11-01"})
    return web.Response(status=200, text="<html><body>unicorn</body></html>", content_type="text/html")


def running() -> AbstractContextManager[FakeGitHub]:
    """`with running() as github: ...github.url...` — the fake on a free port of 127.0.0.1."""
    return fake_api(FakeGitHub(), "fake-github")
