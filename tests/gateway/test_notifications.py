"""Webhooks (Slack-compatible JSON) for breaker trips, re-enables, overrides and budget thresholds; shadow
mode records without blocking; an unreachable Redis fails open or closed as configured."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic
import pytest
from gateway_process import GatewayProcess
from test_gateway_sdk import ANTHROPIC_USAGE, send, tokenpulse

from tokenpulse.store import open_store


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A Slack-style incoming-webhook receiver on loopback; yields (its URL, the payloads it received)."""
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_trips_reenables_overrides_and_thresholds_are_sent_to_the_webhook(
        start_gateway: Callable[..., GatewayProcess], webhook: tuple[str, list[dict]]) -> None:
    url, received = webhook
    g = start_gateway(f'[gateway]\nwebhook_url = "{url}"\n\n[[gateway.budgets]]\neach = "person"\nusd = "0.045"\n'
                      '\n[gateway.breaker]\nloop_repeats = 3\n')
    send(g, "anthropic", stream=False, usage=ANTHROPIC_USAGE, prompt="a")  # $0.018975: under 80 %
    send(g, "anthropic", stream=False, usage=ANTHROPIC_USAGE, prompt="b")  # $0.037950: 80 % crossed
    assert tokenpulse(g, "override", "--raise", "0.04", "--reason", "demo day").returncode == 0
    send(g, "anthropic", stream=False, prompt="c")  # small requests from here on: no threshold is crossed
    send(g, "anthropic", stream=False, prompt="c")
    with pytest.raises(anthropic.PermissionDeniedError):
        send(g, "anthropic", stream=False, prompt="c")  # the third time in a row: a loop
    assert tokenpulse(g, "reenable", "--reason", "replaying a fixture on purpose").returncode == 0
    g.stop()  # delivers what is still on its way

    events = [p["tokenpulse"]["event"] for p in received]
    assert events == ["budget_threshold", "override", "breaker_trip", "reenable"]
    assert all(isinstance(p["text"], str) and p["text"] for p in received)  # what Slack shows
    threshold, override, trip, reenable = received
    assert threshold["tokenpulse"]["threshold"] == 80 and "80%" in threshold["text"]
    assert override["tokenpulse"]["raise_micros"] == 40_000 and "demo day" in override["text"]
    assert trip["tokenpulse"]["cause"] == "loop" and "alice@example.com" in trip["text"]
    assert "replaying a fixture on purpose" in reenable["text"]


def test_shadow_mode_records_a_trip_but_blocks_nothing(start_gateway: Callable[..., GatewayProcess]) -> None:
    g = start_gateway('[gateway]\nshadow = true\n\n[gateway.breaker]\nloop_repeats = 3\n')
    for _ in range(6):
        send(g, "anthropic", stream=False, prompt="same")
    g.stop()
    store = open_store(g.location)
    try:
        [incident] = store.incidents(person="alice@example.com")
        assert (incident.cause, incident.shadow) == ("loop", True)
        assert len(list(store.iter_usage())) == 6
    finally:
        store.close()


@pytest.mark.parametrize("fail_open", [True, False])
def test_an_unreachable_redis_fails_open_or_closed_as_configured(
        start_gateway: Callable[..., GatewayProcess], fail_open: bool) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    g = start_gateway(f'[gateway]\nredis_url = "redis://127.0.0.1:{port}/0"\nfail_open = {str(fail_open).lower()}\n'
                      '\n[[gateway.budgets]]\neach = "person"\nusd = 5\n')
    if fail_open:
        assert send(g, "anthropic", stream=False, usage=ANTHROPIC_USAGE)["output_tokens"] == 350
    else:
        with pytest.raises(anthropic.PermissionDeniedError, match="unreachable"):
            send(g, "anthropic", stream=False, usage=ANTHROPIC_USAGE, retries=2)
    g.stop()
    assert "unreachable" in "".join(g.log)  # the alert, either way
