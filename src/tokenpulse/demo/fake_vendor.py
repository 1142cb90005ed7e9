"""A fake of the Anthropic and OpenAI HTTP APIs on loopback, for tests and benchmarks.

    python -m tokenpulse.demo.fake_vendor [--host 127.0.0.1] [--port 0] [--latency-ms 0]

It answers `POST /v1/messages` (JSON and SSE), `/v1/messages/count_tokens`, `/v1/chat/completions`
(JSON and SSE) and `/v1/responses` (JSON and SSE) in the vendors' real wire shapes, so the official SDKs
parse them and a metering gateway sees exactly what it would see in production. The reply text is
always "Hello from the fake vendor!", in a few deltas when streamed. No key is checked.

Usage is deterministic. By default: input tokens = max(1, request body bytes // 4), output tokens =
min(the max tokens asked for, 16), or 16 when none is asked, no cache. Request headers steer it:

- `x-fake-usage: {"input_tokens": 1200, "output_tokens": 350, "cache_read_tokens": 5000,
  "cache_write_tokens": 2000, "cache_write_1h_tokens": 0, "reasoning_tokens": 0}` (any subset): the
  usage to report, in tokenpulse's convention (input excludes cache; the 1-hour writes are part of the
  cache writes; reasoning is part of the output). Anthropic reports it as is (`cache_creation` splits
  the writes by TTL, `output_tokens_details.thinking_tokens` carries reasoning when there is some).
  OpenAI counts cached tokens inside the prompt: prompt_tokens / input_tokens = input + cache_read +
  cache_write, with cached_tokens = cache_read, cache_write_tokens = cache_write, completion_tokens /
  output_tokens = output and reasoning_tokens = reasoning.
- `x-fake-status: 429` (any 4xx/5xx): answer that status with the vendor's error body (and
  `retry-after` on 429/529).
- `x-fake-stream-cut: N`: send only the first N SSE events of a streamed answer, then drop the
  connection without ending the chunked body, as an upstream that dies mid-stream.
- `x-fake-latency-ms: 250`: wait that long before answering (overrides `--latency-ms` for the request).

`GET /_fake/stats` returns {"requests": {path: count}, "last_request": {...}} (the last API request's
method, path, headers and body, so a test can see what a proxy forwarded); `POST /_fake/reset`
zeroes it. The hot path encodes little per request: a benchmark pushes thousands of requests a second
through it and it must not be what limits them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
from aiohttp import web

from ..errors import DECODE_ERRORS, json_problem

TEXT_DELTAS = ("Hello", " from", " the", " fake", " vendor!")
TEXT = "".join(TEXT_DELTAS)
DEFAULT_OUTPUT_TOKENS = 16
API_PATHS = ("/v1/messages", "/v1/messages/count_tokens", "/v1/chat/completions", "/v1/responses")

_encode = msgspec.json.encode
_ids = itertools.count(1)


# --- what a request asks for --------------------------------------------------------------------------------


class _StreamOptions(msgspec.Struct):
    include_usage: bool | None = None


class _Request(msgspec.Struct):
    """The few fields of a request body the fake looks at (the rest are skipped unparsed)."""

    model: str = "fake-model"
    stream: bool | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    max_output_tokens: int | None = None
    stream_options: _StreamOptions | None = None


class FakeUsage(msgspec.Struct, forbid_unknown_fields=True):
    """The `x-fake-usage` header; None means "derive it from the request"."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0


class Usage(msgspec.Struct, frozen=True):
    input: int
    output: int
    cache_read: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    reasoning: int = 0

    @property
    def openai_prompt(self) -> int:
        """OpenAI's prompt tokens: every input token, cached or not."""
        return self.input + self.cache_read + self.cache_write


class BadFakeHeader(ValueError):
    """An `x-fake-*` header the fake cannot follow (a mistake in the test, answered with a 400)."""


_usage_decoder = msgspec.json.Decoder(FakeUsage)
_request_decoder = msgspec.json.Decoder(_Request)


def resolve_usage(header: str | None, body: bytes, asked: _Request) -> Usage:
    """The usage to report: the `x-fake-usage` header's figures, the rest derived from the request."""
    given = FakeUsage()
    if header:
        try:
            given = _usage_decoder.decode(header)
        except DECODE_ERRORS as exc:
            raise BadFakeHeader(f"x-fake-usage: {json_problem(exc)}") from None
    output = given.output_tokens
    if output is None:
        asked_max = next((n for n in (asked.max_tokens, asked.max_completion_tokens, asked.max_output_tokens)
                          if n is not None), None)
        output = DEFAULT_OUTPUT_TOKENS if asked_max is None else min(asked_max, DEFAULT_OUTPUT_TOKENS)
        output = output or DEFAULT_OUTPUT_TOKENS
    usage = Usage(
        input=max(1, len(body) // 4) if given.input_tokens is None else given.input_tokens, output=output,
        cache_read=given.cache_read_tokens, cache_write=given.cache_write_tokens,
        cache_write_1h=given.cache_write_1h_tokens, reasoning=given.reasoning_tokens)
    if min(usage.input, usage.output, usage.cache_read, usage.cache_write, usage.cache_write_1h,
           usage.reasoning) < 0:
        raise BadFakeHeader("x-fake-usage: token counts cannot be negative")
    if usage.cache_write_1h > usage.cache_write:
        raise BadFakeHeader("x-fake-usage: cache_write_1h_tokens is part of cache_write_tokens and cannot "
                            "exceed it")
    if usage.reasoning > usage.output:
        raise BadFakeHeader("x-fake-usage: reasoning_tokens is part of output_tokens and cannot exceed it")
    return usage


def _int_header(request: web.Request, name: str) -> int | None:
    value = request.headers.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadFakeHeader(f"{name} must be an integer, got {value!r}") from None


# --- Anthropic Messages -------------------------------------------------------------------------------------


def anthropic_usage(u: Usage, output_tokens: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": u.input, "cache_creation_input_tokens": u.cache_write,
        "cache_read_input_tokens": u.cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": u.cache_write - u.cache_write_1h,
                           "ephemeral_1h_input_tokens": u.cache_write_1h},
        "output_tokens": output_tokens, "service_tier": "standard"}
    if u.reasoning:
        usage["output_tokens_details"] = {"thinking_tokens": u.reasoning}
    return usage


def anthropic_message(model: str, u: Usage) -> bytes:
    return _encode({"id": f"msg_fake{next(_ids):020d}", "type": "message", "role": "assistant",
                    "model": model, "content": [{"type": "text", "text": TEXT}], "stop_reason": "end_turn",
                    "stop_sequence": None, "usage": anthropic_usage(u, u.output)})


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + _encode(data) + b"\n\n"


_ANTHROPIC_BODY_EVENTS = (
    _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
    _sse("ping", {"type": "ping"}),
    *(_sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "text_delta", "text": t}}) for t in TEXT_DELTAS),
    _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
)
_ANTHROPIC_STOP = _sse("message_stop", {"type": "message_stop"})


def anthropic_events(model: str, u: Usage) -> list[bytes]:
    """message_start (output_tokens 1, as the API's placeholder), the text block, then message_delta with
    the cumulative usage and message_stop."""
    start = {"id": f"msg_fake{next(_ids):020d}", "type": "message", "role": "assistant", "model": model,
             "content": [], "stop_reason": None, "stop_sequence": None, "usage": anthropic_usage(u, 1)}
    final: dict[str, Any] = {"input_tokens": u.input, "cache_creation_input_tokens": u.cache_write,
                             "cache_read_input_tokens": u.cache_read, "output_tokens": u.output}
    if u.reasoning:
        final["output_tokens_details"] = {"thinking_tokens": u.reasoning}
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
             "usage": final}
    return [_sse("message_start", {"type": "message_start", "message": start}), *_ANTHROPIC_BODY_EVENTS,
            _sse("message_delta", delta), _ANTHROPIC_STOP]


# --- OpenAI Chat Completions --------------------------------------------------------------------------------


def openai_chat_usage(u: Usage) -> dict[str, Any]:
    prompt = u.openai_prompt
    return {"prompt_tokens": prompt, "completion_tokens": u.output, "total_tokens": prompt + u.output,
            "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0,
                                      "cache_write_tokens": u.cache_write},
            "completion_tokens_details": {"reasoning_tokens": u.reasoning, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def chat_completion(model: str, u: Usage) -> bytes:
    message = {"role": "assistant", "content": TEXT, "refusal": None, "annotations": []}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
    return _encode({
        "id": f"chatcmpl-fake{next(_ids):020d}", "object": "chat.completion", "created": int(time.time()),
        "model": model, "choices": [choice],
        "usage": openai_chat_usage(u), "service_tier": "default", "system_fingerprint": "fp_fake"})


def _choice(delta: dict[str, Any], finish: str | None = None) -> bytes:
    return _encode([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])


_CHAT_CHOICES = (
    _choice({"role": "assistant", "content": "", "refusal": None}),
    *(_choice({"content": t}) for t in TEXT_DELTAS),
    _choice({}, "stop"),
)


def chat_chunks(model: str, u: Usage, include_usage: bool) -> list[bytes]:
    """The chunks of a streamed completion, each `data: {...}`. Like OpenAI: the usage-only chunk (choices
    []) comes only when `stream_options.include_usage` is true, and then every other chunk has "usage":
    null."""
    head = _encode({"id": f"chatcmpl-fake{next(_ids):020d}", "object": "chat.completion.chunk",
                    "created": int(time.time()), "model": model, "service_tier": "default",
                    "system_fingerprint": "fp_fake"})[:-1]
    tail = b',"usage":null}\n\n' if include_usage else b"}\n\n"
    chunks = [b"data: " + head + b',"choices":' + choices + tail for choices in _CHAT_CHOICES]
    if include_usage:
        chunks.append(b"data: " + head + b',"choices":[],"usage":' + _encode(openai_chat_usage(u)) + b"}\n\n")
    chunks.append(b"data: [DONE]\n\n")
    return chunks


# --- OpenAI Responses ---------------------------------------------------------------------------------------


def responses_usage(u: Usage) -> dict[str, Any]:
    prompt = u.openai_prompt
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": u.cache_read,
                                                             "cache_write_tokens": u.cache_write},
            "output_tokens": u.output, "output_tokens_details": {"reasoning_tokens": u.reasoning},
            "total_tokens": prompt + u.output}


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(item_id: str, done: bool) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "role": "assistant",
            "status": "completed" if done else "in_progress", "content": [_output_text(TEXT)] if done else []}


def _response(response_id: str, model: str, asked: _Request, u: Usage | None, item_id: str) -> dict[str, Any]:
    """A `response` object: completed (with its output and usage) when `u` is given, else in progress."""
    return {"id": response_id, "object": "response", "created_at": int(time.time()),
            "status": "completed" if u else "in_progress", "background": False, "error": None,
            "incomplete_details": None, "instructions": None, "max_output_tokens": asked.max_output_tokens,
            "model": model, "output": [_message_item(item_id, True)] if u else [],
            "parallel_tool_calls": True,
            "previous_response_id": None, "reasoning": {"effort": None, "summary": None}, "store": True,
            "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
            "top_p": 1.0, "truncation": "disabled", "usage": responses_usage(u) if u else None, "user": None,
            "metadata": {}}


def response_object(model: str, asked: _Request, u: Usage) -> bytes:
    n = next(_ids)
    return _encode(_response(f"resp_fake{n:020d}", model, asked, u, f"msg_fake{n:020d}"))


def response_events(model: str, asked: _Request, u: Usage) -> list[bytes]:
    """The Responses API's stream: created, in_progress, the message item and its text deltas, completed
    (which alone carries the usage)."""
    n = next(_ids)
    response_id, item_id = f"resp_fake{n:020d}", f"msg_fake{n:020d}"
    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    events: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": _response(response_id, model, asked, None, item_id)}),
        ("response.in_progress", {"response": _response(response_id, model, asked, None, item_id)}),
        ("response.output_item.added", {"output_index": 0, "item": _message_item(item_id, False)}),
        ("response.content_part.added", {**where, "part": _output_text("")}),
        *(("response.output_text.delta", {**where, "delta": t, "logprobs": []}) for t in TEXT_DELTAS),
        ("response.output_text.done", {**where, "text": TEXT, "logprobs": []}),
        ("response.content_part.done", {**where, "part": _output_text(TEXT)}),
        ("response.output_item.done", {"output_index": 0, "item": _message_item(item_id, True)}),
        ("response.completed", {"response": _response(response_id, model, asked, u, item_id)}),
    ]
    return [_sse(name, {"type": name, "sequence_number": i, **data}) for i, (name, data) in enumerate(events)]


# --- errors -------------------------------------------------------------------------------------------------

_ANTHROPIC_ERRORS = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                     403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                     429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error"}
_OPENAI_ERRORS = {400: ("invalid_request_error", None), 401: ("invalid_request_error", "invalid_api_key"),
                  403: ("invalid_request_error", "unsupported_country_region_territory"),
                  404: ("invalid_request_error", "model_not_found"), 429: ("requests", "rate_limit_exceeded"),
                  500: ("server_error", None), 503: ("server_error", None)}


def error_response(path: str, status: int, message: str) -> web.Response:
    """`status` with the body the vendor behind `path` sends for it."""
    headers = {"Content-Type": "application/json"}
    if status in (429, 529):
        headers["retry-after"] = "1"
    if path.startswith("/v1/messages"):
        kind = _ANTHROPIC_ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
        request_id = f"req_fake{next(_ids):020d}"
        headers["request-id"] = request_id
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
    else:
        default = ("server_error" if status >= 500 else "invalid_request_error", None)
        kind, code = _OPENAI_ERRORS.get(status, default)
        headers["x-request-id"] = f"req_fake{next(_ids):020d}"
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.Response(status=status, body=_encode(body), headers=headers)


# --- the app ------------------------------------------------------------------------------------------------

_JSON = {"Content-Type": "application/json"}
_SSE = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


class Stats:
    """Requests received per API path, and the last one (references only: nothing is copied per request)."""

    def __init__(self) -> None:
        self.requests = dict.fromkeys(API_PATHS, 0)
        self.last: tuple[str, str, Any, bytes] | None = None

    def to_json(self) -> dict[str, Any]:
        last = None
        if self.last:
            method, path, headers, body = self.last
            last = {"method": method, "path": path, "headers": dict(headers),
                    "body": body.decode("utf-8", errors="replace")}
        return {"requests": dict(self.requests), "last_request": last}


Plain = Callable[[str, _Request, Usage], bytes]
"""(model, request, usage) -> a JSON body."""
Streamed = Callable[[str, _Request, Usage], list[bytes]]
"""(model, request, usage) -> the SSE events of a stream."""


def _count_tokens(model: str, asked: _Request, u: Usage) -> bytes:
    """The prompt's tokens, cached or not: the endpoint knows nothing of the cache."""
    return _encode({"input_tokens": u.input + u.cache_read + u.cache_write})


def _answers(path: str) -> tuple[Plain, Streamed | None]:
    """(plain answer, streamed answer or None) of an API path."""
    if path == "/v1/messages":
        return (lambda model, asked, u: anthropic_message(model, u),
                lambda model, asked, u: anthropic_events(model, u))
    if path == "/v1/chat/completions":
        def chunks(model: str, asked: _Request, u: Usage) -> list[bytes]:
            return chat_chunks(model, u, bool(asked.stream_options and asked.stream_options.include_usage))
        return (lambda model, asked, u: chat_completion(model, u)), chunks
    if path == "/v1/responses":
        return response_object, response_events
    return _count_tokens, None


def _api_handler(path: str, stats: Stats, latency_ms: float) -> Callable:
    plain, streamed = _answers(path)
    id_header = "request-id" if path.startswith("/v1/messages") else "x-request-id"

    async def handle(request: web.Request) -> web.StreamResponse:
        stats.requests[path] += 1
        body = await request.read()
        stats.last = (request.method, path, request.headers, body)
        headers = request.headers
        try:
            asked = _request_decoder.decode(body)
        except DECODE_ERRORS as exc:
            return error_response(path, 400, f"invalid request body: {json_problem(exc)}")
        try:
            status = _int_header(request, "x-fake-status")
            cut = _int_header(request, "x-fake-stream-cut")
            delay = _int_header(request, "x-fake-latency-ms")
            usage = resolve_usage(headers.get("x-fake-usage"), body, asked)
        except BadFakeHeader as exc:
            return error_response(path, 400, f"fake vendor: {exc}")
        delay = latency_ms if delay is None else delay
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        if status is not None and status >= 400:
            return error_response(path, status, f"fake vendor: simulated HTTP {status}")
        response_headers = {id_header: f"req_fake{next(_ids):020d}"}
        if asked.stream and streamed is not None:
            response_headers.update(_SSE)
            return await _stream(request, response_headers, streamed(asked.model, asked, usage), cut)
        response_headers.update(_JSON)
        return web.Response(body=plain(asked.model, asked, usage), headers=response_headers)

    return handle


async def _stream(request: web.Request, headers: dict[str, str], events: list[bytes], cut: int | None
                  ) -> web.StreamResponse:
    """Send the events as SSE: the first on its own (so time to first byte means something), the rest in one
    write. With a cut, only the first `cut` events, then the connection is dropped mid-body."""
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    if cut is not None:
        await response.write(b"".join(events[:cut]))
        if request.transport is not None:
            request.transport.close()  # buffered bytes are flushed, then the socket closes: no final chunk
        return response
    await response.write(events[0])
    await response.write(b"".join(events[1:]))
    await response.write_eof()
    return response


def create_app(latency_ms: float = 0) -> web.Application:
    """The fake vendor; `latency_ms` delays every answer (a request's `x-fake-latency-ms` overrides it)."""
    app = web.Application(client_max_size=64 * 2**20)
    stats = Stats()

    async def get_stats(request: web.Request) -> web.Response:
        return web.Response(body=_encode(stats.to_json()), headers=_JSON)

    async def reset(request: web.Request) -> web.Response:
        stats.__init__()  # type: ignore[misc]
        return web.Response(body=b'{"reset":true}', headers=_JSON)

    app.router.add_post("/_fake/reset", reset)
    app.router.add_get("/_fake/stats", get_stats)
    for path in API_PATHS:
        app.router.add_post(path, _api_handler(path, stats, latency_ms))
    return app


# --- running it ---------------------------------------------------------------------------------------------


async def _start(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{'[' + bound_host + ']' if ':' in bound_host else bound_host}:{bound_port}"


class RunningFakeVendor:
    """The fake vendor served from a background thread (for tests): `.url`, then `.stop()` (or use `with`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency_ms: float = 0):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-vendor", daemon=True)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(_start(create_app(latency_ms), host, port), self._loop)
        self._runner, self.url = future.result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()

    def __enter__(self) -> RunningFakeVendor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running(latency_ms: float = 0) -> Iterator[RunningFakeVendor]:
    """`with running() as vendor: ...vendor.url...` — a fake vendor on a free loopback port."""
    with RunningFakeVendor(latency_ms=latency_ms) as vendor:
        yield vendor


async def serve(host: str, port: int, latency_ms: float) -> None:
    """Serve until SIGINT or SIGTERM; say where once connections are accepted."""
    runner, url = await _start(create_app(latency_ms), host, port)
    print(f"listening on {url}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tokenpulse.demo.fake_vendor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay before every answer")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # Windows
        asyncio.run(serve(args.host, args.port, args.latency_ms))
    else:
        uvloop.run(serve(args.host, args.port, args.latency_ms))


if __name__ == "__main__":
    main()
