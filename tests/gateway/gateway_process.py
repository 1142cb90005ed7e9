"""A real `tokenpulse gateway` process in front of the fake vendor, with virtual keys made for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from service_process import ServiceProcess
from tokenpulse.keys import hash_secret, new_key
from tokenpulse.store import open_store


def fake_vendor() -> ServiceProcess:
    return ServiceProcess(["tokenpulse.demo.fake_vendor", "--port", "0"]).start()


@dataclass
class GatewayProcess(ServiceProcess):
    location: str = ""
    home: Path = Path()
    upstream: str = ""
    config: str = ""
    """The body of tokenpulse.toml (its [gateway] table: budgets, breaker, Redis)."""
    keys: dict[str, str] = field(default_factory=dict)

    def make_keys(self, *people: str) -> None:
        """A virtual key per person (keyed by the part before @) and an admin key."""
        store = open_store(self.location)
        try:
            now = datetime.now(UTC)
            for person in people:
                secret, key = new_key("gateway", now=now, person=person)
                store.add_key(key, hash_secret(secret))
                self.keys[person.split("@")[0]] = secret
            secret, key = new_key("admin", now=now)
            store.add_key(key, hash_secret(secret))
            self.keys["admin"] = secret
        finally:
            store.close()

    def start(self, *args: str) -> GatewayProcess:  # type: ignore[override]
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "tokenpulse.toml").write_text(self.config)
        self.args = ["tokenpulse", "--db", self.location, "gateway", "--port", "0", "--anthropic-upstream",
                     self.upstream, "--openai-upstream", self.upstream, *args]
        self.env = {"TOKENPULSE_HOME": str(self.home), "TOKENPULSE_TZ": "UTC"}
        super().start()
        return self
