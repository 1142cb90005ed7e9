"""Signing in to the dashboard: with a personal or admin key, or with a one-time link, into a cookie session.

The cookie holds a random secret; the store keeps its SHA-256 only. It is `HttpOnly` (scripts cannot read
it), `SameSite=Strict` (other sites cannot make the browser send it) and `Secure` when served over TLS.
Every form, and every API call that a cookie authenticates, also carries a CSRF token derived from the
secret (HMAC), so nothing has to be stored for it and it changes with every session.

Forms shown before sign-in (the sign-in page itself) use a double-submit token: a random cookie and the
same value in the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from ..keys import hash_secret
from ..store.web import WebSession

COOKIE = "tp_session"
LOGIN_COOKIE = "tp_login"
SESSION_HOURS = 12
LINK_MINUTES = 30


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(secret: str) -> str:
    return hmac.new(secret.encode(), b"tokenpulse-csrf", hashlib.sha256).hexdigest()[:40]


def csrf_ok(secret: str | None, sent: str | None) -> bool:
    return bool(secret and sent) and hmac.compare_digest(csrf_token(secret), sent)  # type: ignore[arg-type]


def start_session(store: object, *, actor: str, role: str, person: str | None, now: datetime) -> str:
    """A new signed-in session; returns the cookie's secret."""
    secret = new_secret()
    store.add_web_session(hash_secret(secret), WebSession(person, actor, role, now + timedelta(hours=SESSION_HOURS)),  # type: ignore[attr-defined]
                          now)
    return secret


def new_login_link(store: object, person: str, now: datetime, minutes: int = LINK_MINUTES) -> str:
    """A one-time sign-in token for `person` (the link is `<server>/login/link/<token>`)."""
    token = secrets.token_urlsafe(32)
    store.add_login_link(hash_secret(token), person, now, now + timedelta(minutes=minutes))  # type: ignore[attr-defined]
    return token
