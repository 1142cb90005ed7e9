"""Dashboard speed: p50 and p95 server time of every page and its JSON route on a 10M-event embedded store.

    python bench/dashboard.py [--events-target 10000000] [--requests 30] [--runs 1] [--only PATH-PART]
        [--viewers admin,manager,engineer] [--cold] [--json]

The store is the large demo organisation of `bench/detectors.py` (a generated base organisation cloned in SQL
until it holds about `--events-target` usage events over 45 days ending 2026-11-30), built once and kept
under bench/.work/dashboard with what the dashboard needs on top: the conversation queue
(`tokenpulse insights --no-import` over the whole window), a few breaker incidents, an admin key and personal
keys for one manager and one engineer of their team.

It then starts `tokenpulse serve --port 0 --decode-workers 0` on that store as a separate process and, for
every page in `tokenpulse.web.routes.PAGES` — the HTML a browser gets and its JSON route — and every viewer
the page applies to (admin, manager, engineer), sends 2 warm-up requests and then `--requests` timed ones
over one keep-alive loopback connection. The period varies between requests (30-day windows ending on
different days, and the whole 45 days), as people flip between views. The service keeps the figures of its
grouped queries until the store is next written, so repeated periods are answered from them; with `--cold`
every request asks for a period not asked before, and nothing comes from that cache. The time of a request
is its wall time on loopback, from sending it to having read the whole body.

Ids are real: /people/{person} is the engineer (a person in the manager's team); /sessions/{session} is one
of the engineer's own sessions (from their profile's `sessions`), which only its owner may open;
/shared/{token} is a share of that session the engineer creates through the API at the start of each run.

Target: p95 <= 300 ms for every page, viewer and route. With `--runs R` the whole measurement is repeated
and the table shows the medians of the runs' p50 and p95 (the machine is shared; single runs are noisy).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).parent))

import detectors  # noqa: E402  (the large store's builder, bench/detectors.py)
import service  # noqa: E402  (bench/service.py)

WORK = Path(__file__).parent / ".work" / "dashboard"
END = detectors.END
DAYS = 45
TARGET_MS = 300.0
VIEWERS = ("admin", "manager", "engineer")
WARMUPS = 2


# --- the store --------------------------------------------------------------------------------------


def _build_store(events_target: int) -> Path:
    """The large demo store under bench/.work/dashboard/large (built by bench/detectors.py's builder, or
    copied from its cache when that one was built for the same target), prepared once for the dashboard."""
    folder = WORK / "large"
    db = folder / "tokenpulse.duckdb"
    ready = folder / "dashboard.json"
    wanted = {"events_target": events_target, "days": DAYS, "base_people": detectors.BASE_PEOPLE,
              "end": END.isoformat()}
    if ready.exists() and json.loads(ready.read_text())["key"] == wanted and db.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    theirs = detectors.WORK / "large"
    marker = theirs / "built.json"
    if marker.exists() and json.loads(marker.read_text())["key"] == wanted and _copy_unlocked(theirs, folder):
        print(f"copied the large store from {theirs}", file=sys.stderr)
    else:
        print("building the large store (a few minutes)", file=sys.stderr)
        saved = detectors.WORK
        detectors.WORK = WORK
        try:
            detectors._build_large(events_target, DAYS)
        finally:
            detectors.WORK = saved
    floor = json.loads((folder / "built.json").read_text())["floor"]
    _insights(db, floor)
    secrets = _prepare(db)
    ready.write_text(json.dumps({"key": wanted, **secrets}))
    return folder


def _copy_unlocked(source: Path, target: Path) -> bool:
    """Copy another benchmark's cached store, unless a process has it open (its copy could be torn)."""
    try:
        import duckdb

        duckdb.connect(str(source / "tokenpulse.duckdb"), read_only=True).close()  # fails while it is locked
    except Exception:  # noqa: BLE001
        return False
    target.mkdir(parents=True)
    for name in ("tokenpulse.duckdb", "tokenpulse.duckdb.generation", "built.json"):
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
    return True


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "TOKENPULSE_HOME": str(home), "HOME": str(home), "TZ": "UTC", "TOKENPULSE_TZ": "UTC",
           "NO_COLOR": "1", "PYTHONUNBUFFERED": "1", "TOKENPULSE_CONFIG": str(home / "tokenpulse.toml")}
    for name in ("TOKENPULSE_DB", "TOKENPULSE_KEY", "TOKENPULSE_SERVER"):
        env.pop(name, None)
    return env


def _insights(db: Path, floor: dict[str, int]) -> None:
    """Fill the conversation queue as an admin would: `tokenpulse insights --no-import` over the window."""
    (db.parent / "tokenpulse.toml").write_text(
        "[insights.expected_monthly_usd]\n" + "".join(f"{k} = {v}\n" for k, v in floor.items()))
    first = END - timedelta(days=DAYS - 1)
    subprocess.run([sys.executable, "-m", "tokenpulse", "insights", "--no-import", "--json", "--tz", "UTC",
                    "--since", first.isoformat(), "--until", END.isoformat()],
                   check=True, env=_env(db.parent), stdout=subprocess.DEVNULL)


def _prepare(db: Path) -> dict[str, Any]:
    """Keys for an admin, a manager and an engineer of their team, and a few breaker incidents."""
    from tokenpulse.keys import hash_secret, make_key
    from tokenpulse.store.duckdb import DuckDBStore
    from tokenpulse.store.governance import Incident

    store = DuckDBStore(db)
    try:
        people = [p for p in store.people() if "~" not in p.person]  # an original, not a clone
        active = {r["person"] for r in store.usage_grouped(["person"], since=None, until=None)}
        manager = next(m for m in people if m.role == "manager"
                       and any(p.manager == m.person and p.person in active for p in people))
        team = [p for p in people if p.manager == manager.person and p.person in active]
        engineer, colleague = team[0], team[-1]
        chosen = {"manager": manager.person, "engineer": engineer.person}
        keys: dict[str, str] = {}
        secret, key = make_key("admin", name="bench")
        store.add_key(key, hash_secret(secret))
        keys["admin"] = secret
        for role, person in chosen.items():
            secret, key = make_key("personal", person=person)
            store.add_key(key, hash_secret(secret))
            keys[role] = secret
        tripped = datetime(END.year, END.month, END.day, 15, tzinfo=UTC) - timedelta(days=3)
        incidents = [
            (Incident(engineer.person, (tripped.date()).isoformat(), "spend_rate", tripped,
                      {"spend_window_usd": "41.20", "window_minutes": 10}), None),
            (Incident(engineer.person, (tripped - timedelta(days=7)).date().isoformat(), "loop",
                      tripped - timedelta(days=7), {"repeats": 14}), "a migration script, intended"),
            (Incident(colleague.person, (tripped + timedelta(days=1)).date().isoformat(), "daily_spend",
                      tripped + timedelta(days=1), {"spend_today_usd": "212.00"}), None),
        ]
        for k, p in enumerate(people[:40]):  # trips elsewhere in the org, half of them re-enabled
            at = tripped - timedelta(days=k % 20, hours=k)
            incidents.append((Incident(p.person, at.date().isoformat(), ("spend_rate", "loop", "daily_spend")[k % 3],
                                       at, {"bench": k}), "re-enabled after a look" if k % 2 else None))
        for incident, reason in incidents:
            store.record_incident(incident)
            if reason:
                store.close_incident(incident.person, incident.day, incident.person, reason,
                                     incident.tripped_at + timedelta(hours=1))
        store.checkpoint()
        return {"people": chosen, "keys": keys}
    finally:
        store.close()


def _event_count(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        con.close()


# --- the service ------------------------------------------------------------------------------------


@dataclass
class Service:
    home: Path
    proc: subprocess.Popen | None = None
    url: str = ""
    log: list[str] = field(default_factory=list)

    def start(self) -> Service:
        self.proc, self.url, self.log, _ = service.start(["serve", "--port", "0", "--decode-workers", "0"],
                                                         _env(self.home))
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


class Client:
    """One keep-alive connection with one viewer's key."""

    def __init__(self, url: str, secret: str):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        self.headers = {"Authorization": f"Bearer {secret}", "Accept-Encoding": "identity"}

    def request(self, method: str, path: str, body: Any = None, html: bool = False) -> tuple[int, bytes, float]:
        headers = {**self.headers, "Accept": "text/html" if html else "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        start = time.perf_counter()
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data, (time.perf_counter() - start) * 1000

    def json(self, path: str) -> Any:
        status, data, _ = self.request("GET", path)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


# --- the measurement --------------------------------------------------------------------------------


def periods(n: int, cold: bool = False, length: int = 30) -> list[str]:
    """The `since`/`until` of each request: mostly 30-day windows ending on different days (the default
    length), every third one the whole 45 days. `cold`: every request a different 30-day window, so that none
    is answered from the figures the service keeps until its store is next written (`length`: of the cold
    windows)."""
    if cold:
        return [f"since={END - timedelta(days=i + length - 1)}&until={END - timedelta(days=i)}" for i in range(n)]
    whole = f"since={END - timedelta(days=DAYS - 1)}&until={END}"
    out = []
    for i in range(n):
        if i % 3 == 2:
            out.append(whole)
        else:
            last = END - timedelta(days=i % 7)
            out.append(f"since={last - timedelta(days=29)}&until={last}")
    return out


@dataclass
class Target:
    page: str
    """The page's path pattern, as in PAGES."""
    path: str
    api: str
    viewers: tuple[str, ...]


def targets(ids: dict[str, str]) -> list[Target]:
    from tokenpulse.web.routes import PAGES

    fill = {"{person}": ids["person"], "{session}": quote(ids["session"], safe=""), "{token}": ids["token"]}
    viewers = {"/sessions/{session}": ("engineer",), "/me/views": ("manager", "engineer")}
    out = []
    for page in PAGES:
        path, api = page.path, page.api
        for k, v in fill.items():
            path, api = path.replace(k, v), api.replace(k, v)
        out.append(Target(page.path, path, api, viewers.get(page.path, VIEWERS)))
    return out


def measure(url: str, keys: dict[str, str], people: dict[str, str], n: int, only: str = "",
            viewers: tuple[str, ...] = VIEWERS, cold: bool = False) -> list[dict[str, Any]]:
    clients = {v: Client(url, keys[v]) for v in VIEWERS}
    try:
        engineer = clients["engineer"]
        whole = f"since={END - timedelta(days=DAYS - 1)}&until={END}"
        profile = engineer.json(f"/api/v1/profiles/{people['engineer']}?{whole}")
        sessions = sorted(profile["sessions"] or [], key=lambda s: -s["requests"])
        if not sessions:
            raise SystemExit(f"{people['engineer']} has no sessions in the window")
        session = sessions[len(sessions) // 2]["session"]  # a session of typical length
        status, data, _ = engineer.request("POST", f"/api/v1/sessions/{quote(session, safe='')}/share", body={})
        if status != 201:
            raise SystemExit(f"sharing {session}: {status} {data[:300]!r}")
        token = json.loads(data)["url"].rsplit("/", 1)[1]
        ids = {"person": people["engineer"], "session": session, "token": token}
        results = []
        for target in targets(ids):
            if only and only not in target.page:
                continue
            for kind, path in (("html", target.path), ("json", target.api)):
                for viewer in (v for v in target.viewers if v in viewers):
                    client = clients[viewer]
                    times, statuses, size = [], set(), 0
                    # Cold: the JSON route's windows are a day shorter, so that the page's did not fill them.
                    length = 30 if kind == "html" else 29
                    for i, period in enumerate(periods(WARMUPS + n, cold, length)):
                        sep = "&" if "?" in path else "?"
                        status, body, ms = client.request("GET", f"{path}{sep}{period}", html=kind == "html")
                        if i >= WARMUPS:
                            times.append(ms)
                            statuses.add(status)
                            size = max(size, len(body))
                    times.sort()
                    results.append({"page": target.page, "route": kind, "viewer": viewer,
                                    "status": sorted(statuses), "bytes": size,
                                    "p50_ms": round(statistics.median(times), 1),
                                    "p95_ms": round(_percentile(times, 0.95), 1)})
        return results
    finally:
        for c in clients.values():
            c.close()


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, -(-len(values) * q // 1))
    return values[int(rank) - 1]


def _combine(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    out = []
    for rows in zip(*runs, strict=True):
        row = dict(rows[0])
        row["p50_ms"] = round(statistics.median(r["p50_ms"] for r in rows), 1)
        row["p95_ms"] = round(statistics.median(r["p95_ms"] for r in rows), 1)
        row["status"] = sorted({s for r in rows for s in r["status"]})
        row["pass"] = row["p95_ms"] <= TARGET_MS and row["status"] == [200]
        out.append(row)
    return out


def _machine() -> str:
    import duckdb

    return (f"machine: {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}")


def _print(report: dict[str, Any]) -> None:
    print(report["machine"])
    print(f"store: {report['events']:,} usage events, {report['people']:,} people, {DAYS} days ending {END}; "
          f"{report['requests']} requests per row after {WARMUPS} warm-ups, medians of {report['runs']} run(s), "
          f"{'every request a different period (cold)' if report['cold'] else 'periods repeating'}; "
          f"target p95 <= {TARGET_MS:.0f} ms")
    header = f"{'page':<22} {'route':<5} {'viewer':<9} {'status':<7} {'bytes':>9} {'p50 ms':>8} {'p95 ms':>8}  result"
    print(header)
    print("-" * len(header))
    for r in report["rows"]:
        status = ",".join(map(str, r["status"]))
        print(f"{r['page']:<22} {r['route']:<5} {r['viewer']:<9} {status:<7} {r['bytes']:>9,} {r['p50_ms']:>8.1f} "
              f"{r['p95_ms']:>8.1f}  {'PASS' if r['pass'] else 'FAIL'}")
    passed = sum(r["pass"] for r in report["rows"])
    print(f"{passed}/{len(report['rows'])} rows pass")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events-target", type=int, default=10_000_000)
    parser.add_argument("--requests", "-n", type=int, default=30, help="timed requests per page, viewer and route")
    parser.add_argument("--runs", type=int, default=1, help="repeat the measurement; the table shows medians")
    parser.add_argument("--only", default="", help="only the pages whose path pattern contains this")
    parser.add_argument("--viewers", default=",".join(VIEWERS), help="only these viewers (comma-separated)")
    parser.add_argument("--cold", action="store_true",
                        help="every request a different period: no figures come from the service's cache")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    home = _build_store(args.events_target)
    db = home / "tokenpulse.duckdb"
    prepared = json.loads((home / "dashboard.json").read_text())
    events = _event_count(db)
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        people = con.execute("SELECT count(*) FROM people").fetchone()[0]
    finally:
        con.close()
    service = Service(home).start()
    try:
        runs = [measure(service.url, prepared["keys"], prepared["people"], args.requests, args.only,
                        tuple(v for v in args.viewers.split(",") if v), args.cold) for _ in range(args.runs)]
    finally:
        service.stop()
    report = {"machine": _machine(), "events": events, "people": people, "requests": args.requests,
              "runs": args.runs, "cold": args.cold, "target_p95_ms": TARGET_MS, "day": date.today().isoformat(), "rows": _combine(runs)}
    if args.json:
        json.dump(report, sys.stdout, indent=1)
        print()
    else:
        _print(report)
    return 0 if all(r["pass"] for r in report["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
