"""`tokenpulse push`: send this machine's usage to a collector, incrementally.

The local store remembers, per server, the position (write time, id) of the last event the server
acknowledged; each push sends what was written after it — new events, and stored events replaced by
a more complete copy — in write order, in chunks, and moves the position after each acknowledged
chunk. An interrupted push resumes where it stopped; a chunk sent twice is harmless, because the
server keeps each event id once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .client import ServerClient
from .events import encode_line
from .store import Store

CHUNK_EVENTS = 5_000


@dataclass
class PushReport:
    server: str
    sender: str = ""
    """Whose the events become on the server: the key owner, or the key's scope."""
    usage_sent: int = 0
    outcomes_sent: int = 0
    requests: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"server": self.server, "as": self.sender, "usage_sent": self.usage_sent, "outcomes_sent": self.outcomes_sent,
                "requests": self.requests, "rejected": self.rejected, "errors": self.errors}


def push(store: Store, client: ServerClient, chunk: int = CHUNK_EVENTS,
         on_progress: Callable[[int], None] | None = None) -> PushReport:
    # Ask first: a wrong key or an unreachable server fails here, before anything is read.
    key = client.request("GET", "/api/v1/me")["key"]
    report = PushReport(server=client.base, sender=key["person"] or key["scope"])
    position = store.push_position(client.base)
    for kind in ("usage", "outcome"):
        read = store.usage_written_after if kind == "usage" else store.outcomes_written_after
        while True:
            after = position.usage if kind == "usage" else position.outcome
            items, last = read(after, chunk)
            if not items:
                break
            answer = client.post_ndjson(b"".join(encode_line(item) for item in items))
            report.requests += 1
            report.rejected += int(answer.get("rejected", 0))
            report.errors.extend(answer.get("errors", [])[:20 - len(report.errors)])
            if kind == "usage":
                report.usage_sent += len(items)
                position = replace(position, usage=last)
            else:
                report.outcomes_sent += len(items)
                position = replace(position, outcome=last)
            store.save_push_position(client.base, position)
            if on_progress:
                on_progress(len(items))
    return report
