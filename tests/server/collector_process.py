"""A real `tokenpulse serve` process on loopback, with keys made for it (used by the fixtures in conftest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from http_helpers import call
from service_process import ServiceProcess
from tokenpulse.keys import hash_secret, new_key
from tokenpulse.store import open_store


@dataclass
class Collector(ServiceProcess):
    location: str = ""
    home: Path = Path()
    keys: dict[str, str] = field(default_factory=dict)

    def make_keys(self) -> None:
        """An admin key, an org ingest token, a team token and Alice's personal key."""
        store = open_store(self.location)
        try:
            now = datetime.now(UTC)
            for label, kind, extra in (("admin", "admin", {}), ("ingest", "ingest", {}),
                                       ("team", "ingest", {"team": "payments"}),
                                       ("alice", "personal", {"person": "alice@example.com"})):
                secret, key = new_key(kind, now=now, name=label, **extra)
                store.add_key(key, hash_secret(secret))
                self.keys[label] = secret
        finally:
            store.close()

    def start(self, *args: str) -> Collector:  # type: ignore[override]
        self.args = ["tokenpulse", "--db", self.location, "serve", "--port", "0", *args]
        self.env = {"TOKENPULSE_HOME": str(self.home)}
        super().start()
        return self

    def auth(self, key: str = "ingest") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[key]}"}

    def get(self, path: str, key: str = "admin") -> tuple[int, dict]:
        status, _, body = call("GET", self.url + path, headers=self.auth(key))
        import json

        return status, json.loads(body)

    def store(self):
        """The store, opened from this process (stop the server first when it is a DuckDB file)."""
        return open_store(self.location)
