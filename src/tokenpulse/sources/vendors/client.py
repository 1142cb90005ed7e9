"""A small synchronous HTTP client for the vendors' admin APIs (urllib only).

It GETs JSON pages with query parameters and the vendor's auth headers, follows the vendor's pagination
(`has_more` + `next_page`, passed back as `page`; the same for Anthropic's and OpenAI's admin APIs),
retries 429 and 5xx answers (and dropped connections) with backoff that honours `Retry-After`
(seconds), and turns the rest into clear errors:

- 401/403: `VendorAuthError`, naming the vendor and saying the admin key is invalid or expired;
- a page that is not JSON, or has no `data` list: `VendorPageError`, naming the URL path and page number.

The admin key lives only in the request headers: it is never logged, never put in an error message and
never shown by `repr`.
"""

from __future__ import annotations

import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

from ...errors import DECODE_ERRORS, TokenpulseError
from ...events import explain_validation

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
OPENAI_BASE_URL = "https://api.openai.com"
ANTHROPIC_VERSION = "2023-06-01"
USER_AGENT = "tokenpulse (vendor ledgers)"
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504, 529})
MAX_PAGES = 10_000
"""A runaway pagination (a vendor handing back cursors forever) stops here with an error."""

Params = Mapping[str, str | int | Sequence[str] | None]
"""Query parameters; a sequence value repeats the parameter (`group_by[]=model&group_by[]=…`)."""

# JSON numbers with a fraction become Decimal, exactly as written (money is never a float here).
_decode_json = msgspec.json.Decoder(float_hook=Decimal).decode


class VendorError(TokenpulseError):
    """A vendor admin API could not be read."""

    def __init__(self, message: str, vendor: str, status: int | None = None):
        super().__init__(message)
        self.vendor = vendor
        self.status = status


class VendorAuthError(VendorError):
    """The vendor refused the admin key (401/403)."""


class VendorPageError(VendorError):
    """A page that is not JSON, or not in the documented shape."""

    def __init__(self, message: str, vendor: str, path: str, page: int):
        super().__init__(message, vendor)
        self.path = path
        self.page = page


class VendorDataError(TokenpulseError):
    """Raised by the pure page mappings; the sync functions re-raise it as a `VendorPageError`."""


def parse_page(obj: Any, shape: type) -> Any:
    """A decoded page (or report line) as its documented shape; a mismatch is a `VendorDataError` naming the
    field (`` `data[0].amount`: expected … ``)."""
    try:
        return msgspec.convert(obj, shape)
    except msgspec.ValidationError as exc:
        raise VendorDataError(explain_validation(exc)[1]) from None


@dataclass(frozen=True)
class Page:
    """One page of a paginated answer: where it came from, its 1-based number and its decoded body."""

    path: str
    number: int
    body: dict[str, Any]


@dataclass
class VendorClient:
    """GET JSON pages from one vendor's admin API."""

    vendor: str
    """The vendor's name as shown in errors: "Anthropic", "OpenAI"."""
    base_url: str
    headers: dict[str, str] = field(repr=False)
    """Auth and version headers (they hold the key: kept out of `repr`, logs and errors)."""
    sleep: Callable[[float], None] = time.sleep
    """Injectable so tests record the waits instead of waiting."""
    max_attempts: int = 5
    backoff_s: float = 1.0
    """The first wait when the vendor gives no `Retry-After`; doubled on each further attempt."""
    max_backoff_s: float = 60.0
    timeout_s: float = 60.0

    def get(self, path: str, params: Params | None = None, *, page: int = 1) -> dict[str, Any]:
        """One page, decoded; retried on 429/5xx; must be a JSON object with a `data` list."""
        return self._request("GET", self._url(path, params), path, page=page, items="data")

    def _request(self, method: str, url: str, path: str, *, data: bytes | None = None, page: int = 1,
                 items: str | None = None) -> dict[str, Any]:
        """One JSON object answer, retried on 429/5xx and dropped connections; `items` names a list the
        answer must hold (None: any object)."""
        attempt = 0
        while True:
            attempt += 1
            status, headers, body = self._fetch(url, method, data)
            if status is not None and 200 <= status < 300:
                return self._decode(body, path, page, items)
            if status in (401, 403):
                raise VendorAuthError(
                    f"{self.vendor} refused the admin key (HTTP {status}): the admin key is invalid or "
                    f"expired; create a new one and update the configuration", self.vendor, status)
            retriable = status is None or status in RETRIED_STATUSES or status >= 500
            if not retriable or attempt >= self.max_attempts:
                what = "could not be reached" if status is None else f"answered HTTP {status}"
                tries = f" after {attempt} attempts" if attempt > 1 else ""
                detail = self._error_detail(body)
                raise VendorError(f"{self.vendor} {what} for {path} (page {page}){tries}"
                                  + (f": {detail}" if detail else ""), self.vendor, status)
            self.sleep(self._wait(attempt, headers))

    @staticmethod
    def _error_detail(body: bytes) -> str:
        """The vendor's own error message in a refused answer (a vendor with another shape overrides it)."""
        return _error_detail(body)

    def pages(self, path: str, params: Params | None = None) -> Iterator[Page]:
        """Every page of a paginated answer, following `has_more` / `next_page` (sent back as `page`)."""
        base = dict(params or {})
        cursor: str | None = None
        seen: set[str] = set()
        for number in range(1, MAX_PAGES + 1):
            query = {**base, "page": cursor} if cursor else base
            body = self.get(path, query, page=number)
            yield Page(path, number, body)
            if not body.get("has_more"):
                return
            cursor = body.get("next_page")
            if not isinstance(cursor, str) or not cursor:
                raise VendorPageError(f"{self.vendor} returned a malformed page {number} for {path}: "
                                      "`has_more` is true but `next_page` is missing", self.vendor, path, number)
            if cursor in seen:
                raise VendorPageError(f"{self.vendor} returned a malformed page {number} for {path}: "
                                      "`next_page` repeats an earlier cursor", self.vendor, path, number)
            seen.add(cursor)
        raise VendorError(f"{self.vendor} returned more than {MAX_PAGES} pages for {path}", self.vendor)

    # --- internals ------------------------------------------------------------------------------------

    def _url(self, path: str, params: Params | None) -> str:
        pairs: list[tuple[str, str]] = []
        for key, value in (params or {}).items():
            if value is None:
                continue
            if isinstance(value, str | int):
                pairs.append((key, str(value)))
            else:
                pairs.extend((key, str(v)) for v in value)
        query = urllib.parse.urlencode(pairs)
        return self.base_url.rstrip("/") + path + (f"?{query}" if query else "")

    def _fetch(self, url: str, method: str = "GET", data: bytes | None = None
               ) -> tuple[int | None, Mapping[str, str], bytes]:
        """(status, headers, body); status None when the connection failed. `data`: a JSON body to send."""
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **self.headers}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            try:
                body = exc.read()
            except OSError:
                body = b""
            return exc.code, exc.headers or {}, body
        except (urllib.error.URLError, OSError):
            return None, {}, b""

    def _wait(self, attempt: int, headers: Mapping[str, str]) -> float:
        retry_after = _retry_after(headers.get("Retry-After"))
        if retry_after is not None:
            return retry_after
        return min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s)

    def _decode(self, body: bytes, path: str, page: int, items: str | None = "data") -> dict[str, Any]:
        try:
            obj = _decode_json(body)
        except DECODE_ERRORS:
            raise VendorPageError(f"{self.vendor} returned a malformed page {page} for {path}: not JSON",
                                  self.vendor, path, page) from None
        if not isinstance(obj, dict):
            raise VendorPageError(f"{self.vendor} returned a malformed page {page} for {path}: expected a "
                                  f"JSON object, got {type(obj).__name__}", self.vendor, path, page)
        if items is not None and not isinstance(obj.get(items), list):
            raise VendorPageError(f"{self.vendor} returned a malformed page {page} for {path}: "
                                  f"no `{items}` list", self.vendor, path, page)
        return obj


def _retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds (the admin APIs send seconds); None when absent or not a number."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _error_detail(body: bytes) -> str:
    """The vendor's own error message (`{"error": {"message": …}}`), shortened; never request headers."""
    try:
        obj = _decode_json(body)
    except DECODE_ERRORS:
        return ""
    error = obj.get("error") if isinstance(obj, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message)[:200] if message else ""


def anthropic_client(admin_key: str, base_url: str = ANTHROPIC_BASE_URL, **options: Any) -> VendorClient:
    """A client for the Anthropic Admin API (`x-api-key` with an `sk-ant-admin01-…` key)."""
    headers = {"x-api-key": admin_key, "anthropic-version": ANTHROPIC_VERSION}
    return VendorClient("Anthropic", base_url, headers, **options)


def openai_client(admin_key: str, base_url: str = OPENAI_BASE_URL, **options: Any) -> VendorClient:
    """A client for the OpenAI organization admin API (`Authorization: Bearer` with an admin key)."""
    return VendorClient("OpenAI", base_url, {"Authorization": f"Bearer {admin_key}"}, **options)


def collect(client: VendorClient, path: str, params: Params, mapper: Callable[[dict[str, Any]], list[Any]]
            ) -> list[Any]:
    """Map every page of `path` with a pure `mapper`; a page it rejects becomes a `VendorPageError`."""
    out: list[Any] = []
    for page in client.pages(path, params):
        try:
            out.extend(mapper(page.body))
        except VendorDataError as exc:
            raise VendorPageError(f"{client.vendor} returned a malformed page {page.number} for {path}: {exc}",
                                  client.vendor, path, page.number) from None
    return out
