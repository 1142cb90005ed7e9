"""What a request asks for and what its response says it used, for the Anthropic Messages, OpenAI Chat
Completions and OpenAI Responses APIs (field meanings: formats.md section 5).

Pure functions and one small state machine, no I/O. This runs on every request through the gateway,
so it decodes with typed msgspec structs (unknown fields, such as the message content, are skipped
without building Python objects) and it decodes an SSE event only when the event can carry usage.

Token convention of the result (as `tokenpulse.events.UsageEvent`): `input_tokens` excludes cache reads
and cache writes; `output_tokens` includes reasoning; cache and reasoning figures are parts, clamped so
a part never exceeds its whole.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from ..errors import DECODE_ERRORS, InvalidEvent, json_problem

Api = Literal["anthropic_messages", "openai_chat", "openai_responses"]
APIS: tuple[Api, ...] = ("anthropic_messages", "openai_chat", "openai_responses")


# --- requests --------------------------------------------------------------------------------------


@dataclass
class RequestInfo:
    """What the gateway needs to know about a request before forwarding it."""

    api: Api
    model: str | None
    stream: bool
    max_output_tokens: int | None
    """Anthropic `max_tokens`; OpenAI chat `max_completion_tokens` (else `max_tokens`); Responses
    `max_output_tokens`."""
    input_estimate: int
    """A deliberately high estimate of the input tokens (for budget checks before the vendor counts)."""
    prompt_hash: str | None
    """16 hex digits identifying the newest input of the conversation (see `_prompt_hash`)."""
    body: bytes
    """The body to forward: the request's own bytes, or with `stream_options.include_usage` set."""
    strip_usage_chunk: bool
    """True when we asked for the usage chunk on the client's behalf, so the client must not see it."""


_NULL = msgspec.Raw(b"null")


class _Request(msgspec.Struct):
    # `Any` so that a wrong type gets our own message; `Raw` so the conversation is not decoded.
    model: Any = None
    stream: Any = None
    max_tokens: Any = None
    max_completion_tokens: Any = None
    max_output_tokens: Any = None
    stream_options: Any = msgspec.UNSET  # UNSET (absent) differs from null here: see `_with_usage`
    messages: msgspec.Raw = _NULL
    input: msgspec.Raw = _NULL


class _Kind(msgspec.Struct):
    role: Any = None
    type: Any = None


_decode_request = msgspec.json.Decoder(_Request).decode
_decode_items = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_input = msgspec.json.Decoder(str | list[msgspec.Raw]).decode
_decode_kind = msgspec.json.Decoder(_Kind).decode
_decode_any = msgspec.json.decode
_encode = msgspec.json.encode

_MAX_FIELD: dict[str, tuple[str, ...]] = {
    "anthropic_messages": ("max_tokens",),
    "openai_chat": ("max_completion_tokens", "max_tokens"),
    "openai_responses": ("max_output_tokens",),
}
# A base64 image, as Anthropic sends one (`"data":"iVBOR…"`) or in an OpenAI data URL (`"data:image/png;
# base64,iVBOR…`): a JSON string that starts with the PNG, JPEG, GIF or WebP signature, so PDFs and text
# still count in full. The pattern starts with a literal `"` (a fast scan), and each image found is
# skipped with `bytes.find`, so its bytes are not searched.
_IMAGE = re.compile(rb'"(?:data:image/[A-Za-z0-9.+-]{1,20};base64,)?(iVBORw0KGgo|/9j/|R0lGOD|UklGR)')
_BASE64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_MIN_IMAGE = 1000
IMAGE_TOKEN_CAP = 6000
"""At most this many tokens are estimated per image: a vendor bills an image by its pixels (Anthropic
about 1,600 tokens for a full-size one, OpenAI's high-detail modes a few thousand), not by its bytes,
so a 1 MB screenshot must not count as 350,000 tokens."""
_BYTES_PER_TOKEN = 3
"""Fewer bytes per token than tokenizers average on English prose and code (about 4), so those estimate
high; text in scripts of 3-byte UTF-8 characters (CJK) can come out lower than the vendor's count."""


def inspect_request(api: Api, body: bytes) -> RequestInfo:
    """Read a client request body. Raises `InvalidEvent` (naming the field) for a body the vendor would
    reject anyway: not a JSON object, or a known field of the wrong type. JSON null counts as absent."""
    if api not in _MAX_FIELD:
        raise ValueError(f"unknown api {api!r}")
    try:
        req = _decode_request(body)
    except msgspec.ValidationError:
        raise InvalidEvent("request body must be a JSON object") from None
    except DECODE_ERRORS as exc:
        raise InvalidEvent(f"request body is not valid JSON: {json_problem(exc)}") from None
    if req.model is not None and not isinstance(req.model, str):
        raise InvalidEvent(f"`model` must be a string, got {_json_type(req.model)}", field="model")
    if req.stream is not None and type(req.stream) is not bool:
        raise InvalidEvent(f"`stream` must be true or false, got {_json_type(req.stream)}", field="stream")
    max_output = None
    for name in _MAX_FIELD[api]:
        value = getattr(req, name)
        if value is None:
            continue
        if type(value) is not int or value < 1:
            raise InvalidEvent(f"`{name}` must be a positive integer, got {_short(value)}", field=name)
        if max_output is None:
            max_output = value
    stream = req.stream is True
    strip = False
    if api == "openai_chat" and stream:
        body, strip = _with_usage(body, req.stream_options)
    return RequestInfo(
        api=api, model=req.model, stream=stream, max_output_tokens=max_output,
        input_estimate=estimate_input_tokens(body), prompt_hash=_prompt_hash(api, req),
        body=body, strip_usage_chunk=strip,
    )


def _with_usage(body: bytes, options: Any) -> tuple[bytes, bool]:
    """The chat body with `stream_options.include_usage: true`, and whether we had to add it.

    Usage arrives in a streamed chat completion only when asked for, so the gateway asks. A client that
    set `include_usage: false` did not ask for the chunk either: it gets the same treatment."""
    if options is not msgspec.UNSET and options is not None and not isinstance(options, dict):
        raise InvalidEvent(f"`stream_options` must be an object, got {_json_type(options)}",
                           field="stream_options")
    if isinstance(options, dict):
        include = options.get("include_usage")
        if include is True:
            return body, False
        if include is not None and type(include) is not bool:
            raise InvalidEvent(f"`stream_options.include_usage` must be true or false, got {_json_type(include)}",
                               field="stream_options.include_usage")
    if options is msgspec.UNSET:
        # The usual case: splice the member in after `{` and leave every other byte as the client sent it.
        # (The object is not empty: it holds `"stream": true`.)
        at = body.index(b"{") + 1
        return body[:at] + b'"stream_options":{"include_usage":true},' + body[at:], True
    # The key is there (null, or without include_usage true): re-encode rather than send a duplicate key.
    obj = _decode_any(body)
    obj["stream_options"] = {**(options or {}), "include_usage": True}
    return _encode(obj), True


def estimate_input_tokens(body: bytes) -> int:
    """UTF-8 bytes of the body // 3 (at least 1), with each base64 image counted at most `IMAGE_TOKEN_CAP`.

    The whole body rather than just the conversation fields: it costs no decoding, and what it adds
    (model name, parameters, JSON punctuation and escapes) only makes the estimate higher."""
    size = len(body)
    images = 0
    found = _IMAGE.search(body) if size > _MIN_IMAGE else None
    while found is not None:
        start = found.start(1)
        end = body.find(b'"', start)  # base64 has no quotes: the string's end is the payload's
        if end < 0:
            break
        if end - start >= _MIN_IMAGE and not body[start:start + _MIN_IMAGE].translate(None, _BASE64_CHARS):
            size -= end - start
            images += min((end - start) // _BYTES_PER_TOKEN, IMAGE_TOKEN_CAP)
        found = _IMAGE.search(body, end + 1)
    return max(1, size // _BYTES_PER_TOKEN + images)


# Keys whose values change between two sends of the same input: tool call ids are minted per call, and
# Anthropic clients move `cache_control` breakpoints around.
_VOLATILE = frozenset({"id", "tool_use_id", "tool_call_id", "call_id", "cache_control"})
_MODEL_TYPES = frozenset({"message", "function_call", "reasoning", "custom_tool_call", "web_search_call",
                          "file_search_call", "computer_call", "local_shell_call", "mcp_call",
                          "image_generation_call", "code_interpreter_call", "item_reference"})


def _prompt_hash(api: Api, req: _Request) -> str | None:
    """A short hash of the newest input: the messages after the model's last turn.

    For Anthropic that is the last user message (tool results are user messages there). OpenAI sends tool
    results as `tool` messages / `function_call_output` items, so the last *user* message stays the same
    through every step of a tool-using turn; hashing it would make each step look like a loop. So the
    hash covers every user and tool input after the last assistant turn (system/developer messages are
    skipped; a trailing assistant prefill is passed over). Ids and cache markers are left out, so an
    agent that re-sends the same input with fresh call ids hashes the same. None when there is no input.
    """
    try:
        if api == "openai_responses":
            items = [] if req.input == _NULL else _decode_input(req.input)
            if isinstance(items, str):
                return _digest([items])
        else:
            items = [] if req.messages == _NULL else _decode_items(req.messages)
    except msgspec.ValidationError:
        field = "input" if api == "openai_responses" else "messages"
        raise InvalidEvent(f"`{field}` must be an array", field=field) from None
    tail: list[Any] = []
    for raw in reversed(items):
        try:
            kind = _decode_kind(raw)
        except msgspec.ValidationError:
            continue  # not an object: the vendor will say so
        role, item_type = kind.role, kind.type
        if role in ("system", "developer"):
            continue
        is_input = role in ("user", "tool", "function") or (
            role is None and isinstance(item_type, str) and item_type.endswith("_output"))
        if not is_input:
            if tail or not (role == "assistant" or item_type in _MODEL_TYPES):
                break
            continue  # an assistant prefill after the input
        tail.append(_stable(_decode_any(raw)))
    if not tail:
        return None
    tail.reverse()
    return _digest(tail)


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _digest(value: Any) -> str:
    # SHA-256 has CPU instructions almost everywhere: faster than BLAKE2 on a large tool result.
    return hashlib.sha256(_encode(value)).hexdigest()[:16]


def _json_type(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array",
            dict: "an object"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else _json_type(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- usage: the vendors' shapes --------------------------------------------------------------------


@dataclass
class MeteredUsage:
    """What one response says it used, in tokenpulse's convention (see the module docstring)."""

    model: str | None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    web_search_requests: int = 0
    request_id: str | None = None
    complete: bool = True
    """False when a stream ended before its final usage: the figures are a lower bound."""


class _ACacheCreation(msgspec.Struct):
    ephemeral_5m_input_tokens: int | None = None
    ephemeral_1h_input_tokens: int | None = None


class _AServerTools(msgspec.Struct):
    web_search_requests: int | None = None


class _AOutputDetails(msgspec.Struct):
    thinking_tokens: int | None = None


class _AUsage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation: _ACacheCreation | None = None
    server_tool_use: _AServerTools | None = None
    output_tokens_details: _AOutputDetails | None = None


class _AMessage(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    usage: _AUsage | None = None


class _AEvent(msgspec.Struct):
    type: str | None = None
    message: _AMessage | None = None
    usage: _AUsage | None = None


class _OPromptDetails(msgspec.Struct):
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None


class _OCompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class _OChatUsage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _OPromptDetails | None = None
    completion_tokens_details: _OCompletionDetails | None = None


class _OChat(msgspec.Struct):
    """A chat completion or one chunk of a streamed one."""

    id: str | None = None
    model: str | None = None
    choices: list[msgspec.Raw] | None = None
    usage: _OChatUsage | None = None


class _ROutputDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class _RUsage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_tokens_details: _OPromptDetails | None = None
    output_tokens_details: _ROutputDetails | None = None


class _RResponse(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    usage: _RUsage | None = None


class _REvent(msgspec.Struct):
    type: str | None = None
    response: _RResponse | None = None


_decode_a_message = msgspec.json.Decoder(_AMessage).decode
_decode_a_event = msgspec.json.Decoder(_AEvent).decode
_decode_chat = msgspec.json.Decoder(_OChat).decode
_decode_r_response = msgspec.json.Decoder(_RResponse).decode
_decode_r_event = msgspec.json.Decoder(_REvent).decode


class _AnthropicTotals:
    """Anthropic usage so far. A `message_delta` repeats some fields cumulatively: each field it carries
    overwrites the one before (never added), the others stay as `message_start` said."""

    __slots__ = ("input", "output", "cache_read", "cache_write", "write_5m", "write_1h", "thinking",
                 "web_search")

    def __init__(self) -> None:
        self.input = self.output = self.cache_read = self.cache_write = None
        self.write_5m = self.write_1h = self.thinking = self.web_search = None

    def merge(self, u: _AUsage) -> None:
        if u.input_tokens is not None:
            self.input = u.input_tokens
        if u.output_tokens is not None:
            self.output = u.output_tokens
        if u.cache_read_input_tokens is not None:
            self.cache_read = u.cache_read_input_tokens
        if u.cache_creation_input_tokens is not None:
            self.cache_write = u.cache_creation_input_tokens
        if u.cache_creation is not None:
            if u.cache_creation.ephemeral_5m_input_tokens is not None:
                self.write_5m = u.cache_creation.ephemeral_5m_input_tokens
            if u.cache_creation.ephemeral_1h_input_tokens is not None:
                self.write_1h = u.cache_creation.ephemeral_1h_input_tokens
        if u.server_tool_use is not None and u.server_tool_use.web_search_requests is not None:
            self.web_search = u.server_tool_use.web_search_requests
        if u.output_tokens_details is not None and u.output_tokens_details.thinking_tokens is not None:
            self.thinking = u.output_tokens_details.thinking_tokens

    def result(self, model: str | None, request_id: str | None, complete: bool) -> MeteredUsage:
        output = _count(self.output)
        write_1h = _count(self.write_1h)
        # `cache_creation_input_tokens` is the sum of the `cache_creation` parts; derive it if absent.
        write = _count(self.cache_write) if self.cache_write is not None else _count(self.write_5m) + write_1h
        return MeteredUsage(
            model=model, input_tokens=_count(self.input), output_tokens=output,
            cache_read_tokens=_count(self.cache_read), cache_write_tokens=write,
            cache_write_1h_tokens=min(write_1h, write), reasoning_tokens=min(_count(self.thinking), output),
            web_search_requests=_count(self.web_search), request_id=request_id, complete=complete,
        )


def _count(value: int | None) -> int:
    return value if value is not None and value > 0 else 0


def _openai_usage(model: str | None, request_id: str | None, total_input: int | None, output: int | None,
                  details: _OPromptDetails | None, reasoning: int | None) -> MeteredUsage:
    """OpenAI counts cached (and cache-written) tokens inside the input: take them out."""
    total = _count(total_input)
    out = _count(output)
    cached = min(_count(details.cached_tokens), total) if details else 0
    written = min(_count(details.cache_write_tokens), total - cached) if details else 0
    return MeteredUsage(
        model=model, input_tokens=total - cached - written, output_tokens=out, cache_read_tokens=cached,
        cache_write_tokens=written, reasoning_tokens=min(_count(reasoning), out), request_id=request_id,
    )


def _chat_usage(chunk: _OChat, model: str | None, request_id: str | None) -> MeteredUsage:
    u = chunk.usage
    assert u is not None
    details = u.completion_tokens_details
    return _openai_usage(chunk.model or model, chunk.id or request_id, u.prompt_tokens, u.completion_tokens,
                         u.prompt_tokens_details, details.reasoning_tokens if details else None)


def _responses_usage(r: _RResponse) -> MeteredUsage:
    u = r.usage
    assert u is not None
    details = u.output_tokens_details
    return _openai_usage(r.model, r.id, u.input_tokens, u.output_tokens, u.input_tokens_details,
                         details.reasoning_tokens if details else None)


def usage_from_response(api: Api, body: bytes) -> MeteredUsage | None:
    """The usage of a non-streaming response body; None when it has none (an error, or not JSON)."""
    try:
        if api == "anthropic_messages":
            message = _decode_a_message(body)
            if message.usage is None:
                return None
            totals = _AnthropicTotals()
            totals.merge(message.usage)
            return totals.result(message.model, message.id, complete=True)
        if api == "openai_chat":
            chat = _decode_chat(body)
            return None if chat.usage is None else _chat_usage(chat, None, None)
        if api == "openai_responses":
            response = _decode_r_response(body)
            return None if response.usage is None else _responses_usage(response)
    except DECODE_ERRORS:  # ValidationError included: a body of another shape carries no usage
        return None
    raise ValueError(f"unknown api {api!r}")


# --- usage: streams --------------------------------------------------------------------------------

_EVENT_END = re.compile(rb"\r?\n\r?\n")
_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')
_RESPONSE_EVENTS = (b"response.completed", b"response.incomplete", b"response.failed", b"response.created")
_FINAL_RESPONSE = frozenset({"response.completed", "response.incomplete", "response.failed"})


def _sse_data(event: bytes) -> bytes | None:
    """The `data` of one SSE event (its lines joined by newlines), or None when it has none."""
    data: list[bytes] = []
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            value = line[5:].rstrip(b"\r")
            data.append(value[1:] if value.startswith(b" ") else value)
    return b"\n".join(data) if data else None


class StreamMeter:
    """Watches an SSE response as it is forwarded.

    Bytes go to the client as they come; only with `strip_usage_chunk` (OpenAI chat, usage asked for by
    us) are the bytes of an unfinished event held back, until it is known whether it is the usage chunk.
    Line endings `\\n` and `\\r\\n` are understood (the vendors send `\\n`); lone `\\r` is not.
    """

    def __init__(self, api: Api, strip_usage_chunk: bool = False):
        if api not in APIS:
            raise ValueError(f"unknown api {api!r}")
        self._api = api
        self._strip = strip_usage_chunk and api == "openai_chat"
        self._buffer = bytearray()
        self._scan = 0  # where the search for the end of the current event resumes
        self._model: str | None = None
        self._request_id: str | None = None
        self._seen = False  # an event with usage or identity arrived
        self._final: MeteredUsage | None = None  # OpenAI: the usage, once it arrived
        self._totals = _AnthropicTotals()
        self._started = False  # Anthropic: message_start arrived
        self._delta_seen = False  # Anthropic: a message_delta after it
        self._on_event = {"anthropic_messages": self._anthropic, "openai_chat": self._chat,
                          "openai_responses": self._responses}[api]

    def feed(self, chunk: bytes) -> bytes:
        """Take the next bytes from upstream (split anywhere) and return the bytes to send on now."""
        buffer = self._buffer
        buffer += chunk
        kept: list[bytes] = []
        start = 0
        while (end := _EVENT_END.search(buffer, self._scan)) is not None:
            drop = self._on_event(bytes(buffer[start:end.start()]))
            if self._strip and not drop:
                kept.append(bytes(buffer[start:end.end()]))
            start = self._scan = end.end()
        if start:
            del buffer[:start]
        # An event end is at most 4 bytes (`\r\n\r\n`): the next search starts where one could begin.
        self._scan = max(0, len(buffer) - 3)
        if not self._strip:
            return chunk
        return b"".join(kept)

    def finish(self) -> bytes:
        """The stream ended: whatever is still held back. An event cut off before its blank line is still
        read for usage (its data may be whole); a stripped usage chunk is not sent even then."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        self._scan = 0
        drop = bool(rest.strip()) and self._on_event(rest)
        return rest if self._strip and not drop else b""

    def usage(self) -> MeteredUsage | None:
        """The usage seen so far (`complete=False` while the final figure is missing); None if nothing
        with usage or identity arrived."""
        if self._api == "anthropic_messages":
            if not self._seen:
                return None
            return self._totals.result(self._model, self._request_id, complete=self._delta_seen)
        if self._final is not None:
            return self._final
        if not self._seen:
            return None
        return MeteredUsage(model=self._model, request_id=self._request_id, complete=False)

    # Each handler reads one event (without its closing blank line) and says whether to drop it.

    def _anthropic(self, event: bytes) -> bool:
        if b"message_start" not in event and b"message_delta" not in event:
            return False
        data = _sse_data(event)
        if data is None:
            return False
        try:
            parsed = _decode_a_event(data)
        except DECODE_ERRORS:
            return False
        if parsed.type == "message_start" and parsed.message is not None:
            self._seen = self._started = True
            self._model = parsed.message.model or self._model
            self._request_id = parsed.message.id or self._request_id
            if parsed.message.usage is not None:
                self._totals.merge(parsed.message.usage)
        elif parsed.type == "message_delta" and parsed.usage is not None:
            self._totals.merge(parsed.usage)
            self._delta_seen = self._started
            self._seen = True
        return False

    def _chat(self, event: bytes) -> bool:
        if self._seen and _USAGE_OBJECT.search(event) is None:
            return False
        data = _sse_data(event)
        if data is None or data == b"[DONE]":
            return False
        try:
            chunk = _decode_chat(data)
        except DECODE_ERRORS:
            return False
        if chunk.id is None and chunk.model is None and chunk.usage is None:
            return False  # not a completion chunk (an error, say)
        self._seen = True
        self._model = self._model or chunk.model
        self._request_id = self._request_id or chunk.id
        if chunk.usage is None:
            return False
        self._final = _chat_usage(chunk, self._model, self._request_id)
        return self._strip and not chunk.choices

    def _responses(self, event: bytes) -> bool:
        if not any(name in event for name in _RESPONSE_EVENTS):
            return False
        data = _sse_data(event)
        if data is None:
            return False
        try:
            parsed = _decode_r_event(data)
        except DECODE_ERRORS:
            return False
        response = parsed.response
        if response is None:
            return False
        self._seen = True
        self._model = response.model or self._model
        self._request_id = response.id or self._request_id
        if parsed.type in _FINAL_RESPONSE and response.usage is not None:
            self._final = _responses_usage(response)
        return False
