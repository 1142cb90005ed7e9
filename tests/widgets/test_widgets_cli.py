"""The widgets as they run: `tokenpulse statusline` and `tokenpulse menubar` as real processes (the fast path,
reading the snapshot an import wrote), a statusline that never fails its terminal, and the install commands."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from canonical_lines import ev
from cli_helpers import ok, write_ndjson

DATA = Path(__file__).parent.parent / "data" / "statusline"


def _run(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "tokenpulse", *args], input=stdin, capture_output=True, env=env,
                          timeout=60)


def test_the_statusline_and_menubar_read_what_the_import_wrote(tmp_path: Path) -> None:
    stamp = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    write_ndjson(tmp_path / "usage.ndjson", [ev("a", stamp, input_tokens=150_000)])  # $0.45 of Sonnet input
    ok("import", "--format", "ndjson", str(tmp_path / "usage.ndjson"))
    line = _run(["statusline"], (DATA / "statusline-test.json").read_bytes())
    assert line.returncode == 0 and line.stderr == b""
    assert line.stdout.decode() == "Sonnet 4 · session $0.06 · today $0.45 · month $0.45 · ctx 21%\n"
    menu = _run(["menubar"]).stdout.decode().splitlines()
    assert menu[0] == "🟢 $0.45 today" and menu[1] == "---"


def test_a_statusline_never_breaks_the_terminal(tmp_path: Path) -> None:
    for stdin in (b"", b"\xff\xfe not json", b"[1, 2]", (DATA / "garbage.bin").read_bytes()):
        done = _run(["statusline"], stdin)
        assert done.returncode == 0 and done.stderr == b""
        assert done.stdout.decode().startswith("tokenpulse: ") and done.stdout.count(b"\n") == 1
    # No snapshot yet: the line says so rather than showing zeros.
    fresh = _run(["statusline"], (DATA / "statusline-test.json").read_bytes()).stdout.decode()
    assert fresh.strip().endswith("no data yet: run tokenpulse import")


def test_install_and_uninstall_through_the_command_line(tmp_path: Path) -> None:
    settings = tmp_path / "claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"model": "opus", "permissions": {"allow": ["Bash(git:*)"]}}, indent=2))
    ok("statusline", "install", "--settings", str(settings))
    installed = json.loads(settings.read_text())
    assert installed["model"] == "opus" and installed["permissions"] == {"allow": ["Bash(git:*)"]}
    assert installed["statusLine"]["type"] == "command" and installed["statusLine"]["command"].endswith(" statusline")
    ok("statusline", "uninstall", "--settings", str(settings))
    assert json.loads(settings.read_text()) == {"model": "opus", "permissions": {"allow": ["Bash(git:*)"]}}

    plugins = tmp_path / "plugins"
    ok("menubar", "install", "--dir", str(plugins))
    plugin = plugins / "tokenpulse.15m.sh"
    assert plugin.stat().st_mode & stat.S_IXUSR and plugin.read_text().rstrip().endswith(" menubar")
    ok("menubar", "uninstall", "--dir", str(plugins))
    assert not plugin.exists()


def test_the_statusline_through_the_cli_reads_the_data_directory_given(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tokenpulse.cli import cli

    other = tmp_path / "elsewhere"
    stamp = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    write_ndjson(tmp_path / "usage.ndjson", [ev("a", stamp, input_tokens=150_000)])
    ok("--home", str(other), "import", "--format", "ndjson", str(tmp_path / "usage.ndjson"))
    result = CliRunner().invoke(cli, ["--home", str(other), "statusline"],
                                input=(DATA / "statusline-test.json").read_bytes(), env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    assert result.stdout == "Sonnet 4 · session $0.06 · today $0.45 · month $0.45 · ctx 21%\n"
