"""A real `tokenpulse serve` process on loopback, with keys made for it (used by the fixtures in conftest)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from http_helpers import call
from tokenpulse.keys import hash_secret, new_key
from tokenpulse.store import open_store


@dataclass
class Collector:
    location: str
    home: Path
    keys: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    url: str = ""
    log: list[str] = field(default_factory=list)
    _drain: threading.Thread | None = None

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

    def start(self, *args: str) -> Collector:
        env = {**os.environ, "TOKENPULSE_HOME": str(self.home), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tokenpulse", "--db", self.location, "serve", "--port", "0", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            if "listening on " in line:
                self.url = line.split("listening on ", 1)[1].split()[0]
                break
        else:
            raise AssertionError("the server did not start:\n" + "".join(self.log))
        # Keep draining its log so it never blocks on a full pipe; the pipe closes when the server and
        # its worker processes have all exited.
        stream = self.proc.stderr

        def drain() -> None:
            with stream:
                self.log.extend(stream)

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        return self

    def _reap(self) -> int:
        assert self.proc is not None
        status = self.proc.wait(30)
        if self._drain is not None:
            self._drain.join(10)
            assert not self._drain.is_alive(), "a process of the server outlived it (an orphaned worker?)"
        self.proc = None
        return status

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self._reap()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self._reap()

    def auth(self, key: str = "ingest") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[key]}"}

    def get(self, path: str, key: str = "admin") -> tuple[int, dict]:
        status, _, body = call("GET", self.url + path, headers=self.auth(key))
        import json

        return status, json.loads(body)

    def store(self):
        """The store, opened from this process (stop the server first when it is a DuckDB file)."""
        return open_store(self.location)
