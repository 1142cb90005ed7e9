"""64 concurrent clients of one person against a $5 budget, through 3 gateway processes that share one
Redis: the spend admitted never exceeds the budget plus the reservations in flight, and once the budget
is used up nothing more is admitted."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import anthropic
from gateway_process import GatewayProcess

from http_helpers import call
from tokenpulse.store import open_store

CLIENTS = 64
BUDGET_MICROS = 5_000_000
PROMPT = "refactor the payment retry logic " * 100  # ~3,300 bytes: an input estimate of ~1,100 tokens
# What the fake vendor reports for each request: ~830 input tokens (its default, bytes // 4) and 1,500 output.
USAGE = json.dumps({"output_tokens": 1500})
MAX_TOKENS = 2000  # reserved at the output price, so each reservation exceeds the request's real cost


def test_no_overshoot_across_three_gateways_sharing_redis(start_gateway: Callable[..., GatewayProcess],
                                                         pg_url: str, redis_prefix: str, vendor) -> None:
    config = (f'[gateway]\nredis_url = "redis://127.0.0.1:6379/0"\nredis_prefix = "{redis_prefix}"\n'
              f'fail_open = false\n\n[[gateway.budgets]]\neach = "person"\nusd = 5\n'
              '\n[gateway.breaker]\nloop_repeats = false\nrate_usd = false\nfloor_usd = 1000\n')
    first = start_gateway(config, location=pg_url, name="g1")
    gateways = [first, *(start_gateway(config, location=pg_url, name=f"g{i}", keys=first.keys) for i in (2, 3))]

    admitted: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()
    done = threading.Event()

    def client(number: int) -> None:
        g = gateways[number % len(gateways)]
        with anthropic.Anthropic(base_url=g.url, api_key=g.keys["alice"], max_retries=0) as sdk:
            misses = 0
            while misses < 3 and not done.is_set():
                try:
                    reply = sdk.messages.create(model="claude-sonnet-4-5", max_tokens=MAX_TOKENS,
                                                messages=[{"role": "user", "content": PROMPT}],
                                                extra_headers={"x-fake-usage": USAGE})
                except anthropic.PermissionDeniedError as exc:
                    assert "budget" in str(exc)
                    with lock:
                        refused.append(str(exc))
                    misses += 1
                    continue
                with lock:
                    admitted.append(reply.id)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads)

    # The budget is used up: another request, on any replica, is refused before reaching the vendor.
    forwarded = json.loads(call("GET", vendor.url + "/_fake/stats")[2])["requests"]["/v1/messages"]
    for g in gateways:
        with anthropic.Anthropic(base_url=g.url, api_key=g.keys["alice"], max_retries=0) as sdk:
            try:
                sdk.messages.create(model="claude-sonnet-4-5", max_tokens=MAX_TOKENS,
                                    messages=[{"role": "user", "content": PROMPT}])
                raise AssertionError("a request was admitted after the budget was used up")
            except anthropic.PermissionDeniedError as exc:
                assert "has $0.0" in str(exc)  # what is left is less than one more request may cost
    assert json.loads(call("GET", vendor.url + "/_fake/stats")[2])["requests"]["/v1/messages"] == forwarded
    assert forwarded == len(admitted)

    for g in gateways:
        assert g.stop() == 0, "".join(g.log)
    store = open_store(pg_url)
    try:
        events = list(store.iter_usage())
    finally:
        store.close()
    assert sorted(e.request_id for e in events) == sorted(admitted)  # every admitted request metered, once
    spent = sum(e.cost_micros for e in events)
    largest = max(e.cost_micros for e in events)
    # Every reservation is above its request's real cost, so settled spend can never pass the budget...
    assert spent <= BUDGET_MICROS
    # ...and the budget was really used: what is left is less than one request's worst case.
    assert BUDGET_MICROS - spent < 2 * largest
    assert len(refused) >= CLIENTS
