"""A demo organisation served by a real `tokenpulse serve` process, shared by the dashboard tests of a module.

The store holds a small seeded demo org (40 people, 20 days ending 2026-11-30), its insights (the
conversation queue), two breaker incidents of one engineer (one still open), and keys: an admin key and
personal keys for an engineer, their manager, and an engineer and manager of another team.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from service_process import ServiceProcess
from tokenpulse.keys import hash_secret, make_key
from tokenpulse.people import Person
from tokenpulse.pricing import load_price_book
from tokenpulse.store.duckdb import DuckDBStore
from tokenpulse.store.governance import Incident

END = date(2026, 11, 30)
SINCE, UNTIL = "2026-11-11", "2026-11-30"
PERIOD = f"since={SINCE}&until={UNTIL}"


@dataclass
class DemoServer:
    url: str
    home: Path
    keys: dict[str, str] = field(default_factory=dict)
    """Secrets by role: admin, engineer, manager, other_engineer, other_manager."""
    people: dict[str, Person] = field(default_factory=dict)
    """The same roles' directory entries (the admin key has none)."""
    process: ServiceProcess | None = None

    def person(self, role: str) -> str:
        return self.people[role].person


def build_demo_store(home: Path) -> dict[str, Person]:
    """The demo org in `home`'s store, its conversation queue and incidents; returns the chosen people."""
    from tokenpulse.demo import org as demo_org
    from tokenpulse.insights.conversations import build_queue
    from tokenpulse.insights.detectors import detect
    from tokenpulse.reports import local_bounds

    home.mkdir(parents=True, exist_ok=True)
    store = DuckDBStore(home / "tokenpulse.duckdb")
    try:
        generated = demo_org.generate(people=40, days=20, seed=3, end=END, book=load_price_book())
        demo_org.load(generated, store)
        start, end = local_bounds("UTC", date.fromisoformat(SINCE), END)
        flags = detect(store, start, end, "UTC", expected_monthly_usd={"claude_code": 200.0})
        store.save_conversations(build_queue(store, "2026-11", start, end, "UTC", flags,
                                             datetime(2026, 11, 30, 18, tzinfo=UTC)))
        people = store.people()
        active = {r["person"] for r in store.usage_grouped(["person"], since=None, until=None)}
        managers = [p for p in people if p.role == "manager"]
        manager, other_manager = managers[0], managers[1]
        engineer = next(p for p in people if p.manager == manager.person and p.person in active)
        other = next(p for p in people if p.manager == other_manager.person and p.person in active)
        chosen = {"engineer": engineer, "manager": manager, "other_engineer": other, "other_manager": other_manager}
        tripped = datetime(2026, 11, 27, 15, tzinfo=UTC)
        store.record_incident(Incident(engineer.person, "2026-11-27", "spend_rate", tripped,
                                       {"spend_window_usd": "41.20", "window_minutes": 10}))
        store.record_incident(Incident(engineer.person, "2026-11-20", "loop", tripped - timedelta(days=7),
                                       {"repeats": 14}))
        store.close_incident(engineer.person, "2026-11-20", engineer.person, "a migration script, intended",
                             tripped - timedelta(days=7, hours=-1))
        store.record_incident(Incident(other.person, "2026-11-28", "daily_spend", tripped + timedelta(days=1),
                                       {"spend_today_usd": "212.00"}))
        return chosen
    finally:
        store.close()


def make_keys(home: Path, people: dict[str, Person]) -> dict[str, str]:
    store = DuckDBStore(home / "tokenpulse.duckdb")
    try:
        keys = {}
        secret, key = make_key("admin", name="tests")
        store.add_key(key, hash_secret(secret))
        keys["admin"] = secret
        for role, person in people.items():
            secret, key = make_key("personal", person=person.person)
            store.add_key(key, hash_secret(secret))
            keys[role] = secret
        return keys
    finally:
        store.close()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    home = tmp_path_factory.mktemp("dashboard") / "home"
    people = build_demo_store(home)
    keys = make_keys(home, people)
    env = {"TOKENPULSE_HOME": str(home), "HOME": str(home.parent), "TZ": "UTC", "TOKENPULSE_TZ": "UTC",
           "NO_COLOR": "1"}
    for name in ("TOKENPULSE_CONFIG", "TOKENPULSE_DB", "TOKENPULSE_KEY", "TOKENPULSE_SERVER"):
        env[name] = ""
    process = ServiceProcess(["tokenpulse", "serve", "--port", "0", "--decode-workers", "0"],
                             env={k: v for k, v in env.items() if v or k not in os.environ}).start()
    try:
        yield DemoServer(url=process.url, home=home, keys=keys, people=people, process=process)
    finally:
        process.stop()
