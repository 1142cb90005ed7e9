"""A tokenpulse service (`serve`, `gateway`) or the fake vendor as a real process on loopback.

It is started with port 0 and found by the `listening on URL` line it prints; its log is drained
in the background so it never blocks on a full pipe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field


@dataclass
class ServiceProcess:
    args: list[str] = field(default_factory=list)
    """What follows `python -m`, e.g. ["tokenpulse", "--db", PATH, "serve", "--port", "0"]."""
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    url: str = ""
    log: list[str] = field(default_factory=list)
    _drain: threading.Thread | None = None

    def start(self) -> ServiceProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.log = []
        self.proc = subprocess.Popen([sys.executable, "-m", *self.args], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, env=env)
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            if "listening on " in line:
                self.url = line.split("listening on ", 1)[1].split()[0]
                break
        else:
            raise AssertionError(f"{self.args[0]} did not start:\n" + "".join(self.log))
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
            assert not self._drain.is_alive(), "a child of the service outlived it (an orphaned worker?)"
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
