"""Metering gateway overhead: the tokenpulse gateway beside LiteLLM, in front of the same fake vendor.

    python bench/gateway.py [--workers 1] [--connections 32] [--duration 10] [--latency-requests 2000]
        [--rss-requests 200000] [--apis anthropic,openai] [--prompt-kb 1] [--load auto|wrk|aiohttp]
        [--litellm /path/to/litellm | --no-litellm] [--keep] [--json]

It starts the fake vendor (`python -m tokenpulse.demo.fake_vendor`, one process), then one after the
other:

- the fake vendor itself ("direct": the floor every proxy adds to);
- the tokenpulse gateway (`start_tokenpulse_gateway`: budgets and the circuit breaker on, with limits no
  run reaches, and a virtual key for the requests);
- LiteLLM 1.108.7 (`litellm[proxy]`, installed on first use into bench/.work/litellm-venv, or
  --litellm), offline, with a master key. It has no database here (its virtual keys, budgets and spend
  logs need PostgreSQL plus Prisma engine binaries that cannot be downloaded offline), so the comparison
  is of routing and metering (LiteLLM still prices every request), and the output says so.

Both proxies get the same worker count (--workers). For every call shape (Anthropic Messages and OpenAI
Chat Completions, each as JSON and as an SSE stream, the same bodies everywhere) it measures:

- requests/s at --connections connections for --duration seconds, with wrk (a Lua script posts the
  bodies) or, without wrk, an aiohttp client in its own process; every answer must be a 2xx, and the fake
  vendor must have seen at least as many requests as a proxy answered;
- latency at one connection: --latency-requests sequential keep-alive requests (http.client, with the
  garbage collector paused), p50 and p99 of the whole answer and, for streams, of the first body byte.
  The "added" figures are a proxy's percentile minus the fake vendor's own;
- the peak RSS of each server's process tree during its throughput runs.

Then the tokenpulse gateway takes --rss-requests requests (all call shapes in turn, --connections
connections) while its process tree's RSS is sampled from /proc, to show that memory stays flat: it
prints the RSS at 10%, 50% and 100% of the run (progress is read from the fake vendor's counter).

Targets (the issue's): >= 15x LiteLLM's requests/s; added latency p50 <= 1 ms and p99 <= 5 ms; RSS flat
(at 100% of the run at most 10% above the figure at 10%). Everything shares this machine's cores (load
generator, fake vendor, proxy); the CPU lines show where they went. When the gateway cannot be started,
its column says "not available" (with the reason) and the rest still runs.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import itertools
import json
import os
import queue
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import _cpu_seconds, _descendants, machine_facts, percentile  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".work"
LITELLM_VERSION = "1.108.7"
LITELLM_PACKAGES = [f"litellm[proxy]=={LITELLM_VERSION}", "prisma>=0.11,<1.0"]
"""prisma: without its Python package LiteLLM answers a bad key with a 500, not a 401 (peers.md §3)."""

THROUGHPUT_RATIO = 15
ADDED_P50_MS, ADDED_P99_MS = 1.0, 5.0
RSS_GROWTH = 0.10
TARGET_NAMES = ("direct", "tokenpulse", "litellm")
TITLES = {"direct": "direct", "tokenpulse": "tokenpulse", "litellm": "LiteLLM"}

APIS = {  # api -> (path, model, label); real model names, so that both proxies price the requests
    "anthropic": ("/v1/messages", "claude-sonnet-4-5-20250929", "Anthropic /v1/messages"),
    "openai": ("/v1/chat/completions", "gpt-4o-mini", "OpenAI /v1/chat/completions"),
    "responses": ("/v1/responses", "gpt-4o-mini", "OpenAI /v1/responses"),
}
STREAM_END = {"anthropic": b"event: message_stop", "openai": b"data: [DONE]",
              "responses": b"response.completed"}
SEQ = "@@@@SEQUENCE@@@@"
"""Stands in each body for the request's own 16-digit number: every prompt differs, as in real traffic, so the
breaker's loop detector stays on without tripping, and no proxy can answer from a cache."""
_runs = itertools.count(1)
"""Numbers each load or latency run, so that prompts differ between runs too."""


class Unavailable(Exception):
    """A server could not be started, or does not answer correctly (the reason goes into its column)."""


# --- what is sent -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request shape: an API, streamed or not, with its body (the same for every target; SEQ in its
    prompt is replaced by each request's number)."""

    api: str
    stream: bool
    body: bytes

    def numbered(self, run: int, n: int) -> bytes:
        return self.body.replace(SEQ.encode(), f"{run:04d}00{n:010d}".encode())

    @property
    def path(self) -> str:
        return APIS[self.api][0]

    @property
    def label(self) -> str:
        return APIS[self.api][2] + (" stream" if self.stream else "")


def make_calls(apis: list[str], prompt_kb: float) -> list[Call]:
    sentence = "Refactor the payment retry loop so that it backs off exponentially. "
    size = round(prompt_kb * 1024)
    prompt = (sentence * (size // len(sentence) + 1))[:max(0, size - len(SEQ) - 1)] + " " + SEQ
    calls = []
    for api in apis:
        model = APIS[api][1]
        for stream in (False, True):
            if api == "responses":
                body: dict = {"model": model, "max_output_tokens": 256, "input": prompt}
            else:
                body = {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": prompt}]}
            if stream:
                body["stream"] = True
                if api == "openai":  # what a metering-aware client asks for (a proxy may add it anyway)
                    body["stream_options"] = {"include_usage": True}
            calls.append(Call(api, stream, json.dumps(body).encode()))
    return calls


@dataclass
class Target:
    """A server to measure: its URL, the key its clients send, and its process."""

    name: str
    url: str
    key: str
    server: Server
    version: str = ""
    note: str = ""

    def headers(self, api: str) -> dict[str, str]:
        """What the official SDKs send: Anthropic's `x-api-key`, OpenAI's bearer token."""
        if api == "anthropic":
            return {"Content-Type": "application/json", "x-api-key": self.key,
                    "anthropic-version": "2023-06-01"}
        return {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"}

    @property
    def pid(self) -> int:
        return self.server.proc.pid


# --- processes ----------------------------------------------------------------------------------------------


class Server:
    """A server process we started, in a process group of its own: ready once it prints `listening on URL`
    (or once `health_path` answers 200); its output is kept for error messages; stopped by its pid
    (SIGTERM, then its group if anything is left)."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path | None = None,
                 health_path: str | None = None, port: int | None = None, timeout: float = 180):
        self.name = name
        self.log: deque[str] = deque(maxlen=300)
        self._lines: queue.Queue[str | None] = queue.Queue()
        started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace",
                                     start_new_session=True)
        threading.Thread(target=self._drain, daemon=True).start()
        try:
            if health_path is None:
                self.url = self._wait_for_listening(timeout)
            else:
                self.url = f"http://127.0.0.1:{port}"
                self._wait_for_health(self.url + health_path, timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - started

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # its stdout and stderr together
            self.log.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def _wait_for_listening(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise Unavailable(f"{self.name} exited with status {self.proc.wait()}: {self.tail(1)}")
            if match := re.search(r"listening on (http://\S+)", line):
                return match.group(1)
        raise Unavailable(f"{self.name} did not say `listening on` within {timeout:.0f} s: {self.tail()}")

    def _wait_for_health(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Unavailable(f"{self.name} exited with status {self.proc.returncode}: {self.tail(1)}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
            time.sleep(0.25)
        raise Unavailable(f"{self.name} was not healthy within {timeout:.0f} s: {self.tail()}")

    def tail(self, lines: int = 3) -> str:
        """Its last lines of output (the last line of a crash names the error)."""
        kept = [line.strip() for line in self.log if line.strip()][-lines:]
        return " | ".join(kept)[-400:] or "(no output)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # workers it left behind (the group we made for it)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that would point a server at real data, keys or a database."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOKENPULSE_", "LITELLM_", "OPENAI_", "ANTHROPIC_")) and k != "DATABASE_URL"}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_fake_vendor(scratch: Path) -> Target:
    server = Server("fake vendor", [sys.executable, "-m", "tokenpulse.demo.fake_vendor", "--port", "0"],
                    clean_env(), cwd=scratch)
    return Target("direct", server.url, "sk-fake-vendor-key", server, version="tokenpulse.demo.fake_vendor")


# >>> the tokenpulse gateway: all the bench assumes about it is in GATEWAY_TOML and the function below <<<<<<<

GATEWAY_TOML = """\
# Written by bench/gateway.py. Budgets and the circuit breaker are ON, with limits no bench run reaches, so
# every request pays for the checks (reserve before forwarding, settle after) and none is refused. Every
# prompt the bench sends is different, so the loop detector runs but does not trip.
[[gateway.budgets]]
each = "person"
usd = 1000000

[[gateway.budgets]]
usd = 100000000

[gateway.breaker]
multiplier = 1000
floor_usd = 1000000
rate_window_minutes = 10
rate_usd = 1000000
loop_repeats = 64
loop_window_minutes = 10
"""


def start_tokenpulse_gateway(scratch: Path, vendor_url: str, workers: int) -> Target:
    """The tokenpulse gateway in front of the fake vendor, with a virtual key for the bench's requests.

    What this relies on (adjust it here if the gateway changes):
    - settings from tokenpulse.toml in a scratch TOKENPULSE_HOME (GATEWAY_TOML), vendor keys from
      ANTHROPIC_API_KEY / OPENAI_API_KEY;
    - `python -m tokenpulse --db PATH keys create --kind gateway --person EMAIL --json` prints
      {"secret": ...};
    - `python -m tokenpulse --db PATH gateway --port 0 --anthropic-upstream URL --openai-upstream URL
      [--workers N]` prints `listening on http://HOST:PORT` when ready; the upstreams are origins (a
      client's `/v1/messages` goes to `{upstream}/v1/messages`); without a --workers option it runs one;
    - clients send the virtual key where the SDKs send a vendor key (`x-api-key` / `Authorization:
      Bearer`), to the vendor's own paths.
    Raises Unavailable (with the reason) when any of that fails."""
    home = scratch / "tokenpulse-home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "tokenpulse.toml").write_text(GATEWAY_TOML)
    db = str(home / "tokenpulse.duckdb")
    env = clean_env(TOKENPULSE_HOME=str(home), ANTHROPIC_API_KEY="sk-ant-fake-upstream",
                    OPENAI_API_KEY="sk-fake-upstream")
    tokenpulse = [sys.executable, "-m", "tokenpulse", "--db", db]
    made = subprocess.run([*tokenpulse, "keys", "create", "--kind", "gateway", "--person",
                           "bench@example.com", "--json"], env=env, capture_output=True, text=True)
    if made.returncode != 0:
        raise Unavailable(f"`tokenpulse keys create --kind gateway` failed ({made.returncode}): "
                          f"{made.stderr.strip()[-300:]}")
    key = json.loads(made.stdout)["secret"]
    command = [*tokenpulse, "gateway", "--port", "0", "--anthropic-upstream", vendor_url,
               "--openai-upstream", vendor_url]
    usage = subprocess.run([*tokenpulse, "gateway", "--help"], env=env, capture_output=True, text=True).stdout
    if "--workers" in usage:
        command += ["--workers", str(workers)]
    elif workers != 1:
        raise Unavailable(f"`tokenpulse gateway` has no --workers option (yet), so it cannot run {workers}")
    server = Server("tokenpulse gateway", command, env, cwd=scratch)
    return Target("tokenpulse", server.url, key, server, version="this checkout",
                  note="budgets and circuit breaker on")

# <<< end of the tokenpulse gateway's part <<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<


def ensure_litellm(work: Path) -> Path:
    """bench/.work/litellm-venv/bin/litellm, installed from the package registry on first use (a minute or
    two; 1.108.7 is the newest `litellm[proxy]` whose dependencies all resolve there, peers.md §3)."""
    venv = work / "litellm-venv"
    binary = venv / "bin" / "litellm"
    if binary.exists():
        return binary
    print(f"installing litellm[proxy]=={LITELLM_VERSION} into {venv} (once) …", file=sys.stderr, flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *LITELLM_PACKAGES],
                   check=True)
    return binary


def litellm_version(binary: Path) -> str:
    python = binary.parent / "python"
    if python.exists():
        code = "import importlib.metadata as m; print(m.version('litellm'))"
        found = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.strip()
    return "unknown version"


def litellm_config(vendor_url: str) -> str:
    """Both APIs' models routed to the fake vendor, priced from LiteLLM's bundled cost map."""
    anthropic_model, openai_model = APIS["anthropic"][1], APIS["openai"][1]
    return f"""\
model_list:
  - model_name: {anthropic_model}
    litellm_params: {{model: anthropic/{anthropic_model}, api_base: "{vendor_url}", api_key: sk-ant-fake}}
  - model_name: {openai_model}
    litellm_params: {{model: openai/{openai_model}, api_base: "{vendor_url}/v1", api_key: sk-fake}}
litellm_settings: {{drop_params: true, request_timeout: 30, num_retries: 0, telemetry: false}}
general_settings: {{}}
"""


def start_litellm(binary: Path, scratch: Path, vendor_url: str, workers: int) -> Target:
    """LiteLLM's proxy, offline (bundled cost map, no telemetry, no .env), a master key, no database."""
    folder = scratch / "litellm"
    (folder / "home").mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(litellm_config(vendor_url))
    master_key = "sk-bench-" + secrets.token_hex(16)
    env = clean_env(LITELLM_MASTER_KEY=master_key, LITELLM_LOCAL_MODEL_COST_MAP="True",
                    LITELLM_TELEMETRY_DISABLED="True", LITELLM_DONT_SHOW_FEEDBACK_BOX="True",
                    DISABLE_ADMIN_UI="True", LITELLM_LOG="ERROR", LITELLM_MODE="PRODUCTION", NO_DOCKER="1",
                    HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HOME=str(folder / "home"))
    port = free_port()
    command = [str(binary), "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port),
               "--num_workers", str(workers)]
    server = Server("LiteLLM", command, env, cwd=folder, health_path="/health/liveliness", port=port)
    return Target("litellm", server.url, master_key, server, version=litellm_version(binary),
                  note="no database: routing and per-request cost only")


# --- /proc --------------------------------------------------------------------------------------------------


def tree_pids(pid: int) -> list[int]:
    return [pid, *_descendants(pid)]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (their VmRSS summed), in MB."""
    total_kb = 0
    for p in tree_pids(pid):
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
                    break
    return total_kb / 1024


def tree_cpu_seconds(pid: int) -> float:
    return sum(_cpu_seconds(f"/proc/{p}/stat") for p in tree_pids(pid))


def children_cpu_seconds() -> float:
    """CPU used by this process's children that have exited (the load generator, once reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class RssSampler:
    """The peak RSS of a process tree, sampled every `every` seconds by a thread while a block runs."""

    def __init__(self, pid: int, every: float = 0.2):
        self.pid, self.every, self.peak_mb = pid, every, 0.0
        self._stop = threading.Event()

    def __enter__(self) -> RssSampler:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))


# --- load at many connections -------------------------------------------------------------------------------


def lua_string(value: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in value
    return f"[{level}[{value}]{level}]"


def wrk_script(target: Target, calls: list[Call], run: int) -> str:
    """A wrk script that sends the calls in turn, each with a number of its own in the prompt (the request is
    formatted once per thread, around the number), and prints a JSON summary."""
    table = []
    for call in calls:
        headers = ", ".join(f"[ {lua_string(k)} ] = {lua_string(v)}"
                            for k, v in target.headers(call.api).items())
        table.append(f"{{ {lua_string(call.path)}, {{ {headers} }}, {lua_string(call.body.decode())} }}")
    summary = ('RESULT {"requests":%d,"seconds":%f,"failed":%d,"socket_errors":%d,'
               '"p50_ms":%f,"p99_ms":%f}\\n')
    return f"""\
local calls = {{ {", ".join(table)} }}
local formatted = {{}}
local i, n, threads = 0, 0, 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
init = function(args)
  for k, c in ipairs(calls) do
    local request = wrk.format("POST", c[1], c[2], c[3])
    local s, e = string.find(request, "{SEQ}", 1, true)
    formatted[k] = {{ request:sub(1, s - 1), request:sub(e + 1) }}
  end
end
request = function()
  i = i % #formatted + 1
  n = n + 1
  return formatted[i][1] .. string.format("%04d%02d%010d", {run}, tid, n) .. formatted[i][2]
end
done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format('{summary}', summary.requests, summary.duration / 1e6, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


class Load:
    """One run of the load generator against a target, for `seconds` or until stop(): wrk, or this
    script's aiohttp client in a process of its own. Both print one `RESULT {json}` line at the end."""

    generator = "auto"
    """--load: auto (wrk when installed), wrk or aiohttp."""

    def __init__(self, target: Target, calls: list[Call], connections: int, seconds: float, scratch: Path):
        run = next(_runs)
        if self.use_wrk():
            script = scratch / "load.lua"
            script.write_text(wrk_script(target, calls, run))
            threads = max(1, min(2, os.cpu_count() or 1, connections))
            cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, int(seconds))}s",
                   "--timeout", "30s", "-s", str(script), target.url]
        else:
            spec = {"url": target.url, "connections": connections, "seconds": seconds, "run": run,
                    "calls": [{"path": c.path, "body": c.body.decode(), "headers": target.headers(c.api)}
                              for c in calls]}
            cmd = [sys.executable, __file__, "--client", json.dumps(spec)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @classmethod
    def use_wrk(cls) -> bool:
        if cls.generator == "wrk" and not shutil.which("wrk"):
            raise SystemExit("wrk is not installed (`apt-get install -y wrk`)")
        return cls.generator == "wrk" or (cls.generator == "auto" and shutil.which("wrk") is not None)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # both end the run and print their summary

    def running(self) -> bool:
        return self.proc.poll() is None

    def result(self) -> dict:
        out, err = self.proc.communicate()
        for line in out.splitlines():
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT "):])
                result["rps"] = result["requests"] / result["seconds"] if result["seconds"] else 0.0
                return result
        raise SystemExit(f"the load generator failed ({self.proc.returncode}): {err[-1000:]}")


def load_generator_name() -> str:
    if not Load.use_wrk():
        return "aiohttp client in its own process (not wrk: the client may be what limits the rate)"
    version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    first = (version.stdout or version.stderr).split("\n", 1)[0]
    return first.split(" [")[0].strip() or "wrk"


def client_main(spec: dict) -> None:
    """The fallback load client: `connections` keep-alive connections posting the calls in turn."""
    try:
        from uvloop import run
    except ImportError:
        from asyncio import run
    print("RESULT " + json.dumps(run(_client_load(spec))), flush=True)


async def _client_load(spec: dict) -> dict:
    import asyncio

    import aiohttp

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.call_later(spec["seconds"], stop.set)
    calls = [(spec["url"] + c["path"], c["body"].encode(), c["headers"]) for c in spec["calls"]]
    numbers = itertools.count(1)
    latencies: list[float] = []
    failures = Counter[str]()

    async def worker(session: aiohttp.ClientSession, n: int) -> None:
        while not stop.is_set():
            url, template, headers = calls[n % len(calls)]
            n += 1
            body = template.replace(SEQ.encode(), f"{spec['run']:04d}00{next(numbers):010d}".encode())
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status >= 300:
                        failures["status"] += 1
            except (aiohttp.ClientError, TimeoutError):
                failures["socket"] += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=spec["connections"])
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session, n) for n in range(spec["connections"])))
        seconds = time.perf_counter() - started
    return {"requests": len(latencies), "seconds": seconds, "failed": failures["status"],
            "socket_errors": failures["socket"],
            "p50_ms": percentile(latencies, 0.5) * 1000 if latencies else 0.0,
            "p99_ms": percentile(latencies, 0.99) * 1000 if latencies else 0.0}


def upstream_requests(vendor: Target) -> int:
    """How many API requests the fake vendor has answered (it is every target's upstream)."""
    with urllib.request.urlopen(vendor.url + "/_fake/stats", timeout=10) as response:
        return sum(json.loads(response.read())["requests"].values())


def throughput(target: Target, vendor: Target, call: Call, args: argparse.Namespace, scratch: Path) -> dict:
    """Requests/s at --connections for --duration, with the CPU each process used and what reached
    upstream."""
    servers = {"server": target.pid}
    if target is not vendor:
        servers["fake vendor"] = vendor.pid
    upstream_before = upstream_requests(vendor)
    cpu_before = {name: tree_cpu_seconds(pid) for name, pid in servers.items()}
    load_cpu_before, started = children_cpu_seconds(), time.perf_counter()
    result = Load(target, [call], args.connections, args.duration, scratch).result()
    wall = time.perf_counter() - started
    cpu = {name: tree_cpu_seconds(servers[name]) - before for name, before in cpu_before.items()}
    cpu["load generator"] = children_cpu_seconds() - load_cpu_before
    result["upstream_requests"] = upstream_requests(vendor) - upstream_before
    result["cpu_cores"] = {name: round(seconds / wall, 2) for name, seconds in cpu.items()}
    return result


# --- latency at one connection ------------------------------------------------------------------------------


def sequential(target: Target, call: Call, requests: int, warmup: int = 50) -> dict:
    """`requests` requests one after the other on one keep-alive connection: the whole answer's time and, for
    a stream, the first body byte's. The collector is paused, so that its pauses do not count as latency."""
    parts = urlsplit(target.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = target.headers(call.api)
    totals: list[float] = []
    firsts: list[float] = []
    failures = Counter[str]()
    run = next(_runs)
    gc.collect()
    gc.disable()
    try:
        for n in range(warmup + requests):
            body = call.numbered(run, n)
            started = time.perf_counter()
            connection.request("POST", call.path, body, headers)
            response = connection.getresponse()
            head = response.read1(65536) if call.stream else b""
            first = time.perf_counter()
            answer = head + response.read()
            done = time.perf_counter()
            if problem := answer_problem(call, response.status, answer):
                failures[problem] += 1
            if n >= warmup:
                totals.append(done - started)
                firsts.append(first - started)
    finally:
        gc.enable()
        connection.close()
    out = {"requests": requests, "p50_ms": percentile(totals, 0.5) * 1000,
           "p99_ms": percentile(totals, 0.99) * 1000, "failures": dict(failures)}
    if call.stream:
        out["first_byte_p50_ms"] = percentile(firsts, 0.5) * 1000
        out["first_byte_p99_ms"] = percentile(firsts, 0.99) * 1000
    return out


def answer_problem(call: Call, status: int, body: bytes) -> str | None:
    """Why an answer is not a complete success with its usage (None when it is)."""
    if status != 200:
        return f"HTTP {status}: {body[:200].decode(errors='replace')}"
    if call.stream:
        complete = STREAM_END[call.api] in body and b'"usage"' in body
        return None if complete else "stream incomplete or without usage"
    return None if b'"usage"' in body else "no usage in the answer"


def preflight(target: Target, calls: list[Call]) -> None:
    """A few requests of every shape, which must come back complete: otherwise nothing is measured."""
    for call in calls:
        result = sequential(target, call, requests=1, warmup=2)
        if result["failures"]:
            raise Unavailable(f"{call.label}: {next(iter(result['failures']))}")


# --- one target ---------------------------------------------------------------------------------------------


def warm_up(target: Target, calls: list[Call], args: argparse.Namespace, scratch: Path) -> None:
    """Lazy imports, caches, upstream connection pools: a few seconds of mixed load, not measured."""
    seconds = max(1, min(3, args.duration // 3))
    Load(target, calls, args.connections, seconds, scratch).result()


def measure(target: Target, vendor: Target, calls: list[Call], args: argparse.Namespace,
            scratch: Path) -> dict:
    preflight(target, calls)
    warm_up(target, calls, args, scratch)
    rows: dict[str, dict] = {}
    peak_rss = 0.0
    for call in calls:
        print(f"  {TITLES[target.name]}: {call.label} …", file=sys.stderr, flush=True)
        with RssSampler(target.pid) as rss:  # not around the latency runs: the sampler would share their GIL
            loaded = throughput(target, vendor, call, args, scratch)
        peak_rss = max(peak_rss, rss.peak_mb)
        time.sleep(0.5)
        rows[call.label] = {"throughput": loaded, "latency": sequential(target, call, args.latency_requests)}
    return {"available": True, "version": target.version, "note": target.note, "rows": rows,
            "peak_rss_mb": round(peak_rss, 1), "startup_seconds": round(target.server.startup_seconds, 1)}


def rss_run(target: Target, vendor: Target, calls: list[Call], args: argparse.Namespace,
            scratch: Path) -> dict:
    """--rss-requests requests through the target, all call shapes in turn: its tree's RSS against progress
    (the fake vendor's counter). Stops early if the load generator ends or nothing moves for 30 s."""
    total = args.rss_requests
    print(f"  {TITLES[target.name]}: RSS over {total:,} requests …", file=sys.stderr, flush=True)
    before = upstream_requests(vendor)
    load = Load(target, calls, args.connections, seconds=24 * 3600, scratch=scratch)
    samples: list[tuple[int, float]] = []
    moved = time.monotonic()
    try:
        while load.running():
            time.sleep(0.25)
            done = upstream_requests(vendor) - before
            if not samples or done > samples[-1][0]:
                moved = time.monotonic()
            elif time.monotonic() - moved > 30:
                break
            samples.append((done, tree_rss_mb(target.pid)))
            if done >= total:
                break
    finally:
        load.stop()
    result = load.result()
    at = {f"{share:.0%}": next((round(rss, 1) for done, rss in samples if done >= share * total), None)
          for share in (0.1, 0.5, 1.0)}
    start, end = at["10%"], at["100%"]
    return {"requests": total, "completed": samples[-1][0] if samples else 0, "rss_mb_at": at,
            "peak_rss_mb": round(max((rss for _, rss in samples), default=0), 1),
            "failed": result["failed"] + result["socket_errors"], "rps": round(result["rps"]),
            "flat": start is not None and end is not None and end <= start * (1 + RSS_GROWTH)}


def run_target(name: str, start: Callable[[], Target], vendor: Target, calls: list[Call],
               args: argparse.Namespace, scratch: Path) -> tuple[dict, dict | None]:
    """Start a server, measure it, stop it: (its results, its memory run or None). A server that cannot
    be started or does not answer correctly is reported as not available, not raised."""
    print(f"{TITLES[name]} …", file=sys.stderr, flush=True)
    try:
        target = start()
    except Unavailable as exc:
        print(f"  not available: {exc}", file=sys.stderr, flush=True)
        return {"available": False, "reason": str(exc)}, None
    try:
        result = measure(target, vendor, calls, args, scratch)
        if name != "tokenpulse" or not args.rss_requests:
            return result, None
        return result, rss_run(target, vendor, calls, args, scratch)
    except Unavailable as exc:
        print(f"  not available: {exc}", file=sys.stderr, flush=True)
        return {"available": False, "reason": str(exc), "version": target.version}, None
    finally:
        target.server.stop()


# --- verdicts and output ------------------------------------------------------------------------------------


def added_latency(through: dict, direct: dict) -> dict[str, float]:
    return {k: through[k] - direct[k] for k in ("p50_ms", "p99_ms", "first_byte_p50_ms", "first_byte_p99_ms")
            if k in through}


def within_latency_target(added: dict[str, float]) -> bool:
    limits = {"p50_ms": ADDED_P50_MS, "p99_ms": ADDED_P99_MS, "first_byte_p50_ms": ADDED_P50_MS,
              "first_byte_p99_ms": ADDED_P99_MS}
    return all(value <= limits[k] for k, value in added.items())


def verdicts(results: dict[str, dict], rss: dict | None) -> dict:
    """Each of the issue's targets: True or False, or None where a figure is missing."""
    direct = results["direct"]["rows"]
    ours, theirs = (results[n].get("rows", {}) for n in ("tokenpulse", "litellm"))
    out: dict[str, dict[str, bool | None]] = {"throughput": {}, "latency": {}}
    for label in direct:
        out["throughput"][label] = None if label not in ours or label not in theirs else (
            ours[label]["throughput"]["rps"] >= THROUGHPUT_RATIO * theirs[label]["throughput"]["rps"])
        out["latency"][label] = None if label not in ours else within_latency_target(
            added_latency(ours[label]["latency"], direct[label]["latency"]))
    out["rss_flat"] = {"tokenpulse": rss["flat"] if rss else None}
    return out


def problems(results: dict, rss: dict | None) -> list[str]:
    """Requests that did not come back as a complete 2xx, or that a proxy answered without its upstream."""
    found = []
    for name in TARGET_NAMES:
        for label, row in results[name].get("rows", {}).items():
            t, lat = row["throughput"], row["latency"]
            if t["failed"] or t["socket_errors"] or lat["failures"]:
                found.append(f"{TITLES[name]} {label}: {t['failed']} non-2xx and {t['socket_errors']} socket "
                             f"errors under load; one connection: {lat['failures'] or 'ok'}")
            if t["upstream_requests"] < t["requests"]:
                found.append(f"{TITLES[name]} {label}: answered {t['requests']:,} requests but the fake "
                             f"vendor saw only {t['upstream_requests']:,}")
    if rss and rss["failed"]:
        found.append(f"tokenpulse memory run: {rss['failed']:,} requests failed")
    return found


def mark(ok: bool | None) -> str:
    return "n/a" if ok is None else "PASS" if ok else "FAIL"


def describe(result: dict) -> str:
    if not result["available"]:
        return f"not available — {result['reason']}"
    parts = [result["version"], result["note"]]
    if result.get("startup_seconds"):
        parts.append(f"ready {result['startup_seconds']} s after start")
    return ", ".join(p for p in parts if p)


def print_report(report: dict) -> None:
    m, s, results = report["machine"], report["settings"], report["targets"]
    print(f"machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, Python {m['python']}; load "
          f"generator, fake vendor and proxy all on this machine, over loopback")
    print(f"settings: {s['workers']} worker(s) per proxy; load: {s['load_generator']}, {s['connections']} "
          f"connections, {s['duration']} s per run; latency: {s['latency_requests']:,} sequential requests "
          f"on 1 connection; prompts of {s['prompt_kb']:g} KB, each a different one")
    for name in TARGET_NAMES:
        print(f"  {TITLES[name]:<11} {describe(results[name])}")
    if results["litellm"]["available"]:
        print("  LiteLLM runs without a database: its virtual keys, budgets and spend logs need PostgreSQL\n"
              "  and Prisma engines that cannot be installed offline, so this compares routing and metering\n"
              "  only; tokenpulse enforces budgets and the breaker as well.")
    print_throughput(results, report["verdicts"], s["connections"])
    print_latency(results, report["verdicts"])
    print_memory(results, report["rss_run"], report["verdicts"])
    print_cpu(results)
    for problem in problems(results, report["rss_run"]):
        print("FAIL " + problem)


def _rps(result: dict, label: str) -> str:
    row = result.get("rows", {}).get(label)
    return f"{row['throughput']['rps']:,.0f}" if row else "n/a"


def print_throughput(results: dict, verdict: dict, connections: int) -> None:
    labels = list(results["direct"]["rows"])
    width = max(map(len, labels)) + 2
    print()
    print(f"requests/s at {connections} connections")
    print(f"{'call':<{width}} {'direct':>9} {'tokenpulse':>11} {'LiteLLM':>9} {'ratio':>7}  target")
    for label in labels:
        ours, theirs = (results[n].get("rows", {}).get(label) for n in ("tokenpulse", "litellm"))
        ratio = "n/a"
        if ours and theirs:
            ratio = f"{ours['throughput']['rps'] / theirs['throughput']['rps']:.1f}x"
        figures = [_rps(results[n], label) for n in TARGET_NAMES]
        print(f"{label:<{width}} {figures[0]:>9} {figures[1]:>11} {figures[2]:>9} {ratio:>7}  "
              f">= {THROUGHPUT_RATIO}x LiteLLM {mark(verdict['throughput'][label])}")


def print_latency(results: dict, verdict: dict) -> None:
    rows = results["direct"]["rows"]
    width = max(map(len, rows)) + len(" (first byte)") + 2
    print()
    print("latency at 1 connection, ms (direct: the fake vendor's own p50/p99; proxies: what they add to it)")
    print(f"{'call':<{width}} {'direct':>13} {'tokenpulse +':>15} {'LiteLLM +':>15}  target (added p50/p99)")
    for label, row in rows.items():
        kinds = [("", "p50_ms", "p99_ms")]
        if "first_byte_p50_ms" in row["latency"]:
            kinds = [(" (whole)", "p50_ms", "p99_ms"),
                     (" (first byte)", "first_byte_p50_ms", "first_byte_p99_ms")]
        direct = row["latency"]
        for suffix, p50, p99 in kinds:
            cells = [f"{direct[p50]:.2f}/{direct[p99]:.2f}"]
            for name in ("tokenpulse", "litellm"):
                theirs = results[name].get("rows", {}).get(label)
                cells.append("n/a" if not theirs else f"{theirs['latency'][p50] - direct[p50]:+.2f}/"
                                                      f"{theirs['latency'][p99] - direct[p99]:+.2f}")
            target = f"<= {ADDED_P50_MS:g}/{ADDED_P99_MS:g} {mark(verdict['latency'][label])}"
            print(f"{label + suffix:<{width}} {cells[0]:>13} {cells[1]:>15} {cells[2]:>15}  {target}")


def print_memory(results: dict, rss: dict | None, verdict: dict) -> None:
    print()
    peaks = ", ".join(f"{TITLES[n]} {results[n]['peak_rss_mb']:,.0f} MB" if results[n].get("rows")
                      else f"{TITLES[n]} n/a" for n in ("tokenpulse", "litellm"))
    vendor = results["direct"]["peak_rss_mb"]
    print(f"peak RSS under load (process tree): {peaks}; fake vendor {vendor:,.0f} MB")
    if not rss:
        print("RSS of the tokenpulse gateway over a long run: n/a  target flat: n/a")
        return
    shown = ", ".join(f"{share} {mb:,.1f} MB" if mb is not None else f"{share} n/a"
                      for share, mb in rss["rss_mb_at"].items())
    print(f"RSS of the tokenpulse gateway over {rss['requests']:,} requests ({rss['completed']:,} done, "
          f"{rss['rps']:,} req/s, {rss['failed']} failed): {shown}; peak {rss['peak_rss_mb']:,.1f} MB")
    print(f"  target flat (at most +{RSS_GROWTH:.0%} from 10% to 100% of the run): "
          f"{mark(verdict['rss_flat']['tokenpulse'])}")


def print_cpu(results: dict) -> None:
    print()
    print("CPU during the throughput runs, in cores (mean over the call shapes):")
    for name in TARGET_NAMES:
        rows = results[name].get("rows", {})
        if rows:
            parts: Counter[str] = Counter()
            for row in rows.values():
                parts.update(row["throughput"]["cpu_cores"])
            shares = ", ".join(f"{part} {total / len(rows):.2f}" for part, total in parts.items())
            print(f"  {TITLES[name]:<11} {shares}")


# --- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes of each proxy (the same for both)")
    parser.add_argument("--connections", type=int, default=32, help="connections of the throughput runs")
    parser.add_argument("--duration", type=int, default=10, help="seconds per throughput run")
    parser.add_argument("--latency-requests", type=int, default=2000,
                        help="sequential requests per latency figure")
    parser.add_argument("--rss-requests", type=int, default=200_000,
                        help="requests of the tokenpulse memory run (the issue's: 1000000; 0 skips it)")
    parser.add_argument("--apis", default="anthropic,openai", help="comma-separated: " + ", ".join(APIS))
    parser.add_argument("--prompt-kb", type=float, default=1, help="size of each request's prompt")
    parser.add_argument("--load", choices=("auto", "wrk", "aiohttp"), default="auto",
                        help="load generator of the many-connection runs (auto: wrk when installed)")
    parser.add_argument("--litellm", type=Path,
                        help="a `litellm` executable to use instead of bench/.work/litellm-venv's")
    parser.add_argument("--no-litellm", action="store_true", help="skip the peer")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (configs, the store)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.apis = [a.strip() for a in args.apis.split(",") if a.strip()]
    if not args.apis or set(args.apis) - set(APIS):
        parser.error(f"--apis takes a comma-separated list of {', '.join(APIS)}")
    return args


def run_all(args: argparse.Namespace, scratch: Path) -> dict:
    calls = make_calls(args.apis, args.prompt_kb)
    vendor = start_fake_vendor(scratch)
    try:
        print("direct (the fake vendor) …", file=sys.stderr, flush=True)
        results = {"direct": measure(vendor, vendor, calls, args, scratch)}
        results["tokenpulse"], rss = run_target(
            "tokenpulse", lambda: start_tokenpulse_gateway(scratch, vendor.url, args.workers), vendor, calls,
            args, scratch)
        if args.no_litellm:
            results["litellm"] = {"available": False, "reason": "skipped (--no-litellm)"}
        else:
            binary = args.litellm or ensure_litellm(WORK)
            results["litellm"], _ = run_target(
                "litellm", lambda: start_litellm(binary, scratch, vendor.url, args.workers), vendor, calls,
                args, scratch)
    finally:
        vendor.server.stop()
    settings = {"workers": args.workers, "connections": args.connections, "duration": args.duration,
                "latency_requests": args.latency_requests, "rss_requests": args.rss_requests,
                "apis": args.apis, "prompt_kb": args.prompt_kb, "load_generator": load_generator_name()}
    return {"machine": machine_facts(), "settings": settings, "targets": results, "rss_run": rss,
            "verdicts": verdicts(results, rss)}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    Load.generator = args.load
    if args.client:
        client_main(json.loads(args.client))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="gateway-", dir=WORK))
    try:
        report = run_all(args, scratch)
    finally:
        if args.keep:
            print(f"scratch kept: {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print_report(report)
    if problems(report["targets"], report["rss_run"]):
        print("FAIL: some requests were not answered with a complete 2xx, or not forwarded (see above)",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
