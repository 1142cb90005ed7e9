"""A seeded, reproducible demo organisation whose people leave labelled usage patterns (personas).

The demo exists so that dashboards, reports and — above all — the gaming detectors have something real-looking
to work on, with ground truth: every person carries a persona label, and each persona leaves the signature the
detectors are meant to find, with noise, while normal people do not look like any of them.

    normal          steady weekday Claude Code (Sonnet, some Opus/Haiku) and some Codex; sessions whose
                    context grows turn by turn; a few commits and PRs a week
    light           a few short sessions a week, low spend
    deep_worker     fewer, very large-context requests (mostly cache reads), costly per request, good outcomes
    fleet_builder   many parallel agent sessions, $1,000+ a month, with many commits and merged PRs
    busywork        lots of cheap short-context requests (Haiku, little cache), few outcomes per dollar
    calibrator      low usage, then a burst in the month's last days that lands just above the expected floor
    runaway_agent   normal days plus one or two days of a loop: dozens to hundreds of near-identical requests
                    (one prompt_hash) within minutes
    retry_churner   many failed / rate-limited requests, retried prompts, rejected edits, hardly any commits

Everything is drawn from `random.Random` instances derived from the seed (never the global generator), so one
seed and one end date give byte-identical NDJSON. Each person has their own generator, so adding a persona's
behaviour never shifts anyone else's events.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ..events import OutcomeEvent, UsageEvent, encode_line
from ..people import Person
from ..pricing import PriceBook, load_price_book

PERSONAS = ("normal", "light", "deep_worker", "fleet_builder", "busywork", "calibrator", "runaway_agent",
            "retry_churner")
DEFAULT_MIX = {"normal": 0.52, "light": 0.295, "deep_worker": 0.03, "fleet_builder": 0.025, "busywork": 0.03,
               "calibrator": 0.04, "runaway_agent": 0.03, "retry_churner": 0.03}
"""Shares of the individual contributors; managers are always normal or light."""
EXPECTED_MONTHLY_USD = {"claude_code": 200}
"""The expected-usage floor per tool that calibrators aim at."""
MIN_PER_PERSONA = 2
"""Every persona with a non-zero share appears at least this often (when there are enough people)."""
DOMAIN = "example.com"

SONNET, OPUS, HAIKU, GPT5 = "claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5", "gpt-5"
TIMEZONES = (-8, -5, 0, 1, 5.5)
"""UTC offsets in hours (San Francisco, New York, London, Berlin, Bangalore); fixed, no daylight saving."""

_FIRST = ("ada", "alan", "amir", "ana", "ben", "bea", "carla", "chen", "dev", "dina", "eli", "emma", "femi",
          "grace", "hana", "ivan", "jo", "kai", "lena", "liam", "maya", "mei", "nia", "omar", "pia", "priya",
          "raj", "rosa", "sam", "sara", "tariq", "tom", "uma", "vik", "wen", "yara", "yusuf", "zoe")
_LAST = ("abe", "bauer", "costa", "diaz", "eze", "fischer", "garcia", "haddad", "ito", "jensen", "kim", "kumar",
         "lopez", "meyer", "nair", "novak", "okafor", "park", "quinn", "rossi", "sato", "silva", "tan", "usman",
         "varga", "wang", "weber", "xu", "young", "zhou")
_AREAS = ("payments", "search", "platform", "mobile", "data", "infra", "growth", "identity", "billing", "ml",
          "checkout", "ads", "risk", "web", "api", "storage")
_PROJECT_KINDS = ("api", "service", "web", "worker", "sdk", "pipeline", "infra")


@dataclass
class DemoOrg:
    people: list[Person]
    personas: dict[str, str]
    """Person email -> persona name (one of `PERSONAS`)."""
    usage: list[UsageEvent]
    outcomes: list[OutcomeEvent]
    expected_monthly_usd: dict[str, int]
    """The floor per tool that the calibrators aim at, e.g. {"claude_code": 200}."""
    start: date | None = None
    end: date | None = None


# --- the directory --------------------------------------------------------------------------------------


def _build_directory(n: int, rng: random.Random) -> tuple[list[Person], dict[str, list[str]]]:
    """People in teams of about eight under a manager; managers under directors; directors under one CTO.

    Returns the people and each team's projects."""
    used: set[str] = set()

    def new_person(team: str, manager: str | None, role: str) -> Person:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local, k = f"{first}.{last}", 2
        while local in used:
            local, k = f"{first}.{last}{k}", k + 1
        used.add(local)
        account = f"{rng.getrandbits(128):032x}"
        return Person(person=f"{local}@{DOMAIN}", name=f"{first.title()} {last.title()}", team=team,
                      manager=manager, role=role, aliases=[f"account:{account[:8]}-{account[8:12]}-"
                                                           f"{account[12:16]}-{account[16:20]}-{account[20:]}"])

    teams_n = max(1, round((n - 1) / 9)) if n > 2 else 1
    directors_n = teams_n // 5 if teams_n >= 5 else 0
    while teams_n > 1 and 1 + directors_n + teams_n > n:
        teams_n -= 1
        directors_n = teams_n // 5 if teams_n >= 5 else 0
    people = [new_person("leadership", None, "cto")]
    cto = people[0].person
    directors = [new_person(f"{_AREAS[i % len(_AREAS)]}-group", cto, "director") for i in range(directors_n)]
    people += directors
    team_names = [f"{_AREAS[i % len(_AREAS)]}" + (f"-{i // len(_AREAS) + 1}" if i >= len(_AREAS) else "")
                  for i in range(teams_n)]
    projects = {t: [f"{t}-{kind}" for kind in rng.sample(_PROJECT_KINDS, rng.randint(2, 4))] for t in team_names}
    managers = []
    for i, team in enumerate(team_names):
        boss = directors[i % directors_n].person if directors else cto
        if n > 1 + directors_n + i:
            managers.append(new_person(team, boss, "manager"))
    people += managers
    for i in range(n - len(people)):
        m = managers[i % len(managers)] if managers else people[0]
        people.append(new_person(m.team or "leadership", m.person, "engineer"))
    projects.setdefault("leadership", ["eng-handbook", "planning-tools"])
    for d in directors:
        projects[d.team or ""] = ["architecture-notes"]
    return people, projects


def _mix_counts(n: int, mix: dict[str, float]) -> dict[str, int]:
    """How many individual contributors get each persona: shares rounded by largest remainder, then every
    persona with a share lifted to `MIN_PER_PERSONA`, taken from the commonest persona."""
    unknown = set(mix) - set(PERSONAS)
    if unknown:
        raise ValueError(f"unknown persona(s) in mix: {', '.join(sorted(unknown))}; known: {', '.join(PERSONAS)}")
    if any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError("persona shares must be non-negative and not all zero")
    total = sum(mix.values())
    exact = {p: n * mix.get(p, 0) / total for p in PERSONAS}
    counts = {p: math.floor(v) for p, v in exact.items()}
    for p in sorted(PERSONAS, key=lambda p: (counts[p] - exact[p], PERSONAS.index(p)))[: n - sum(counts.values())]:
        counts[p] += 1
    for p in PERSONAS:
        while mix.get(p, 0) > 0 and counts[p] < MIN_PER_PERSONA:
            donor = max(PERSONAS, key=lambda q: (counts[q], -PERSONAS.index(q)))
            if counts[donor] <= MIN_PER_PERSONA:
                break
            counts[donor] -= 1
            counts[p] += 1
    return counts


# --- one person's events --------------------------------------------------------------------------------


class _Gen:
    """Builds one person's events with their own random generator and id counter."""

    def __init__(self, seed: int, index: int, email: str, projects: Sequence[str], tz: float):
        self.rng = random.Random(f"tokenpulse-demo:{seed}:{index}")
        self.email = email
        self.projects = list(projects)
        self.tz = tz
        self.prefix = f"demo-{seed}-{index}-"
        self.n = 0
        self.usage: list[UsageEvent] = []
        self.outcomes: list[OutcomeEvent] = []

    def hexid(self, bits: int = 64) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def local_start(self, day: date, hour: float) -> datetime:
        """A UTC instant at `hour` o'clock local time on `day`, to the millisecond."""
        ms = int((hour - self.tz) * 3_600_000) + self.rng.randrange(60_000)
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(milliseconds=ms)

    def request(self, ts: datetime, tool: str, model: str, session: str, project: str, *, input: int = 0,
                output: int = 0, cache_read: int = 0, cache_write: int = 0, reasoning: int = 0,
                status: str = "ok", prompt_hash: str | None = None) -> UsageEvent:
        self.n += 1
        if status != "ok":  # a failed request is not billed
            input = output = cache_read = cache_write = reasoning = 0
            duration = 200 + self.rng.randrange(1_500)
        else:
            duration = 800 + output * 12 + self.rng.randrange(4_000)
        event = UsageEvent(
            id=f"{self.prefix}u{self.n}", ts=ts, tool=tool, model=model, person=self.email,
            provider="openai" if model.startswith("gpt") else "anthropic",
            input_tokens=input, output_tokens=output, cache_read_tokens=cache_read, cache_write_tokens=cache_write,
            reasoning_tokens=min(reasoning, output), session=session, project=project,
            request_id=f"req_{self.hexid(96)}", status=status,
            duration_ms=duration,
            prompt_hash=prompt_hash or self.hexid(), source="import", confidence="metered")
        self.usage.append(event)
        return event

    def outcome(self, ts: datetime, kind: str, count: int, tool: str, session: str | None, project: str) -> None:
        if count <= 0:
            return
        self.n += 1
        self.outcomes.append(OutcomeEvent(id=f"{self.prefix}o{self.n}", ts=ts, type=kind, count=count,
                                          person=self.email, tool=tool, session=session, project=project))

    def session(self, start: datetime, n: int, *, tool: str = "claude_code", model: str = SONNET,
                ctx_start: tuple[int, int] = (18_000, 36_000), growth: tuple[int, int] = (8_000, 36_000),
                output: tuple[int, int] = (1_000, 11_000), ctx_cap: int = 170_000, gap_s: tuple[int, int] = (20, 240),
                error_rate: float = 0.015, retry_rate: float = 0.5, haiku_share: float = 0.08,
                project: str | None = None) -> tuple[datetime, str, str]:
        """A working session of `n` requests whose context grows turn by turn (compacted at `ctx_cap`).

        Anthropic-style requests read the context so far from cache and write the new turn to it; OpenAI-style
        ones count the new turn as (uncached) input and the rest as cached input. Failed requests are usually
        retried with the same prompt. Returns when it ended, the session id and the project."""
        rng = self.rng
        sid = self.hexid(128)
        project = project or rng.choice(self.projects)
        ts = start
        ctx = 0
        openai = model.startswith("gpt")
        for _ in range(n):
            if ctx == 0 or ctx > ctx_cap:
                ctx, fresh = rng.randint(*ctx_start), True
            else:
                fresh = False
            new = rng.randint(*growth)
            out = rng.randint(*output)
            m = HAIKU if not openai and rng.random() < haiku_share else model
            prompt = self.hexid()
            attempts = 1
            while True:
                status = "ok"
                if rng.random() < error_rate:
                    status = "rate_limited" if rng.random() < 0.4 else "error"
                if openai:
                    self.request(ts, tool, m, sid, project, input=new if not fresh else ctx,
                                 cache_read=0 if fresh else ctx, output=out, reasoning=out // rng.randint(2, 5),
                                 status=status, prompt_hash=prompt)
                elif m == HAIKU:  # Claude Code's small side requests: short, uncached
                    self.request(ts, tool, m, sid, project, input=rng.randint(300, 3_000),
                                 output=rng.randint(20, 400), status=status, prompt_hash=prompt)
                else:
                    self.request(ts, tool, m, sid, project, input=rng.randint(3, 400),
                                 cache_read=0 if fresh else ctx, cache_write=ctx if fresh else new, output=out,
                                 status=status, prompt_hash=prompt)
                ts += timedelta(milliseconds=rng.randint(gap_s[0] * 1000, gap_s[1] * 1000))
                if status == "ok" or rng.random() >= retry_rate or attempts >= 5:
                    break
                attempts += 1
            if not fresh:
                ctx += new
        return ts, sid, project

    def work_outcomes(self, ts: datetime, tool: str, sid: str, project: str, requests: int, *, commit_p: float,
                      commits: tuple[int, int] = (1, 2), accept: float = 0.45, reject: float = 0.08,
                      lines: tuple[int, int] = (20, 400)) -> None:
        """What a session produced: accepted/rejected edits, lines, sometimes a commit."""
        rng = self.rng
        accepted = sum(rng.random() < accept for _ in range(requests))
        rejected = sum(rng.random() < reject for _ in range(requests))
        self.outcome(ts, "edit_accepted", accepted, tool, sid, project)
        self.outcome(ts, "edit_rejected", rejected, tool, sid, project)
        if accepted:
            added = rng.randint(*lines)
            self.outcome(ts, "lines_added", added, tool, sid, project)
            self.outcome(ts, "lines_removed", int(added * rng.uniform(0.05, 0.6)), tool, sid, project)
        if rng.random() < commit_p:
            self.outcome(ts + timedelta(seconds=rng.randint(30, 900)), "commit", rng.randint(*commits), tool, sid,
                         project)


def _weekday(day: date) -> bool:
    return day.weekday() < 5


def _pick_tool(rng: random.Random, codex: float = 0.15, cursor: float = 0.05) -> tuple[str, str]:
    r = rng.random()
    if r < codex:
        return "codex", GPT5
    if r < codex + cursor:
        return "cursor", rng.choice((SONNET, GPT5))
    return "claude_code", OPUS if rng.random() < 0.25 else SONNET


def _regular_days(g: _Gen, days: Sequence[date], *, active_p: float, sessions: tuple[int, int],
                  requests: tuple[int, int], commit_p: float, pr_p: float, weekend_p: float = 0.06,
                  error_rate: float = 0.015, skip: Iterable[date] = ()) -> None:
    """Ordinary working days: a few sessions at working hours, outcomes after them, a PR now and then."""
    rng = g.rng
    skipped = set(skip)
    for day in days:
        if day in skipped:
            continue
        if rng.random() >= (active_p if _weekday(day) else weekend_p):
            continue
        k = rng.randint(*sessions)
        hours = sorted(rng.uniform(8.5, 17.5) for _ in range(k))
        last = None
        for hour in hours:
            tool, model = _pick_tool(rng)
            n = rng.randint(*requests)
            end, sid, project = g.session(g.local_start(day, hour), n, tool=tool, model=model, error_rate=error_rate)
            g.work_outcomes(end, tool, sid, project, n, commit_p=commit_p)
            last = (end, tool, sid, project)
        if last and rng.random() < pr_p:
            g.outcome(last[0] + timedelta(minutes=rng.randint(5, 90)), "pull_request", 1, last[1], last[2], last[3])


def _normal(g: _Gen, days: Sequence[date], **_: Any) -> None:
    scale = g.rng.lognormvariate(0, 0.35)  # people differ in how much they use the tools
    lo, hi = max(1, round(3 * scale)), max(2, round(9 * scale))
    _regular_days(g, days, active_p=0.85, sessions=(1, 2), requests=(lo, hi), commit_p=0.4, pr_p=0.25)


def _light(g: _Gen, days: Sequence[date], **_: Any) -> None:
    _regular_days(g, days, active_p=0.35, sessions=(1, 1), requests=(2, 5), commit_p=0.35, pr_p=0.12,
                  weekend_p=0.01)


def _deep_worker(g: _Gen, days: Sequence[date], **_: Any) -> None:
    """Few sessions that load a large code base into context (mostly cache reads), on Sonnet's 1M context."""
    rng = g.rng
    for day in days:
        if not _weekday(day) or rng.random() >= 0.8:
            continue
        for hour in sorted(rng.uniform(9, 16) for _ in range(rng.randint(1, 2))):
            model = OPUS if rng.random() < 0.25 else SONNET
            n = rng.randint(3, 8)
            end, sid, project = g.session(g.local_start(day, hour), n, model=model, ctx_start=(220_000, 420_000),
                                          growth=(20_000, 70_000), output=(2_000, 9_000), ctx_cap=750_000,
                                          gap_s=(90, 600), haiku_share=0.0)
            g.work_outcomes(end, "claude_code", sid, project, n, commit_p=0.8, accept=0.6, lines=(80, 600))
        if rng.random() < 0.45:
            g.outcome(g.local_start(day, 17), "pull_request", 1, "claude_code", None, rng.choice(g.projects))


def _fleet_builder(g: _Gen, days: Sequence[date], **_: Any) -> None:
    """Several agent sessions at once, most days, weekends too; each agent lands commits, many become PRs."""
    rng = g.rng
    for day in days:
        if rng.random() >= (0.92 if _weekday(day) else 0.45):
            continue
        for _ in range(rng.randint(4, 7) if _weekday(day) else rng.randint(1, 3)):
            model = OPUS if rng.random() < 0.7 else SONNET
            n = rng.randint(12, 30)
            start = g.local_start(day, rng.uniform(8, 18))
            end, sid, project = g.session(start, n, model=model, ctx_start=(20_000, 40_000),
                                          growth=(10_000, 40_000), output=(8_000, 26_000), ctx_cap=190_000,
                                          gap_s=(15, 120), haiku_share=0.03, error_rate=0.01)
            g.work_outcomes(end, "claude_code", sid, project, n, commit_p=0.9, commits=(1, 4), accept=0.7,
                            lines=(100, 1_500))
            if rng.random() < 0.55:
                g.outcome(end + timedelta(minutes=rng.randint(10, 120)), "pull_request", 1, "claude_code", sid, project)


def _busywork(g: _Gen, days: Sequence[date], **_: Any) -> None:
    """Many tiny sessions of short, uncached prompts with long answers: volume without much to show."""
    rng = g.rng
    for day in days:
        if rng.random() >= (0.92 if _weekday(day) else 0.2):
            continue
        for _ in range(rng.randint(10, 24)):
            start = g.local_start(day, rng.uniform(8.5, 17.5))
            sid, project = g.hexid(128), rng.choice(g.projects)
            ts = start
            n = rng.randint(1, 5)
            for _ in range(n):
                model = HAIKU if rng.random() < 0.5 else SONNET
                g.request(ts, "claude_code", model, sid, project, input=rng.randint(150, 2_500),
                          cache_read=rng.randint(0, 1_500) if rng.random() < 0.2 else 0,
                          output=rng.randint(2_000, 8_000), status="error" if rng.random() < 0.015 else "ok")
                ts += timedelta(milliseconds=rng.randint(5_000, 60_000))
            if rng.random() < 0.15:
                g.outcome(ts, "edit_accepted", 1, "claude_code", sid, project)
        if rng.random() < 0.06:
            g.outcome(g.local_start(day, 17), "commit", 1, "claude_code", None, rng.choice(g.projects))


def _calibrator(g: _Gen, days: Sequence[date], *, book: PriceBook, floor: dict[str, int], **_: Any) -> None:
    """Light use all month, then — in the month's last days — a burst that lifts Claude Code spend just over the
    floor. Only months whose last day is inside the window get the top-up (the current one is not over yet)."""
    rng = g.rng
    _regular_days(g, days, active_p=0.55, sessions=(1, 2), requests=(3, 8), commit_p=0.35, pr_p=0.12,
                  weekend_p=0.0)
    floor_micros = floor.get("claude_code", 0) * 1_000_000
    if not floor_micros:
        return
    for e in g.usage:
        book.price(e)
    spent: dict[tuple[int, int], int] = {}
    for e in g.usage:
        if e.tool == "claude_code":
            key = (e.ts.year, e.ts.month)
            spent[key] = spent.get(key, 0) + (e.cost_micros or 0)
    in_window = set(days)
    for day in days:
        last = (day + timedelta(days=1)).month != day.month
        if not last:
            continue
        # The burst runs on the last two to four days before the final one (so no time zone tips it over).
        burst_days = [day - timedelta(days=k) for k in range(rng.randint(2, 4), 0, -1)]
        burst_days = [d for d in burst_days if d in in_window]
        if not burst_days:
            continue
        target = floor_micros * rng.uniform(1.005, 1.06)
        total = spent.get((day.year, day.month), 0)
        i = 0
        while total < target:
            bday = burst_days[i % len(burst_days)]
            i += 1
            start = g.local_start(bday, rng.uniform(9, 15))
            sid, project, ts, ctx = g.hexid(128), rng.choice(g.projects), start, rng.randint(40_000, 80_000)
            for k in range(rng.randint(8, 20)):
                if total >= target:
                    break
                new = rng.randint(20_000, 50_000)
                e = g.request(ts, "claude_code", OPUS, sid, project, input=rng.randint(5, 300),
                              cache_read=ctx if k else 0, cache_write=new if k else ctx,
                              output=rng.randint(6_000, 16_000))
                book.price(e)
                total += e.cost_micros or 0
                ctx = ctx + new if ctx < 180_000 else rng.randint(40_000, 80_000)
                ts += timedelta(milliseconds=rng.randint(20_000, 120_000))
            g.work_outcomes(ts, "claude_code", sid, project, 3, commit_p=0.15)


def _runaway_agent(g: _Gen, days: Sequence[date], **_: Any) -> None:
    """A normal person whose agent, on one or two days, loops: the same prompt over and over within minutes."""
    rng = g.rng
    _normal(g, days)
    weekdays = [d for d in days if _weekday(d)] or list(days)
    for day in sorted(rng.sample(weekdays, min(len(weekdays), rng.randint(1, 2)))):
        sid, project = g.hexid(128), rng.choice(g.projects)
        prompt = g.hexid()
        ts = g.local_start(day, rng.uniform(9, 19))
        ctx, out = rng.randint(40_000, 120_000), rng.randint(800, 3_000)
        model = rng.choice((SONNET, OPUS))
        for _ in range(rng.randint(40, 300)):
            g.request(ts, "claude_code", model, sid, project, input=rng.randint(20, 60),
                      cache_read=int(ctx * rng.uniform(0.98, 1.02)), cache_write=rng.randint(300, 1_500),
                      output=int(out * rng.uniform(0.9, 1.1)), prompt_hash=prompt)
            ts += timedelta(milliseconds=rng.randint(4_000, 30_000))


def _retry_churner(g: _Gen, days: Sequence[date], **_: Any) -> None:
    """Runs that keep failing and get re-run: errors and rate limits, rejected edits, almost no commits."""
    rng = g.rng
    for day in days:
        if rng.random() >= (0.8 if _weekday(day) else 0.05):
            continue
        for hour in sorted(rng.uniform(8.5, 17.5) for _ in range(rng.randint(1, 3))):
            tool, model = _pick_tool(rng, codex=0.2, cursor=0.05)
            n = rng.randint(3, 8)
            end, sid, project = g.session(g.local_start(day, hour), n, tool=tool, model=model, error_rate=0.35,
                                          retry_rate=0.9, gap_s=(10, 90))
            g.work_outcomes(end, tool, sid, project, n, commit_p=0.03, accept=0.1, reject=0.6)


_BEHAVIOUR = {"normal": _normal, "light": _light, "deep_worker": _deep_worker, "fleet_builder": _fleet_builder,
              "busywork": _busywork, "calibrator": _calibrator, "runaway_agent": _runaway_agent,
              "retry_churner": _retry_churner}


# --- the API --------------------------------------------------------------------------------------------


def generate(people: int = 300, days: int = 45, seed: int = 1, end: date | None = None,
             mix: dict[str, float] | None = None, *, floor: dict[str, int] | None = None,
             book: PriceBook | None = None) -> DemoOrg:
    """A demo organisation of `people` people over the `days` days ending on `end` (default: today, UTC).

    The same arguments give the same organisation, event for event (a demo ending today also stops at the
    present moment, so it grows through the day). `mix` sets the persona shares of the
    individual contributors (default `DEFAULT_MIX`); `floor` the expected monthly spend per tool that
    calibrators aim at (default `EXPECTED_MONTHLY_USD`). Every usage event is priced with `book` (default:
    the bundled price book)."""
    if people < 1 or days < 1:
        raise ValueError("a demo needs at least one person and one day")
    end = end or datetime.now(UTC).date()
    floor = dict(EXPECTED_MONTHLY_USD if floor is None else floor)
    book = book or load_price_book()
    rng = random.Random(seed)
    directory, projects = _build_directory(people, rng)
    day_list = [end - timedelta(days=k) for k in range(days - 1, -1, -1)]

    ics = [p for p in directory if p.role == "engineer"]
    counts = _mix_counts(len(ics), DEFAULT_MIX if mix is None else mix)
    labels = [name for name in PERSONAS for _ in range(counts[name])]
    rng.shuffle(labels)
    personas = {p.person: label for p, label in zip(ics, labels, strict=True)}
    for p in directory:
        if p.person not in personas:
            personas[p.person] = "normal" if rng.random() < 0.6 else "light"

    usage: list[UsageEvent] = []
    outcomes: list[OutcomeEvent] = []
    for index, p in enumerate(directory):
        tz = TIMEZONES[rng.randrange(len(TIMEZONES))]
        g = _Gen(seed, index, p.person, projects.get(p.team or "", ["misc"]), tz)
        _BEHAVIOUR[personas[p.person]](g, day_list, book=book, floor=floor)
        usage += g.usage
        outcomes += g.outcomes
    # A demo ending today stops at the present: nobody's requests are dated later than now.
    now = datetime.now(UTC)
    usage = [e for e in usage if e.ts <= now]
    outcomes = [o for o in outcomes if o.ts <= now]
    for e in usage:
        book.price(e)
    usage.sort(key=lambda e: (e.ts, e.id))
    outcomes.sort(key=lambda e: (e.ts, e.id))
    ordered = {p.person: personas[p.person] for p in directory}
    return DemoOrg(people=directory, personas=ordered, usage=usage, outcomes=outcomes,
                   expected_monthly_usd=floor, start=day_list[0], end=end)


def write(org: DemoOrg, folder: Path) -> list[Path]:
    """events.ndjson (usage then outcomes, canonical `tokenpulse-events/1`), people.csv (the directory import
    format) and personas.json (the labels and the expected floor): the ground truth beside the data."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    events = folder / "events.ndjson"
    with events.open("wb") as out:
        for chunk in _chunks([*org.usage, *org.outcomes], 20_000):
            out.write(b"".join(encode_line(e) for e in chunk))
    people = folder / "people.csv"
    with people.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["email", "name", "team", "manager", "role", "aliases"])
        for p in org.people:
            writer.writerow([p.person, p.name or "", p.team or "", p.manager or "", p.role or "", ";".join(p.aliases)])
    labels = folder / "personas.json"
    summary: dict[str, int] = {}
    for name in org.personas.values():
        summary[name] = summary.get(name, 0) + 1
    labels.write_text(json.dumps({
        "schema": "tokenpulse-demo-personas/1",
        "start": org.start.isoformat() if org.start else None,
        "end": org.end.isoformat() if org.end else None,
        "expected_monthly_usd": org.expected_monthly_usd,
        "counts": {name: summary.get(name, 0) for name in PERSONAS},
        "personas": org.personas,
    }, indent=1) + "\n", encoding="utf-8")
    return [events, people, labels]


def load(org: DemoOrg, store: Any, chunk: int = 50_000) -> None:
    """Put the demo into a store: the directory first (so every event has its owner), then the events, then
    the breaker incidents the gateway would have recorded."""
    store.save_people(org.people)
    for part in _chunks(org.usage, chunk):
        store.write_batch(part)
    for part in _chunks(org.outcomes, chunk):
        store.write_batch([], part)
    for incident in breaker_incidents(org):
        store.record_incident(incident)


LOOP_TRIP_REPEATS = 12
"""The gateway's default `loop_repeats`: the breaker trips on the 12th identical prompt."""


def breaker_incidents(org: DemoOrg) -> list[Any]:
    """The loop trips of the runaway agents (one per looping day): re-enabled by the person with a reason,
    except on the demo's last day, where the trip is still open."""
    from ..store.governance import Incident

    repeats: dict[tuple[str, date, str], list[datetime]] = {}
    for e in org.usage:
        if e.person and e.prompt_hash and org.personas.get(e.person) == "runaway_agent":
            repeats.setdefault((e.person, e.ts.date(), e.prompt_hash), []).append(e.ts)
    incidents = []
    for (person, day, prompt), times in sorted(repeats.items()):
        if len(times) < LOOP_TRIP_REPEATS:
            continue
        tripped = sorted(times)[LOOP_TRIP_REPEATS - 1]
        incident = Incident(person, day.isoformat(), "loop", tripped, {
            "prompt_hash": prompt, "repeats": LOOP_TRIP_REPEATS, "requests_that_day": len(times)},
            id=f"demo-{person}-{day}")
        if day != org.end:
            incident.reenabled_at, incident.reenabled_by = tripped + timedelta(minutes=25), person
            incident.reenable_reason = "my agent was stuck retrying a failing test; fixed the prompt"
        incidents.append(incident)
    return incidents


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


@dataclass
class PersonStats:
    """Per-person aggregates (used by the tests and handy when tuning the personas)."""

    requests: int = 0
    errors: int = 0
    cost_micros: int = 0
    context: int = 0
    commits: int = 0
    monthly: dict[str, int] = field(default_factory=dict)


def person_stats(org: DemoOrg) -> dict[str, PersonStats]:
    """Requests, errors, cost, summed context, commits and month totals (UTC) for each person."""
    stats = {p.person: PersonStats() for p in org.people}
    for e in org.usage:
        s = stats[e.person or ""]
        s.requests += 1
        s.errors += e.status != "ok"
        s.cost_micros += e.cost_micros or 0
        s.context += e.total_input_tokens
        month = e.ts.strftime("%Y-%m")
        s.monthly[month] = s.monthly.get(month, 0) + (e.cost_micros or 0)
    for o in org.outcomes:
        if o.type == "commit":
            stats[o.person or ""].commits += o.count
    return stats
