"""The gateway driven by the official `anthropic` and `openai` SDKs against the fake vendor on loopback:
what is metered and stored equals what the vendor reported, streamed or not; refusals reach the SDK in the
vendor's shape after one attempt; a person re-enables their breaker and raises their own cap."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable

import anthropic
import openai
import pytest
from gateway_process import GatewayProcess

from http_helpers import call

ANTHROPIC_USAGE = {"input_tokens": 1200, "output_tokens": 350, "cache_read_tokens": 5000,
                   "cache_write_tokens": 2000, "cache_write_1h_tokens": 500}
# claude-sonnet-4-5: $3 in, $15 out, $0.30 cache read, $3.75 5-minute and $6 one-hour cache writes (per MTok)
ANTHROPIC_MICROS = 1200 * 3 + 350 * 15 + 5000 * 3 // 10 + 1500 * 375 // 100 + 500 * 6  # 18,975
OPENAI_USAGE = {"input_tokens": 1200, "output_tokens": 350, "cache_read_tokens": 5000, "reasoning_tokens": 100}
# gpt-5: $1.25 in, $10 out (reasoning included), $0.125 cached input (per MTok)
OPENAI_MICROS = 1200 * 125 // 100 + 350 * 10 + 5000 * 125 // 1000  # 5,625


def anthropic_client(g: GatewayProcess, person: str = "alice", retries: int = 0) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=g.url, api_key=g.keys[person], max_retries=retries)


def openai_client(g: GatewayProcess, person: str = "alice", retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=g.url + "/v1", api_key=g.keys[person], max_retries=retries)


def send(g: GatewayProcess, api: str, stream: bool, usage: dict[str, int] | None = None, prompt: str = "hi",
         person: str = "alice", retries: int = 0) -> dict[str, int]:
    """One request through the gateway; returns the usage as the SDK saw it."""
    client = anthropic_client(g, person, retries) if api == "anthropic" else openai_client(g, person, retries)
    with client:
        return _send(client, api, stream, usage, prompt)


def _send(client, api: str, stream: bool, usage: dict[str, int] | None, prompt: str) -> dict[str, int]:
    headers = {"x-fake-usage": json.dumps(usage)} if usage else {}
    messages = [{"role": "user", "content": prompt}]
    if api == "anthropic":
        if stream:
            with client.messages.stream(model="claude-sonnet-4-5", max_tokens=1000, messages=messages,
                                        extra_headers=headers) as s:
                u = s.get_final_message().usage
        else:
            u = client.messages.create(model="claude-sonnet-4-5", max_tokens=1000, messages=messages,
                                       extra_headers=headers).usage
        return {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens}
    if api == "chat":
        if stream:
            chunks = list(client.chat.completions.create(model="gpt-5", messages=messages, stream=True,
                                                         stream_options={"include_usage": True},
                                                         max_completion_tokens=1000, extra_headers=headers))
            u = chunks[-1].usage
        else:
            u = client.chat.completions.create(model="gpt-5", messages=messages, max_completion_tokens=1000,
                                               extra_headers=headers).usage
        return {"input_tokens": u.prompt_tokens, "output_tokens": u.completion_tokens}
    if stream:
        events = list(client.responses.create(model="gpt-5", input=prompt, stream=True, max_output_tokens=1000,
                                              extra_headers=headers))
        u = events[-1].response.usage
    else:
        u = client.responses.create(model="gpt-5", input=prompt, max_output_tokens=1000, extra_headers=headers).usage
    return {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens}


def stored_usage(g: GatewayProcess) -> list:
    """Stop the gateway (its spool is shipped on the way out) and read what the store holds."""
    if g.proc is not None:
        assert g.stop() == 0, "".join(g.log)
    from tokenpulse.store import open_store

    store = open_store(g.location)
    try:
        return sorted(store.iter_usage(), key=lambda e: e.ts)
    finally:
        store.close()


@pytest.mark.parametrize("api", ["anthropic", "chat", "responses"])
def test_metered_usage_and_cost_equal_what_the_vendor_reported_streamed_or_not(
        api: str, start_gateway: Callable[..., GatewayProcess]) -> None:
    g = start_gateway()
    usage = ANTHROPIC_USAGE if api == "anthropic" else OPENAI_USAGE
    seen = [send(g, api, stream=False, usage=usage), send(g, api, stream=True, usage=usage)]
    expected_input = 1200 if api == "anthropic" else 1200 + 5000  # OpenAI counts cached tokens inside the prompt
    assert seen == [{"input_tokens": expected_input, "output_tokens": 350}] * 2

    events = stored_usage(g)
    assert len(events) == 2
    for event in events:
        assert (event.person, event.source, event.confidence, event.status) == (
            "alice@example.com", "gateway", "metered", "ok")
        assert (event.input_tokens, event.output_tokens, event.cache_read_tokens) == (1200, 350, 5000)
        if api == "anthropic":
            assert (event.provider, event.cache_write_tokens, event.cache_write_1h_tokens) == ("anthropic", 2000, 500)
            assert event.cost_micros == ANTHROPIC_MICROS == 18_975
        else:
            assert (event.provider, event.reasoning_tokens, event.cache_write_tokens) == ("openai", 100, 0)
            assert event.cost_micros == OPENAI_MICROS == 5_625
        assert event.request_id and event.id == f"gateway:{event.request_id}"
    assert events[0].cost_micros == events[1].cost_micros  # streamed and not cost the same


def test_a_stream_without_include_usage_is_metered_but_the_client_sees_no_usage_chunk(
        start_gateway: Callable[..., GatewayProcess]) -> None:
    g = start_gateway()
    with openai_client(g) as client:
        chunks = list(client.chat.completions.create(
            model="gpt-5", messages=[{"role": "user", "content": "hi"}], stream=True,
            extra_headers={"x-fake-usage": json.dumps(OPENAI_USAGE)}))
    assert all(c.usage is None for c in chunks) and all(c.choices for c in chunks)
    [event] = stored_usage(g)
    assert (event.input_tokens, event.output_tokens, event.cost_micros) == (1200, 350, OPENAI_MICROS)


def test_responses_carry_cost_and_spend_headers_and_count_tokens_passes_through(
        start_gateway: Callable[..., GatewayProcess]) -> None:
    g = start_gateway(config='[[gateway.budgets]]\neach = "person"\nusd = 10\n')
    with anthropic_client(g) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-sonnet-4-5", max_tokens=1000, messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-fake-usage": json.dumps(ANTHROPIC_USAGE)})
        counted = client.messages.count_tokens(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-tokenpulse-cost-usd"] == "0.018975"
    assert raw.headers["x-tokenpulse-spend-today-usd"] == "0.018975"
    assert raw.headers["x-tokenpulse-budget-remaining-usd"] == "9.981025"
    assert counted.input_tokens > 0
    assert len(stored_usage(g)) == 1  # counting tokens is not a metered request


def test_a_missing_or_unknown_key_is_refused_in_the_vendors_shape(start_gateway: Callable[..., GatewayProcess]) -> None:
    g = start_gateway()
    with anthropic.Anthropic(base_url=g.url, api_key="tp-nope", max_retries=2) as client, \
            pytest.raises(anthropic.AuthenticationError, match="not a valid virtual key"):
        client.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    with openai.OpenAI(base_url=g.url + "/v1", api_key=g.keys["admin"], max_retries=2) as client, \
            pytest.raises(openai.AuthenticationError, match="not a valid virtual key"):
        client.chat.completions.create(model="gpt-5", messages=[{"role": "user", "content": "hi"}])
    status, _, body = call("POST", g.url + "/v1/messages", b"{}", {"Content-Type": "application/json"})
    assert status == 401 and json.loads(body)["type"] == "error"
    assert stored_usage(g) == []


def test_a_body_that_is_not_a_request_gets_a_400_naming_the_field(start_gateway: Callable[..., GatewayProcess]) -> None:
    g = start_gateway()
    status, _, body = call("POST", g.url + "/v1/messages", b'{"model": 5, "messages": []}',
                           {"x-api-key": g.keys["alice"], "Content-Type": "application/json"})
    assert status == 400
    assert "model" in json.loads(body)["error"]["message"]


def refused_count(g: GatewayProcess, reason: str) -> float:
    status, _, body = call("GET", g.url + "/metrics", headers={"Authorization": f"Bearer {g.keys['admin']}"})
    assert status == 200
    match = re.search(rf'tokenpulse_gateway_refused_total{{reason="{reason}"}} (\S+)', body.decode())
    return float(match.group(1)) if match else 0.0


def tokenpulse(g: GatewayProcess, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokenpulse", *args, "--gateway", g.url, "--key", g.keys["alice"]],
                          capture_output=True, text=True, timeout=60, env={"PATH": "", "HOME": str(g.home)})


BREAKER = """
[gateway.breaker]
loop_repeats = 5
loop_window_minutes = 10
"""


def test_a_looping_agent_is_cut_off_the_sdk_gives_up_after_one_attempt_and_the_person_reenables(
        start_gateway: Callable[..., GatewayProcess]) -> None:
    g = start_gateway(BREAKER)
    for _ in range(4):
        send(g, "anthropic", stream=False, prompt="fix the failing test")
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        send(g, "anthropic", stream=False, prompt="fix the failing test", retries=2)
    message = str(refused.value)
    assert "circuit breaker" in message and "same prompt" in message and "5 times" in message
    assert 'tokenpulse reenable --reason "..."' in message
    assert refused.value.response.headers["x-should-retry"] == "false"
    assert refused_count(g, "circuit_breaker_tripped") == 1  # one attempt, although the SDK may retry twice
    # Every route is behind the same breaker, and another prompt does not get through either.
    with pytest.raises(openai.PermissionDeniedError, match="circuit breaker"):
        send(g, "chat", stream=True, prompt="something else", retries=2)
    assert refused_count(g, "circuit_breaker_tripped") == 2

    done = tokenpulse(g, "reenable", "--reason", "bulk refactor, intended", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cause"] == "loop"
    send(g, "anthropic", stream=True, prompt="fix the failing test")  # let through again
    again = tokenpulse(g, "reenable", "--reason", "twice")
    assert again.returncode == 1 and "not tripped" in again.stderr

    status, _, body = call("GET", g.url + "/tokenpulse/v1/incidents", headers={"Authorization": f"Bearer {g.keys['alice']}"})
    [incident] = json.loads(body)["incidents"]
    assert (incident["cause"], incident["reenabled_by"], incident["reenable_reason"]) == (
        "loop", "alice@example.com", "bulk refactor, intended")
    assert incident["evidence"]["loop_count"] == 5 and incident["evidence"]["prompt_hash"]
    g.stop()
    from tokenpulse.store import open_store

    store = open_store(g.location)
    try:
        actions = [(e.actor, e.action) for e in store.audit_log(subject="alice@example.com")]
        assert actions == [("gateway", "breaker_trip"), ("alice@example.com", "reenable")]
        assert len(list(store.iter_usage())) == 5  # the refused requests were never forwarded nor metered
    finally:
        store.close()


def test_a_budget_refuses_before_forwarding_and_a_one_click_override_raises_it(
        start_gateway: Callable[..., GatewayProcess], vendor) -> None:
    # Each request may cost up to: ~20 input tokens + 1000 output tokens at $15/MTok, about $0.015.
    g = start_gateway('[[gateway.budgets]]\neach = "person"\ntool = "anthropic_api"\nusd = "0.04"\n')
    send(g, "anthropic", stream=False, usage=ANTHROPIC_USAGE)  # $0.018975
    send(g, "anthropic", stream=False, usage=ANTHROPIC_USAGE)  # $0.037950: the next may cost more than is left
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        send(g, "anthropic", stream=False, usage=ANTHROPIC_USAGE, retries=2)
    assert "person:alice@example.com|tool:anthropic_api" in str(refused.value)
    assert "tokenpulse override" in str(refused.value)
    forwarded = json.loads(call("GET", vendor.url + "/_fake/stats")[2])["requests"]["/v1/messages"]

    raised = tokenpulse(g, "override", "--raise", "0.04", "--reason", "release week", "--json")
    assert raised.returncode == 0, raised.stderr
    assert json.loads(raised.stdout)["limit_usd"] == "0.080000"
    send(g, "anthropic", stream=False, usage=ANTHROPIC_USAGE)
    too_far = tokenpulse(g, "override", "--raise", "0.01", "--reason", "again")
    assert too_far.returncode == 1 and "no more overrides" in too_far.stderr
    assert json.loads(call("GET", vendor.url + "/_fake/stats")[2])["requests"]["/v1/messages"] == forwarded + 1
    status = json.loads(tokenpulse(g, "gateway-status", "--json").stdout)
    [budget] = status["budgets"]
    assert (budget["limit_usd"], budget["reserved_usd"]) == ("0.080000", "0.000000")
    assert budget["spent_usd"] == status["spend_today_usd"]


def test_a_client_that_goes_away_mid_stream_is_still_metered_in_full(start_gateway: Callable[..., GatewayProcess]) -> None:
    import http.client
    import time
    import urllib.parse

    g = start_gateway()
    url = urllib.parse.urlsplit(g.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 1000, "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]})
    connection.request("POST", "/v1/messages", body, {"x-api-key": g.keys["alice"], "Content-Type": "application/json",
                                                      "x-fake-usage": json.dumps(ANTHROPIC_USAGE),
                                                      "x-fake-latency-ms": "0"})
    response = connection.getresponse()
    assert response.status == 200
    assert response.read(20)  # the first bytes of the stream arrived; then the client goes away
    connection.sock.close()
    connection.close()
    time.sleep(0.5)
    [event] = stored_usage(g)
    assert (event.confidence, event.output_tokens, event.cost_micros) == ("metered", 350, ANTHROPIC_MICROS)


def test_an_upstream_that_dies_mid_stream_is_recorded_as_estimated(start_gateway: Callable[..., GatewayProcess]) -> None:
    g = start_gateway()
    headers = {"x-fake-usage": json.dumps(ANTHROPIC_USAGE), "x-fake-stream-cut": "2"}
    with anthropic_client(g) as client, pytest.raises(anthropic.APIError), client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=1000, messages=[{"role": "user", "content": "hi"}],
            extra_headers=headers) as s:
        s.get_final_message()
    [event] = stored_usage(g)
    # message_start said 1,200 input tokens (and the cache); the output was never reported in full.
    assert (event.confidence, event.input_tokens, event.cache_read_tokens) == ("estimated", 1200, 5000)
    assert event.output_tokens < 350


def test_incidents_are_grouped_by_cause_so_a_retry_storm_on_a_failing_vendor_stands_out(
        start_gateway: Callable[..., GatewayProcess]) -> None:
    g = start_gateway(BREAKER, people=("alice@example.com", "bob@example.com"))
    for _ in range(4):  # Bob's agent retries a request the vendor keeps failing
        with anthropic_client(g, "bob") as client, pytest.raises(anthropic.InternalServerError):
            client.messages.create(model="claude-sonnet-4-5", max_tokens=100, extra_headers={"x-fake-status": "500"},
                                   messages=[{"role": "user", "content": "deploy"}])
    with pytest.raises(anthropic.PermissionDeniedError):
        send(g, "anthropic", stream=False, prompt="deploy", person="bob")
    for _ in range(4):  # Alice's agent loops on answers that succeed
        send(g, "anthropic", stream=False, prompt="fix it")
    with pytest.raises(anthropic.PermissionDeniedError):
        send(g, "anthropic", stream=False, prompt="fix it")

    status, _, body = call("GET", g.url + "/tokenpulse/v1/incidents", headers={"Authorization": f"Bearer {g.keys['admin']}"})
    report = json.loads(body)
    assert {name: (group["incidents"], group["people"]) for name, group in report["by_cause"].items()} == {
        "loop": (1, ["alice@example.com"]), "loop with upstream errors": (1, ["bob@example.com"])}
    bob = next(i for i in report["incidents"] if i["person"] == "bob@example.com")
    assert (bob["evidence"]["upstream_errors"], bob["evidence"]["upstream_error_statuses"]) == (4, [500])
    assert len(bob["evidence"]["spend_curve"]) == 10  # one point a minute over the 10-minute window
