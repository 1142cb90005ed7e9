"""Vendor ledgers: what Anthropic, OpenAI, Cursor and GitHub Copilot record and bill, read from their
admin APIs.

`client.VendorClient` does the HTTP (pagination, retries, clear errors); one module per vendor report maps
the documented response pages to `UsageEvent`s (`source="vendor_api"`; `confidence="billed"` where the
vendor bills per request, else `"metered"`), `OutcomeEvent`s and `VendorCost` lines, as pure functions, and
syncs a time range through a client: `anthropic` (messages usage, cost report), `claude_code` (the Claude
Code usage report), `openai` (completions usage, costs), `cursor` (usage events, spend, spend limits) and
`copilot` (usage metrics reports, AI-credit billing). Every id is deterministic, so syncing the same range
twice stores nothing new. `tokenpulse.sync` runs them into the store.
"""

from __future__ import annotations

from .client import (
    Page,
    VendorAuthError,
    VendorClient,
    VendorDataError,
    VendorError,
    VendorPageError,
    anthropic_client,
    openai_client,
)
from .records import VendorCost

__all__ = ["Page", "VendorAuthError", "VendorClient", "VendorCost", "VendorDataError", "VendorError",
           "VendorPageError", "anthropic_client", "openai_client"]
