"""Where `tokenpulse serve` takes its settings from: tokenpulse.toml, then TOKENPULSE_SERVE_*, then flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenpulse.config import load_settings
from tokenpulse.errors import ConfigError
from tokenpulse.server.settings import ServeSettings, serve_settings


def test_defaults_then_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert serve_settings(load_settings(tmp_path)) == ServeSettings()
    assert ServeSettings().port == 8787 and ServeSettings().host == "127.0.0.1"
    (tmp_path / "tokenpulse.toml").write_text('[serve]\nhost = "0.0.0.0"\nport = 9000\nmax_body_mb = 4\n')
    from_file = serve_settings(load_settings(tmp_path))
    assert (from_file.host, from_file.port, from_file.max_body_bytes) == ("0.0.0.0", 9000, 4 * 1024 * 1024)
    monkeypatch.setenv("TOKENPULSE_SERVE_PORT", "9100")
    assert serve_settings(load_settings(tmp_path)).port == 9100
    assert serve_settings(load_settings(tmp_path), port=9200, host=None).port == 9200
    assert serve_settings(load_settings(tmp_path), port=9200).host == "0.0.0.0"


def test_bad_values_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENPULSE_SERVE_PORT", "eighty")
    with pytest.raises(ConfigError, match="serve setting `port` must be int, got 'eighty'"):
        serve_settings(load_settings(tmp_path))
    with pytest.raises(ConfigError, match="`port` must be 0..65535"):
        serve_settings(load_settings(tmp_path), port=70000)
