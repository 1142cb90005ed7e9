"""Detectors: usage patterns that suggest gaming the metrics or wasted spend, each with evidence to check.

Every detector is a small pure function over per-person features (`insights.features`, aggregated in the
store) that returns `Flag`s: who, which pattern, a score in 0..1 (monotonic in how far past the threshold),
one sentence a manager can read, and evidence — figures, dates and the ids of sample events — a human can
verify. The thresholds are named constants with the reason for their value; they were tuned on demo
organisations (seeds 1-3 of `bench/detectors.py`) and checked on held-out ones.

High spend alone is never a flag. Every rule needs a shape (repetition, short contexts, no outcome, a
landing just over a line, failures) and a lack of results; a person running a productive agent fleet at
$1,000+ a month with commits and pull requests to show for it comes out clean.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..events import format_ts
from ..money import micros_to_decimal_usd
from ..store.summaries import aware
from .features import (
    Burst,
    MonthSpend,
    PersonFeatures,
    SessionSpend,
    monthly_spend,
    person_features,
    sessions_without_outcome,
)

DETECTORS = ("runaway_loop", "shallow_volume", "no_outcome_spend", "threshold_calibration", "retry_churn")

# --- thresholds -----------------------------------------------------------------------------------------

LOOP_MIN_REPEATS = 30
"""Requests with one prompt hash before it can be a loop. Tools retry a failed request a handful of times
(five at most in practice) and a person may re-ask a question ten times; thirty copies is a machine."""
LOOP_BASELINE_MULTIPLE = 10.0
"""...and at least this many times the person's own mean requests per prompt (about 1-2 for real work)."""
LOOP_MAX_CONTEXT_CV = 0.10
"""Near-identical: the copies' context sizes vary by at most 10% of their mean (a loop re-sends the same
context; a legitimate repeated prompt over a growing session does not)."""
LOOP_FULL_SCORE_REPEATS = 300
"""A burst this long (ten times the minimum) scores 1."""

SHORT_CONTEXT_TOKENS = 8_000
"""A request whose whole context is under this is "short": no code base, no conversation to speak of.
Claude Code's side requests (titles, summaries) are short too, but they are under 15% of anyone's work."""
SHALLOW_MIN_SHARE = 0.5
"""At least half of someone's successful requests are short..."""
SHALLOW_MIN_REQUESTS = 300
"""...and there are many of them in the period (a light user's handful of quick questions is not volume)..."""
SHALLOW_MAX_OUTCOMES_PER_USD = 2.0
"""...and they show little for it: commits, PRs and accepted edits per dollar. Ordinary sessions land about
3 per dollar; long-context work costs more per outcome, which is why the short share must also hold."""

NO_OUTCOME_MIN_SESSION_USD = 2
"""Sessions cheaper than this are ignored: a quick question needs no commit."""
NO_OUTCOME_MIN_USD = 25
"""Spend in outcome-less sessions must add up to this much in the period to be worth a conversation..."""
NO_OUTCOME_MIN_SHARE = 0.15
"""...and be this share of the person's spend (a big spender's occasional dead end is normal)."""

CALIBRATION_MIN_LINE_MICROS = 20_000_000
"""A line under $20 a month is noise (the org average of a tool hardly anyone uses): nobody calibrates to it."""
CALIBRATION_BAND = 0.10
"""A month "lands just above" a threshold when its spend is between the threshold and 10% over it."""
CALIBRATION_LATE_DAYS = 5
"""The month's last days, where a top-up shows up."""
CALIBRATION_MIN_LATE_SHARE = 0.5
"""At least half the month's spend came in its last days: steady users spread spend over the month."""

CHURN_MIN_FAILED = 30
"""Failed requests (errors, rate limits) in the period before churn is considered; a few errors are weather."""
CHURN_MIN_FAILED_SHARE = 0.15
"""Failures as a share of requests; ordinary work stays under about 7%."""
CHURN_MIN_RETRIED = 20
"""Failed requests whose prompt was sent again: runs repeated, not abandoned once."""
CHURN_MAX_RESULTS_PER_FAILURE = 0.1
"""Commits and pull requests per failed request at most this: the retries are not leading anywhere."""

SAMPLES = 3
"""At most this many sample event ids per flag (the features carry the first and last of each group)."""


@dataclass
class Flag:
    person: str
    detector: str
    score: float
    """0..1, monotonic in how far past the thresholds the person is."""
    summary: str
    """One sentence a manager can read, with the figures."""
    evidence: dict[str, Any]
    """Figures, dates and sample event ids; JSON-serialisable (money as `*_usd` decimal strings)."""

    def to_json(self) -> dict[str, Any]:
        return {"person": self.person, "detector": self.detector, "score": round(self.score, 4),
                "summary": self.summary, "evidence": self.evidence}


def _usd(micros: int) -> str:
    return str(micros_to_decimal_usd(micros))


def _money(micros: int) -> str:
    return f"${micros / 1_000_000:,.2f}"


def _ts(ts: datetime) -> str:
    return format_ts(aware(ts) if ts.tzinfo is None else ts)


def _over(value: float, threshold: float, full: float) -> float:
    """0 at `threshold`, 1 at `full`, on a log scale, clamped (monotonic in `value`)."""
    if value <= threshold:
        return 0.0
    return min(1.0, math.log(value / threshold) / math.log(full / threshold))


def _score(excess: float) -> float:
    """Flags start at 0.5 and rise to 1 with how far past the threshold they are."""
    return round(0.5 + 0.5 * max(0.0, min(1.0, excess)), 4)


# --- the detectors --------------------------------------------------------------------------------------


def runaway_loop(bursts: Iterable[Burst]) -> list[Flag]:
    """Bursts of near-identical requests: one prompt hash sent `LOOP_MIN_REPEATS`+ times, far above the
    person's baseline, with context sizes that barely vary. One flag per person (their largest burst)."""
    per_person: dict[str, list[Burst]] = defaultdict(list)
    for b in bursts:
        if (b.requests >= LOOP_MIN_REPEATS and b.requests >= LOOP_BASELINE_MULTIPLE * b.baseline
                and b.context_cv <= LOOP_MAX_CONTEXT_CV):
            per_person[b.person].append(b)
    flags = []
    for person, found in per_person.items():
        top = max(found, key=lambda b: (b.requests, b.cost_micros))
        minutes = (top.last_ts - top.first_ts).total_seconds() / 60
        summary = (f"{top.requests} near-identical requests (one prompt) in {minutes:.0f} min on "
                   f"{top.first_ts:%Y-%m-%d}, costing {_money(top.cost_micros)}; usual repeats per prompt "
                   f"{top.baseline:.1f}" + (f"; {len(found)} such bursts" if len(found) > 1 else "") + ".")
        flags.append(Flag(person, "runaway_loop", _score(_over(top.requests, LOOP_MIN_REPEATS,
                                                                 LOOP_FULL_SCORE_REPEATS)), summary, {
            "prompt_hash": top.prompt_hash, "requests": top.requests, "first_ts": _ts(top.first_ts),
            "last_ts": _ts(top.last_ts), "minutes": round(minutes, 1), "cost_usd": _usd(top.cost_micros),
            "mean_context_tokens": round(top.mean_context), "context_cv": round(top.context_cv, 4),
            "baseline_requests_per_prompt": round(top.baseline, 2), "session": top.session,
            "bursts": len(found), "bursts_cost_usd": _usd(sum(b.cost_micros for b in found)),
            "sample_event_ids": top.sample_ids,
        }))
    return flags


def shallow_volume(people: Iterable[PersonFeatures]) -> list[Flag]:
    """High volume of cheap, short-context requests with little outcome per dollar."""
    flags = []
    for f in people:
        if not f.ok_requests or not f.cost_micros:
            continue
        share = f.short_requests / f.ok_requests
        per_usd = f.outcomes / (f.cost_micros / 1_000_000)
        if share < SHALLOW_MIN_SHARE or f.short_requests < SHALLOW_MIN_REQUESTS:
            continue
        if per_usd > SHALLOW_MAX_OUTCOMES_PER_USD:
            continue
        excess = (_over(f.short_requests, SHALLOW_MIN_REQUESTS, 10 * SHALLOW_MIN_REQUESTS)
                  + (share - SHALLOW_MIN_SHARE) / (1 - SHALLOW_MIN_SHARE)) / 2
        mean_ctx = f.context_tokens / f.ok_requests
        summary = (f"{f.short_requests:,} of {f.ok_requests:,} requests ({share:.0%}) had under "
                   f"{SHORT_CONTEXT_TOKENS:,} tokens of context, costing {_money(f.short_cost_micros)}, for "
                   f"{f.commits} commits, {f.pull_requests} PRs and {f.edits_accepted} accepted edits "
                   f"({per_usd:.1f} per dollar).")
        flags.append(Flag(f.person, "shallow_volume", _score(excess), summary, {
            "short_requests": f.short_requests, "ok_requests": f.ok_requests, "short_share": round(share, 4),
            "short_cost_usd": _usd(f.short_cost_micros), "cost_usd": _usd(f.cost_micros),
            "mean_context_tokens": round(mean_ctx), "active_days": f.active_days, "commits": f.commits,
            "pull_requests": f.pull_requests, "edits_accepted": f.edits_accepted,
            "outcomes_per_usd": round(per_usd, 3), "sample_event_ids": f.short_sample_ids,
        }))
    return flags


def no_outcome_spend(sessions: Iterable[SessionSpend], people: dict[str, PersonFeatures]) -> list[Flag]:
    """Substantial spend in sessions that never produced a commit, pull request or accepted edit."""
    per_person: dict[str, list[SessionSpend]] = defaultdict(list)
    for s in sessions:
        if s.cost_micros >= NO_OUTCOME_MIN_SESSION_USD * 1_000_000:
            per_person[s.person].append(s)
    flags = []
    for person, found in per_person.items():
        wasted = sum(s.cost_micros for s in found)
        total = people[person].cost_micros if person in people else wasted
        share = wasted / total if total else 1.0
        if wasted < NO_OUTCOME_MIN_USD * 1_000_000 or share < NO_OUTCOME_MIN_SHARE:
            continue
        found.sort(key=lambda s: (-s.cost_micros, s.session))
        projects = sorted({s.project for s in found if s.project})
        excess = (_over(wasted, NO_OUTCOME_MIN_USD * 1_000_000, 10 * NO_OUTCOME_MIN_USD * 1_000_000)
                  + min(1.0, (share - NO_OUTCOME_MIN_SHARE) / (1 - NO_OUTCOME_MIN_SHARE))) / 2
        summary = (f"{_money(wasted)} ({share:.0%} of their spend) went into {len(found)} sessions that produced "
                   f"no commit, pull request or accepted edit, in {len(projects)} project(s).")
        flags.append(Flag(person, "no_outcome_spend", _score(excess), summary, {
            "no_outcome_cost_usd": _usd(wasted), "cost_usd": _usd(total), "share": round(share, 4),
            "sessions": len(found), "projects": projects[:10],
            "top_sessions": [{"session": s.session, "project": s.project, "requests": s.requests,
                              "cost_usd": _usd(s.cost_micros), "first_ts": _ts(s.first_ts),
                              "last_ts": _ts(s.last_ts)} for s in found[:SAMPLES]],
            "sample_event_ids": [i for s in found[:SAMPLES] for i in s.sample_ids][:SAMPLES],
        }))
    return flags


def threshold_calibration(months: Iterable[MonthSpend], thresholds_usd: dict[str, float]) -> list[Flag]:
    """Finished months whose spend on a tool lands just above a visible threshold, mostly topped up in the
    month's last days. `thresholds_usd` is the line per tool (the org's expected minimum, or the average)."""
    per_person: dict[str, list[tuple[MonthSpend, int]]] = defaultdict(list)
    for m in months:
        line = thresholds_usd.get(m.tool)
        if not line or not m.month_ends_in_period or not m.cost_micros:
            continue
        line_micros = round(line * 1_000_000)
        if line_micros < CALIBRATION_MIN_LINE_MICROS:
            continue
        if not line_micros <= m.cost_micros <= line_micros * (1 + CALIBRATION_BAND):
            continue
        if m.late_cost_micros / m.cost_micros < CALIBRATION_MIN_LATE_SHARE:
            continue
        per_person[m.person].append((m, line_micros))
    flags = []
    for person, found in per_person.items():
        found.sort(key=lambda x: x[0].month)
        closeness = sum(1 - (m.cost_micros / line - 1) / CALIBRATION_BAND for m, line in found) / len(found)
        late = sum(m.late_cost_micros / m.cost_micros for m, _ in found) / len(found)
        excess = (min(1.0, (len(found) - 1) / 2) + closeness
                  + (late - CALIBRATION_MIN_LATE_SHARE) / (1 - CALIBRATION_MIN_LATE_SHARE)) / 3
        m0, line0 = found[-1]
        summary = (f"{len(found)} month(s) of {m0.tool} spend landed just above the {_money(line0)} line "
                   f"(latest {m0.month:%Y-%m}: {_money(m0.cost_micros)}, "
                   f"{m0.late_cost_micros / m0.cost_micros:.0%} of it in the last {CALIBRATION_LATE_DAYS} days).")
        flags.append(Flag(person, "threshold_calibration", _score(excess), summary, {
            "months": [{"month": m.month.strftime("%Y-%m"),
                        "tool": m.tool, "threshold_usd": _usd(line), "cost_usd": _usd(m.cost_micros),
                        "over_threshold_usd": _usd(m.cost_micros - line),
                        "late_cost_usd": _usd(m.late_cost_micros),
                        "late_share": round(m.late_cost_micros / m.cost_micros, 4)} for m, line in found],
            "late_days": CALIBRATION_LATE_DAYS,
            "sample_event_ids": [i for m, _ in found for i in m.late_sample_ids][:SAMPLES],
        }))
    return flags


def retry_churn(people: Iterable[PersonFeatures]) -> list[Flag]:
    """Many failed runs, retried, with rejected edits and hardly a commit or pull request to show."""
    flags = []
    for f in people:
        if f.failed < CHURN_MIN_FAILED or f.retried_failures < CHURN_MIN_RETRIED:
            continue
        share = f.failed / f.requests
        results = f.commits + f.pull_requests
        if share < CHURN_MIN_FAILED_SHARE or results > CHURN_MAX_RESULTS_PER_FAILURE * f.failed:
            continue
        excess = (_over(f.failed, CHURN_MIN_FAILED, 10 * CHURN_MIN_FAILED)
                  + min(1.0, (share - CHURN_MIN_FAILED_SHARE) / (0.5 - CHURN_MIN_FAILED_SHARE))) / 2
        summary = (f"{f.failed:,} of {f.requests:,} requests failed ({share:.0%}), {f.retried_failures:,} of them "
                   f"retried; {f.edits_rejected} edits rejected vs {f.edits_accepted} accepted, "
                   f"{f.commits} commits and {f.pull_requests} PRs.")
        flags.append(Flag(f.person, "retry_churn", _score(excess), summary, {
            "failed_requests": f.failed, "requests": f.requests, "failed_share": round(share, 4),
            "retried_failures": f.retried_failures, "edits_rejected": f.edits_rejected,
            "edits_accepted": f.edits_accepted, "commits": f.commits, "pull_requests": f.pull_requests,
            "cost_usd": _usd(f.cost_micros), "sample_event_ids": f.failed_sample_ids,
        }))
    return flags


# --- the entry point ------------------------------------------------------------------------------------


def _average_thresholds(months: list[MonthSpend]) -> dict[str, float]:
    """Without an expected minimum, the visible line is the average finished-month spend per tool (USD)."""
    sums: dict[str, list[int]] = defaultdict(list)
    for m in months:
        if m.month_ends_in_period:
            sums[m.tool].append(m.cost_micros)
    return {tool: sum(v) / len(v) / 1_000_000 for tool, v in sums.items() if v}


def detect(store: Any, since: datetime, until: datetime, tz: str = "UTC",
           expected_monthly_usd: dict[str, int] | None = None) -> list[Flag]:
    """Run every detector over [since, until) and return their flags, highest score first, then by person.

    `expected_monthly_usd` is the org's expected minimum monthly spend per tool (e.g. {"claude_code": 200});
    without it the threshold detector uses each tool's average monthly spend as the visible line."""
    con = store.con
    people, bursts = person_features(con, since, until, SHORT_CONTEXT_TOKENS, LOOP_MIN_REPEATS)
    sessions = sessions_without_outcome(con, since, until, NO_OUTCOME_MIN_SESSION_USD * 1_000_000)
    if expected_monthly_usd:
        lines = {k: float(v) for k, v in expected_monthly_usd.items()}
        months = monthly_spend(con, since, until, tz, CALIBRATION_LATE_DAYS, tools=list(lines),
                               min_cost_micros=int(min(lines.values()) * 1_000_000))
    else:
        months = monthly_spend(con, since, until, tz, CALIBRATION_LATE_DAYS)
        lines = _average_thresholds(months)
    flags = [*runaway_loop(bursts), *shallow_volume(people.values()), *no_outcome_spend(sessions, people),
             *threshold_calibration(months, lines), *retry_churn(people.values())]
    flags.sort(key=lambda f: (-f.score, f.person, DETECTORS.index(f.detector)))
    return flags
