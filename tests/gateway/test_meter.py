"""The gateway's meter: request inspection, usage of whole responses, and usage of SSE streams fed in
arbitrary pieces (every split point), with exact numbers from the vendors' documented shapes."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import msgspec
import pytest
from sse_samples import (
    ANTHROPIC_ERROR_BODY,
    ANTHROPIC_ERROR_STREAM,
    ANTHROPIC_ID,
    ANTHROPIC_MODEL,
    ANTHROPIC_REQUEST,
    ANTHROPIC_RESPONSE,
    ANTHROPIC_SEARCH_STREAM,
    ANTHROPIC_STREAM,
    CHAT_CONTENT,
    CHAT_DONE,
    CHAT_ERROR_BODY,
    CHAT_ID,
    CHAT_MODEL,
    CHAT_REQUEST,
    CHAT_RESPONSE,
    CHAT_RESPONSE_CACHE_WRITE,
    CHAT_STREAM,
    CHAT_STREAM_WITHOUT_USAGE,
    CHAT_USAGE_EVENT,
    RESPONSES_FAILED_STREAM,
    RESPONSES_ID,
    RESPONSES_INCOMPLETE_STREAM,
    RESPONSES_MODEL,
    RESPONSES_REQUEST,
    RESPONSES_RESPONSE,
    RESPONSES_STREAM,
)

from tokenpulse.errors import InvalidEvent
from tokenpulse.gateway.meter import (
    IMAGE_TOKEN_CAP,
    MeteredUsage,
    StreamMeter,
    inspect_request,
    usage_from_response,
)

ANTHROPIC_USAGE = MeteredUsage(
    model=ANTHROPIC_MODEL, input_tokens=472, output_tokens=503, cache_read_tokens=10240,
    cache_write_tokens=2051, cache_write_1h_tokens=2000, request_id=ANTHROPIC_ID,
)
SEARCH_USAGE = MeteredUsage(
    model="claude-opus-4-1-20250805", input_tokens=10682, output_tokens=530, reasoning_tokens=120,
    web_search_requests=1, request_id="msg_01G4bd7hJ5EXAMPLE",
)
# prompt 1200 of which 1024 cached; completion 300 of which 128 reasoning.
CHAT_USAGE = MeteredUsage(model=CHAT_MODEL, input_tokens=176, output_tokens=300, cache_read_tokens=1024,
                          reasoning_tokens=128, request_id=CHAT_ID)
# input 11032 of which 9984 cached; output 22 of which 8 reasoning.
RESPONSES_USAGE = MeteredUsage(model=RESPONSES_MODEL, input_tokens=1048, output_tokens=22, cache_read_tokens=9984,
                               reasoning_tokens=8, request_id=RESPONSES_ID)


def _crlf(stream: bytes) -> bytes:
    return stream.replace(b"\n", b"\r\n")


def _end_of(stream: bytes, marker: bytes) -> int:
    """The offset just after the JSON of the data line holding `marker`: from there on, the data is whole."""
    return stream.index(b"\n", stream.index(marker)) - (1 if b"\r\n" in stream else 0)


# name, api, stream, strip, usage at the end, forwarded bytes, offset from which the final usage is whole
STREAMS = [
    ("anthropic", "anthropic_messages", ANTHROPIC_STREAM, False, ANTHROPIC_USAGE, ANTHROPIC_STREAM,
     _end_of(ANTHROPIC_STREAM, b'"type":"message_delta"')),
    ("anthropic-crlf", "anthropic_messages", _crlf(ANTHROPIC_STREAM), False, ANTHROPIC_USAGE,
     _crlf(ANTHROPIC_STREAM), _end_of(_crlf(ANTHROPIC_STREAM), b'"type":"message_delta"')),
    ("anthropic-web-search", "anthropic_messages", ANTHROPIC_SEARCH_STREAM, False, SEARCH_USAGE,
     ANTHROPIC_SEARCH_STREAM, _end_of(ANTHROPIC_SEARCH_STREAM, b'"type":"message_delta"')),
    ("anthropic-error", "anthropic_messages", ANTHROPIC_ERROR_STREAM, False,
     MeteredUsage(model=ANTHROPIC_MODEL, input_tokens=3100, output_tokens=2, cache_read_tokens=48000,
                  request_id="msg_01Overloaded", complete=False), ANTHROPIC_ERROR_STREAM, None),
    ("chat", "openai_chat", CHAT_STREAM, False, CHAT_USAGE, CHAT_STREAM,
     _end_of(CHAT_STREAM, b'"choices":[],"usage"')),
    ("chat-stripped", "openai_chat", CHAT_STREAM, True, CHAT_USAGE, CHAT_CONTENT + CHAT_DONE,
     _end_of(CHAT_STREAM, b'"choices":[],"usage"')),
    ("chat-stripped-crlf", "openai_chat", _crlf(CHAT_STREAM), True, CHAT_USAGE, _crlf(CHAT_CONTENT + CHAT_DONE),
     _end_of(_crlf(CHAT_STREAM), b'"choices":[],"usage"')),
    ("chat-no-usage", "openai_chat", CHAT_STREAM_WITHOUT_USAGE, False,
     MeteredUsage(model=CHAT_MODEL, request_id=CHAT_ID, complete=False), CHAT_STREAM_WITHOUT_USAGE, None),
    ("responses", "openai_responses", RESPONSES_STREAM, False, RESPONSES_USAGE, RESPONSES_STREAM,
     _end_of(RESPONSES_STREAM, b"data: {\"type\":\"response.completed\"")),
    ("responses-crlf", "openai_responses", _crlf(RESPONSES_STREAM), False, RESPONSES_USAGE,
     _crlf(RESPONSES_STREAM), _end_of(_crlf(RESPONSES_STREAM), b"data: {\"type\":\"response.completed\"")),
    ("responses-incomplete", "openai_responses", RESPONSES_INCOMPLETE_STREAM, False,
     MeteredUsage(model=RESPONSES_MODEL, input_tokens=900, output_tokens=16, reasoning_tokens=16,
                  request_id=RESPONSES_ID),
     RESPONSES_INCOMPLETE_STREAM, _end_of(RESPONSES_INCOMPLETE_STREAM, b"data: {\"type\":\"response.incomplete\"")),
    ("responses-failed", "openai_responses", RESPONSES_FAILED_STREAM, False,
     MeteredUsage(model=RESPONSES_MODEL, request_id=RESPONSES_ID, complete=False), RESPONSES_FAILED_STREAM, None),
]
STREAM_IDS = [case[0] for case in STREAMS]


def _run(api: str, pieces: list[bytes], strip: bool) -> tuple[list[bytes], bytes, MeteredUsage | None]:
    meter = StreamMeter(api, strip_usage_chunk=strip)  # type: ignore[arg-type]
    outs = [meter.feed(piece) for piece in pieces]
    return outs, meter.finish(), meter.usage()


@pytest.mark.parametrize(("name", "api", "stream", "strip", "usage", "forwarded", "whole_at"), STREAMS,
                         ids=STREAM_IDS)
def test_stream_whole(name, api, stream, strip, usage, forwarded, whole_at):
    outs, rest, got = _run(api, [stream], strip)
    assert got == usage
    assert b"".join(outs) + rest == forwarded


@pytest.mark.parametrize(("name", "api", "stream", "strip", "usage", "forwarded", "whole_at"), STREAMS,
                         ids=STREAM_IDS)
def test_stream_split_at_every_offset(name, api, stream, strip, usage, forwarded, whole_at):
    """Any split gives the same usage and the same bytes; without stripping every byte goes on at once,
    with stripping only the events not yet finished wait."""
    for at in range(len(stream) + 1):
        (first, second), rest, got = _run(api, [stream[:at], stream[at:]], strip)
        assert got == usage, at
        assert first + second + rest == forwarded, at
        if strip:
            finished = stream[:at].rfind(b"\n\n" if b"\r\n" not in stream else b"\r\n\r\n")
            done = stream[:at][:finished + (2 if b"\r\n" not in stream else 4)] if finished >= 0 else b""
            usage_event = CHAT_USAGE_EVENT if b"\r\n" not in stream else _crlf(CHAT_USAGE_EVENT)
            assert first == done.replace(usage_event, b""), at
        else:
            assert (first, second, rest) == (stream[:at], stream[at:], b""), at


@pytest.mark.parametrize(("name", "api", "stream", "strip", "usage", "forwarded", "whole_at"), STREAMS,
                         ids=STREAM_IDS)
def test_stream_byte_by_byte(name, api, stream, strip, usage, forwarded, whole_at):
    pieces = [stream[i:i + 1] for i in range(len(stream))]
    outs, rest, got = _run(api, pieces, strip)
    assert got == usage
    assert b"".join(outs) + rest == forwarded
    if not strip:
        assert outs == pieces


@pytest.mark.parametrize(("name", "api", "stream", "strip", "usage", "forwarded", "whole_at"), STREAMS,
                         ids=STREAM_IDS)
def test_stream_cut_short(name, api, stream, strip, usage, forwarded, whole_at):
    """A stream that stops anywhere: complete exactly when the final usage's data arrived whole, and the
    bytes that came are all forwarded (less a whole usage chunk when stripping)."""
    for at in range(len(stream) + 1):
        outs, rest, got = _run(api, [stream[:at]], strip)
        complete = whole_at is not None and at >= whole_at
        assert (got is not None and got.complete) == complete, at
        if not strip or not complete:
            assert outs[0] + rest == stream[:at], at
        else:  # the usage chunk, whole or cut after its data, is not sent
            usage_event = CHAT_USAGE_EVENT if b"\r\n" not in stream else _crlf(CHAT_USAGE_EVENT)
            start = stream.index(usage_event)
            assert outs[0] + rest == stream[:start] + stream[start + len(usage_event):at], at


def test_anthropic_cut_before_message_delta_keeps_input_and_output_so_far():
    cut = ANTHROPIC_STREAM[:ANTHROPIC_STREAM.index(b"event: message_delta")]
    _, _, got = _run("anthropic_messages", [cut], False)
    assert got == replace(ANTHROPIC_USAGE, output_tokens=1, complete=False)


def test_anthropic_cut_between_message_deltas_has_the_first_figure():
    stream = ANTHROPIC_SEARCH_STREAM
    second = stream.index(b"event: message_delta", stream.index(b"event: message_delta") + 1)
    _, _, got = _run("anthropic_messages", [stream[:second]], False)
    assert got == replace(SEARCH_USAGE, output_tokens=510, complete=True)


def test_anthropic_cut_inside_the_message_delta_json():
    stream = ANTHROPIC_STREAM
    cut = stream[:stream.index(b'"output_tokens":503') + len(b'"output_tokens":50')]
    _, _, got = _run("anthropic_messages", [cut], False)
    assert got == replace(ANTHROPIC_USAGE, output_tokens=1, complete=False)


def test_nothing_seen_is_none():
    for api in ("anthropic_messages", "openai_chat", "openai_responses"):
        assert _run(api, [], False)[2] is None
        assert _run(api, [b": keep-alive\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\n"], False)[2] is None


def test_chat_cut_before_usage_knows_model_and_id_only():
    _, _, got = _run("openai_chat", [CHAT_CONTENT], True)
    assert got == MeteredUsage(model=CHAT_MODEL, request_id=CHAT_ID, complete=False)


def test_chat_usage_chunk_without_its_blank_line_is_still_counted_and_stripped():
    stream = CHAT_CONTENT + CHAT_USAGE_EVENT.rstrip(b"\n")
    outs, rest, got = _run("openai_chat", [stream], True)
    assert got == CHAT_USAGE
    assert outs[0] + rest == CHAT_CONTENT


def test_chat_strip_keeps_usage_sent_with_content():
    """Some OpenAI-compatible servers put usage on a chunk that also has a choice: never drop content."""
    event = CHAT_USAGE_EVENT.replace(b'"choices":[]', b'"choices":[{"index":0,"delta":{"content":"!"}}]')
    outs, rest, got = _run("openai_chat", [CHAT_CONTENT + event + CHAT_DONE], True)
    assert got == CHAT_USAGE
    assert outs[0] + rest == CHAT_CONTENT + event + CHAT_DONE


def test_strip_is_only_for_openai_chat():
    outs, rest, _ = _run("anthropic_messages", [ANTHROPIC_STREAM[:100], ANTHROPIC_STREAM[100:]], True)
    assert outs == [ANTHROPIC_STREAM[:100], ANTHROPIC_STREAM[100:]]


def test_unknown_api():
    with pytest.raises(ValueError, match="unknown api"):
        StreamMeter("gemini")  # type: ignore[arg-type]


# --- whole responses -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("api", "body", "usage"), [
    ("anthropic_messages", ANTHROPIC_RESPONSE, ANTHROPIC_USAGE),
    ("openai_chat", CHAT_RESPONSE, CHAT_USAGE),
    ("openai_chat", CHAT_RESPONSE_CACHE_WRITE,
     MeteredUsage(model="gpt-5.2", input_tokens=1000, output_tokens=40, cache_read_tokens=1000,
                  cache_write_tokens=3000, request_id="chatcmpl-CW1")),
    ("openai_responses", RESPONSES_RESPONSE, RESPONSES_USAGE),
    ("anthropic_messages", b'{"id":"msg_1","model":"claude-haiku-4-5","usage":{"input_tokens":10,"output_tokens":5,'
     b'"output_tokens_details":{"thinking_tokens":3},"cache_creation":{"ephemeral_5m_input_tokens":7,'
     b'"ephemeral_1h_input_tokens":4}}}',
     MeteredUsage(model="claude-haiku-4-5", input_tokens=10, output_tokens=5, cache_write_tokens=11,
                  cache_write_1h_tokens=4, reasoning_tokens=3, request_id="msg_1")),
    ("anthropic_messages", ANTHROPIC_ERROR_BODY, None),
    ("openai_chat", CHAT_ERROR_BODY, None),
    ("openai_responses", CHAT_ERROR_BODY, None),
    ("openai_chat", b"<html>502 Bad Gateway</html>", None),
    ("anthropic_messages", b'{"usage":"lots"}', None),
    ("openai_responses", b"[]", None),
], ids=lambda v: v if isinstance(v, str) else None)
def test_usage_from_response(api, body, usage):
    assert usage_from_response(api, body) == usage


@pytest.mark.parametrize(("api", "stream", "body"), [
    ("anthropic_messages", ANTHROPIC_STREAM, ANTHROPIC_RESPONSE),
    ("openai_chat", CHAT_STREAM, CHAT_RESPONSE),
    ("openai_responses", RESPONSES_STREAM, RESPONSES_RESPONSE),
])
def test_streamed_and_whole_responses_meter_the_same(api, stream, body):
    streamed = _run(api, [stream], False)[2]
    assert streamed is not None and streamed.complete
    assert streamed == usage_from_response(api, body)


# --- requests ------------------------------------------------------------------------------------------


def test_anthropic_request():
    info = inspect_request("anthropic_messages", ANTHROPIC_REQUEST)
    assert (info.api, info.model, info.stream, info.max_output_tokens) == (
        "anthropic_messages", "claude-sonnet-4-5", True, 32000)
    assert info.body is ANTHROPIC_REQUEST and not info.strip_usage_chunk
    assert info.input_estimate == len(ANTHROPIC_REQUEST) // 3
    assert len(info.prompt_hash) == 16 and int(info.prompt_hash, 16) >= 0


def _chat(messages: list, **fields) -> bytes:
    return json.dumps({"model": "gpt-5", "messages": messages, **fields}).encode()


def _with_messages(body: bytes, messages: list) -> bytes:
    obj = json.loads(body)
    obj["messages"] = messages
    return json.dumps(obj).encode()


def _hash(api: str, body: bytes) -> str | None:
    return inspect_request(api, body).prompt_hash  # type: ignore[arg-type]


def test_prompt_hash_anthropic_last_user_message():
    base = json.loads(ANTHROPIC_REQUEST)["messages"]
    first = _hash("anthropic_messages", ANTHROPIC_REQUEST)
    # The same tool result again, with a fresh tool_use_id and no cache marker: the same input.
    again = [*base[:2], {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01ZZZ", "content": "1 failed, 41 passed"}]}]
    assert _hash("anthropic_messages", _with_messages(ANTHROPIC_REQUEST, again)) == first
    other = [*base[:2], {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "42 passed"}]}]
    assert _hash("anthropic_messages", _with_messages(ANTHROPIC_REQUEST, other)) != first
    # An assistant prefill after the user message does not hide it.
    prefill = [*base, {"role": "assistant", "content": "{"}]
    assert _hash("anthropic_messages", _with_messages(ANTHROPIC_REQUEST, prefill)) == first
    assert _hash("anthropic_messages", _with_messages(ANTHROPIC_REQUEST, [])) is None
    assert _hash("anthropic_messages", b'{"model":"claude-haiku-4-5","max_tokens":5}') is None


def test_prompt_hash_openai_chat_follows_tool_results():
    system = {"role": "system", "content": "You are a coding agent."}
    user = {"role": "user", "content": "Run the tests."}
    step = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "shell", "arguments": "{\"cmd\":\"pytest\"}"}}]}
    result = {"role": "tool", "tool_call_id": "call_1", "content": "1 failed"}
    start = _hash("openai_chat", _chat([system, user]))
    assert start == _hash("openai_chat", _chat([user]))  # system messages are not input
    after_tool = _hash("openai_chat", _chat([system, user, step, result]))
    assert after_tool != start  # each step of a tool loop is new input...
    repeat = _hash("openai_chat", _chat([system, user, step, result, step, {**result, "tool_call_id": "call_2"}]))
    assert repeat == after_tool  # ...unless the agent gets the same result again: a loop
    assert _hash("openai_chat", _chat([system])) is None


def test_prompt_hash_responses():
    info = inspect_request("openai_responses", RESPONSES_REQUEST)
    obj = json.loads(RESPONSES_REQUEST)
    obj["input"][-1]["call_id"] = "call_9"
    assert _hash("openai_responses", json.dumps(obj).encode()) == info.prompt_hash
    obj["input"] = obj["input"][:1]
    assert _hash("openai_responses", json.dumps(obj).encode()) not in (None, info.prompt_hash)
    obj["input"] = "Run the tests."
    assert _hash("openai_responses", json.dumps(obj).encode()) is not None
    assert _hash("openai_responses", b'{"model":"gpt-5","previous_response_id":"resp_1"}') is None


def _decoded(body: bytes) -> dict:
    return json.loads(body)


@pytest.mark.parametrize(("api", "body", "options", "strip"), [
    # stream without stream_options: added, every other byte unchanged
    ("openai_chat", CHAT_REQUEST, {"include_usage": True}, True),
    # the client asked for usage itself: nothing to do, nothing to strip
    ("openai_chat", _chat([], stream=True, stream_options={"include_usage": True}), {"include_usage": True}, False),
    # include_usage false means "not asked": set it, keep the other option, strip the chunk again
    ("openai_chat", _chat([], stream=True, stream_options={"include_usage": False, "include_obfuscation": False}),
     {"include_usage": True, "include_obfuscation": False}, True),
    ("openai_chat", _chat([], stream=True, stream_options={"include_obfuscation": True}),
     {"include_usage": True, "include_obfuscation": True}, True),
    ("openai_chat", _chat([], stream=True, stream_options=None), {"include_usage": True}, True),
    # not streaming: usage comes in the body anyway
    ("openai_chat", _chat([], stream=False), None, False),
    ("openai_chat", _chat([]), None, False),
    # the other APIs always send usage
    ("openai_responses", RESPONSES_REQUEST, None, False),
    ("anthropic_messages", ANTHROPIC_REQUEST, None, False),
])
def test_include_usage_injected_only_when_needed(api, body, options, strip):
    info = inspect_request(api, body)
    assert info.strip_usage_chunk is strip
    if not strip:
        assert info.body is body
        return
    sent, original = _decoded(info.body), _decoded(body)
    assert sent.pop("stream_options") == options
    original.pop("stream_options", None)
    assert sent == original
    if b"stream_options" not in body:
        assert info.body == b'{"stream_options":{"include_usage":true},' + body[1:]
    again = inspect_request(api, info.body)  # what we forward needs nothing more
    assert again.body is info.body and not again.strip_usage_chunk


def test_stripping_what_was_injected_gives_the_client_its_own_stream():
    info = inspect_request("openai_chat", CHAT_REQUEST)
    meter = StreamMeter("openai_chat", strip_usage_chunk=info.strip_usage_chunk)
    assert meter.feed(CHAT_STREAM) + meter.finish() == CHAT_STREAM_WITHOUT_USAGE
    assert meter.usage() == CHAT_USAGE


@pytest.mark.parametrize(("api", "body", "expected"), [
    ("anthropic_messages", b'{"max_tokens": 1}', 1),
    ("anthropic_messages", b'{"max_tokens": null}', None),
    ("openai_chat", CHAT_REQUEST, 4096),  # max_completion_tokens wins over the deprecated max_tokens
    ("openai_chat", b'{"max_tokens": 100}', 100),
    ("openai_chat", b'{"max_completion_tokens": null, "max_tokens": 100}', 100),
    ("openai_responses", RESPONSES_REQUEST, 8000),
    ("openai_responses", b'{"max_tokens": 100}', None),  # not a Responses field
    ("openai_chat", b"{}", None),
])
def test_max_output_tokens(api, body, expected):
    assert inspect_request(api, body).max_output_tokens == expected


def test_input_estimate_counts_images_by_size_cap_not_bytes():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 1200).decode()
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 1200).decode()
    pdf = base64.b64encode(b"%PDF-1.7\n" + bytes(range(256)) * 1200).decode()
    images = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
        {"type": "text", "text": "What is in it?"}]}]}).encode()
    info = inspect_request("anthropic_messages", images)
    assert info.input_estimate == (len(images) - len(png)) // 3 + IMAGE_TOKEN_CAP
    url = json.dumps({"model": "gpt-5", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{jpeg}"}}]}]}).encode()
    assert inspect_request("openai_chat", url).input_estimate == (len(url) - len(jpeg)) // 3 + IMAGE_TOKEN_CAP
    document = json.dumps({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}}]}]}).encode()
    assert inspect_request("anthropic_messages", document).input_estimate == len(document) // 3  # text: counted
    assert inspect_request("openai_chat", b"{}").input_estimate == 1


@pytest.mark.parametrize(("api", "body", "field", "words"), [
    ("anthropic_messages", b"[1, 2]", None, "must be a JSON object"),
    ("anthropic_messages", b'"hello"', None, "must be a JSON object"),
    ("openai_chat", b'{"model": "gpt-5",', None, "not valid JSON"),
    ("openai_chat", b"", None, "not valid JSON"),
    ("anthropic_messages", b'{"model": 5}', "model", "`model` must be a string, got a number"),
    ("openai_responses", b'{"model": ["gpt-5"]}', "model", "`model` must be a string, got an array"),
    ("openai_chat", b'{"stream": "true"}', "stream", "`stream` must be true or false, got a string"),
    ("anthropic_messages", b'{"stream": 1}', "stream", "`stream` must be true or false"),
    ("anthropic_messages", b'{"max_tokens": 0}', "max_tokens", "`max_tokens` must be a positive integer, got 0"),
    ("anthropic_messages", b'{"max_tokens": 1.5}', "max_tokens", "positive integer"),
    ("anthropic_messages", b'{"max_tokens": true}', "max_tokens", "positive integer"),
    ("openai_chat", b'{"max_completion_tokens": -1}', "max_completion_tokens", "positive integer, got -1"),
    ("openai_chat", b'{"max_tokens": "100"}', "max_tokens", "positive integer, got '100'"),
    ("openai_responses", b'{"max_output_tokens": {}}', "max_output_tokens", "positive integer"),
    ("anthropic_messages", b'{"messages": "hi"}', "messages", "`messages` must be an array"),
    ("openai_responses", b'{"input": 42}', "input", "`input` must be an array"),
    ("openai_chat", b'{"stream": true, "stream_options": true}', "stream_options", "must be an object"),
    ("openai_chat", b'{"stream": true, "stream_options": {"include_usage": "yes"}}',
     "stream_options.include_usage", "must be true or false"),
])
def test_bad_request_bodies(api, body, field, words):
    with pytest.raises(InvalidEvent) as caught:
        inspect_request(api, body)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_unknown_api_in_requests_and_responses():
    with pytest.raises(ValueError, match="unknown api"):
        inspect_request("gemini", b"{}")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown api"):
        usage_from_response("gemini", b"{}")  # type: ignore[arg-type]


def test_samples_are_what_the_tests_assume():
    """Guard the literal samples: each data line is JSON, and the chat usage chunk is the only one with usage."""
    for stream in (ANTHROPIC_STREAM, ANTHROPIC_SEARCH_STREAM, CHAT_STREAM, RESPONSES_STREAM):
        for line in stream.split(b"\n"):
            if line.startswith(b"data: ") and line != CHAT_DONE.strip():
                msgspec.json.decode(line[6:])
    assert CHAT_STREAM.count(b'"usage":{') == 1
