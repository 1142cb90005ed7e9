"""Refusals against the official SDKs: a local server answers every request with `refusal(...)`; each SDK,
allowed two retries, must raise its status error with our message after exactly one request."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import anthropic
import openai
import pytest
from aiohttp import web

from tokenpulse.gateway.meter import Api
from tokenpulse.gateway.refusals import REFUSAL_HEADER, refusal

MESSAGE = "Team budget of $500.00 for 2026-11 is spent; ask your lead to raise it."


@dataclass
class RefusingServer:
    """Answers every request with a refusal for the API its path belongs to, and counts the requests."""

    reason: str = "budget_exceeded"
    status: int = 403
    paths: list[str] = field(default_factory=list)
    port: int = 0

    def api_for(self, path: str) -> Api:
        if path.endswith("/messages"):
            return "anthropic_messages"
        return "openai_responses" if path.endswith("/responses") else "openai_chat"

    async def handle(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        await request.read()
        r = refusal(self.api_for(request.path), self.reason, MESSAGE, status=self.status)
        return web.Response(status=r.status, headers=r.headers, body=r.body)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RefusingServer]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    state = RefusingServer()
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    state.port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def _anthropic(server: RefusingServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"http://127.0.0.1:{server.port}", api_key="x", max_retries=2)


def _openai(server: RefusingServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{server.port}/v1", api_key="x", max_retries=2)


ANTHROPIC_ARGS = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("status", [403, 429, 500, 529])
def test_anthropic_sdk_raises_after_one_request(server: RefusingServer, status: int):
    """403 by default; even statuses the SDK would retry are not, thanks to `x-should-retry: false`."""
    server.status = status
    with _anthropic(server) as client:
        for call in (
            lambda: client.messages.create(**ANTHROPIC_ARGS),
            lambda: client.messages.create(**ANTHROPIC_ARGS, stream=True),
        ):
            server.paths.clear()
            with pytest.raises(anthropic.APIStatusError) as caught:
                call()
            assert server.paths == ["/v1/messages"]
            error = caught.value
            assert error.status_code == status
            assert MESSAGE in str(error)
            assert error.body["error"]["message"] == f"budget_exceeded: {MESSAGE}"  # type: ignore[index]
            assert error.response.headers[REFUSAL_HEADER] == "budget_exceeded"
        server.paths.clear()
        with pytest.raises(anthropic.APIStatusError), client.messages.stream(**ANTHROPIC_ARGS) as stream:
            stream.until_done()
        assert server.paths == ["/v1/messages"]


def test_anthropic_error_types_follow_the_status(server: RefusingServer):
    expected = {403: (anthropic.PermissionDeniedError, "permission_error"),
                429: (anthropic.RateLimitError, "rate_limit_error"),
                529: (anthropic.InternalServerError, "overloaded_error")}
    with _anthropic(server) as client:
        for status, (error_class, error_type) in expected.items():
            server.status = status
            with pytest.raises(error_class) as caught:
                client.messages.create(**ANTHROPIC_ARGS)
            assert caught.value.body["error"]["type"] == error_type  # type: ignore[index]
            assert caught.value.type == error_type


@pytest.mark.parametrize("status", [403, 429, 503])
def test_openai_sdk_raises_after_one_request(server: RefusingServer, status: int):
    server.status = status
    server.reason = "circuit_breaker_tripped"
    chat = {"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]}
    with _openai(server) as client:
        for call, path in (
            (lambda: client.chat.completions.create(**chat), "/v1/chat/completions"),
            (lambda: client.chat.completions.create(**chat, stream=True), "/v1/chat/completions"),
            (lambda: client.responses.create(model="gpt-5-codex", input="hi"), "/v1/responses"),
            (lambda: client.responses.create(model="gpt-5-codex", input="hi", stream=True), "/v1/responses"),
        ):
            server.paths.clear()
            with pytest.raises(openai.APIStatusError) as caught:
                call()
            assert server.paths == [path]
            error = caught.value
            assert error.status_code == status
            assert MESSAGE in str(error)
            assert (error.code, error.type, error.param) == ("circuit_breaker_tripped", "circuit_breaker_tripped", None)
            assert error.response.headers[REFUSAL_HEADER] == "circuit_breaker_tripped"
    if status == 403:
        assert isinstance(error, openai.PermissionDeniedError)


@pytest.mark.parametrize("api", ["anthropic_messages", "openai_chat", "openai_responses"])
def test_refusal_shape(api: Api):
    r = refusal(api, "budget_exceeded", "Over budget.")
    assert r.status == 403
    assert r.headers == {"content-type": "application/json", "x-should-retry": "false",
                         REFUSAL_HEADER: "budget_exceeded"}
    body = json.loads(r.body)
    if api == "anthropic_messages":
        assert body == {"type": "error", "error": {"type": "permission_error",
                                                   "message": "budget_exceeded: Over budget."}}
    else:
        assert body == {"error": {"message": "Over budget.", "type": "budget_exceeded", "param": None,
                                  "code": "budget_exceeded"}}


def test_refusal_rejects_what_cannot_be_sent():
    with pytest.raises(ValueError, match="lowercase token"):
        refusal("openai_chat", "budget\r\nx-evil: 1", "no")
    with pytest.raises(ValueError, match="error status"):
        refusal("openai_chat", "budget_exceeded", "no", status=200)
    with pytest.raises(ValueError, match="unknown api"):
        refusal("gemini", "budget_exceeded", "no")  # type: ignore[arg-type]
