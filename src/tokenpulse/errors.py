"""The error hierarchy.

Library code raises these; the CLI turns them into one-line messages (and an exit code)
in exactly one place, `tokenpulse.cli.main`. Nothing below the CLI prints.
"""

from __future__ import annotations

import msgspec


class TokenpulseError(Exception):
    """Base class: a problem the user can act on, with a message that says what and where."""

    exit_code = 1


class ConfigError(TokenpulseError):
    """A setting, flag or config file value is invalid."""


class PriceDataError(TokenpulseError):
    """A price file could not be read or has an invalid entry (names the file and the model/field)."""


class SourceError(TokenpulseError):
    """An input path does not exist or cannot be read as any known format."""


class ImportFailed(TokenpulseError):
    """A parse worker stopped unexpectedly; nothing it had not handed over was saved."""


class StoreError(TokenpulseError):
    """The store could not be opened or migrated."""


class InvalidEvent(TokenpulseError):
    """One event failed validation; `field` names the offending field when known."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class RequestError(TokenpulseError):
    """A request the HTTP service refuses; `status` is the HTTP status it answers with."""

    def __init__(self, message: str, status: int = 400, errors: list[dict] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.errors = errors or []
        self.headers = headers or {}


DECODE_ERRORS: tuple[type[Exception], ...] = (msgspec.DecodeError, UnicodeDecodeError)
"""What decoding untrusted JSON can raise: msgspec 0.22 raises `UnicodeDecodeError` (not a `DecodeError`) for
bytes that are not UTF-8."""


def json_problem(exc: Exception) -> str:
    """What is wrong with JSON that did not decode, for a message: msgspec's own words, or where the bytes
    stop being UTF-8."""
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {exc.start + 1}"
    return str(exc)
