"""Acceptance: clients send batches while the server is killed with SIGKILL at random moments; after a
restart every batch that got a 2xx is stored, exactly once, and no batch is stored in part."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter

import msgspec
from collector_process import Collector
from otel_clients import to_otlp_json
from test_bad_input import claude_logs_pb

from canonical_lines import ev
from http_helpers import call

BATCH = 200
CLIENTS = 4
KILLS = 4


def batch_body(number: int) -> tuple[str, bytes, dict[str, str], list[str]]:
    """Batch `number`: NDJSON for even numbers, OTLP/JSON logs for odd ones; (path, body, headers, ids)."""
    if number % 2 == 0:
        ids = [f"b{number}-{i}" for i in range(BATCH)]
        body = b"".join(msgspec.json.encode(ev(i, "2026-11-03T09:00:00Z", input_tokens=number)) + b"\n" for i in ids)
        return "/api/v1/events", body, {"Content-Type": "application/x-ndjson"}, ids
    session = f"crash-{number}"
    body = to_otlp_json("logs", claude_logs_pb(*((session, f"req_{i}") for i in range(BATCH))))
    ids = [f"claude_code:otel:{session}:req_{i}" for i in range(BATCH)]
    return "/v1/logs", body, {"Content-Type": "application/json"}, ids


def test_every_acknowledged_batch_survives_sigkill_exactly_once(backend: str, tmp_path) -> None:
    seed = int(os.environ.get("CRASH_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    collector = Collector(location=backend, home=tmp_path / "home")
    collector.make_keys()
    collector.start("--decode-workers", "1")
    acknowledged: set[int] = set()
    sent: set[int] = set()
    counter = iter(range(1_000_000))
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            with lock:
                number = next(counter)
            path, body, headers, _ = batch_body(number)
            for _attempt in range(3):  # what an exporter does: retry a failed batch a few times
                url = collector.url
                with lock:
                    sent.add(number)
                try:
                    status, _, _ = call("POST", url + path, body, {**collector.auth(), **headers}, timeout=10)
                except OSError:
                    status = 0
                if status == 200:
                    with lock:
                        acknowledged.add(number)
                    break
                time.sleep(0.05)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 1.5))
            collector.kill()
            collector.start("--decode-workers", "1")
        time.sleep(rng.uniform(0.3, 1.0))
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    collector.stop()

    store = collector.store()
    try:
        stored = Counter(e.id for e in store.iter_usage())
    finally:
        store.close()
    assert len(acknowledged) > KILLS, f"too few batches got through to test anything (seed {seed})"
    assert max(stored.values()) == 1, f"an event is stored twice (seed {seed})"
    every_id: set[str] = set()
    for number in sorted(sent):
        ids = batch_body(number)[3]
        every_id.update(ids)
        present = sum(stored[i] for i in ids)
        if number in acknowledged:
            assert present == BATCH, f"batch {number} was acknowledged but {present}/{BATCH} are stored (seed {seed})"
        else:
            assert present in (0, BATCH), f"batch {number} is stored in part: {present}/{BATCH} (seed {seed})"
    assert set(stored) <= every_id
