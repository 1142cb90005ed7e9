"""The fake vendor, checked the way gateway tests will use it: over loopback, with the official SDKs as
clients.

What matters is that the SDKs parse every answer without complaint and read exactly the usage a test asked
for in `x-fake-usage`, that the error and stream-cut headers look like the real failures, and that the
request counters count."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from tokenpulse.demo.fake_vendor import TEXT, RunningFakeVendor

USAGE = {"input_tokens": 1200, "output_tokens": 350, "cache_read_tokens": 5000, "cache_write_tokens": 2000,
         "cache_write_1h_tokens": 500, "reasoning_tokens": 100}
MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def vendor() -> Iterator[RunningFakeVendor]:
    with RunningFakeVendor() as running:
        yield running


@pytest.fixture
def claude(vendor: RunningFakeVendor) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=vendor.url, api_key="sk-ant-fake", max_retries=0) as client:
        yield client


@pytest.fixture
def gpt(vendor: RunningFakeVendor) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=vendor.url + "/v1", api_key="sk-fake", max_retries=0) as client:
        yield client


def fake(**headers: Any) -> dict[str, str]:
    """`extra_headers` for the SDKs: x-fake-usage from a dict, the others as strings."""
    out = {}
    for name, value in headers.items():
        out["x-fake-" + name.replace("_", "-")] = json.dumps(value) if isinstance(value, dict) else str(value)
    return out


def stats(vendor: RunningFakeVendor, action: str = "stats") -> dict[str, Any]:
    method = "POST" if action == "reset" else "GET"
    request = urllib.request.Request(vendor.url + "/_fake/" + action, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# --- Anthropic ----------------------------------------------------------------------------------------------


def test_anthropic_message_reports_the_usage_asked_for(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model="claude-sonnet-4-5", max_tokens=1000, messages=MESSAGES,
                                     extra_headers=fake(usage=USAGE))
    assert message.content[0].text == TEXT
    assert message.model == "claude-sonnet-4-5"
    assert message.stop_reason == "end_turn"
    u = message.usage
    assert (u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens) == (
        1200, 350, 5000, 2000)
    assert u.cache_creation is not None
    by_ttl = u.cache_creation
    assert (by_ttl.ephemeral_5m_input_tokens, by_ttl.ephemeral_1h_input_tokens) == (1500, 500)
    assert u.output_tokens_details is not None and u.output_tokens_details.thinking_tokens == 100


def test_anthropic_stream_carries_cumulative_usage_in_message_delta(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model="claude-sonnet-4-5", max_tokens=1000, messages=MESSAGES,
                                extra_headers=fake(usage=USAGE)) as stream:
        events = list(stream)
        final = stream.get_final_message()
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert "message_delta" in types and "content_block_stop" in types
    start = events[0].message.usage
    assert (start.input_tokens, start.output_tokens, start.cache_read_input_tokens) == (1200, 1, 5000)
    assert final.content[0].text == TEXT
    u = final.usage
    assert (u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens) == (
        1200, 350, 5000, 2000)


def test_anthropic_raw_stream_events(claude: anthropic.Anthropic) -> None:
    events = list(claude.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=MESSAGES,
                                         stream=True))
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.usage.output_tokens == 8  # min(max_tokens, 16)
    assert delta.delta.stop_reason == "end_turn"
    assert "".join(e.delta.text for e in events if e.type == "content_block_delta") == TEXT


def test_count_tokens(claude: anthropic.Anthropic) -> None:
    usage = {"input_tokens": 42, "cache_read_tokens": 8}
    counted = claude.messages.count_tokens(model="claude-sonnet-4-5", messages=MESSAGES,
                                           extra_headers=fake(usage=usage))
    assert counted.input_tokens == 50


def test_default_usage_is_derived_from_the_request(vendor: RunningFakeVendor,
                                                   claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=MESSAGES)
    sent = stats(vendor)["last_request"]["body"].encode()
    assert message.usage.input_tokens == len(sent) // 4
    assert message.usage.output_tokens == 5
    assert message.usage.cache_read_input_tokens == 0 and message.usage.cache_creation_input_tokens == 0
    assert claude.messages.create(model="m", max_tokens=4096, messages=MESSAGES).usage.output_tokens == 16


# --- OpenAI Chat Completions --------------------------------------------------------------------------------


def test_chat_completion_counts_cached_tokens_inside_the_prompt(gpt: openai.OpenAI) -> None:
    usage = {"input_tokens": 1200, "output_tokens": 350, "cache_read_tokens": 5000, "reasoning_tokens": 100}
    completion = gpt.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                             extra_headers=fake(usage=usage))
    assert completion.choices[0].message.content == TEXT
    u = completion.usage
    assert u is not None
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (6200, 350, 6550)
    assert u.prompt_tokens_details is not None and u.prompt_tokens_details.cached_tokens == 5000
    assert u.completion_tokens_details is not None and u.completion_tokens_details.reasoning_tokens == 100


def test_chat_completion_reports_cache_writes_apart(gpt: openai.OpenAI) -> None:
    usage = {"input_tokens": 100, "output_tokens": 10, "cache_read_tokens": 50, "cache_write_tokens": 30}
    u = gpt.chat.completions.create(model="gpt-5", messages=MESSAGES, extra_headers=fake(usage=usage)).usage
    assert u is not None and u.prompt_tokens == 180
    assert u.prompt_tokens_details is not None
    assert (u.prompt_tokens_details.cached_tokens, u.prompt_tokens_details.cache_write_tokens) == (50, 30)


def test_chat_stream_has_a_usage_chunk_only_when_asked(gpt: openai.OpenAI) -> None:
    usage = {"input_tokens": 1200, "output_tokens": 350, "cache_read_tokens": 5000}
    plain = list(gpt.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                             extra_headers=fake(usage=usage)))
    assert all(chunk.usage is None and chunk.choices for chunk in plain)
    assert "".join(c.choices[0].delta.content or "" for c in plain) == TEXT
    assert plain[-1].choices[0].finish_reason == "stop"

    with_usage = list(gpt.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                                  stream_options={"include_usage": True},
                                                  extra_headers=fake(usage=usage)))
    *content, last = with_usage
    assert all(chunk.usage is None and chunk.choices for chunk in content)
    assert last.choices == [] and last.usage is not None
    u = last.usage
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (6200, 350, 6550)
    assert u.prompt_tokens_details is not None and u.prompt_tokens_details.cached_tokens == 5000


# --- OpenAI Responses ---------------------------------------------------------------------------------------


def test_response_reports_the_usage_asked_for(gpt: openai.OpenAI) -> None:
    response = gpt.responses.create(model="gpt-5", input="Say hello.", extra_headers=fake(usage=USAGE))
    assert response.output_text == TEXT
    u = response.usage
    assert u is not None
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (8200, 350, 8550)
    assert (u.input_tokens_details.cached_tokens, u.input_tokens_details.cache_write_tokens) == (5000, 2000)
    assert u.output_tokens_details.reasoning_tokens == 100


def test_response_stream_ends_with_completed_and_its_usage(gpt: openai.OpenAI) -> None:
    usage = {"input_tokens": 300, "output_tokens": 20, "cache_read_tokens": 700}
    events = list(gpt.responses.create(model="gpt-5", input="Say hello.", stream=True,
                                       extra_headers=fake(usage=usage)))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == TEXT
    u = events[-1].response.usage
    assert u is not None
    assert (u.input_tokens, u.output_tokens, u.input_tokens_details.cached_tokens) == (1000, 20, 700)


def test_response_stream_helper_accumulates(gpt: openai.OpenAI) -> None:
    with gpt.responses.stream(model="gpt-5", input="Say hello.") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == TEXT and final.usage is not None and final.usage.output_tokens == 16


# --- failures -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "anthropic_error", "openai_error"), [
    (400, anthropic.BadRequestError, openai.BadRequestError),
    (401, anthropic.AuthenticationError, openai.AuthenticationError),
    (429, anthropic.RateLimitError, openai.RateLimitError),
    (500, anthropic.InternalServerError, openai.InternalServerError),
    (529, anthropic.OverloadedError, openai.InternalServerError),
])
def test_error_status_raises_the_sdk_error(claude: anthropic.Anthropic, gpt: openai.OpenAI, status: int,
                                           anthropic_error: type, openai_error: type) -> None:
    with pytest.raises(anthropic_error) as caught:
        claude.messages.create(model="m", max_tokens=10, messages=MESSAGES, extra_headers=fake(status=status))
    assert caught.value.status_code == status
    assert caught.value.body["error"]["message"] == f"fake vendor: simulated HTTP {status}"
    with pytest.raises(openai_error) as raised:
        gpt.chat.completions.create(model="m", messages=MESSAGES, stream=True,
                                    extra_headers=fake(status=status))
    assert raised.value.status_code == status
    assert raised.value.body["message"] == f"fake vendor: simulated HTTP {status}"


def test_a_bad_fake_header_is_a_clear_400(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="unknown field `input`"):
        claude.messages.create(model="m", max_tokens=10, messages=MESSAGES,
                               extra_headers=fake(usage={"input": 1}))
    too_many_1h = {"cache_write_tokens": 1, "cache_write_1h_tokens": 2}
    with pytest.raises(anthropic.BadRequestError, match="cannot exceed"):
        claude.messages.create(model="m", max_tokens=10, messages=MESSAGES,
                               extra_headers=fake(usage=too_many_1h))


def _read_until_failure(stream: Iterator[Any], error: type[Exception]) -> tuple[list[Any], Exception | None]:
    events: list[Any] = []
    try:
        for event in stream:
            events.append(event)
    except error as exc:
        return events, exc
    return events, None


def test_stream_cut_ends_the_anthropic_stream_early(claude: anthropic.Anthropic) -> None:
    stream = claude.messages.create(model="m", max_tokens=10, messages=MESSAGES, stream=True,
                                    extra_headers=fake(stream_cut=3))
    with stream:
        events, error = _read_until_failure(stream, anthropic.APIConnectionError)
    assert [e.type for e in events] == ["message_start", "content_block_start"]  # the ping is not yielded
    assert error is not None  # the SDK's word for a body cut short


def test_stream_cut_ends_the_openai_stream_before_its_usage(gpt: openai.OpenAI) -> None:
    stream = gpt.chat.completions.create(model="m", messages=MESSAGES, stream=True,
                                         stream_options={"include_usage": True},
                                         extra_headers=fake(stream_cut=4))
    with stream:
        chunks, error = _read_until_failure(stream, openai.APIConnectionError)
    assert len(chunks) == 4 and all(c.usage is None for c in chunks)
    assert error is not None


def test_latency_header_delays_the_answer(claude: anthropic.Anthropic) -> None:
    started = time.perf_counter()
    claude.messages.create(model="m", max_tokens=10, messages=MESSAGES, extra_headers=fake(latency_ms=120))
    assert time.perf_counter() - started >= 0.12


# --- counters and the program -------------------------------------------------------------------------------


def test_stats_count_requests_per_path(vendor: RunningFakeVendor, claude: anthropic.Anthropic,
                                       gpt: openai.OpenAI) -> None:
    stats(vendor, "reset")
    for _ in range(3):
        claude.messages.create(model="m", max_tokens=10, messages=MESSAGES)
    gpt.chat.completions.create(model="m", messages=MESSAGES)
    gpt.responses.create(model="m", input="hi", stream=True).close()
    with pytest.raises(openai.RateLimitError):
        gpt.chat.completions.create(model="m", messages=MESSAGES, extra_headers=fake(status=429))
    counted = stats(vendor)
    assert counted["requests"] == {"/v1/messages": 3, "/v1/messages/count_tokens": 0,
                                   "/v1/chat/completions": 2, "/v1/responses": 1}
    last = counted["last_request"]
    assert last["path"] == "/v1/chat/completions"
    assert {k.lower(): v for k, v in last["headers"].items()}["authorization"] == "Bearer sk-fake"
    assert json.loads(last["body"])["model"] == "m"
    assert stats(vendor, "reset") == {"reset": True}
    assert set(stats(vendor)["requests"].values()) == {0}


def test_runs_as_a_program_until_sigterm(tmp_path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "tokenpulse.demo.fake_vendor", "--port", "0"],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split("listening on ", 1)[1].strip()
        with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as client:
            assert client.messages.create(model="m", max_tokens=3, messages=MESSAGES).usage.output_tokens == 3
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
        assert process.stderr is not None
        process.stderr.close()
