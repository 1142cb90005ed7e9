"""Fixtures: the fake vendor, and a gateway in front of it on the embedded store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gateway_process import GatewayProcess, fake_vendor

from service_process import ServiceProcess


@pytest.fixture
def vendor() -> Iterator[ServiceProcess]:
    process = fake_vendor()
    yield process
    if process.proc is not None:
        process.kill()


@pytest.fixture
def start_gateway(vendor: ServiceProcess, tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    """Start a gateway with a config and keys for the given people (`location`: a store other than the default
    DuckDB file, e.g. a PostgreSQL URL shared by several gateways)."""
    started: list[GatewayProcess] = []

    def start(config: str = "", people: tuple[str, ...] = ("alice@example.com",), location: str | None = None,
              name: str = "gateway", keys: dict[str, str] | None = None) -> GatewayProcess:
        g = GatewayProcess(location=location or str(tmp_path / name / "tokenpulse.duckdb"), home=tmp_path / name,
                           upstream=vendor.url, config=config)
        if keys is None:
            g.make_keys(*people)
        else:
            g.keys = dict(keys)
        started.append(g.start())
        return g

    yield start
    for g in started:
        if g.proc is not None:
            g.kill()
