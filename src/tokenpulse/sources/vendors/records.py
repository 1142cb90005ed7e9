"""What the vendors bill: one cost line per day (and workspace/project, and line item)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import msgspec

from ...events import OutcomeEvent, UsageEvent


class VendorCost(msgspec.Struct, kw_only=True, frozen=True):
    """One billed amount from a vendor's cost ledger, in integer micro-USD.

    `id` is deterministic (vendor, day and every dimension of the line), so a re-sync replaces, never adds."""

    id: str
    vendor: str
    """"anthropic", "openai", "cursor" or "github"."""
    day: date
    """The UTC day the amount was billed for (the bucket's start)."""
    starting_at: datetime
    ending_at: datetime
    amount_micros: int
    currency: str = "USD"
    scope: str | None = None
    """Anthropic `workspace_id` (None = the default workspace), OpenAI `project_id`, the Cursor member's email
    or the GitHub organization."""
    item: str | None = None
    """Anthropic `description` ("Claude Sonnet 4 Usage - Input Tokens"), OpenAI `line_item`, Cursor's
    `included`/`on-demand`/`cycle`, or the Copilot SKU."""
    cost_type: str | None = None
    model: str | None = None
    token_type: str | None = None
    service_tier: str | None = None
    context_window: str | None = None
    inference_geo: str | None = None
    source: str = "vendor_api"
    confidence: str = "billed"


MICROS_PER_CENT = 10_000


def cents_to_micros(cents: Decimal | int | str) -> int:
    """US cents (the unit of Anthropic's and Cursor's amounts) to integer micro-USD, exactly with `Decimal`:
    "123.45" → 1,234,500; "0.0001" → 1; a fraction of a micro-USD rounds half to even."""
    from .client import VendorDataError

    try:
        micros = Decimal(cents) * MICROS_PER_CENT
    except (InvalidOperation, TypeError, ValueError):
        raise VendorDataError(f"not a decimal amount of cents: {cents!r}") from None
    if not micros.is_finite():
        raise VendorDataError(f"not a finite amount: {cents!r}")
    return int(micros.to_integral_value(rounding=ROUND_HALF_EVEN))


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
