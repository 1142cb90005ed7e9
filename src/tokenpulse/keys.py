"""API keys: ingest tokens, personal keys and admin keys.

A key is shown once, when it is created; the store keeps only its SHA-256 (a key is 190 random bits,
so a fast hash is enough — there is nothing to guess). The first characters after the kind's prefix
are the key's public id, shown in lists so that people can tell their keys apart.

What each kind may do:

- `ingest` — send usage (OTLP, NDJSON). Org-wide, or scoped to one team: events sent with a team
  token are labelled with that team.
- `personal` — one person's key: send their own usage (`tokenpulse push`; whatever person the events
  name, they are recorded as the key's owner) and read their own reports.
- `admin` — everything: every report, the people directory, ingest.
- `gateway` — a person's virtual key for the metering gateway (`tp-…`): tools send it instead of a vendor
  key (the vendor keys stay on the gateway), and it names whose spend a request is. With it the person
  can also re-enable their own tripped breaker and raise their own cap within policy.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

KeyKind = Literal["ingest", "personal", "admin", "gateway"]
KINDS: tuple[KeyKind, ...] = ("ingest", "personal", "admin", "gateway")
PREFIX: dict[KeyKind, str] = {"ingest": "tpi_", "personal": "tpk_", "admin": "tpa_", "gateway": "tp-"}
OWNED: tuple[KeyKind, ...] = ("personal", "gateway")
"""Kinds that belong to one person."""
_ID_CHARS = 8


@dataclass
class ApiKey:
    id: str
    kind: KeyKind
    team: str | None = None
    person: str | None = None
    name: str | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def scope(self) -> str:
        if self.kind in OWNED:
            return f"person:{self.person}"
        return f"team:{self.team}" if self.team else "org"

    def may(self, action: Literal["ingest", "read_own", "read_all", "directory", "gateway"]) -> bool:
        if self.revoked_at is not None:
            return False
        if self.kind == "admin":
            return True
        if self.kind == "gateway":
            return action == "gateway"
        if action == "ingest":
            return True
        if self.kind == "personal":
            return action in ("read_own", "directory")
        return False

    def to_json(self) -> dict[str, Any]:
        def iso(ts: datetime | None) -> str | None:
            return ts.isoformat() if ts else None
        return {"id": self.id, "kind": self.kind, "scope": self.scope, "team": self.team, "person": self.person,
                "name": self.name, "created_at": iso(self.created_at), "last_used_at": iso(self.last_used_at),
                "revoked_at": iso(self.revoked_at)}


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(kind: KeyKind, *, now: datetime, team: str | None = None, person: str | None = None,
            name: str | None = None) -> tuple[str, ApiKey]:
    """A fresh key: (the secret to show once, its record)."""
    secret = PREFIX[kind] + secrets.token_urlsafe(24)
    return secret, ApiKey(id=secret[:len(PREFIX[kind]) + _ID_CHARS], kind=kind, team=team, person=person,
                          name=name, created_at=now)


def make_key(kind: Any, *, team: Any = None, person: Any = None, name: Any = None) -> tuple[str, ApiKey]:
    """A new key from a request or command line: checks that the scope fits the kind."""
    from datetime import UTC

    from .errors import ConfigError
    from .people import normalize_identity

    if kind not in KINDS:
        raise ConfigError(f"`kind` must be one of {', '.join(KINDS)}, got {kind!r}")
    for label, value in (("team", team), ("person", person), ("name", name)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"`{label}` must be a non-empty string")
    if kind in OWNED and not person:
        raise ConfigError(f"a {kind} key needs the person (their email) it belongs to")
    if kind not in OWNED and person:
        raise ConfigError("only personal and gateway keys belong to a person")
    if kind != "ingest" and team:
        raise ConfigError("only ingest tokens are scoped to a team")
    return new_key(kind, now=datetime.now(UTC), team=team, person=normalize_identity(person) if person else None,
                   name=name)


def bearer_token(header: str | None) -> str | None:
    """The token in an `Authorization: Bearer …` header (OTLP exporters send exactly that)."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
