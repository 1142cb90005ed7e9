"""Generate a realistic Claude Code transcript corpus (for benchmarks and peer comparisons).

Shape follows real Claude Code 2.1 transcripts: per project directory, one JSONL file per session and
`<session>/subagents/agent-*.jsonl` for sub-agents; each API response is written as 1-4 lines (one per
content block) sharing `message.id` and `requestId`, the early ones with a placeholder `output_tokens`;
user, progress and file-history lines in between; cache writes split into 5-minute and 1-hour TTLs;
a few sessions are resumed, which copies their lines into a second file. JSON is compact, as Claude
Code writes it.

    python bench/claude_corpus.py OUT_DIR --assistant-lines 1000000 [--seed 7] [--days 45]
        [--end 2026-12-04] [--max-prompt 200000]

OUT_DIR receives `projects/…`; point CLAUDE_CONFIG_DIR at OUT_DIR.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

MODELS = [  # (model id, share)
    ("claude-sonnet-4-5-20250929", 0.40),
    ("claude-opus-4-6", 0.30),
    ("claude-haiku-4-5-20251001", 0.20),
    ("claude-opus-4-5-20251101", 0.10),
]
WORDS = ["the", "function", "returns", "a", "value", "when", "the", "cache", "is", "warm", "so", "we", "refactor", "the", "parser", "and", "add", "tests", "for", "edge", "cases", "in", "the", "importer", "while", "keeping", "the", "public", "interface", "stable", "across", "releases"]


def dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


class Session:
    def __init__(self, rng: random.Random, project: str, start: datetime, max_prompt: int):
        self.rng = rng
        self.id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.project = project
        self.cwd = f"/home/dev/src/{project}"
        self.t = start
        self.context = rng.randint(8_000, 20_000)
        self.max_prompt = max_prompt
        self.parent: str | None = None
        self.model = rng.choices([m for m, _ in MODELS], weights=[w for _, w in MODELS])[0]

    def envelope(self, kind: str, sidechain: bool, agent: str | None) -> dict:
        u = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        line = {"parentUuid": self.parent, "isSidechain": sidechain, "userType": "external", "cwd": self.cwd,
                "sessionId": self.id, "version": "2.1.39", "gitBranch": "main"}
        if agent:
            line["agentId"] = agent
        line.update({"type": kind, "uuid": u, "timestamp": self.t.isoformat(timespec="milliseconds")
                     .replace("+00:00", "Z")})
        self.parent = u
        return line

    def user_line(self, sidechain: bool, agent: str | None) -> str:
        line = self.envelope("user", sidechain, agent)
        line["message"] = {"role": "user", "content": [
            {"tool_use_id": f"toolu_{self.rng.getrandbits(64):016x}", "type": "tool_result",
             "content": text(self.rng, self.rng.randint(3, 12))}]}
        return dumps(line)

    def response_lines(self, sidechain: bool = False, agent: str | None = None) -> list[str]:
        rng = self.rng
        msg_id = f"msg_01{rng.getrandbits(96):024x}"
        req_id = f"req_011C{rng.getrandbits(96):024x}"
        blocks = rng.choices([1, 2, 3, 4], weights=[35, 35, 20, 10])[0]
        write = rng.randint(100, 6_000) if rng.random() < 0.7 else rng.randint(6_000, 40_000)
        read = self.context
        uncached = rng.choice([1, 2, 3, 3, 5, 8, 40, 300, 2_500])
        if read + write + uncached > self.max_prompt:  # keep under the cap: the context was compacted
            read = max(self.max_prompt - write - uncached - 1_000, 5_000)
            self.context = read
        one_hour = write if not sidechain and rng.random() < 0.8 else 0
        output = rng.randint(20, 2_500)
        lines = []
        for i in range(blocks):
            final = i == blocks - 1
            usage = {"input_tokens": uncached, "cache_creation_input_tokens": write, "cache_read_input_tokens": read,
                     "cache_creation": {"ephemeral_5m_input_tokens": write - one_hour,
                                        "ephemeral_1h_input_tokens": one_hour},
                     "output_tokens": output if final else rng.randint(1, 30), "service_tier": "standard",
                     "inference_geo": "not_available"}
            if final:
                usage["server_tool_use"] = {"web_search_requests": 0, "web_fetch_requests": 0}
                usage["iterations"] = []
            kind = "tool_use" if not final and rng.random() < 0.5 else "text"
            content = ({"type": "tool_use", "id": f"toolu_{rng.getrandbits(64):016x}", "name": "Bash",
                        "input": {"command": "pytest -q tests/" + rng.choice(WORDS)}}
                       if kind == "tool_use" else {"type": "text", "text": text(rng, rng.randint(2, 12))})
            line = self.envelope("assistant", sidechain, agent)
            line["message"] = {"model": self.model, "id": msg_id, "type": "message", "role": "assistant",
                               "content": [content], "stop_reason": "end_turn" if final else None,
                               "stop_sequence": None, "usage": usage}
            line["requestId"] = req_id
            # Keep the field order Claude Code writes: requestId before type/uuid/timestamp.
            ordered = {k: v for k, v in line.items() if k not in ("type", "uuid", "timestamp")}
            ordered.update(type=line["type"], uuid=line["uuid"], timestamp=line["timestamp"])
            lines.append(dumps(ordered))
            self.t += timedelta(milliseconds=rng.randint(200, 1500))
        self.context = min(self.context + write + output, self.max_prompt)
        return lines


def generate(out: Path, assistant_lines: int, seed: int = 7, days: int = 45,
             end: datetime | None = None, max_prompt: int = 400_000) -> dict:
    """Write the corpus; returns a summary (files, lines, bytes)."""
    rng = random.Random(seed)
    end = end or datetime.now(UTC)
    start = end - timedelta(days=days)
    projects = [f"service-{i:02d}" for i in range(24)]
    written = files = total_bytes = 0
    while written < assistant_lines:
        project = rng.choice(projects)
        folder = out / "projects" / f"-home-dev-src-{project}"
        folder.mkdir(parents=True, exist_ok=True)
        session = Session(rng, project, start + timedelta(seconds=rng.uniform(0, days * 86400 - 4 * 3600)),
                          max_prompt)
        path = folder / f"{session.id}.jsonl"
        requests = rng.randint(20, 400)
        buf: list[str] = [dumps({"type": "file-history-snapshot", "messageId": str(uuid.UUID(int=rng.getrandbits(128))),
                                 "snapshot": {"trackedFileBackups": {}, "timestamp": session.t.isoformat()},
                                 "isSnapshotUpdate": False})]
        for _ in range(requests):
            if written >= assistant_lines:
                break
            if rng.random() < 0.5:
                buf.append(session.user_line(False, None))
            lines = session.response_lines()
            buf.extend(lines)
            written += len(lines)
            session.t += timedelta(seconds=rng.randint(3, 90))
        data = "\n".join(buf) + "\n"
        path.write_text(data, encoding="utf-8")
        files += 1
        total_bytes += len(data.encode())
        if rng.random() < 0.15 and written < assistant_lines:  # a sub-agent run inside the session
            agent = f"a{rng.getrandbits(28):07x}"
            sub = folder / session.id / "subagents" / f"agent-{agent}.jsonl"
            sub.parent.mkdir(parents=True, exist_ok=True)
            sub_lines: list[str] = []
            for _ in range(rng.randint(5, 40)):
                if rng.random() < 0.5:
                    sub_lines.append(session.user_line(True, agent))
                lines = session.response_lines(sidechain=True, agent=agent)
                sub_lines.extend(lines)
                written += len(lines)
            data = "\n".join(sub_lines) + "\n"
            sub.write_text(data, encoding="utf-8")
            files += 1
            total_bytes += len(data.encode())
        if rng.random() < 0.03:  # a resumed session: Claude Code copies the history into a new file
            copy = folder / f"{uuid.UUID(int=rng.getrandbits(128), version=4)}.jsonl"
            copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
            files += 1
            total_bytes += path.stat().st_size
    return {"files": files, "assistant_lines": written, "bytes": total_bytes}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--assistant-lines", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=45)
    parser.add_argument("--end", type=lambda s: datetime.fromisoformat(s).replace(tzinfo=UTC))
    parser.add_argument("--max-prompt", type=int, default=400_000,
                        help="Cap on a request's whole prompt (use 200000 to stay below long-context tiers).")
    args = parser.parse_args(argv)
    summary = generate(args.out, args.assistant_lines, args.seed, args.days, args.end, args.max_prompt)
    json.dump(summary, sys.stdout)
    print()


if __name__ == "__main__":
    main()
