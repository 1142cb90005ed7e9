"""Cursor Admin API: team members, per-request usage events, member spend and the per-user spend limit
(reference: trackers.md §3.3).

Auth is HTTP Basic with the admin key as the user name and an empty password. Unlike Anthropic's and
OpenAI's admin APIs, most Cursor routes are `POST`s with a JSON body, paginated by `page` (1-based) and
`pageSize`; a page says whether another follows by `pagination.hasNextPage`, or `totalPages`, or a total
count (`totalUsageEventsCount`, `totalMembers`); failing all of those, a short page is the last.
`CursorClient` adds that to `VendorClient` (same retries on 429/5xx honouring `Retry-After`, same clear
error for a refused key, the key never logged or shown).

- `GET /teams/members` → `{teamMembers: [{name, email, role, id?, isRemoved?}]}` → `members()`:
  `(email lower-cased, user id or None)`.
- `POST /teams/filtered-usage-events` `{startDate, endDate (epoch ms; ≤30 days), page, pageSize ≤1000}` →
  `{usageEvents: […], totalUsageEventsCount, pagination: {hasNextPage, …}}` → `usage_events()`: one
  `UsageEvent` per request (`tool="cursor"`, `source="vendor_api"`, `confidence="billed"`), tokens from
  `tokenUsage` (`inputTokens` are uncached input, as Anthropic counts them), the person the lower-cased
  `userEmail` (or the member email of `userId`). The cost Cursor reports goes to `reported_cost_micros`,
  exactly (`Decimal` cents × 10,000): `chargedCents` when the event has it (what the team is charged),
  else `tokenUsage.totalCents` (the older shape, before `chargedCents`), else the legacy dollar string
  `usageBasedCosts` ("$0.04"; "-" = none). Id: `cursor:<timestamp ms>:<email>:<model>:<discriminator>`
  — the discriminator is the event's own request id when it carries one (`requestId`/`eventId`/`id`; none
  is documented), otherwise its `kind` and a digest of its token counts (counts are final once Cursor
  lists an event; the charged cents are not part of the id, so a re-priced event replaces itself). An
  exact repeat of that key within a page gets `~2`, `~3`… in the order served.
- `POST /teams/spend` `{page, pageSize, searchTerm?}` → `{teamMemberSpend: […], subscriptionCycleStart,
  totalMembers, totalPages}` → `member_spend()`. `spendCents` changed meaning in 2026: it used to be the
  cycle total (with `includedSpendCents` beside it) and is now only the on-demand overage, the total
  moving to `overallSpendCents`. Both shapes normalise to `total_micros` (the cycle's spend) and
  `overage_micros` (beyond the included usage; None when the old shape does not say).
- `POST /teams/user-spend-limit {email, hardLimitDollars}` → `set_spend_limit()` (the Cursor breaker
  action). There is no documented read route for it: `get_spend_limit()` reads the member's
  `hardLimitOverrideDollars` (and `monthlyLimitDollars`, `effectivePerUserLimitDollars`) from
  `/teams/spend`, searched by email.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any, NamedTuple

import msgspec

from ...errors import DECODE_ERRORS
from ...events import UsageEvent, as_utc
from .client import (
    MAX_PAGES,
    Page,
    VendorClient,
    VendorDataError,
    VendorError,
    VendorPageError,
    _decode_json,
    parse_page,
)
from .records import VendorCost, cents_to_micros, id_part

CURSOR_BASE_URL = "https://api.cursor.com"
MEMBERS_PATH = "/teams/members"
EVENTS_PATH = "/teams/filtered-usage-events"
SPEND_PATH = "/teams/spend"
SPEND_LIMIT_PATH = "/teams/user-spend-limit"
TOOL = "cursor"
VENDOR = "cursor"
EVENTS_PAGE_SIZE = 1000
"""The most events a page may hold (documented maximum)."""
SPEND_PAGE_SIZE = 100
MAX_WINDOW = timedelta(days=30)
"""The longest range one filtered-usage-events request may cover."""
MICROS_PER_DOLLAR = 1_000_000

Count = Annotated[int, msgspec.Meta(ge=0)]
_encode_json = msgspec.json.Encoder(decimal_format="number").encode
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- the client -----------------------------------------------------------------------------------------


@dataclass
class CursorClient(VendorClient):
    """A `VendorClient` that also POSTs JSON bodies and follows Cursor's page/pageSize pagination."""

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None, *, page: int = 1,
             items: str | None = None) -> dict[str, Any]:
        """One JSON object answer, retried on 429/5xx; `items` names a list the answer must hold."""
        data = _encode_json(body) if body is not None else None
        return self._request(method, self._url(path, None), path, data=data, page=page, items=items)

    def post_pages(self, path: str, body: Mapping[str, Any], items: str, page_size: int) -> Iterator[Page]:
        """Every page of a `page`/`pageSize` POST route whose answers hold the list `items`."""
        for number in range(1, MAX_PAGES + 1):
            answer = self.call("POST", path, {**body, "page": number, "pageSize": page_size}, page=number,
                               items=items)
            yield Page(path, number, answer)
            listed = len(answer[items])
            if not _has_next(answer, number, page_size, listed):
                return
            if listed == 0:
                raise VendorPageError(f"{self.vendor} returned a malformed page {number} for {path}: "
                                      f"it says more pages follow but lists no `{items}`", self.vendor, path,
                                      number)
        raise VendorError(f"{self.vendor} returned more than {MAX_PAGES} pages for {path}", self.vendor)

    @staticmethod
    def _error_detail(body: bytes) -> str:
        """Cursor words its errors its own ways (see the module function below)."""
        return _error_detail(body)


def _has_next(answer: dict[str, Any], number: int, page_size: int, listed: int) -> bool:
    pagination = answer.get("pagination")
    if isinstance(pagination, dict):
        if isinstance(pagination.get("hasNextPage"), bool):
            return pagination["hasNextPage"]
        if _is_int(pagination.get("numPages")):
            return number < pagination["numPages"]
    if _is_int(answer.get("totalPages")):
        return number < answer["totalPages"]
    for key in ("totalUsageEventsCount", "totalMembers"):
        if _is_int(answer.get(key)):
            return number * page_size < answer[key]
    return listed >= page_size


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _error_detail(raw: bytes) -> str:
    """Cursor's own error text (`{"error": "…"}`, `{"error": {"message": …}}` or `{"message": …}`)."""
    try:
        obj = _decode_json(raw)
    except DECODE_ERRORS:
        return ""
    if not isinstance(obj, dict):
        return ""
    error = obj.get("error")
    message = error.get("message") if isinstance(error, dict) else error
    message = message or obj.get("message")
    return str(message)[:200] if isinstance(message, str) and message else ""


def cursor_client(api_key: str, base_url: str = CURSOR_BASE_URL, **options: Any) -> CursorClient:
    """A client for the Cursor Admin API (HTTP Basic: the admin key as user name, empty password)."""
    token = base64.b64encode(f"{api_key}:".encode()).decode("ascii")
    return CursorClient("Cursor", base_url, {"Authorization": f"Basic {token}"}, **options)


# --- the documented shapes ------------------------------------------------------------------------------


class _Member(msgspec.Struct):
    email: str
    name: str | None = None
    role: str | None = None
    id: int | str | None = None
    userId: int | str | None = None  # Cursor's field names (camelCase)
    isRemoved: bool | None = None


class _MembersPage(msgspec.Struct):
    teamMembers: list[_Member]


class _TokenUsage(msgspec.Struct):
    inputTokens: Count = 0
    outputTokens: Count = 0
    cacheWriteTokens: Count = 0
    cacheReadTokens: Count = 0
    totalCents: Decimal | None = None
    discountPercentOff: Decimal | None = None


class _Event(msgspec.Struct):
    timestamp: int | str
    userEmail: str | None = None
    userId: int | str | None = None
    model: str | None = None
    kind: str | None = None
    kindLabel: str | None = None
    maxMode: bool | None = None
    requestsCosts: Decimal | None = None
    isTokenBasedCall: bool | None = None
    isChargeable: bool | None = None
    isHeadless: bool | None = None
    tokenUsage: _TokenUsage | None = None
    chargedCents: Decimal | None = None
    cursorTokenFee: Decimal | None = None
    usageBasedCosts: Any = None  # ("$0.04", "-"; checked by `_dollar_string_micros`)
    requestId: str | None = None
    eventId: str | None = None
    id: str | int | None = None


class _EventsPage(msgspec.Struct):
    usageEvents: list[_Event]


class _Spend(msgspec.Struct):
    email: str
    userId: int | str | None = None
    name: str | None = None
    role: str | None = None
    spendCents: Decimal | None = None
    overallSpendCents: Decimal | None = None
    includedSpendCents: Decimal | None = None
    fastPremiumRequests: Count | None = None
    monthlyLimitDollars: Decimal | None = None
    hardLimitOverrideDollars: Decimal | None = None
    effectivePerUserLimitDollars: Decimal | None = None


class _SpendPage(msgspec.Struct):
    teamMemberSpend: list[_Spend]
    subscriptionCycleStart: int | str | None = None


class MemberSpend(msgspec.Struct, kw_only=True, frozen=True):
    """One member's spend in the current billing cycle, as `/teams/spend` reports it, in micro-USD."""

    id: str
    """`cursor-spend:<cycle start>:<email>`: a later sync in the same cycle replaces it."""
    person: str
    """The member's lower-cased email."""
    user_id: str | None = None
    cycle_start: datetime | None = None
    total_micros: int | None = None
    """Everything spent this cycle (`overallSpendCents`; the old shape's `spendCents`)."""
    overage_micros: int | None = None
    """Spent beyond the included usage (the new shape's `spendCents`; old: `spendCents − includedSpendCents`)."""
    fast_premium_requests: int | None = None
    monthly_limit_dollars: Decimal | None = None
    hard_limit_override_dollars: Decimal | None = None
    effective_limit_dollars: Decimal | None = None
    vendor: str = VENDOR
    source: str = "vendor_api"
    confidence: str = "billed"


class SpendLimit(msgspec.Struct, kw_only=True, frozen=True):
    """A member's spend limits in dollars (None where Cursor reports none)."""

    email: str
    hard_limit_dollars: Decimal | None = None
    """`hardLimitOverrideDollars`: what `set_spend_limit` sets."""
    monthly_limit_dollars: Decimal | None = None
    effective_limit_dollars: Decimal | None = None


class CursorSync(NamedTuple):
    """What one sync read: the usage events, the members (email, user id) and their cycle spend."""

    events: list[UsageEvent]
    members: list[tuple[str, str | None]]
    spend: list[MemberSpend]



# --- the pure mappings ------------------------------------------------------------------------------------


def members(page: dict[str, Any]) -> list[tuple[str, str | None]]:
    """`(email lower-cased, user id or None)` of every member on a `/teams/members` answer (pure)."""
    parsed: _MembersPage = parse_page(page, _MembersPage)
    out: list[tuple[str, str | None]] = []
    for m in parsed.teamMembers:
        email = m.email.strip().lower()
        if not email:
            raise VendorDataError("a team member has an empty `email`")
        user_id = m.id if m.id is not None else m.userId
        out.append((email, None if user_id is None else str(user_id)))
    return out


_PROVIDERS = (
    (re.compile(r"^claude|^anthropic/"), "anthropic"),
    (re.compile(r"^(?:gpt-|chatgpt|o[1-9](?:-|$)|codex|openai/)"), "openai"),
    (re.compile(r"^gemini|^google/"), "google"),
    (re.compile(r"^grok|^xai/"), "xai"),
    (re.compile(r"^deepseek"), "deepseek"),
)


def provider_of(model: str | None) -> str | None:
    """The provider when the model name makes it obvious; None for Cursor's own and routed names
    (`auto`, `default`, `composer-1`, `cursor-small`, …)."""
    name = (model or "").strip().lower()
    for pattern, provider in _PROVIDERS:
        if pattern.search(name):
            return provider
    return None


def _timestamp(value: int | str) -> tuple[int, datetime]:
    try:
        ms = int(value)
    except ValueError:
        raise VendorDataError(f"`timestamp` {value!r} is not epoch milliseconds") from None
    if ms < 0:
        raise VendorDataError(f"`timestamp` {value!r} is not epoch milliseconds")
    return ms, _EPOCH + timedelta(milliseconds=ms)




def _dollar_string_micros(value: object) -> int | None:
    """The legacy `usageBasedCosts` ("$0.04", "-" for none) to micro-USD."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip().replace("$", "").replace(",", "")
    else:
        raise VendorDataError(f"`usageBasedCosts` {value!r} is not a dollar amount")
    if text in ("", "-"):
        return None
    try:
        micros = Decimal(text) * MICROS_PER_DOLLAR
    except InvalidOperation:
        raise VendorDataError(f"`usageBasedCosts` {value!r} is not a dollar amount") from None
    if not micros.is_finite():
        raise VendorDataError(f"`usageBasedCosts` {value!r} is not a dollar amount")
    return int(micros.to_integral_value(rounding=ROUND_HALF_EVEN))


def _reported_micros(event: _Event) -> int | None:
    if event.chargedCents is not None:
        return cents_to_micros(event.chargedCents)
    if event.tokenUsage is not None and event.tokenUsage.totalCents is not None:
        return cents_to_micros(event.tokenUsage.totalCents)
    if event.usageBasedCosts is not None:
        return _dollar_string_micros(event.usageBasedCosts)
    return None


def _discriminator(e: _Event, t: _TokenUsage) -> str:
    own = e.requestId or e.eventId or (None if e.id is None else str(e.id))
    if own:
        return f"req={own}"
    counts = f"{t.inputTokens}|{t.outputTokens}|{t.cacheWriteTokens}|{t.cacheReadTokens}|{e.maxMode}|{e.isHeadless}"
    digest = hashlib.sha256(counts.encode()).hexdigest()[:16]
    return f"{id_part(e.kind or e.kindLabel)}:{digest}"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def usage_events(page: dict[str, Any], *, emails: Mapping[str, str] | None = None) -> list[UsageEvent]:
    """The `UsageEvent`s of one `/teams/filtered-usage-events` page (pure; `VendorDataError` on a bad shape).

    `emails` maps a user id to the member's email, for events that name the user only by id."""
    parsed: _EventsPage = parse_page(page, _EventsPage)
    out: list[UsageEvent] = []
    seen: dict[str, int] = {}
    for e in parsed.usageEvents:
        ms, ts = _timestamp(e.timestamp)
        user_id = None if e.userId is None else str(e.userId)
        email = (e.userEmail or "").strip().lower() or None
        if email is None and user_id is not None and emails:
            email = emails.get(user_id)
        who = email or (f"user:{user_id}" if user_id is not None else "-")
        t = e.tokenUsage or _TokenUsage()
        key = f"cursor:{ms}:{who}:{id_part(e.model)}:{_discriminator(e, t)}"
        seen[key] = seen.get(key, 0) + 1
        event_id = key if seen[key] == 1 else f"{key}~{seen[key]}"
        extra: dict[str, Any] = {"kind": e.kind or e.kindLabel}
        for name, value in (("user_id", user_id), ("max_mode", e.maxMode), ("is_headless", e.isHeadless),
                            ("is_chargeable", e.isChargeable), ("is_token_based_call", e.isTokenBasedCall),
                            ("requests_costs", _text(e.requestsCosts)),
                            ("charged_cents", _text(e.chargedCents)), ("token_cents", _text(t.totalCents)),
                            ("discount_percent_off", _text(t.discountPercentOff)),
                            ("cursor_token_fee", _text(e.cursorTokenFee)),
                            ("usage_based_costs", None if e.usageBasedCosts is None else str(e.usageBasedCosts))):
            if value is not None:
                extra[name] = value
        total = t.inputTokens + t.outputTokens + t.cacheWriteTokens + t.cacheReadTokens
        out.append(UsageEvent(
            id=event_id, ts=ts, tool=TOOL, provider=provider_of(e.model), model=e.model, person=email,
            input_tokens=t.inputTokens, output_tokens=t.outputTokens, cache_read_tokens=t.cacheReadTokens,
            cache_write_tokens=t.cacheWriteTokens, request_id=e.requestId or e.eventId,
            reported_cost_micros=_reported_micros(e), source="vendor_api", confidence="billed", rank=total,
            extra=extra,
        ))
    return out


def member_spend(page: dict[str, Any]) -> list[MemberSpend]:
    """The `MemberSpend`s of one `/teams/spend` page, either shape of `spendCents` (pure)."""
    parsed: _SpendPage = parse_page(page, _SpendPage)
    cycle = None
    if parsed.subscriptionCycleStart is not None:
        cycle = _timestamp(parsed.subscriptionCycleStart)[1]
    out: list[MemberSpend] = []
    for s in parsed.teamMemberSpend:
        email = s.email.strip().lower()
        if s.overallSpendCents is not None:  # 2026 shape: spendCents is the overage only
            total = cents_to_micros(s.overallSpendCents)
            overage = None if s.spendCents is None else cents_to_micros(s.spendCents)
        else:  # older shape: spendCents is the cycle total, includedSpendCents the included part
            total = None if s.spendCents is None else cents_to_micros(s.spendCents)
            overage = None
            if total is not None and s.includedSpendCents is not None:
                overage = max(0, total - cents_to_micros(s.includedSpendCents))
        out.append(MemberSpend(
            id=f"cursor-spend:{'-' if cycle is None else cycle.date().isoformat()}:{email}", person=email,
            user_id=None if s.userId is None else str(s.userId), cycle_start=cycle, total_micros=total,
            overage_micros=overage, fast_premium_requests=s.fastPremiumRequests,
            monthly_limit_dollars=s.monthlyLimitDollars, hard_limit_override_dollars=s.hardLimitOverrideDollars,
            effective_limit_dollars=s.effectivePerUserLimitDollars,
        ))
    return out


def spend_costs(spend: list[MemberSpend], now: datetime) -> list[VendorCost]:
    """Each member's spend this billing cycle as cost lines (pure): `included` (within the plan) and
    `on-demand` (beyond it) when Cursor says how it splits, else one `cycle` line; `scope` is the member's
    email, `day` the cycle's start, and a later sync in the same cycle replaces the lines (same ids)."""
    lines: list[VendorCost] = []
    for member in spend:
        if member.total_micros is None or member.cycle_start is None:
            continue
        start = member.cycle_start
        if member.overage_micros is None:
            parts = [("cycle", member.total_micros)]
        else:
            on_demand = min(member.overage_micros, member.total_micros)
            parts = [("included", member.total_micros - on_demand), ("on-demand", on_demand)]
        for item, micros in parts:
            lines.append(VendorCost(
                id=f"cursor-spend:{start.date().isoformat()}:{member.person}:{item}", vendor=VENDOR,
                day=start.date(), starting_at=start, ending_at=as_utc(now), amount_micros=micros, scope=member.person,
                item=item, cost_type="cycle_to_date"))
    return lines


# --- syncing ----------------------------------------------------------------------------------------------


def _ms(ts: datetime) -> int:
    delta = as_utc(ts) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _windows(since: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
    start = as_utc(since)
    end = as_utc(until)
    while start < end:
        stop = min(start + MAX_WINDOW, end)
        yield start, stop
        start = stop


def _collect(client: CursorClient, path: str, body: Mapping[str, Any], items: str, page_size: int,
             mapper: Callable[[dict[str, Any]], list[Any]]) -> list[Any]:
    out: list[Any] = []
    for page in client.post_pages(path, body, items, page_size):
        out.extend(_mapped(client, page, mapper))
    return out


def _mapped(client: CursorClient, page: Page, mapper: Callable[[dict[str, Any]], list[Any]]) -> list[Any]:
    try:
        return mapper(page.body)
    except VendorDataError as exc:
        raise VendorPageError(f"{client.vendor} returned a malformed page {page.number} for {page.path}: {exc}",
                              client.vendor, page.path, page.number) from None


def fetch_members(client: CursorClient) -> list[tuple[str, str | None]]:
    body = client.call("GET", MEMBERS_PATH, items="teamMembers")
    return _mapped(client, Page(MEMBERS_PATH, 1, body), members)


def fetch_spend(client: CursorClient, *, search: str | None = None, page_size: int = SPEND_PAGE_SIZE
                ) -> list[MemberSpend]:
    body = {"searchTerm": search} if search else {}
    return _collect(client, SPEND_PATH, body, "teamMemberSpend", page_size, member_spend)


def sync_cursor(client: CursorClient, since: datetime, until: datetime, *, page_size: int = EVENTS_PAGE_SIZE,
                spend_page_size: int = SPEND_PAGE_SIZE) -> CursorSync:
    """Members, every usage event in [since, until) (in ≤30-day requests) and the members' cycle spend."""
    team = fetch_members(client)
    emails = {user_id: email for email, user_id in team if user_id is not None}
    events: list[UsageEvent] = []
    for start, stop in _windows(since, until):
        body = {"startDate": _ms(start), "endDate": _ms(stop)}
        page_events = _collect(client, EVENTS_PATH, body, "usageEvents", page_size,
                               lambda page: usage_events(page, emails=emails))
        # Whether `endDate` is inclusive is not documented: keep [start, stop) so windows never overlap.
        events.extend(e for e in page_events if start <= e.ts < stop)
    spend = fetch_spend(client, page_size=spend_page_size)
    return CursorSync(events, team, spend)


# --- the breaker action: a member's hard spend limit ------------------------------------------------------


def _dollars(usd: Decimal | int | str | None) -> Decimal | None:
    if usd is None:
        return None
    try:
        amount = Decimal(usd)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"not a dollar amount: {usd!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"a spend limit must be a finite amount of dollars ≥ 0, got {usd!r}")
    return amount


def set_spend_limit(client: CursorClient, email: str, usd: Decimal | int | str | None) -> dict[str, Any]:
    """Set a member's hard spend limit (`POST /teams/user-spend-limit`); None sends `null` (no override).

    Returns Cursor's answer; an answer with `outcome: "error"` raises `VendorError`."""
    amount = _dollars(usd)
    answer = client.call("POST", SPEND_LIMIT_PATH, {"email": email.strip().lower(), "hardLimitDollars": amount})
    if answer.get("outcome") == "error":
        detail = answer.get("message") or answer.get("error") or "no reason given"
        raise VendorError(f"{client.vendor} did not set the spend limit of {email}: {str(detail)[:200]}",
                          client.vendor)
    return answer


def get_spend_limit(client: CursorClient, email: str) -> SpendLimit | None:
    """A member's spend limits, read from `/teams/spend` searched by email; None when not a member."""
    wanted = email.strip().lower()
    for row in fetch_spend(client, search=wanted):
        if row.person == wanted:
            return SpendLimit(email=wanted, hard_limit_dollars=row.hard_limit_override_dollars,
                              monthly_limit_dollars=row.monthly_limit_dollars,
                              effective_limit_dollars=row.effective_limit_dollars)
    return None
