"""Collector ingest throughput: sustained events/s that `tokenpulse serve` commits, per format and store.

    python bench/ingest.py [--formats otlp-protobuf,ndjson] [--backends duckdb,postgres]
        [--events 300000] [--warmup-events 20000] [--otlp-batch 512] [--ndjson-batch 1000]
        [--connections 16] [--decode-workers N] [--prefill 0] [--pg postgresql://postgres@127.0.0.1:5432/test]
        [--json]

For each format (OTLP/HTTP logs as protobuf, canonical NDJSON) and each store (a DuckDB file,
PostgreSQL) it starts a fresh `tokenpulse serve` on loopback with a fresh store (a new DuckDB file, or
a new schema that is dropped afterwards; `--prefill N` first writes N events into it directly, to
measure a store that is no longer young), makes an ingest key, and runs the load client as a separate
process (`python bench/ingest.py --client …`). The client generates its own data before any timing:

- OTLP: Claude Code `claude_code.api_request` log records (300 people, a few Anthropic models, the
  attributes Claude Code sends, resource `service.name=claude-code` plus team and department), built
  with the opentelemetry-proto classes, `--otlp-batch` records per request (512: the OpenTelemetry
  SDK's default batch);
- NDJSON: canonical `tokenpulse-events/1` usage lines (`tokenpulse.events.encode_line`),
  `--ndjson-batch` lines per request.

Every event id is unique over the whole run, so every event is a real insert. The client sends a
warm-up (not timed), then the measured events over `--connections` concurrent keep-alive connections
(aiohttp), timing each request; sustained events/s = measured events / time from the first send to the
last answer. A 2xx from the collector means "committed", so the rate is of committed events.

Then the server is stopped (SIGTERM) and the store is opened here: it must hold exactly the events
sent (warm-up and prefill included) with the same token totals, and every request must have been answered 200
with nothing rejected. Anything lost, duplicated or refused prints FAIL and the exit status is 1;
a rate below its target (50,000 events/s into DuckDB, 20,000 into PostgreSQL) only prints FAIL in
the table.

Beside each row it prints where the CPU went during the measured phase, in cores: the server's
event-loop thread (HTTP, small bodies' decoding), its other threads (the writer and the store engine),
its decode worker processes, PostgreSQL's processes, the client, and the machine as a whole; and how
busy the writer was committing (from the server's own /metrics).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import service  # noqa: E402  (bench/service.py)

FORMATS = ("otlp-protobuf", "ndjson")
BACKENDS = ("duckdb", "postgres")
TARGETS = {"duckdb": 50_000, "postgres": 20_000}
"""Sustained events/s each store must take (the issue's acceptance text)."""
PG_ADMIN_URL = os.environ.get("TOKENPULSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PATHS = {"otlp-protobuf": "/v1/logs", "ndjson": "/api/v1/events"}
CONTENT_TYPES = {"otlp-protobuf": "application/x-protobuf", "ndjson": "application/x-ndjson"}

MODELS = [  # (model id, share, $ per million input, output) — shares as in bench/claude_corpus.py
    ("claude-sonnet-4-5-20250929", 0.40, 3.0, 15.0),
    ("claude-opus-4-6", 0.30, 5.0, 25.0),
    ("claude-haiku-4-5-20251001", 0.20, 1.0, 5.0),
    ("claude-opus-4-5-20251101", 0.10, 5.0, 25.0),
]
TEAMS = [("payments", "engineering"), ("search", "engineering"), ("platform", "engineering"),
         ("mobile", "engineering"), ("data", "analytics"), ("growth", "marketing"), ("infra", "operations"),
         ("security", "operations"), ("ml", "research"), ("web", "engineering")]
PEOPLE = 300
SHAPES = 512
"""Distinct (model, token counts, cost, duration) combinations the OTLP records cycle through."""


# --- the data ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    email: str
    account_uuid: str
    team: str
    department: str


@dataclass(frozen=True)
class Usage:
    """What one API request used (the varying part of an event)."""

    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_micros: int
    duration_ms: int
    query_source: str

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


def make_people(rng: random.Random) -> list[Person]:
    people = []
    for i in range(PEOPLE):
        team, department = TEAMS[i % len(TEAMS)]
        people.append(Person(f"dev{i:03d}@example.com", str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                             team, department))
    return people


def make_usage(rng: random.Random) -> Usage:
    model, _, per_input, per_output = rng.choices(MODELS, weights=[m[1] for m in MODELS])[0]
    input_tokens, output_tokens = rng.choice([1, 3, 8, 40, 300, 2_500]), rng.randint(20, 2_500)
    cache_read, cache_write = rng.randint(5_000, 180_000), rng.randint(100, 8_000)
    cost = (input_tokens * per_input + output_tokens * per_output + cache_read * per_input * 0.1
            + cache_write * per_input * 1.25)  # micro-USD: $ per million tokens x tokens
    return Usage(model=model, input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cache_read,
                 cache_write_tokens=cache_write, cost_micros=round(cost), duration_ms=rng.randint(800, 60_000),
                 query_source=rng.choice(["repl_main_thread", "repl_main_thread", "agent:builtin", "compact"]))


@dataclass
class Corpus:
    """Request bodies, each with how many events it carries, and the tokens in all of them."""

    bodies: list[tuple[bytes, int]] = field(default_factory=list)
    tokens: int = 0

    @property
    def events(self) -> int:
        return sum(n for _, n in self.bodies)


class Generator:
    """Claude Code-shaped events with ids unique over the whole run (warm-up and measured alike)."""

    def __init__(self, seed: int, total_events: int, tag: str = "load"):
        self.rng = random.Random(seed)
        self.tag = tag
        self.nonce = f"{self.rng.getrandbits(32):08x}"
        self.people = make_people(self.rng)
        self.shapes = [make_usage(self.rng) for _ in range(SHAPES)]
        self.next = 0
        # Timestamps in whole milliseconds (as Claude Code writes them), spread over the last two days.
        self.start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        self.total = max(total_events, 1)

    def _take(self) -> tuple[int, datetime, Usage]:
        n = self.next
        self.next += 1
        return n, self.start + timedelta(milliseconds=n * 172_800_000 // self.total), self.shapes[n % SHAPES]

    # OTLP ----------------------------------------------------------------------------------------------

    def otlp(self, requests: int, batch: int) -> Corpus:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        corpus = Corpus()
        templates = [_otlp_template(shape) for shape in self.shapes]
        for _ in range(requests):
            request = ExportLogsServiceRequest()
            person = self.rng.choice(self.people)
            resource_logs = request.resource_logs.add()
            resource_logs.resource.attributes.extend(_resource_attributes(person))
            scope_logs = resource_logs.scope_logs.add()
            scope_logs.scope.name = "com.anthropic.claude_code.events"
            scope_logs.scope.version = "2.1.39"
            session = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            for sequence in range(batch):
                record = scope_logs.log_records.add()
                corpus.tokens += self._otlp_record(record, templates, person, session, sequence)
            corpus.bodies.append((request.SerializeToString(), batch))
        return corpus

    def _otlp_record(self, record, templates: list, person: Person, session: str, sequence: int) -> int:
        """Fill one `claude_code.api_request` record: a copy of its usage shape's template (copying is about
        three times faster than building each record), with the person, session, time and ids set.
        Returns its tokens."""
        n, ts, usage = self._take()
        record.CopyFrom(templates[n % SHAPES])
        nanos = int(ts.timestamp() * 1_000_000) * 1000
        record.time_unix_nano = record.observed_time_unix_nano = nanos
        a = record.attributes
        a[_AT["event.timestamp"]].value.string_value = ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        a[_AT["event.sequence"]].value.int_value = sequence
        a[_AT["session.id"]].value.string_value = session
        a[_AT["prompt.id"]].value.string_value = f"{session[:8]}-p{sequence // 8}"
        a[_AT["user.email"]].value.string_value = person.email
        a[_AT["user.account_uuid"]].value.string_value = person.account_uuid
        a[_AT["request_id"]].value.string_value = f"req_011C{self.nonce}{n:016x}"
        return usage.tokens

    # NDJSON --------------------------------------------------------------------------------------------

    def ndjson(self, requests: int, batch: int) -> Corpus:
        from tokenpulse.events import UsageEvent, encode_line

        corpus = Corpus()
        for _ in range(requests):
            person = self.rng.choice(self.people)
            session = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            lines = []
            for _ in range(batch):
                n, ts, usage = self._take()
                lines.append(encode_line(UsageEvent(
                    id=f"bench:{self.tag}:{self.nonce}:{n}", ts=ts, tool="claude_code", provider="anthropic",
                    model=usage.model, person=person.email, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                    cache_read_tokens=usage.cache_read_tokens, cache_write_tokens=usage.cache_write_tokens,
                    session=session, project=f"{person.team}-service", request_id=f"req_011C{self.nonce}{n:016x}",
                    duration_ms=usage.duration_ms, source="import", confidence="metered")))
                corpus.tokens += usage.tokens
            corpus.bodies.append((b"".join(lines), batch))
        return corpus


_ATTRIBUTE_ORDER = ("event.name", "event.timestamp", "event.sequence", "session.id", "prompt.id", "user.email",
                    "user.account_uuid", "organization.id", "terminal.type", "model", "input_tokens",
                    "output_tokens", "cache_read_tokens", "cache_creation_tokens", "cost_usd", "cost_usd_micros",
                    "duration_ms", "request_id", "speed", "query_source")
_AT = {name: i for i, name in enumerate(_ATTRIBUTE_ORDER)}


def _kv(key: str, value: str | int | float):
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(double_value=value))


def _resource_attributes(person: Person) -> list:
    """What Claude Code's process reports, plus `OTEL_RESOURCE_ATTRIBUTES` the organisation sets."""
    return [_kv(k, v) for k, v in (("service.name", "claude-code"), ("service.version", "2.1.39"),
                                   ("os.type", "linux"), ("os.version", "6.8.0"), ("host.arch", "amd64"),
                                   ("team.id", person.team), ("department", person.department),
                                   ("cost_center", f"cc-{person.department}"))]


def _otlp_template(usage: Usage):
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    values = {"event.name": "api_request", "event.timestamp": "", "event.sequence": 0, "session.id": "",
              "prompt.id": "", "user.email": "", "user.account_uuid": "", "organization.id": "org-bench",
              "terminal.type": "vscode", "model": usage.model, "input_tokens": usage.input_tokens,
              "output_tokens": usage.output_tokens, "cache_read_tokens": usage.cache_read_tokens,
              "cache_creation_tokens": usage.cache_write_tokens, "cost_usd": usage.cost_micros / 1e6,
              "cost_usd_micros": usage.cost_micros, "duration_ms": usage.duration_ms, "request_id": "",
              "speed": "normal", "query_source": usage.query_source}
    return LogRecord(severity_text="INFO", body=AnyValue(string_value="claude_code.api_request"),
                     attributes=[_kv(name, values[name]) for name in _ATTRIBUTE_ORDER])


# --- the load client (its own process) --------------------------------------------------------------------


@dataclass
class Phase:
    requests: int = 0
    events: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)


def _rejections(fmt: str, status: int, payload: bytes, events: int) -> str | None:
    """Why a request did not store all its events, or None if it did."""
    if status != 200:
        return f"HTTP {status}: {payload[:200].decode(errors='replace')}"
    if fmt == "ndjson":
        answer = json.loads(payload)
        return None if answer.get("accepted") == events and not answer.get("rejected") else f"answer {answer}"
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

    partial = ExportLogsServiceResponse.FromString(payload).partial_success
    return f"rejected {partial.rejected_log_records}: {partial.error_message}" if partial.rejected_log_records \
        else None


async def send(session, url: str, fmt: str, key: str, bodies: list[tuple[bytes, int]], connections: int) -> Phase:
    """POST every body over `connections` concurrent keep-alive connections, timing each request."""
    import aiohttp

    phase = Phase()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": CONTENT_TYPES[fmt]}
    pending = iter(bodies)

    async def worker() -> None:
        for body, events in pending:  # one iterator shared by all workers
            started = time.perf_counter()
            try:
                async with session.post(url + PATHS[fmt], data=body, headers=headers) as response:
                    status, payload = response.status, await response.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                status, payload = 0, repr(exc).encode()
            phase.latencies.append(time.perf_counter() - started)
            phase.requests += 1
            problem = _rejections(fmt, status, payload, events)
            if problem:
                phase.failures[problem[:300]] += 1
            else:
                phase.events += events

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    phase.seconds = time.perf_counter() - started
    return phase


def _say(message: dict) -> None:
    print(json.dumps(message), flush=True)


async def load(spec: dict, warmup: Corpus, measured: Corpus) -> tuple[Phase, Phase]:
    """The warm-up, then (once the parent says "go" on stdin) the measured phase, on the same connections."""
    import aiohttp

    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=spec["connections"])
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as session:
        args = (spec["url"], spec["format"], spec["key"])
        warm = await send(session, *args, warmup.bodies, spec["connections"])
        _say({"ready": True})
        await loop.run_in_executor(None, sys.stdin.readline)
        phase = await send(session, *args, measured.bodies, spec["connections"])
        _say({"done": True})
    return warm, phase


def client_main(spec: dict) -> None:
    """Generate every body, then load the server; markers and the result go to stdout as JSON lines (the
    parent snapshots CPU counters between the markers)."""
    batch = spec["batch"]
    warmup_requests = math.ceil(spec["warmup_events"] / batch)
    measured_requests = max(1, spec["events"] // batch)
    generator = Generator(spec["seed"], (warmup_requests + measured_requests) * batch)
    build = generator.otlp if spec["format"] == "otlp-protobuf" else generator.ndjson
    started = time.perf_counter()
    warmup, measured = build(warmup_requests, batch), build(measured_requests, batch)
    generated = time.perf_counter() - started
    try:
        from uvloop import run
    except ImportError:
        from asyncio import run
    warm, phase = run(load(spec, warmup, measured))
    _say({"generate_seconds": generated, "mean_body_kb": statistics.mean(len(b) for b, _ in measured.bodies) / 1024,
          "sent_events": warmup.events + measured.events, "sent_tokens": warmup.tokens + measured.tokens,
          "requests": phase.requests, "events": phase.events, "seconds": phase.seconds,
          "latencies": phase.latencies, "failures": dict(warm.failures + phase.failures)})


# --- CPU accounting (from /proc) ----------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(stat_path: str) -> float:
    try:
        fields = Path(stat_path).read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return found
    for child in children:
        found += [child, *_descendants(child)]
    return found


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
    return pids


def _machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / _TICK, sum(values) / _TICK


def cpu_snapshot(server_pid: int, client_pid: int) -> dict[str, float]:
    threads = [int(t) for t in os.listdir(f"/proc/{server_pid}/task")]
    busy, total = _machine_busy_seconds()
    return {
        "server loop": _cpu_seconds(f"/proc/{server_pid}/task/{server_pid}/stat"),
        "server other threads": sum(_cpu_seconds(f"/proc/{server_pid}/task/{t}/stat")
                                    for t in threads if t != server_pid),
        "decode workers": sum(_cpu_seconds(f"/proc/{p}/stat") for p in _descendants(server_pid)),
        "postgres": sum(_cpu_seconds(f"/proc/{p}/stat") for p in _postgres_pids()),
        "client": _cpu_seconds(f"/proc/{client_pid}/stat"),
        "machine": busy, "_wall": time.perf_counter(), "_machine_total": total,
    }


def cpu_split(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Cores each part used between two snapshots (1.0 = one core busy all the time)."""
    wall = after["_wall"] - before["_wall"]
    split = {k: round((after[k] - before[k]) / wall, 2) for k in after if not k.startswith("_")}
    split["machine"] = round((after["machine"] - before["machine"])
                             / (after["_machine_total"] - before["_machine_total"]) * (os.cpu_count() or 1), 2)
    return split


# --- the server ---------------------------------------------------------------------------------------------


class Server:
    """`tokenpulse serve` on a free loopback port (as tests/server/conftest.py starts it)."""

    def __init__(self, location: str, home: Path, decode_workers: int | None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENPULSE_")}
        env.update(TOKENPULSE_HOME=str(home), PYTHONUNBUFFERED="1")
        workers = [] if decode_workers is None else ["--decode-workers", str(decode_workers)]
        self.proc, self.url, self.log, self._drain = service.start(
            ["--db", location, "serve", "--port", "0", *workers], env)

    def commit_metrics(self, admin_key: str) -> dict[str, float]:
        """The writer's commit totals from /metrics: seconds spent committing, commits, requests committed."""
        request = urllib.request.Request(self.url + "/metrics", headers={"Authorization": f"Bearer {admin_key}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read().decode()
        wanted = {"tokenpulse_write_commit_seconds_sum": "commit_seconds",
                  "tokenpulse_write_commit_seconds_count": "commits",
                  "tokenpulse_write_group_requests_sum": "committed_requests"}
        out = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name in wanted:
                out[wanted[name]] = float(value)
        return out

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it: queued writes commit, then it exits."""
        self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait(120)
        self._drain.join(10)
        return status


@contextlib.contextmanager
def fresh_store(backend: str, scratch: Path, pg_admin: str) -> Iterator[str]:
    """A new, empty store location: a DuckDB file path, or a PostgreSQL schema of our own (dropped after)."""
    if backend == "duckdb":
        yield str(scratch / "tokenpulse.duckdb")
        return
    import psycopg

    schema = f"tp_bench_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(pg_admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise SystemExit(f"PostgreSQL is not reachable at {pg_admin} ({exc}); pass --pg URL, or --backends duckdb") from None
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            separator = "&" if "?" in pg_admin else "?"
            yield f"{pg_admin}{separator}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def prepare_store(location: str, prefill: int, seed: int) -> tuple[dict[str, str], Corpus]:
    """Keys written straight into the store (an ingest key for the client, an admin key for /metrics), and
    `prefill` events written there directly, before the server starts (ids of their own)."""
    from tokenpulse.keys import hash_secret, new_key
    from tokenpulse.pricing import load_price_book
    from tokenpulse.server.pipeline import decode_ndjson
    from tokenpulse.store import open_store

    store = open_store(location)
    try:
        secrets = {}
        for kind in ("ingest", "admin"):
            secret, key = new_key(kind, now=datetime.now(UTC), name=f"bench-{kind}")
            store.add_key(key, hash_secret(secret))
            secrets[kind] = secret
        book, generator, written = load_price_book(), Generator(seed + 1, prefill, tag="prefill"), Corpus()
        while written.events < prefill:
            chunk = generator.ndjson(1, min(20_000, prefill - written.events))
            store.write_batch(decode_ndjson(chunk.bodies[0][0], book=book).usage)
            written.bodies += [(b"", n) for _, n in chunk.bodies]
            written.tokens += chunk.tokens
        return secrets, written
    finally:
        store.close()


def stored_totals(location: str) -> tuple[int, int, int]:
    """(rows in `events`, requests and tokens summed by the daily report) of the store at `location`."""
    from tokenpulse.store import UsageQuery, open_store

    store = open_store(location)
    try:
        rows = store.usage_rows(UsageQuery(group="day"))
        return (store.counts()["events"], sum(r.requests for r in rows),
                sum(r.input_tokens + r.output_tokens + r.cache_read_tokens + r.cache_write_tokens for r in rows))
    finally:
        store.close()


# --- one combination ------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def run_client(server: Server, keys: dict[str, str], spec: dict) -> tuple[dict, dict[str, float], dict[str, float]]:
    """The client in its own process; CPU and commit counters snapshotted around its measured phase."""
    client = subprocess.Popen([sys.executable, __file__, "--client", json.dumps(spec)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert client.stdin is not None and client.stdout is not None
    try:
        messages = iter(client.stdout)
        if "ready" not in json.loads(next(messages)):
            raise SystemExit("the client did not start")
        commits_before = server.commit_metrics(keys["admin"])  # quiet: the warm-up is committed
        cpu_before = cpu_snapshot(server.proc.pid, client.pid)
        client.stdin.write("go\n")
        client.stdin.flush()
        next(messages)  # done: every measured request has its answer
        cpu_after = cpu_snapshot(server.proc.pid, client.pid)
        commits_after = server.commit_metrics(keys["admin"])
        result = json.loads(next(messages))
    except StopIteration:
        raise SystemExit(f"the client died (exit {client.wait()})") from None
    except BaseException:
        client.kill()
        raise
    finally:
        client.stdin.close()
        client.wait(60)
    commits = {k: commits_after.get(k, 0) - commits_before.get(k, 0) for k in commits_after}
    return result, cpu_split(cpu_before, cpu_after), commits


def run_combination(fmt: str, backend: str, args: argparse.Namespace, scratch: Path) -> dict:
    batch = args.otlp_batch if fmt == "otlp-protobuf" else args.ndjson_batch
    with fresh_store(backend, scratch, args.pg) as location:
        keys, prefilled = prepare_store(location, args.prefill, args.seed)
        server = Server(location, scratch / "home", args.decode_workers)
        try:
            spec = {"url": server.url, "key": keys["ingest"], "format": fmt, "batch": batch, "events": args.events,
                    "warmup_events": args.warmup_events, "connections": args.connections, "seed": args.seed}
            result, cpu, commits = run_client(server, keys, spec)
            if backend != "postgres":
                del cpu["postgres"]
        finally:
            exit_status = server.stop()
        stored, reported_requests, reported_tokens = stored_totals(location)
    problems = [f"{count} request(s): {why}" for why, count in result["failures"].items()]
    if exit_status != 0:
        problems.append(f"the server exited with status {exit_status}:\n{''.join(server.log[-20:])}")
    sent = result["sent_events"]
    expected, expected_tokens = prefilled.events + sent, prefilled.tokens + result["sent_tokens"]
    if stored != expected or reported_requests != expected:
        problems.append(f"{prefilled.events:,} events prefilled and {sent:,} sent; the store holds {stored:,} "
                        f"(reports count {reported_requests:,})")
    if reported_tokens != expected_tokens:
        problems.append(f"{expected_tokens:,} tokens prefilled and sent; reports sum {reported_tokens:,}")
    rate = result["events"] / result["seconds"]
    latencies = result["latencies"]
    return {
        "format": fmt, "backend": backend, "batch": batch, "events": result["events"],
        "seconds": round(result["seconds"], 3), "events_per_s": round(rate), "requests": result["requests"],
        "requests_per_s": round(result["requests"] / result["seconds"], 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1), "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1), "target": TARGETS[backend], "meets_target": rate >= TARGETS[backend],
        "stored_events": stored, "sent_events": sent, "prefilled_events": prefilled.events, "verified": not problems, "problems": problems,
        "mean_body_kb": round(result["mean_body_kb"], 1), "generate_seconds": round(result["generate_seconds"], 1),
        "cpu_cores": cpu,
        "writer_busy": round(commits.get("commit_seconds", 0) / result["seconds"], 2),
        "requests_per_commit": round(commits.get("committed_requests", 0) / max(commits.get("commits", 0), 1), 1),
    }


# --- output -------------------------------------------------------------------------------------------------


def machine_facts() -> dict:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)}


def settings_of(args: argparse.Namespace) -> dict:
    return {"events": args.events, "warmup_events": args.warmup_events, "prefill": args.prefill, "otlp_batch": args.otlp_batch,
            "ndjson_batch": args.ndjson_batch, "connections": args.connections,
            "decode_workers": args.decode_workers if args.decode_workers is not None
            else f"server default ({os.cpu_count()}, one per core)"}


def print_table(machine: dict, settings: dict, rows: list[dict]) -> None:
    print(f"machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gb']} GB, "
          f"Python {machine['python']}; client in a separate process on the same machine")
    print(f"settings: {settings['otlp_batch']} records per OTLP request, {settings['ndjson_batch']} lines per NDJSON "
          f"request, {settings['connections']} connections, decode workers: {settings['decode_workers']}, "
          f"{settings['events']:,} measured events after {settings['warmup_events']:,} warm-up"
          + (f", into a store prefilled with {settings['prefill']:,}" if settings["prefill"] else ", into an empty store"))
    print()
    print(f"{'format':<14} {'backend':<9} {'events':>8} {'seconds':>8} {'events/s':>9} {'req/s':>7} "
          f"{'p50 ms':>7} {'p99 ms':>7}  {'target':<20} {'stored':<8}")
    for r in rows:
        target = f">= {r['target']:,} {'PASS' if r['meets_target'] else 'FAIL'}"
        print(f"{r['format']:<14} {r['backend']:<9} {r['events']:>8,} {r['seconds']:>8.2f} {r['events_per_s']:>9,} "
              f"{r['requests_per_s']:>7.1f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f}  {target:<20} "
              f"{'ok' if r['verified'] else 'FAIL'}")
    print()
    print("CPU during the measured phase, in cores (of {}):".format(machine["cores"]))
    for r in rows:
        parts = ", ".join(f"{name} {cores:.2f}" for name, cores in r["cpu_cores"].items())
        print(f"  {r['format']:<14} {r['backend']:<9} {parts}; writer committing {r['writer_busy']:.0%} of the "
              f"time, {r['requests_per_commit']:.1f} requests per commit; bodies {r['mean_body_kb']:.0f} KB")
    for r in rows:
        for problem in r["problems"]:
            print(f"FAIL {r['format']} into {r['backend']}: {problem}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated: " + ", ".join(FORMATS))
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: " + ", ".join(BACKENDS))
    parser.add_argument("--events", type=int, default=300_000, help="measured events per combination")
    parser.add_argument("--warmup-events", type=int, default=20_000, help="sent first, not timed (but verified)")
    parser.add_argument("--prefill", type=int, default=0,
                        help="events written into each store before the server starts (steady state of a full store)")
    parser.add_argument("--otlp-batch", type=int, default=512, help="log records per OTLP request")
    parser.add_argument("--ndjson-batch", type=int, default=1000, help="lines per NDJSON request")
    parser.add_argument("--connections", type=int, default=16, help="concurrent client connections")
    parser.add_argument("--decode-workers", type=int, help="the server's --decode-workers (default: its own)")
    parser.add_argument("--pg", default=PG_ADMIN_URL, help="PostgreSQL URL; each run gets a schema of its own there")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name, allowed in (("formats", FORMATS), ("backends", BACKENDS)):
        chosen = [v.strip() for v in getattr(args, name).split(",") if v.strip()]
        if not chosen or set(chosen) - set(allowed):
            parser.error(f"--{name} takes a comma-separated list of {', '.join(allowed)}")
        setattr(args, name, chosen)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.client:
        client_main(json.loads(args.client))
        return
    rows = []
    for backend in args.backends:
        for fmt in args.formats:
            print(f"{fmt} into {backend} …", file=sys.stderr, flush=True)
            scratch = Path(tempfile.mkdtemp(prefix="tp-bench-ingest-"))
            try:
                rows.append(run_combination(fmt, backend, args, scratch))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            r = rows[-1]
            print(f"  {r['events_per_s']:,} events/s, p99 {r['p99_ms']} ms, "
                  f"{'verified' if r['verified'] else 'FAIL'}", file=sys.stderr, flush=True)
    machine, settings = machine_facts(), settings_of(args)
    if args.json:
        json.dump({"machine": machine, "settings": settings, "runs": rows}, sys.stdout, indent=2)
        print()
    else:
        print_table(machine, settings, rows)
    if not all(r["verified"] for r in rows):
        print("FAIL: a run lost, duplicated or refused events (see above)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
