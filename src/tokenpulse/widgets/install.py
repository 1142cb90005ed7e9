"""Install and remove the widgets: the statusLine in Claude Code's settings.json, the menu-bar plugin.

settings.json is edited as text, not re-serialised: only the `statusLine` member changes, so every
other key keeps its value, order, formatting and the file its line endings, byte for byte. Before any
change to an existing file a backup of its exact bytes is written next to it
(`settings.json.tokenpulse-backup-<UTC timestamp>`), and the new file replaces the old atomically
(temp file in the same directory + os.replace; a symlinked settings.json is written through the link).

The marker file `settings.json.tokenpulse-statusline.json` (next to the settings file) records what
install wrote and the statusLine it replaced:

    {"schema": "tokenpulse-statusline-install/1", "installed": {...}, "previous": {...} | null,
     "created_file": false, "backup": "/path/settings.json.tokenpulse-backup-...", "installed_at": "..."}

Uninstall restores `previous` (or removes the key when there was none, and deletes a settings file
that install created and that is now empty), then deletes the marker. A statusLine is "ours" when
it equals the marker's `installed`, or its command mentions both `tokenpulse` and `statusline`;
install refuses to replace any other statusLine unless `force`, and uninstall leaves any other alone.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError

MARKER_SUFFIX = ".tokenpulse-statusline.json"
BACKUP_INFIX = ".tokenpulse-backup-"
MARKER_SCHEMA = "tokenpulse-statusline-install/1"
PLUGIN_NAME = "tokenpulse"
PLUGIN_FILE = "tokenpulse.15m.sh"
_PLUGIN_MARK = "<xbar.title>tokenpulse</xbar.title>"


@dataclass(frozen=True)
class InstallResult:
    """What install/uninstall did: `changed` is False when the file already said what was asked."""

    path: Path
    changed: bool
    message: str
    backup: Path | None = None
    previous: Any = None
    """The statusLine that was there before (install) or that was restored (uninstall), if any."""


def marker_path(settings_path: Path) -> Path:
    return settings_path.with_name(settings_path.name + MARKER_SUFFIX)


def statusline_value(command: str) -> dict[str, Any]:
    return {"type": "command", "command": command, "padding": 0}


# ---------------------------------------------------------------------------------------------------------
# settings.json as text


@dataclass
class _Doc:
    text: str
    bom: bool
    newline: str
    data: dict[str, Any]
    open_at: int  # index of the top-level "{"
    close_at: int  # index of the matching "}"
    members: list[tuple[str, int, int, int]]  # (key, key start, value start, value end)


def _ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _parse(path: Path, raw: bytes) -> _Doc:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); tokenpulse will not edit it") from None
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    if not text.strip():  # an empty file reads as an empty object
        return _Doc("{}\n", bom, "\n", {}, 0, 1, [])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                          "fix it and try again, tokenpulse will not edit it") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level, found {type(data).__name__}; "
                          "tokenpulse will not edit it")
    decoder = json.JSONDecoder()
    open_at = _ws(text, 0)
    members = []
    i = _ws(text, open_at + 1)
    if text[i] != "}":
        while True:
            key, key_end = decoder.raw_decode(text, i)
            value_start = _ws(text, _ws(text, key_end) + 1)  # past the ":"
            _, value_end = decoder.raw_decode(text, value_start)
            members.append((key, i, value_start, value_end))
            i = _ws(text, value_end)
            if text[i] == "}":
                break
            i = _ws(text, i + 1)  # past the ","
    newline = "\r\n" if "\r\n" in text else "\n"
    return _Doc(text, bom, newline, data, open_at, i, members)


def _indent_of(doc: _Doc, at: int) -> str:
    line_start = doc.text.rfind("\n", 0, at) + 1
    prefix = doc.text[line_start:at]
    return prefix if not prefix.strip() else ""


def _dump(value: Any, indent: str, newline: str, unit: str) -> str:
    text = json.dumps(value, indent=unit or None, ensure_ascii=False)
    return text.replace("\n", newline + indent)


def _unit(doc: _Doc) -> str:
    """The file's indentation step (from the first member), two spaces when it has none."""
    if doc.members:
        indent = _indent_of(doc, doc.members[0][1])
        if indent:
            return indent
        if "\n" not in doc.text[doc.open_at:doc.close_at]:
            return ""  # a one-line file stays on one line
    return "  "


def _set_member(doc: _Doc, key: str, value: Any) -> str:
    """The text with top-level `key` set to `value` (replaced in place, or appended as the last member)."""
    text, nl = doc.text, doc.newline
    unit = _unit(doc)
    existing = [m for m in doc.members if m[0] == key]
    if existing:
        _, key_start, value_start, value_end = existing[-1]  # the last one is the one JSON readers use
        indent = _indent_of(doc, key_start)
        return text[:value_start] + _dump(value, indent, nl, unit) + text[value_end:]
    encoded_key = json.dumps(key, ensure_ascii=False)
    if not doc.members:
        body = f"{encoded_key}: {_dump(value, '  ', nl, '  ')}"
        return text[:doc.open_at] + "{" + nl + "  " + body + nl + "}" + text[doc.close_at + 1:]
    last_key_start, last_end = doc.members[-1][1], doc.members[-1][3]
    indent = _indent_of(doc, last_key_start)
    if unit:
        addition = f",{nl}{indent}{encoded_key}: {_dump(value, indent, nl, unit)}"
    else:
        addition = f", {encoded_key}: {json.dumps(value, ensure_ascii=False)}"
    return text[:last_end] + addition + text[last_end:]


def _remove_member(doc: _Doc, key: str) -> str:
    text = doc.text
    positions = [n for n, m in enumerate(doc.members) if m[0] == key]
    if not positions:
        return text
    n = positions[-1]
    _, key_start, _, value_end = doc.members[n]
    if len(doc.members) == 1:
        return text[:doc.open_at] + "{}" + text[doc.close_at + 1:]
    if n > 0:  # from the end of the member before (its "," goes) to the end of this one
        return text[:doc.members[n - 1][3]] + text[value_end:]
    return text[:key_start] + text[doc.members[1][1]:]  # the first: up to the next member's key


def _encode(doc: _Doc, text: str) -> bytes:
    return (("\ufeff" if doc.bom else "") + text).encode("utf-8")


# ---------------------------------------------------------------------------------------------------------
# files


def _target(path: Path) -> Path:
    """Where to write: through a symlink (dotfile managers link settings.json), else the path itself."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _write_atomic(path: Path, content: bytes, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _backup(path: Path, raw: bytes, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1000):
        candidate = path.with_name(f"{path.name}{BACKUP_INFIX}{stamp}" + (f"-{attempt}" if attempt else ""))
        try:
            with open(candidate, "xb") as out:
                out.write(raw)
            return candidate
        except FileExistsError:
            continue
    raise ConfigError(f"{path}: could not pick a backup file name next to it")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None


def _read_marker(settings_path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(marker_path(settings_path).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == MARKER_SCHEMA else None


def _is_ours(value: Any, marker: dict[str, Any] | None) -> bool:
    if marker is not None and value == marker.get("installed"):
        return True
    command = value.get("command") if isinstance(value, dict) else None
    return isinstance(command, str) and "tokenpulse" in command and "statusline" in command


def _mode_of(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------------------
# the statusline


def install_statusline(settings_path: Path, command: str, *, force: bool = False,
                       now: datetime | None = None) -> InstallResult:
    """Set `"statusLine": {"type": "command", "command": command, "padding": 0}` in `settings_path`.

    Creates the file (and its directory) when absent. Refuses (ConfigError) a file that is not valid
    JSON or not a JSON object (naming the file, line and column), and a statusLine that is not
    tokenpulse's unless `force`; with `force` the replaced statusLine is remembered in the marker
    so `uninstall_statusline` restores it."""
    if not isinstance(command, str) or not command.strip():
        raise ConfigError("the statusline command is empty")
    now = now or datetime.now(UTC)
    target = _target(settings_path)
    raw = _read(target)
    wanted = statusline_value(command)
    marker = _read_marker(settings_path)
    if raw is None:
        doc = _Doc("{}\n", False, "\n", {}, 0, 1, [])
        existing, has_existing = None, False
    else:
        doc = _parse(settings_path, raw)
        has_existing = "statusLine" in doc.data
        existing = doc.data.get("statusLine")
    if has_existing and existing == wanted:
        return InstallResult(settings_path, False, f"{settings_path}: the tokenpulse statusline is already set")
    ours = has_existing and _is_ours(existing, marker)
    if has_existing and not ours and not force:
        shown = existing.get("command") if isinstance(existing, dict) else existing
        raise ConfigError(f"{settings_path}: another statusLine is set ({json.dumps(shown, ensure_ascii=False)}); "
                          "pass --force to replace it (uninstall puts it back)")
    if ours:  # a reinstall keeps what the first install replaced
        previous = marker.get("previous") if marker else None
        had_previous = bool(marker and marker.get("had_previous"))
        created = bool(marker and marker.get("created_file"))
    else:
        previous, had_previous, created = (existing if has_existing else None), has_existing, raw is None
    backup = _backup(target, raw, now) if raw is not None else None
    new_text = _set_member(doc, "statusLine", wanted)
    json.loads(new_text)  # never write a file Claude Code cannot read
    record = {"schema": MARKER_SCHEMA, "installed": wanted, "previous": previous, "had_previous": had_previous,
              "created_file": created, "backup": str(backup) if backup else (marker or {}).get("backup"),
              "installed_at": now.astimezone(UTC).isoformat()}
    _write_atomic(marker_path(settings_path), (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode())
    _write_atomic(target, _encode(doc, new_text), _mode_of(target))
    verb = "replaced the previous statusLine (uninstall restores it)" if has_existing and not ours else "set the statusLine"
    return InstallResult(settings_path, True, f"{settings_path}: {verb}", backup,
                         existing if has_existing and not ours else None)


def uninstall_statusline(settings_path: Path, *, now: datetime | None = None) -> InstallResult:
    """Remove tokenpulse's statusLine, restoring the one install replaced (see the module docstring).

    Leaves a statusLine that is not tokenpulse's alone (changed=False, a message saying so)."""
    now = now or datetime.now(UTC)
    target = _target(settings_path)
    marker = _read_marker(settings_path)
    raw = _read(target)
    if raw is None:
        marker_path(settings_path).unlink(missing_ok=True)
        return InstallResult(settings_path, False, f"{settings_path}: no such file; nothing to remove")
    doc = _parse(settings_path, raw)
    if "statusLine" not in doc.data:
        marker_path(settings_path).unlink(missing_ok=True)
        return InstallResult(settings_path, False, f"{settings_path}: no statusLine is set; nothing to remove")
    if not _is_ours(doc.data["statusLine"], marker):
        return InstallResult(settings_path, False,
                             f"{settings_path}: the statusLine is not tokenpulse's; left it alone")
    restore = bool(marker and marker.get("had_previous"))
    previous = marker.get("previous") if marker and restore else None
    backup = _backup(target, raw, now)
    if restore:
        new_text = _set_member(doc, "statusLine", previous)
        message = f"{settings_path}: restored the previous statusLine"
    else:
        new_text = _remove_member(doc, "statusLine")
        message = f"{settings_path}: removed the tokenpulse statusLine"
    remaining = json.loads(new_text)
    if not remaining and marker and marker.get("created_file"):
        target.unlink()  # install created it; nothing else was ever in it
        message = f"{settings_path}: removed the settings file tokenpulse created"
    else:
        _write_atomic(target, _encode(doc, new_text), _mode_of(target))
    marker_path(settings_path).unlink(missing_ok=True)
    return InstallResult(settings_path, True, message, backup, previous)


# ---------------------------------------------------------------------------------------------------------
# the menu-bar plugin


def plugin_text(command: str) -> str:
    return f"""#!/bin/sh
# {_PLUGIN_MARK}
# <xbar.version>v1</xbar.version>
# <xbar.author>tokenpulse</xbar.author>
# <xbar.desc>Your AI coding-tool spend today, this week and this month, against your caps.</xbar.desc>
# <xbar.dependencies>tokenpulse</xbar.dependencies>
# <swiftbar.hideRunInTerminal>true</swiftbar.hideRunInTerminal>
# <swiftbar.hideDisablePlugin>false</swiftbar.hideDisablePlugin>
#
# Written by `tokenpulse menubar install`; refreshes every 15 minutes (the `15m` in the file name).
# It only reads tokenpulse's snapshot file: it never scans logs.
exec {command} menubar
"""


def install_menubar(plugin_dir: Path, command: str) -> Path:
    """Write `<plugin_dir>/tokenpulse.15m.sh` (mode 0755) that runs `<command> menubar`.

    `command` is a shell command line (use an absolute path: SwiftBar and xbar run plugins with a
    minimal PATH; quote a path with spaces yourself)."""
    if not isinstance(command, str) or not command.strip() or "\n" in command or "\r" in command:
        raise ConfigError(f"not a usable plugin command: {command!r}")
    path = plugin_dir / PLUGIN_FILE
    _write_atomic(path, plugin_text(command.strip()).encode("utf-8"), 0o755)
    return path


def uninstall_menubar(plugin_dir: Path) -> list[Path]:
    """Remove tokenpulse's plugin from `plugin_dir` (any `tokenpulse.*.sh` it wrote, whatever the
    interval); the paths removed."""
    removed = []
    for path in sorted(plugin_dir.glob(f"{PLUGIN_NAME}.*.sh")):
        try:
            if _PLUGIN_MARK in path.read_text("utf-8", errors="replace"):
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed
