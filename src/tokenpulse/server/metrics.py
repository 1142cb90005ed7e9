"""Prometheus metrics about the service itself (`GET /metrics`, admin keys): what arrives, what is
refused, how much waits to be written and how long requests and commits take."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ServiceMetrics:
    """One registry per service instance (tests run several in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("tokenpulse_http_requests", "HTTP requests answered", ["route", "status"], registry=r)
        self.latency = Histogram("tokenpulse_http_request_seconds", "Time to answer a request", ["route"],
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.records = Counter("tokenpulse_ingest_records", "Records received, by what became of them",
                               ["path", "result"], registry=r)
        self.events = Counter("tokenpulse_ingest_events", "Events committed to the store", ["kind"], registry=r)
        self.ignored = Counter("tokenpulse_ingest_ignored", "Records of kinds that carry no usage", ["name"],
                               registry=r)
        self.seen_ignored: set[str] = set()
        """Names used as labels so far (capped: the names come from clients)."""
        self.pending = Gauge("tokenpulse_write_queue_events", "Events accepted and waiting for their commit",
                             registry=r)
        self.commits = Histogram("tokenpulse_write_commit_seconds", "Time to write and commit one group",
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.group_requests = Histogram("tokenpulse_write_group_requests", "Requests sharing one commit",
                                        buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=r)

    def on_commit(self, requests: int, events: int, seconds: float) -> None:
        self.commits.observe(seconds)
        self.group_requests.observe(requests)

    def render(self) -> bytes:
        return generate_latest(self.registry)
