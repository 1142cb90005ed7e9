"""Where tokenpulse keeps its files (a module of its own: the widgets' fast path needs it without the rest)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """`TOKENPULSE_HOME`, else the platform's user data directory."""
    home = os.environ.get("TOKENPULSE_HOME", "").strip()
    if home:
        return Path(home).expanduser()
    from platformdirs import user_data_path

    return user_data_path("tokenpulse", appauthor=False)
