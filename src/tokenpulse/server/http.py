"""HTTP plumbing shared by every route: the one error shape, reading bodies, JSON responses.

Every error leaves the service as

    {"ok": false, "status": 400, "error": "one line saying what is wrong", "errors": [...],
     "code": 3, "message": "the same line"}

(`code` and `message` make it also a valid OTLP/JSON `Status`; `errors` lists per-line or per-row
problems when there are several). OTLP requests sent as protobuf get a protobuf `google.rpc.Status`,
as the OTLP specification asks.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from ..errors import InvalidEvent, RequestError, StoreError, TokenpulseError
from ..store import engine_errors

log = logging.getLogger("tokenpulse.server")

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

# HTTP status -> gRPC status code (what OTLP clients read from a `Status`).
_GRPC_CODE = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14}
_encoder = msgspec.json.Encoder(decimal_format="number")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=_encoder.encode(data), status=status, content_type=JSON, headers=headers)


def error_body(status: int, message: str, errors: list[dict] | None = None) -> dict[str, Any]:
    return {"ok": False, "status": status, "error": message, "errors": errors or [],
            "code": _GRPC_CODE.get(status, 2), "message": message}


def error_response(request: web.Request, status: int, message: str, errors: list[dict] | None = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    if request.path.startswith("/v1/") and media_type(request) == PROTOBUF:
        from google.rpc import status_pb2

        body = status_pb2.Status(code=_GRPC_CODE.get(status, 2), message=message).SerializeToString()
        return web.Response(body=body, status=status, content_type=PROTOBUF, headers=headers)
    return json_response(error_body(status, message, errors), status, headers)


def media_type(request: web.Request) -> str:
    return request.headers.get("Content-Type", "").split(";")[0].strip().lower()


@web.middleware
async def errors_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                            ) -> web.StreamResponse:
    """Turn every failure into the one error shape; nothing reaches the client as a stack trace."""
    try:
        return await handler(request)
    except RequestError as exc:
        return error_response(request, exc.status, str(exc), exc.errors, exc.headers)
    except InvalidEvent as exc:
        return error_response(request, 400, str(exc))
    except StoreError as exc:
        log.error("store unavailable: %s", exc)
        return error_response(request, 503, f"the store is unavailable: {exc}", headers={"Retry-After": "5"})
    except TokenpulseError as exc:
        return error_response(request, 400, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(request, exc.status, exc.reason, headers={
            k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")})
    except Exception as exc:
        if isinstance(exc, engine_errors()):
            log.error("store error: %s", exc)
            return error_response(request, 503, "the store failed; retry later", headers={"Retry-After": "5"})
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(request, 500, "internal error (logged on the server)")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, decompressed (gzip or deflate); 413 when it, or what it expands to, exceeds `limit`."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestError(f"the body is {request.content_length:,} bytes; the limit is {limit:,}", 413)
    raw = bytearray()
    async for chunk in request.content.iter_chunked(1 << 16):
        raw += chunk
        if len(raw) > limit:
            raise RequestError(f"the body exceeds the limit of {limit:,} bytes", 413)
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return bytes(raw)
    if encoding not in ("gzip", "deflate", "x-gzip"):
        raise RequestError(f"unsupported Content-Encoding {encoding!r} (use gzip, deflate or none)", 415)
    # gzip (wbits 16+), zlib or raw deflate: the header tells which.
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32 if encoding != "deflate" or raw[:1] == b"\x78"
                                  else -zlib.MAX_WBITS)
    try:
        body = inflater.decompress(bytes(raw), limit + 1)
    except zlib.error as exc:
        raise RequestError(f"the body is not valid {encoding}: {exc}") from None
    if len(body) > limit or inflater.unconsumed_tail:
        raise RequestError(f"the body expands beyond the limit of {limit:,} bytes", 413)
    if not inflater.eof:
        raise RequestError(f"the {encoding} body is truncated")
    return body

