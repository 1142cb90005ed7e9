"""Settings: the machine's time zone, and where relative paths are resolved from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tokenpulse.config import load_settings, local_timezone
from tokenpulse.sources import claude_roots, codex_roots


@pytest.mark.parametrize(("tz", "expected"), [
    ("Europe/Berlin", "Europe/Berlin"),
    (":America/New_York", "America/New_York"),
    ("/usr/share/zoneinfo/Asia/Kolkata", "Asia/Kolkata"),
    ("CET", "CET"),
    ("UTC", "UTC"),
])
def test_tz_in_the_forms_posix_allows(monkeypatch, tz, expected) -> None:
    monkeypatch.setenv("TZ", tz)
    assert local_timezone() == expected


def test_a_tz_that_names_no_zone_is_passed_over(monkeypatch) -> None:
    monkeypatch.setenv("TZ", "Not/AZone")
    assert local_timezone() != "Not/AZone"  # the machine's own zone (or UTC) instead


def test_relative_price_files_resolve_from_where_they_were_given(tmp_path, monkeypatch) -> None:
    home = tmp_path / "home-dir"
    home.mkdir()
    (home / "tokenpulse.toml").write_text('prices = ["mine.toml"]\n')
    assert load_settings(home).prices == [home / "mine.toml"]  # beside the config file
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TOKENPULSE_PRICES", f"a.json{os.pathsep}sub/b.toml")
    assert load_settings(home).prices == [work / "a.json", work / "sub" / "b.toml"]  # from here


def test_log_folders_given_relatively_are_made_absolute(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", "claude,other/projects")
    monkeypatch.setenv("CODEX_HOME", "codex")
    assert claude_roots() == [tmp_path / "claude" / "projects", tmp_path / "other" / "projects"]
    assert codex_roots() == [tmp_path / "codex" / "sessions", tmp_path / "codex" / "archived_sessions"]
    assert all(Path(p).is_absolute() for p in [*claude_roots(), *codex_roots()])
