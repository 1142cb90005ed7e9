"""Vendor ledgers: what Anthropic and OpenAI record and bill, read from their admin APIs.

`client.VendorClient` does the HTTP (pagination, retries, clear errors); `anthropic` and `openai`
map the documented response pages to `UsageEvent`s (`source="vendor_api"`, `confidence="metered"`) and
`VendorCost` records (`confidence="billed"`), as pure functions, and sync a time range through a client.
Every id is deterministic, so syncing the same range twice stores nothing new.
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
