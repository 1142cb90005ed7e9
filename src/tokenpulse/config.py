"""Settings: where data lives and the defaults reports use.

Precedence, lowest to highest: built-in defaults, `tokenpulse.toml` in the data directory (or
the file named by `TOKENPULSE_CONFIG`), `TOKENPULSE_*` environment variables, command-line flags.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .paths import data_dir
from .pricing import Discount
from .store import is_postgres

T = TypeVar("T")

CONFIG_NAME = "tokenpulse.toml"
DB_NAME = "tokenpulse.duckdb"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _zone_name(text: str) -> str | None:
    """An IANA zone name from `Europe/Berlin`, `:Europe/Berlin` or `/usr/share/zoneinfo/Europe/Berlin`."""
    name = text.strip().lstrip(":")
    if "zoneinfo/" in name:
        name = name.split("zoneinfo/", 1)[1]
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def local_timezone() -> str:
    """The machine's IANA time zone (`TZ`, then `/etc/localtime`, then `/etc/timezone`), else UTC."""
    candidates = [os.environ.get("TZ", "")]
    with suppress(OSError):
        candidates.append(os.readlink("/etc/localtime"))
    with suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text())
    return next((name for text in candidates if (name := _zone_name(text))), "UTC")


@dataclass
class Settings:
    home: Path
    db: Path | str
    """A DuckDB file, or a `postgresql://` URL."""
    tz: str
    week_start: int = 0
    discount: Discount = field(default_factory=Discount)
    prices: list[Path] = field(default_factory=list)
    person: str | None = None
    server: str | None = None
    """A collector (`tokenpulse serve`) to push to and read from."""
    key: str | None = None
    """The personal key for `server` (prefer TOKENPULSE_KEY to writing it in the file)."""
    config_file: Path | None = None
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The config file's tables (`[serve]`, …), for the parts that have their own settings."""


def _read_config(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def parse_week_start(value: str) -> int:
    name = value.strip().lower()
    if name not in WEEKDAYS:
        raise ConfigError(f"week start must be a day name (monday … sunday), got {value!r}")
    return WEEKDAYS.index(name)


def load_settings(home: Path | None = None, db: str | None = None) -> Settings:
    home = home or data_dir()
    config_path = Path(os.environ.get("TOKENPULSE_CONFIG", "") or home / CONFIG_NAME)
    config = _read_config(config_path)

    def setting(key: str, default: Any = None) -> Any:
        env = os.environ.get(f"TOKENPULSE_{key.upper()}")
        return env if env not in (None, "") else config.get(key, default)

    # Price files: relative paths in the config file are relative to it; in the environment, to here.
    env_prices = os.environ.get("TOKENPULSE_PRICES", "")
    if env_prices:
        prices = [Path(p).expanduser().resolve() for p in env_prices.split(os.pathsep) if p]
    else:
        listed = config.get("prices", [])
        if isinstance(listed, str):
            listed = [listed]
        prices = [config_path.parent / Path(p).expanduser() for p in listed]
    db = db or setting("db")
    return Settings(
        home=home,
        db=(db if is_postgres(db) else Path(db).expanduser()) if db else home / DB_NAME,
        tz=str(setting("tz") or local_timezone()),
        week_start=parse_week_start(str(setting("week_start", "monday"))),
        discount=Discount.parse(str(setting("discount") or "")),
        prices=prices,
        person=setting("person"),
        server=setting("server"),
        key=setting("key"),
        config_file=config_path if config_path.exists() else None,
        tables={k: v for k, v in config.items() if isinstance(v, dict)},
    )


def section_settings(cls: type[T], settings: Settings, name: str, **flags: Any) -> T:
    """A dataclass of one part's scalar settings: the `[name]` table of tokenpulse.toml, then
    `TOKENPULSE_<NAME>_<FIELD>` variables, then command-line flags (None = not given), highest last."""
    table = settings.tables.get(name, {})
    out = cls()
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        value = flags.get(f.name)
        if value is None:
            value = os.environ.get(f"TOKENPULSE_{name.upper()}_{f.name.upper()}") or table.get(f.name)
        if value is None or value == "":
            continue
        current = getattr(out, f.name)
        if current is not None and not isinstance(current, str | int | float | bool):
            continue  # a structured setting (a list or table): the part reads it from the table itself
        kind = type(current) if current is not None else str
        try:
            setattr(out, f.name, _coerce(kind, value))
        except (TypeError, ValueError):
            raise ConfigError(f"{name} setting `{f.name}` must be {kind.__name__}, got {value!r}") from None
    port = getattr(out, "port", None)
    if port is not None and not 0 <= port <= 65535:
        raise ConfigError(f"{name} setting `port` must be 0..65535, got {port}")
    return out


def _coerce(kind: type, value: Any) -> Any:
    if kind is bool and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(value)
        return lowered in ("1", "true", "yes", "on")
    return kind(value)
