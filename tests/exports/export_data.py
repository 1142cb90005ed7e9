"""Events for the export tests, with every cost worked out by hand (importable by name: pytest puts this
folder on sys.path for its conftest).

Bundled prices, USD per million tokens = micro-USD per token:

    claude-sonnet-4-5 (anthropic): input 3, output 15, cache write 5m 3.75, cache read 0.3
    gpt-5 (openai):                input 1.25, output 10
    acme-model-9:                  not in the book (unpriced)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tokenpulse.events import OutcomeEvent, UsageEvent
from tokenpulse.pricing import PriceBook


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


SONNET = {"tool": "claude_code", "provider": "anthropic", "model": "claude-sonnet-4-5"}
EVENTS: list[dict[str, Any]] = [
    # 1000×3 + 100×15 + 10000×0.3 + 2000×3.75 = 15000 µ$
    dict(id="a", ts="2026-03-02T09:00:00.123", person="ana", **SONNET, input_tokens=1000, output_tokens=100,
         cache_read_tokens=10000, cache_write_tokens=2000, session="s1", project="alpha", request_id="req_1",
         duration_ms=2210, reported_cost_micros=20000),
    # 333×3 + 7×15 + 5×0.3 = 999 + 105 + 1.5 -> 1106 µ$ (half to even: 1105.5 -> 1106)
    dict(id="b", ts="2026-03-02T23:59:59.999999", person="ana", **SONNET, input_tokens=333, output_tokens=7,
         cache_read_tokens=5, session="s1", project="alpha"),
    # 2000×1.25 + 300×10 = 5500 µ$
    dict(id="c", ts="2026-03-02T10:00:00", person="bob", tool="codex", provider="openai", model="gpt-5",
         input_tokens=2000, output_tokens=300, reasoning_tokens=200, status="error", source="gateway",
         confidence="billed", extra={"team": "payments, \"core\""}),
    # 7×3 = 21 µ$, the next UTC day
    dict(id="d", ts="2026-03-03T00:00:00", person="ana", **SONNET, input_tokens=7),
    # unpriced
    dict(id="u", ts="2026-03-03T12:00:00", person="<script>alert(1)</script>", tool="claude_code",
         provider="acme", model="acme-model-9", input_tokens=5),
]
LIST_MICROS = {"a": 15000, "b": 1106, "c": 5500, "d": 21, "u": None}
OUTCOMES = [dict(id="o1", ts="2026-03-02T09:30:00", type="commit", count=2, person="ana", tool="claude_code",
                 session="s1", project="alpha")]


def usage_events(book: PriceBook) -> list[UsageEvent]:
    events = []
    for fields in EVENTS:
        event = UsageEvent(**{**fields, "ts": at(fields["ts"])})
        book.price(event)
        events.append(event)
    return events


def outcome_events() -> list[OutcomeEvent]:
    return [OutcomeEvent(**{**fields, "ts": at(fields["ts"])}) for fields in OUTCOMES]
