"""Installing the statusline into Claude Code's settings.json and the menu-bar plugin (tmp_path only)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tokenpulse.errors import ConfigError
from tokenpulse.widgets.install import (
    install_menubar,
    install_statusline,
    marker_path,
    uninstall_menubar,
    uninstall_statusline,
)

COMMAND = "/home/ann/.local/bin/tokenpulse statusline"
OURS = {"type": "command", "command": COMMAND, "padding": 0}

REALISTIC = """{
  "$schema": "https://json.schemastore.org/claude-code-settings.json",
  "model": "opus",
  "env": {
    "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
    "OTEL_METRICS_EXPORTER": "otlp",
    "MAX_THINKING_TOKENS": "31999"
  },
  "permissions": {
    "allow": ["Bash(npm run test:*)", "Read(~/.zshrc)"],
    "deny": ["Read(./.env)", "Read(./secrets/**)"],
    "defaultMode": "acceptEdits"
  },
  "hooks": {
    "PostToolUse": [
      {"matcher": "Edit|Write", "hooks": [{"type": "command", "command": "ruff format \\"$FILE\\""}]}
    ]
  },
  "cleanupPeriodDays": 30,
  "temperature": 1.0e0,
  "includeCoAuthoredBy": false,
  "feedbackSurveyState": {"lastShownTime": 1754051221735}
}
"""
OTHER = {"type": "command", "command": "bunx -y ccusage statusline", "padding": 0}
WITH_OTHER = REALISTIC.replace('  "cleanupPeriodDays": 30,\n',
                               '  "statusLine": {"type": "command", "command": "bunx -y ccusage statusline", '
                               '"padding": 0},\n  "cleanupPeriodDays": 30,\n')


def settings(tmp_path: Path, text: str | None = None) -> Path:
    path = tmp_path / "home" / ".claude" / "settings.json"
    if text is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    return path


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob("settings.json.tokenpulse-backup-*"))


def test_install_keeps_every_other_key_byte_for_byte_and_uninstall_restores_the_file(tmp_path):
    path = settings(tmp_path, REALISTIC)
    result = install_statusline(path, COMMAND)
    assert result.changed and result.previous is None
    text = path.read_text()
    assert text == REALISTIC.replace(
        '  "feedbackSurveyState": {"lastShownTime": 1754051221735}\n',
        '  "feedbackSurveyState": {"lastShownTime": 1754051221735},\n'
        '  "statusLine": {\n    "type": "command",\n    "command": "/home/ann/.local/bin/tokenpulse statusline",\n'
        '    "padding": 0\n  }\n')
    data = json.loads(text)
    assert list(data) == [*json.loads(REALISTIC), "statusLine"]
    assert data["statusLine"] == OURS
    assert backups(path) == [result.backup] and result.backup.read_text() == REALISTIC
    assert json.loads(marker_path(path).read_text())["previous"] is None

    again = install_statusline(path, COMMAND)
    assert not again.changed and len(backups(path)) == 1

    removed = uninstall_statusline(path)
    assert removed.changed
    assert path.read_text() == REALISTIC
    assert not marker_path(path).exists()
    assert len(backups(path)) == 2
    assert not uninstall_statusline(path).changed


def test_install_creates_the_file_and_uninstall_removes_it(tmp_path):
    path = settings(tmp_path)
    result = install_statusline(path, COMMAND)
    assert result.changed and result.backup is None
    assert json.loads(path.read_text()) == {"statusLine": OURS}
    assert backups(path) == []
    uninstall_statusline(path)
    assert not path.exists() and not marker_path(path).exists()


def test_another_statusline_is_refused_without_force_and_restored_after(tmp_path):
    path = settings(tmp_path, WITH_OTHER)
    with pytest.raises(ConfigError, match="another statusLine is set.*ccusage statusline.*--force"):
        install_statusline(path, COMMAND)
    assert path.read_text() == WITH_OTHER and backups(path) == []

    result = install_statusline(path, COMMAND, force=True)
    assert result.changed and result.previous == OTHER
    data = json.loads(path.read_text())
    assert data["statusLine"] == OURS and list(data) == list(json.loads(WITH_OTHER))  # replaced in place
    assert result.backup.read_text() == WITH_OTHER
    assert json.loads(marker_path(path).read_text())["previous"] == OTHER

    install_statusline(path, "/opt/tokenpulse/bin/tokenpulse statusline")  # a reinstall keeps the original
    assert json.loads(marker_path(path).read_text())["previous"] == OTHER

    restored = uninstall_statusline(path)
    assert restored.previous == OTHER
    assert json.loads(path.read_text()) == json.loads(WITH_OTHER)
    assert list(json.loads(path.read_text())) == list(json.loads(WITH_OTHER))


def test_uninstall_leaves_someone_elses_statusline(tmp_path):
    path = settings(tmp_path, WITH_OTHER)
    result = uninstall_statusline(path)
    assert not result.changed and "not tokenpulse's" in result.message
    assert path.read_text() == WITH_OTHER


def test_invalid_json_is_refused_with_the_line(tmp_path):
    broken = '{\n  "model": "opus",\n  "env": {"A": "1",}\n}\n'
    path = settings(tmp_path, broken)
    with pytest.raises(ConfigError) as caught:
        install_statusline(path, COMMAND)
    assert str(path) in str(caught.value) and "line 3" in str(caught.value)
    with pytest.raises(ConfigError, match="line 3"):
        uninstall_statusline(path)
    assert path.read_text() == broken and backups(path) == []
    path.write_text("[1, 2]\n")
    with pytest.raises(ConfigError, match="JSON object"):
        install_statusline(path, COMMAND)


def test_compact_crlf_and_empty_files(tmp_path):
    path = settings(tmp_path, '{"model":"opus","env":{}}')
    install_statusline(path, COMMAND)
    assert path.read_text() == '{"model":"opus","env":{}, "statusLine": ' + json.dumps(OURS) + "}"
    uninstall_statusline(path)
    assert path.read_text() == '{"model":"opus","env":{}}'

    crlf = '{\r\n    "model": "opus"\r\n}\r\n'
    path.write_bytes(crlf.encode())
    install_statusline(path, COMMAND)
    raw = path.read_bytes().decode()
    assert "\n" not in raw.replace("\r\n", "") and '\r\n    "statusLine": {\r\n        "type"' in raw
    uninstall_statusline(path)
    assert path.read_bytes().decode() == crlf

    path.write_text("")
    install_statusline(path, COMMAND)
    assert json.loads(path.read_text()) == {"statusLine": OURS}


def test_statusline_first_member_is_removed_cleanly(tmp_path):
    text = '{\n  "statusLine": {"type": "command", "command": "tokenpulse statusline"},\n  "model": "opus"\n}\n'
    path = settings(tmp_path, text)
    assert uninstall_statusline(path).changed  # ours by its command, even without the marker
    assert path.read_text() == '{\n  "model": "opus"\n}\n'


def test_symlinked_settings_are_written_through_the_link(tmp_path):
    real = tmp_path / "dotfiles" / "claude-settings.json"
    real.parent.mkdir()
    real.write_text(REALISTIC)
    real.chmod(0o600)
    path = settings(tmp_path)
    path.parent.mkdir(parents=True)
    path.symlink_to(real)
    install_statusline(path, COMMAND)
    assert path.is_symlink() and json.loads(real.read_text())["statusLine"] == OURS
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def test_menubar_plugin(tmp_path):
    plugins = tmp_path / "plugins"
    path = install_menubar(plugins, "/home/ann/.local/bin/tokenpulse")
    assert path == plugins / "tokenpulse.15m.sh"
    assert stat.S_IMODE(path.stat().st_mode) == 0o755 and os.access(path, os.X_OK)
    text = path.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert "# <xbar.title>tokenpulse</xbar.title>\n" in text and "<xbar.desc>" in text
    assert text.endswith("\nexec /home/ann/.local/bin/tokenpulse menubar\n")
    (plugins / "other.5m.sh").write_text("#!/bin/sh\necho hi\n")
    (plugins / "tokenpulse.1h.sh").write_text("#!/bin/sh\necho not ours\n")
    assert uninstall_menubar(plugins) == [path]
    assert sorted(p.name for p in plugins.iterdir()) == ["other.5m.sh", "tokenpulse.1h.sh"]
    with pytest.raises(ConfigError):
        install_menubar(plugins, "tokenpulse\nrm -rf ~")
