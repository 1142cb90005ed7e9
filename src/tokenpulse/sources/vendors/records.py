"""What the vendors bill: one cost line per day (and workspace/project, and line item)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import msgspec

from ...events import OutcomeEvent, UsageEvent


class VendorCost(msgspec.Struct, kw_only=True, frozen=True):
    """One billed amount from a vendor's cost ledger, in integer micro-USD.

    `id` is deterministic (vendor, day and every dimension of the line), so a re-sync replaces, never adds."""

    id: str
    vendor: str
    """"anthropic" or "openai"."""
    day: date
    """The UTC day the amount was billed for (the bucket's start)."""
    starting_at: datetime
    ending_at: datetime
    amount_micros: int
    currency: str = "USD"
    scope: str | None = None
    """Anthropic `workspace_id` (None = the default workspace) or OpenAI `project_id`."""
    item: str | None = None
    """Anthropic `description` ("Claude Sonnet 4 Usage - Input Tokens") or OpenAI `line_item`."""
    cost_type: str | None = None
    model: str | None = None
    token_type: str | None = None
    service_tier: str | None = None
    context_window: str | None = None
    inference_geo: str | None = None
    source: str = "vendor_api"
    confidence: str = "billed"


def id_part(value: object) -> str:
    """One component of a deterministic id: `-` for a null dimension."""
    return "-" if value is None else str(value)


@dataclass
class VendorBatch:
    """What one connector read for a time range: usage events, billed cost lines and outcomes. Events and
    outcomes carry no person yet: `tokenpulse.sync` maps their vendor identities to people."""

    events: list[UsageEvent] = field(default_factory=list)
    costs: list[VendorCost] = field(default_factory=list)
    outcomes: list[OutcomeEvent] = field(default_factory=list)
