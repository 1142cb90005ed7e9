"""The service's own settings: the `[serve]` table of `tokenpulse.toml`, `TOKENPULSE_SERVE_*` variables,
then command-line flags (highest)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..config import Settings, section_settings

DEFAULT_PORT = 8787


@dataclass
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_body_mb: float = 16.0
    """Largest request body accepted, compressed or not (larger: 413)."""
    max_pending_events: int = 1_000_000
    """Events accepted but not yet committed; beyond this, requests get 503 with Retry-After."""
    max_group_events: int = 100_000
    """Most events committed in one transaction (requests waiting together share one commit)."""
    decode_workers: int = -1
    """Processes that decode large request bodies; -1 = one per core, 0 = decode in the server process."""
    gateway: bool = False
    """Also serve the metering gateway (its settings: the [gateway] table), sharing this service's store."""
    key_cache_seconds: float = 30.0
    """How long a checked key is trusted before it is looked up again (revocations take effect within this)."""

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    @property
    def workers(self) -> int:
        return (os.cpu_count() or 1) if self.decode_workers < 0 else self.decode_workers


def serve_settings(settings: Settings, **flags: Any) -> ServeSettings:
    return section_settings(ServeSettings, settings, "serve", **flags)
