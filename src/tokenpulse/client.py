"""A small client for a tokenpulse server's JSON API (`push`, `keys --server`).

It retries what the server says to retry (429/503, honouring Retry-After) and connection failures,
a few times, and turns every other failure into a `ServerError` carrying the server's own message.
The key is sent as `Authorization: Bearer` and never printed.
"""

from __future__ import annotations

import gzip
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import msgspec

from . import __version__
from .errors import DECODE_ERRORS, TokenpulseError

RETRIES = 5


class ServerError(TokenpulseError):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def server_id(url: str) -> str:
    """The server's identity for bookkeeping: scheme, host, port and path, normalised."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerError(f"not a server URL: {url!r} (expected http://host:port or https://…)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}{parts.path.rstrip('/')}"


class ServerClient:
    def __init__(self, url: str, key: str, timeout: float = 120, sleep: Any = time.sleep):
        self.base = server_id(url)
        self._key = key
        self._timeout = timeout
        self._sleep = sleep

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
                compress: bool = False) -> Any:
        headers = {"Authorization": f"Bearer {self._key}", "Accept": "application/json",
                   "User-Agent": f"tokenpulse/{__version__}"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
            if compress:
                body = gzip.compress(body, compresslevel=5)
                headers["Content-Encoding"] = "gzip"
        url = self.base + path
        for attempt in range(RETRIES):
            request = urllib.request.Request(url, data=body, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self._timeout) as response:
                    data = response.read()
                    return msgspec.json.decode(data) if data else None
            except urllib.error.HTTPError as exc:
                data = exc.read()
                if exc.code in (429, 502, 503, 504) and attempt + 1 < RETRIES:
                    self._sleep(_retry_after(exc.headers.get("Retry-After"), attempt))
                    continue
                raise ServerError(f"{self.base} answered {exc.code}: {_message(data, exc.reason)}", exc.code) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                if attempt + 1 < RETRIES:
                    self._sleep(_retry_after(None, attempt))
                    continue
                reason = getattr(exc, "reason", exc)
                raise ServerError(f"cannot reach {self.base}: {reason}") from None
        raise AssertionError("unreachable")

    def post_ndjson(self, lines: bytes) -> dict[str, Any]:
        return self.request("POST", "/api/v1/events", lines, "application/x-ndjson", compress=True)


def _retry_after(header: str | None, attempt: int) -> float:
    try:
        return min(max(float(header), 0.0), 60.0) if header else min(0.5 * 2 ** attempt, 10.0)
    except ValueError:
        return min(0.5 * 2 ** attempt, 10.0)


def _message(data: bytes, fallback: str) -> str:
    try:
        body = msgspec.json.decode(data)
    except DECODE_ERRORS:
        return fallback
    return str(body.get("error") or fallback) if isinstance(body, dict) else fallback
