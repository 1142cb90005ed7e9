"""The request path: authenticate, inspect, admit (budgets and breaker), forward, meter, settle, record.

One function, `handle`, serves every metered route, so no route can forward without enforcing. Streams are
passed through as they arrive (time to first byte matters); the usage in them is read on the way. A client
that goes away mid-stream does not stop the metering: the rest of the upstream stream is read (the vendor
bills it anyway) and only then is the request settled.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from ..errors import InvalidEvent
from ..events import UsageEvent
from ..keys import ApiKey, bearer_token
from ..money import micros_to_decimal_usd
from . import meter
from .refusals import refusal

if TYPE_CHECKING:
    from .service import Gateway

log = logging.getLogger("tokenpulse.gateway")

# Headers that describe one hop of a connection, never forwarded (RFC 9110 §7.6.1), plus the ones the
# proxy sets itself.
_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                  "transfer-encoding", "upgrade", "host", "content-length", "content-encoding", "accept-encoding",
                  "x-api-key", "authorization"})
PROVIDER = {"anthropic_messages": "anthropic", "openai_chat": "openai", "openai_responses": "openai"}
# Tools recognised by their user agent; anything else is named after the API it calls.
_TOOLS = (("claude-cli", "claude_code"), ("claude-code", "claude_code"), ("codex", "codex"), ("cursor", "cursor"),
          ("gemini", "gemini_cli"), ("copilot", "copilot"))


def usd(micros: int | None) -> str:
    return "" if micros is None else str(micros_to_decimal_usd(micros))


def tool_of(request: web.Request, api: meter.Api) -> str:
    named = request.headers.get("x-tokenpulse-tool")
    if named:
        return named.strip().lower()[:64]
    agent = request.headers.get("User-Agent", "").lower()
    for marker, tool in _TOOLS:
        if marker in agent:
            return tool
    return "anthropic_api" if api == "anthropic_messages" else "openai_api"


def secret_of(request: web.Request) -> str | None:
    """Anthropic clients send `x-api-key`; OpenAI clients (and Anthropic's auth-token mode) a bearer token."""
    return request.headers.get("x-api-key") or bearer_token(request.headers.get("Authorization"))


def _vendor_response(api: meter.Api, error_type: str, message: str, status: int,
                     extra: dict[str, str] | None = None) -> web.Response:
    shaped = refusal(api, error_type, message, status)
    return web.Response(status=shaped.status, body=shaped.body, headers={**shaped.headers, **(extra or {})})


@dataclass
class Ask:
    """What the enforcer decides on: who, with which tool, how much at most."""

    person: str
    team: str | None
    tool: str
    model: str | None
    estimate_micros: int
    prompt_hash: str | None
    size: int


async def authenticate(gateway: Gateway, request: web.Request, api: meter.Api) -> ApiKey | web.Response:
    secret = secret_of(request)
    if not secret:
        return _vendor_response(api, "authentication_error", "tokenpulse gateway: no key sent. Set your tool's API "
                                "key to your tokenpulse virtual key (tp-…).", 401)
    key = await gateway.keys.lookup(secret)
    if key is None or key.kind != "gateway" or key.revoked_at is not None or not key.person:
        return _vendor_response(api, "authentication_error", "tokenpulse gateway: this is not a valid virtual key "
                                "(ask for one with `tokenpulse keys create --kind gateway`).", 401)
    return key


async def handle(gateway: Gateway, request: web.Request, api: meter.Api) -> web.StreamResponse:
    started = time.perf_counter()
    key = await authenticate(gateway, request, api)
    if isinstance(key, web.Response):
        return key
    body = await request.read()
    try:
        info = meter.inspect_request(api, body)
    except InvalidEvent as exc:
        return _vendor_response(api, "invalid_request_error", f"tokenpulse gateway: {exc}", 400)
    person = key.person or ""
    ask = Ask(person=person, team=gateway.team_of(person), tool=tool_of(request, api), model=info.model,
              estimate_micros=gateway.estimate(api, info), prompt_hash=info.prompt_hash, size=len(body))
    admission = gateway.enforcer.admit(ask, datetime.now(UTC))
    if admission.refused is not None:
        gateway.metrics.refused.labels(admission.refused.kind).inc()
        return _vendor_response(api, admission.refused.kind, admission.refused.message, 403,
                                _figures(admission.spend_today, admission.remaining))
    try:
        return await _forward(gateway, request, api, info, ask, admission, started)
    except BaseException:
        if not admission.settled:
            gateway.enforcer.release(admission)
        raise


def _figures(spend_today: int | None, remaining: int | None, cost: int | None = None) -> dict[str, str]:
    out = {}
    if cost is not None:
        out["x-tokenpulse-cost-usd"] = usd(cost)
    if spend_today is not None:
        out["x-tokenpulse-spend-today-usd"] = usd(spend_today)
    if remaining is not None:
        out["x-tokenpulse-budget-remaining-usd"] = usd(max(remaining, 0))
    return out


def upstream_headers(gateway: Gateway, request: web.Request, api: meter.Api) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP
               and not k.lower().startswith("x-tokenpulse-")}
    headers["Accept-Encoding"] = "identity"  # the proxy reads the usage in what comes back
    headers["Content-Type"] = "application/json"
    secret = gateway.upstream_key(api)
    if secret:
        if api == "anthropic_messages":
            headers["x-api-key"] = secret
        else:
            headers["Authorization"] = f"Bearer {secret}"
    return headers


def client_headers(upstream: aiohttp.ClientResponse) -> dict[str, str]:
    return {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}


async def _forward(gateway: Gateway, request: web.Request, api: meter.Api, info: meter.RequestInfo, ask: Ask,
                   admission, started: float) -> web.StreamResponse:
    url = gateway.upstream_url(api) + request.path
    async with gateway.session.post(url, data=info.body, headers=upstream_headers(gateway, request, api)) as up:
        streamed = info.stream and up.content_type == "text/event-stream"
        if not streamed:
            data = await up.read()
            usage = meter.usage_from_response(api, data) if up.status < 400 else None
            event = _event(gateway, api, info, ask, usage, up.status, started)
            spend, remaining = gateway.settle(admission, event)
            return web.Response(status=up.status, body=data,
                                headers={**client_headers(up), **_figures(spend, remaining, event.cost_micros or 0)})
        response = web.StreamResponse(status=up.status, headers={
            **client_headers(up), **_figures(admission.spend_today, admission.remaining)})
        await response.prepare(request)
        stream = meter.StreamMeter(api, info.strip_usage_chunk)
        client_gone = upstream_failed = False
        try:
            async for chunk in up.content.iter_any():
                out = stream.feed(chunk)
                if out and not client_gone:
                    client_gone = not await _send(response, out)
            tail = stream.finish()
            if tail and not client_gone:
                client_gone = not await _send(response, tail)
        except (aiohttp.ClientError, TimeoutError) as exc:  # upstream died mid-stream: meter what was seen
            log.warning("upstream stream ended early: %s", exc)
            upstream_failed = True
        event = _event(gateway, api, info, ask, stream.usage(), up.status, started, client_gone=client_gone)
        gateway.settle(admission, event)
        if upstream_failed and request.transport is not None:
            # End the client's stream the way upstream ended ours (no final chunk), so it knows it is cut short.
            request.transport.close()
        elif not client_gone:
            await response.write_eof()
        return response


async def _send(response: web.StreamResponse, data: bytes) -> bool:
    try:
        await response.write(data)
        return True
    except (ConnectionResetError, aiohttp.ClientConnectionResetError):
        return False


def _event(gateway: Gateway, api: meter.Api, info: meter.RequestInfo, ask: Ask, usage: meter.MeteredUsage | None,
           status: int, started: float, client_gone: bool = False) -> UsageEvent:
    complete = usage is not None and usage.complete
    event = UsageEvent(
        id=f"gateway:{usage.request_id if usage and usage.request_id else uuid.uuid4().hex}",
        ts=datetime.now(UTC), tool=ask.tool, provider=PROVIDER[api],
        model=(usage.model if usage and usage.model else info.model), person=ask.person,
        request_id=usage.request_id if usage else None,
        status="ok" if status < 400 else "rate_limited" if status == 429 else "error",
        duration_ms=round((time.perf_counter() - started) * 1000), prompt_hash=info.prompt_hash,
        source="gateway", confidence="metered" if complete or status >= 400 else "estimated",
        extra={"client_disconnected": True} if client_gone else None)
    if usage is not None:
        event.input_tokens = usage.input_tokens
        event.output_tokens = usage.output_tokens
        event.cache_read_tokens = usage.cache_read_tokens
        event.cache_write_tokens = usage.cache_write_tokens
        event.cache_write_1h_tokens = usage.cache_write_1h_tokens
        event.reasoning_tokens = usage.reasoning_tokens
        event.web_search_requests = usage.web_search_requests
    gateway.book.price(event)
    if status >= 500 or status == 429:
        gateway.enforcer.note_upstream_error(ask.person, status)
    return event
