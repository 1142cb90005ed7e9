"""A metered request is never lost: the gateway is SIGKILLed right after answering, and the requests it
had answered are in the store after it restarts (replayed from its spool), each exactly once."""

from __future__ import annotations

from collections.abc import Callable

from gateway_process import GatewayProcess
from test_gateway_sdk import ANTHROPIC_MICROS, ANTHROPIC_USAGE, send, stored_usage


def test_answered_requests_survive_a_sigkill_and_are_stored_once(start_gateway: Callable[..., GatewayProcess]) -> None:
    g = start_gateway("[gateway]\nship_seconds = 3600\n")  # nothing reaches the store before the kill
    for i in range(20):
        send(g, "anthropic", stream=i % 2 == 1, usage=ANTHROPIC_USAGE)
    g.kill()
    [spool] = (g.home / "gateway-spool").iterdir()
    assert len(spool.read_bytes().splitlines()) == 20
    g.start()
    send(g, "anthropic", stream=False, usage=ANTHROPIC_USAGE)
    events = stored_usage(g)
    assert len(events) == 21 and len({e.id for e in events}) == 21
    assert sum(e.cost_micros for e in events) == 21 * ANTHROPIC_MICROS
    assert list((g.home / "gateway-spool").iterdir()) == []  # replayed and removed
