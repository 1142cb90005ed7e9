"""GitHub Copilot: the per-user usage metrics reports and the AI-credit billing usage (trackers.md §3.4).

Auth is `Authorization: Bearer <token>` with `Accept: application/vnd.github+json` and the route's
`X-GitHub-Api-Version`: 2026-03-10 for the metrics reports, 2022-11-28 for billing (and `GET /orgs/{org}`).
`GitHubClient` adds that to `VendorClient` (same retries on 429/5xx honouring `Retry-After`, same clear
error for a refused token, the token never logged or shown), plus the report-file downloads.

**Usage metrics.** For each UTC day, `GET /orgs/{org}/copilot/metrics/reports/users-1-day?day=YYYY-MM-DD`
answers `{download_links: [signed URL, …], report_day}`; each link is one NDJSON file whose lines are
user-day records (`day, user_id, user_login, code_acceptance_activity_count, loc_added_sum, loc_deleted_sum,
totals_by_cli{…, token_usage{prompt_tokens_sum, output_tokens_sum}}, …`; other fields ignored). The links
are signed, short-lived URLs on a storage host: they are fetched **without** the Authorization header
(sending the GitHub token there would leak it; storage hosts also refuse a request that carries both),
only over http(s), never named in an error (the signature is a credential while it lasts).
`metrics_records()` maps the lines: per user-day the outcomes `lines_added`, `lines_removed` and
`edit_accepted` (non-zero only), and one `UsageEvent` (`confidence="metered"`) when the CLI reports tokens.
Ids: `copilot-metrics:<day>:<user_id>:<outcome type>` and `copilot-metrics:<day>:<user_id>:cli`.

A day without a report: GitHub's OpenAPI description lists 200, **204**, 403, 404 and 500 for the route.
204 (no content) is the documented "no report for this day": the day is skipped. 404 is only documented as
"resource not found", and GitHub's message is the generic "Not Found" either way, so it cannot tell a day
not generated yet (reports lag ~1-2 days; data before 2025-10-10 or older than a year is gone) from an
unknown organization: on a 404 the client asks `GET /orgs/{org}`; if that is a 404 too the sync fails
("no organization"), otherwise that one day is skipped as not (or no longer) available.

**AI-credit billing** (usage-based billing since 2026-06-01; 1 credit = $0.01; earlier days are not asked).
`GET /organizations/{org}/settings/billing/ai_credit/usage?year=&month=&day=[&user=]` answers
`{timePeriod{year, month, day}, organization, user?, usageItems[{product, sku, model, unitType,
pricePerUnit, grossQuantity, grossAmount, discountQuantity, discountAmount, netQuantity, netAmount}]}`,
amounts in dollars. The organization's answer is aggregated by (product, sku, model) and names no user;
per-user items come only when asked with `user=<login>` (the answer then names it in a top-level `user`).
So `sync_copilot(..., users=[logins])` asks once per listed user and day: those items become billed
`UsageEvent`s (`reported_cost_micros` = `netAmount` exactly, tokens 0), while the organization's items
become `VendorCost` lines (the bill). The per-user events are a breakdown of the same money, not more of it.
Ids: `copilot-credits:<day>:user=<login>:<product>:<sku>:<model>` and
`copilot-credits:<day>:org=<org>:<product>:<sku>:<model>` (`~2`, `~3` for an exact repeat in one answer).

Inferred, not documented: that a report line's `user_id` is present (the schema shows it always);
that a gzip-compressed report file may be served (it is decompressed); that the per-day billing answer's
`timePeriod` carries the `day` asked for (checked when present); that an item may name its own `user`
(used before the top-level one); the AI-credit response shape itself follows the legacy premium-request
report (github/rest-api-description) and third-party guides, not a GitHub example of the new route.
"""

from __future__ import annotations

import gzip
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, TypeGuard

import msgspec

from ...errors import DECODE_ERRORS, InvalidEvent
from ...events import OutcomeEvent, UsageEvent, as_utc
from ...money import decimal_usd_to_micros
from .client import (
    Params,
    VendorAuthError,
    VendorClient,
    VendorDataError,
    VendorError,
    VendorPageError,
    parse_page,
)
from .records import VendorBatch, VendorCost, id_part

GITHUB_BASE_URL = "https://api.github.com"
METRICS_VERSION = "2026-03-10"
BILLING_VERSION = "2022-11-28"
USERS_REPORT = "users-1-day"
TOOL = "copilot"
VENDOR = "github"
AI_CREDITS_START = date(2026, 6, 1)
"""The first day of usage-based billing in AI credits: the credit ledger holds nothing before it."""

Count = Annotated[int, msgspec.Meta(ge=0)]
_decode_json = msgspec.json.Decoder(float_hook=Decimal).decode


# --- the client -----------------------------------------------------------------------------------------


class _NoContent(dict[str, Any]):
    """The decoded form of an empty 2xx answer (GitHub's 204 for a day without a report)."""


@dataclass
class GitHubClient(VendorClient):
    """A `VendorClient` for GitHub's REST API: per-route API versions, JSON objects without a `data` list,
    and the download of report files behind signed links."""

    def call(self, path: str, params: Params | None = None, *, version: str, items: str | None = None
             ) -> dict[str, Any]:
        """One JSON object (empty answers: `_NoContent`), retried on 429/5xx; `items` names a list it must hold."""
        versioned = replace(self, headers={**self.headers, "X-GitHub-Api-Version": version})
        return versioned._request("GET", self._url(path, params), path, items=items)

    def download(self, link: object, *, label: str, file: int) -> list[tuple[int, dict[str, Any]]]:
        """The `(line number, object)`s of one NDJSON report file, fetched without the token."""
        if not _is_http_url(link):
            raise VendorPageError(f"{self.vendor} returned a malformed {label}: download link {file} is not an "
                                  "http(s) URL", self.vendor, label, file)
        fetcher = _ReportFile(self.vendor, "", {}, sleep=self.sleep, max_attempts=self.max_attempts,
                              backoff_s=self.backoff_s, max_backoff_s=self.max_backoff_s, timeout_s=self.timeout_s)
        try:
            return fetcher._request("GET", link, label, page=file)["lines"]
        except VendorPageError:
            raise
        except VendorError as exc:
            # A storage host's 403 means an expired signature, not a bad token: say so, and name the file,
            # never the link.
            if isinstance(exc, VendorAuthError):
                why = f"the signed link was refused (HTTP {exc.status}; it may have expired: sync again)"
            elif exc.status is None:
                why = "the storage host could not be reached"
            else:
                why = f"the storage host answered HTTP {exc.status}"
            error = VendorPageError(f"{self.vendor} report file {file} of the {label} could not be downloaded: "
                                    f"{why}", self.vendor, label, file)
            error.status = exc.status
            raise error from None

    def _decode(self, body: bytes, path: str, page: int, items: str | None = "data") -> dict[str, Any]:
        if items is None and not body.strip():
            return _NoContent()
        return super()._decode(body, path, page, items)

    @staticmethod
    def _error_detail(body: bytes) -> str:
        """GitHub's own error text (`{"message": …, "documentation_url": …}`), shortened."""
        try:
            obj = _decode_json(body)
        except DECODE_ERRORS:
            return ""
        message = obj.get("message") if isinstance(obj, dict) else None
        return str(message)[:200] if isinstance(message, str) and message else ""


def _is_http_url(link: object) -> TypeGuard[str]:
    """Only http(s) links are fetched (never `file:` or other schemes a malformed answer might hold)."""
    if not isinstance(link, str):
        return False
    parts = urllib.parse.urlsplit(link)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@dataclass
class _ReportFile(VendorClient):
    """Fetches one report file through the same retry loop; `headers` is empty, so no token is sent."""

    def _decode(self, body: bytes, path: str, page: int, items: str | None = None) -> dict[str, Any]:
        if body[:2] == b"\x1f\x8b":  # served gzip-compressed (inferred; urllib does not undo it)
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError):
                raise VendorPageError(f"{self.vendor} returned a malformed {path}: file {page} is not valid gzip",
                                      self.vendor, path, page) from None
        lines: list[tuple[int, dict[str, Any]]] = []
        for number, raw in enumerate(body.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                obj = _decode_json(raw)
            except DECODE_ERRORS:
                obj = None
            if not isinstance(obj, dict):
                raise VendorPageError(f"{self.vendor} returned a malformed {path}: file {page}, line {number} is "
                                      "not a JSON object (the report files are NDJSON)", self.vendor, path, page)
            lines.append((number, obj))
        return {"lines": lines}

    @staticmethod
    def _error_detail(body: bytes) -> str:
        return ""  # a storage host's error page says nothing useful and may echo the signed URL


def copilot_client(token: str, base_url: str = GITHUB_BASE_URL, **options: Any) -> GitHubClient:
    """A client for GitHub's REST API with a token (classic `read:org` + billing, or fine-grained)."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    return GitHubClient("GitHub", base_url, headers, **options)


# --- the documented shapes ------------------------------------------------------------------------------


class _TokenUsage(msgspec.Struct):
    prompt_tokens_sum: Count = 0
    output_tokens_sum: Count = 0
    avg_tokens_per_request: Decimal | None = None


class _CliTotals(msgspec.Struct):
    prompt_count: Count = 0
    request_count: Count = 0
    session_count: Count = 0
    token_usage: _TokenUsage | None = None


class _UserDay(msgspec.Struct):
    day: date
    user_id: int | str
    user_login: str | None = None
    code_acceptance_activity_count: Count = 0
    code_generation_activity_count: Count = 0
    user_initiated_interaction_count: Count = 0
    loc_added_sum: Count = 0
    loc_deleted_sum: Count = 0
    loc_suggested_to_add_sum: Count = 0
    loc_suggested_to_delete_sum: Count = 0
    ai_credits_used: Decimal | None = None
    totals_by_cli: _CliTotals | None = None


class _Envelope(msgspec.Struct):
    download_links: list[str]
    report_day: date | None = None


class _TimePeriod(msgspec.Struct):
    year: int
    month: int | None = None
    day: int | None = None


class _Item(msgspec.Struct):
    netAmount: Decimal
    product: str | None = None
    sku: str | None = None
    model: str | None = None
    unitType: str | None = None
    pricePerUnit: Decimal | None = None
    grossQuantity: Decimal | None = None
    grossAmount: Decimal | None = None
    discountQuantity: Decimal | None = None
    discountAmount: Decimal | None = None
    netQuantity: Decimal | None = None
    user: str | None = None


class _CreditUsage(msgspec.Struct):
    usageItems: list[_Item]
    timePeriod: _TimePeriod | None = None
    organization: str | None = None
    user: str | None = None



def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# --- the pure mappings ------------------------------------------------------------------------------------


def report_links(envelope: dict[str, Any], day: date) -> list[str]:
    """The download links of a `users-1-day` answer, which must be the report of `day` (pure)."""
    parsed: _Envelope = parse_page(envelope, _Envelope)
    if parsed.report_day is not None and parsed.report_day != day:
        raise VendorDataError(f"`report_day` is {parsed.report_day.isoformat()}, not {day.isoformat()}")
    return parsed.download_links


def metrics_records(lines: list[dict[str, Any]]) -> tuple[list[UsageEvent], list[OutcomeEvent]]:
    """The CLI token `UsageEvent`s and the outcomes of `users-1-day` report lines (pure; `VendorDataError`
    on a bad shape). Events and outcomes carry no person: `identities()` names who they belong to."""
    events: list[UsageEvent] = []
    outcomes: list[OutcomeEvent] = []
    for line in lines:
        r: _UserDay = parse_page(line, _UserDay)
        user_id = str(r.user_id)
        if not user_id:
            raise VendorDataError("a line has an empty `user_id`")
        ts = _midnight(r.day)
        key = f"copilot-metrics:{r.day.isoformat()}:{user_id}"
        who: dict[str, Any] = {"user_login": r.user_login, "user_id": user_id}
        activity = {**who, "code_acceptance_activity_count": r.code_acceptance_activity_count,
                    "code_generation_activity_count": r.code_generation_activity_count,
                    "user_initiated_interaction_count": r.user_initiated_interaction_count,
                    "loc_suggested_to_add_sum": r.loc_suggested_to_add_sum,
                    "loc_suggested_to_delete_sum": r.loc_suggested_to_delete_sum}
        if r.ai_credits_used is not None:
            activity["ai_credits_used"] = str(r.ai_credits_used)
        for kind, count in (("lines_added", r.loc_added_sum), ("lines_removed", r.loc_deleted_sum),
                            ("edit_accepted", r.code_acceptance_activity_count)):
            if count:
                outcomes.append(OutcomeEvent(id=f"{key}:{kind}", ts=ts, type=kind, count=count, tool=TOOL,
                                             source="vendor_api", extra=dict(activity)))
        cli = r.totals_by_cli
        tokens = cli.token_usage if cli is not None else None
        if cli is None or tokens is None or tokens.prompt_tokens_sum + tokens.output_tokens_sum == 0:
            continue
        extra = {**who, "prompt_count": cli.prompt_count, "request_count": cli.request_count,
                 "session_count": cli.session_count}
        if tokens.avg_tokens_per_request is not None:
            extra["avg_tokens_per_request"] = str(tokens.avg_tokens_per_request)
        events.append(UsageEvent(
            id=f"{key}:cli", ts=ts, tool=TOOL, provider=None, model=None, input_tokens=tokens.prompt_tokens_sum,
            output_tokens=tokens.output_tokens_sum, source="vendor_api", confidence="metered",
            rank=tokens.prompt_tokens_sum + tokens.output_tokens_sum, extra=extra,
        ))
    return events, outcomes


def _micros(value: Decimal, name: str) -> int:
    try:
        return decimal_usd_to_micros(value)
    except InvalidEvent as exc:
        raise VendorDataError(f"`{name}`: {exc}") from None


def _check_period(period: _TimePeriod | None, day: date) -> None:
    if period is None:
        return
    asked = (day.year, day.month, day.day)
    got = (period.year, period.month or day.month, period.day or day.day)
    if got != asked:
        raise VendorDataError(f"`timePeriod` {period.year}-{period.month}-{period.day} is not the day asked "
                              f"for, {day.isoformat()}")


def billing_records(page: dict[str, Any], *, org: str, day: date, user: str | None = None
                    ) -> tuple[list[UsageEvent], list[VendorCost]]:
    """The AI-credit usage of one organization-day (`user`: the login asked for, if any) as billed
    `UsageEvent`s (items that name a user) and `VendorCost` lines (items that do not) (pure)."""
    parsed: _CreditUsage = parse_page(page, _CreditUsage)
    _check_period(parsed.timePeriod, day)
    scope = parsed.organization or org
    ts = _midnight(day)
    events: list[UsageEvent] = []
    costs: list[VendorCost] = []
    seen: dict[str, int] = {}
    for item in parsed.usageItems:
        login = (item.user or parsed.user or user or "").strip().lower() or None
        whom = f"user={login}" if login else f"org={scope}"
        key = f"copilot-credits:{day.isoformat()}:{whom}:" + ":".join(
            id_part(v) for v in (item.product, item.sku, item.model))
        seen[key] = seen.get(key, 0) + 1
        item_id = key if seen[key] == 1 else f"{key}~{seen[key]}"
        net = _micros(item.netAmount, "netAmount")
        if login is None:
            costs.append(VendorCost(id=item_id, vendor=VENDOR, day=day, starting_at=ts,
                                    ending_at=ts + timedelta(days=1), amount_micros=net, currency="USD",
                                    scope=scope, item=item.sku or item.product, model=item.model))
            continue
        extra: dict[str, Any] = {"user_login": login, "organization": scope}
        for name, value in (("product", item.product), ("sku", item.sku), ("unit_type", item.unitType),
                            ("price_per_unit", _text(item.pricePerUnit)),
                            ("gross_quantity", _text(item.grossQuantity)), ("gross_amount", _text(item.grossAmount)),
                            ("discount_quantity", _text(item.discountQuantity)),
                            ("discount_amount", _text(item.discountAmount)),
                            ("net_quantity", _text(item.netQuantity)), ("net_amount", str(item.netAmount))):
            if value is not None:
                extra[name] = value
        # The day's items grow while it is still being billed: the later, larger copy wins.
        gross = net if item.grossAmount is None else _micros(item.grossAmount, "grossAmount")
        events.append(UsageEvent(
            id=item_id, ts=ts, tool=TOOL, provider=None, model=item.model, reported_cost_micros=net,
            source="vendor_api", confidence="billed", rank=max(gross, 0), extra=extra,
        ))
    return events, costs


def identities(item: UsageEvent | OutcomeEvent | Mapping[str, Any]) -> list[str]:
    """The aliases that may name the person behind a Copilot event, outcome or report line, most specific
    first: `github-login:<login, lower-cased>`, `github-user:<user id>`."""
    fields = item if isinstance(item, Mapping) else (item.extra or {})
    login = fields.get("user_login")
    user_id = fields.get("user_id")
    out = []
    if isinstance(login, str) and login.strip():
        out.append(f"github-login:{login.strip().lower()}")
    if user_id is not None and str(user_id):
        out.append(f"github-user:{user_id}")
    return out


# --- syncing ----------------------------------------------------------------------------------------------


def _days(since: datetime, until: datetime) -> Iterator[date]:
    """Every UTC day from the day of `since` whose start is before `until`."""
    day = as_utc(since).date()
    end = as_utc(until)
    while _midnight(day) < end:
        yield day
        day += timedelta(days=1)


def _org(org: str) -> str:
    return urllib.parse.quote(org, safe="")


def _require_org(client: GitHubClient, org: str) -> None:
    """A 404 for a report could be an unknown organization: make that an error of its own."""
    try:
        client.call(f"/orgs/{_org(org)}", version=BILLING_VERSION)
    except VendorError as exc:
        if exc.status == 404:
            raise VendorError(f"{client.vendor} has no organization {org!r} (HTTP 404), or the token cannot "
                              "see it", client.vendor, 404) from None
        raise


def fetch_metrics(client: GitHubClient, org: str, day: date) -> list[tuple[int, int, dict[str, Any]]] | None:
    """The `(file, line, object)`s of the organization's `users-1-day` report of `day`; None when GitHub
    has no report for that day (204, or 404 for a known organization)."""
    path = f"/orgs/{_org(org)}/copilot/metrics/reports/{USERS_REPORT}"
    try:
        envelope = client.call(path, {"day": day.isoformat()}, version=METRICS_VERSION)
    except VendorError as exc:
        if exc.status != 404:
            raise
        _require_org(client, org)
        return None
    if isinstance(envelope, _NoContent):
        return None
    try:
        links = report_links(envelope, day)
    except VendorDataError as exc:
        raise VendorPageError(f"{client.vendor} returned a malformed page 1 for {path} ({day.isoformat()}): "
                              f"{exc}", client.vendor, path, 1) from None
    label = f"{USERS_REPORT} report for {day.isoformat()}"
    return [(file, number, obj) for file, link in enumerate(links, start=1)
            for number, obj in client.download(link, label=label, file=file)]


def sync_metrics(client: GitHubClient, since: datetime, until: datetime, *, org: str
                 ) -> tuple[list[UsageEvent], list[OutcomeEvent]]:
    """The CLI token events and the outcomes of every user-day report in [day of since, until)."""
    events: list[UsageEvent] = []
    outcomes: list[OutcomeEvent] = []
    for day in _days(since, until):
        for file, number, obj in fetch_metrics(client, org, day) or []:
            try:
                line_events, line_outcomes = metrics_records([obj])
            except VendorDataError as exc:
                label = f"{USERS_REPORT} report for {day.isoformat()}"
                raise VendorPageError(f"{client.vendor} returned a malformed {label}: file {file}, line {number}: "
                                      f"{exc}", client.vendor, label, file) from None
            events.extend(line_events)
            outcomes.extend(line_outcomes)
    return events, outcomes


def sync_credits(client: GitHubClient, since: datetime, until: datetime, *, org: str,
                 users: list[str] | None = None) -> tuple[list[UsageEvent], list[VendorCost]]:
    """The organization's AI-credit cost lines per day, and the listed users' billed events."""
    path = f"/organizations/{_org(org)}/settings/billing/ai_credit/usage"
    events: list[UsageEvent] = []
    costs: list[VendorCost] = []
    for day in _days(since, until):
        if day < AI_CREDITS_START:
            continue
        for user in [None, *(users or [])]:
            params: Params = {"year": day.year, "month": day.month, "day": day.day, "user": user}
            page = client.call(path, params, version=BILLING_VERSION, items="usageItems")
            try:
                day_events, day_costs = billing_records(page, org=org, day=day, user=user)
            except VendorDataError as exc:
                asked = day.isoformat() + (f", user {user}" if user else "")
                raise VendorPageError(f"{client.vendor} returned a malformed page 1 for {path} ({asked}): {exc}",
                                      client.vendor, path, 1) from None
            events.extend(day_events)
            costs.extend(day_costs)
    return events, costs


def sync_copilot(client: GitHubClient, since: datetime, until: datetime, *, org: str,
                 users: list[str] | None = None) -> VendorBatch:
    """Usage metrics (outcomes, CLI tokens) and AI-credit billing of `org` for the UTC days in [since, until).

    `users`: logins whose billed AI-credit usage to read one by one (the organization's answer names none)."""
    metric_events, outcomes = sync_metrics(client, since, until, org=org)
    credit_events, costs = sync_credits(client, since, until, org=org, users=users)
    return VendorBatch(events=metric_events + credit_events, costs=costs, outcomes=outcomes)
