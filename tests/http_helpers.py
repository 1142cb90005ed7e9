"""Plain HTTP calls for tests (a real client over loopback; no test client shortcuts)."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request

import msgspec


def call(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) — error statuses are returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def post_json(url: str, obj: object, headers: dict[str, str] | None = None, compress: bool = False
              ) -> tuple[int, dict[str, str], dict]:
    body = msgspec.json.encode(obj)
    sent = {"Content-Type": "application/json", **(headers or {})}
    if compress:
        body = gzip.compress(body)
        sent["Content-Encoding"] = "gzip"
    status, response_headers, data = call("POST", url, body, sent)
    return status, response_headers, msgspec.json.decode(data) if data else {}
