"""The people directory: who is who, in which team, under which manager, known by which aliases.

A person's id is their lower-cased work email. Tools report people by other names too — another
email, an OpenTelemetry `user.account_uuid` (written `account:<uuid>`), an anonymous install id
(`user:<id>`), a vendor user id — and each of those is an alias of one person.

The directory arrives as CSV or JSON (`POST /api/v1/people`, `tokenpulse people import`); both are
read here into `Person` records, with an error per row that names the row and the field.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .errors import DECODE_ERRORS, InvalidEvent, json_problem

FIELDS = ("email", "name", "team", "manager", "role", "aliases")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_ALIAS_SPLIT = re.compile(r"[;|,\s]+")


@dataclass
class Person:
    person: str
    """The person's id: their lower-cased email."""
    name: str | None = None
    team: str | None = None
    manager: str | None = None
    role: str | None = None
    aliases: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"email": self.person, "name": self.name, "team": self.team, "manager": self.manager,
                "role": self.role, "aliases": list(self.aliases)}


@dataclass(frozen=True)
class RowError:
    row: int
    """1-based: the CSV line number (the header is line 1), or the JSON array index + 1."""
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "message": self.message}


CASELESS_PREFIXES = ("github-login",)
"""Alias prefixes whose ids ignore case (GitHub logins), lower-cased as the connectors write them."""


def normalize_identity(text: str) -> str:
    """An identity as events carry it: emails lower-cased, `account:`/`user:` prefixes kept, the ids of
    `CASELESS_PREFIXES` lower-cased."""
    text = text.strip()
    prefix, sep, rest = text.partition(":")
    if sep and prefix.lower() in ("account", "user") and rest:
        return f"{prefix.lower()}:{rest.strip()}"
    if sep and prefix.lower() in CASELESS_PREFIXES and rest:
        return f"{prefix.lower()}:{rest.strip().lower()}"
    return text.lower() if "@" in text else text


def _email(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value.strip()):
        raise InvalidEvent(f"`{what}` must be an email address, got {value!r}", field=what)
    return value.strip().lower()


def _text(value: Any, what: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"`{what}` must be a string, got {value!r}", field=what)
    return value.strip() or None


def _aliases(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = [v for v in _ALIAS_SPLIT.split(value) if v]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise InvalidEvent(f"`aliases` must be a list of strings or one string, got {value!r}", field="aliases")
    return sorted({normalize_identity(v) for v in items if v.strip()})


def person_from(obj: dict[str, Any]) -> Person:
    """One directory entry; raises `InvalidEvent` naming the field at fault."""
    email = _email(obj.get("email"), "email")
    manager = obj.get("manager")
    person = Person(
        person=email, name=_text(obj.get("name"), "name"), team=_text(obj.get("team"), "team"),
        manager=_email(manager, "manager") if manager not in (None, "") else None,
        role=_text(obj.get("role"), "role"), aliases=_aliases(obj.get("aliases")))
    person.aliases = [a for a in person.aliases if a != email]
    return person


def parse_directory(body: bytes, content_type: str) -> tuple[list[Person], list[RowError]]:
    """People from a CSV (header row naming the columns) or JSON body (a list, or {"people": [...]}).

    Rows that cannot be read are reported and skipped; the rest are kept. A later row for the same
    email replaces an earlier one."""
    if "json" in content_type:
        rows = _json_rows(body)
    elif "csv" in content_type or "text/plain" in content_type or not content_type:
        rows = _csv_rows(body)
    else:
        raise InvalidEvent(f"the directory must be CSV (text/csv) or JSON (application/json), not {content_type}")
    people: dict[str, Person] = {}
    errors = []
    for number, row in rows:
        if not isinstance(row, dict):
            errors.append(RowError(number, "expected an object with `email`"))
            continue
        try:
            person = person_from(row)
        except InvalidEvent as exc:
            errors.append(RowError(number, str(exc)))
            continue
        people[person.person] = person
    return list(people.values()), errors


def _json_rows(body: bytes) -> list[tuple[int, Any]]:
    try:
        data = msgspec.json.decode(body)
    except DECODE_ERRORS as exc:
        raise InvalidEvent(f"not valid JSON: {json_problem(exc)}") from None
    if isinstance(data, dict) and isinstance(data.get("people"), list):
        data = data["people"]
    if not isinstance(data, list):
        raise InvalidEvent('expected a JSON list of people, or {"people": [...]}')
    return list(enumerate(data, start=1))


def _csv_rows(body: bytes) -> list[tuple[int, Any]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"the CSV is not UTF-8 (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "email" not in header:
        raise InvalidEvent(f"the CSV header must name an `email` column (columns: {', '.join(FIELDS)})")
    reader.fieldnames = header
    return [(reader.line_num, {k: v for k, v in row.items() if k in FIELDS}) for row in reader]
