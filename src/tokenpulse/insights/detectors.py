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
    burst_prompts,
    details,
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
CALIBRATION_MIN_TEAM_PEERS = 3
"""A team average is a line only when at least this many others in the team used the tool that month: in a
team of two, "the average" is one colleague's spend, and landing near it is coincidence."""

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
    for b in _loop_shaped(bursts):
        if b.requests >= LOOP_BASELINE_MULTIPLE * b.baseline:
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


def _loop_shaped(bursts: Iterable[Burst]) -> list[Burst]:
    """Bursts long and uniform enough to be a loop (whether they are far above the person's baseline is
    checked once the baseline is known)."""
    return [b for b in bursts if b.requests >= LOOP_MIN_REPEATS and b.context_cv <= LOOP_MAX_CONTEXT_CV]


def _shallow(f: PersonFeatures) -> tuple[float, float] | None:
    """(short share, outcomes per dollar) when the person's usage is shallow volume, else None."""
    if not f.ok_requests or not f.cost_micros:
        return None
    share = f.short_requests / f.ok_requests
    per_usd = f.outcomes / (f.cost_micros / 1_000_000)
    if share < SHALLOW_MIN_SHARE or f.short_requests < SHALLOW_MIN_REQUESTS or per_usd > SHALLOW_MAX_OUTCOMES_PER_USD:
        return None
    return share, per_usd


def shallow_volume(people: Iterable[PersonFeatures]) -> list[Flag]:
    """High volume of cheap, short-context requests with little outcome per dollar."""
    flags = []
    for f in people:
        found = _shallow(f)
        if found is None:
            continue
        share, per_usd = found
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
            "mean_context_tokens": round(mean_ctx), "commits": f.commits,
            "pull_requests": f.pull_requests, "edits_accepted": f.edits_accepted,
            "outcomes_per_usd": round(per_usd, 3), "sample_event_ids": f.short_sample_ids,
        }))
    return flags


def _no_outcome_selected(sessions: Iterable[SessionSpend],
                         people: dict[str, PersonFeatures]) -> dict[str, tuple[list[SessionSpend], int, float]]:
    """Per person to flag: their outcome-less sessions (costliest first), what those cost, and its share."""
    per_person: dict[str, list[SessionSpend]] = defaultdict(list)
    for s in sessions:
        if s.cost_micros >= NO_OUTCOME_MIN_SESSION_USD * 1_000_000:
            per_person[s.person].append(s)
    selected = {}
    for person, found in per_person.items():
        wasted = sum(s.cost_micros for s in found)
        total = people[person].cost_micros if person in people else wasted
        share = wasted / total if total else 1.0
        if wasted >= NO_OUTCOME_MIN_USD * 1_000_000 and share >= NO_OUTCOME_MIN_SHARE:
            found.sort(key=lambda s: (-s.cost_micros, s.session))
            selected[person] = (found, wasted, share)
    return selected


def no_outcome_spend(sessions: Iterable[SessionSpend], people: dict[str, PersonFeatures]) -> list[Flag]:
    """Substantial spend in sessions that never produced a commit, pull request or accepted edit."""
    return _no_outcome_flags(_no_outcome_selected(sessions, people), people)


def _no_outcome_flags(selected: dict[str, tuple[list[SessionSpend], int, float]],
                      people: dict[str, PersonFeatures]) -> list[Flag]:
    flags = []
    for person, (found, wasted, share) in selected.items():
        total = people[person].cost_micros if person in people else wasted
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


@dataclass(frozen=True)
class Line:
    """A visible monthly spend line someone might calibrate to."""

    kind: str
    """`expected_minimum` (the org's floor), `team_average` or `org_average` (when no floor is set)."""
    micros: int


def team_average_lines(months: Iterable[MonthSpend]) -> dict[tuple[str, str, Any], Line]:
    """Per (person, tool, month): the average spend that month on that tool of the *other* people in the
    person's team who used it — the team average the person sees beside their own figure (their own spend is
    left out, or anyone would sit on their own line). Only with at least `CALIBRATION_MIN_TEAM_PEERS` such
    others; lines under `CALIBRATION_MIN_LINE_MICROS` are left out (`months` as `monthly_spend` gives them,
    with their team's total and headcount)."""
    lines = {}
    for m in months:
        others = m.team_people - 1
        if m.team is None or others < CALIBRATION_MIN_TEAM_PEERS:
            continue
        average = (m.team_total_micros - m.cost_micros) // others
        if average >= CALIBRATION_MIN_LINE_MICROS:
            lines[(m.person, m.tool, m.month)] = Line("team_average", average)
    return lines


def _calibration_selected(months: Iterable[MonthSpend], thresholds_usd: dict[str, float],
                          team_lines: dict[tuple[str, str, Any], Line] | None = None,
                          line_kind: str = "expected_minimum") -> dict[str, list[tuple[MonthSpend, Line]]]:
    """Per person: the months that landed just above a visible line, mostly in the late days (`months` are
    the months the period judges: `features.judged_months`)."""
    per_person: dict[str, list[tuple[MonthSpend, Line]]] = defaultdict(list)
    for m in months:
        if not m.cost_micros:
            continue
        if m.late_cost_micros / m.cost_micros < CALIBRATION_MIN_LATE_SHARE:
            continue
        candidates = []
        if thresholds_usd.get(m.tool):
            candidates.append(Line(line_kind, round(thresholds_usd[m.tool] * 1_000_000)))
        if team_lines and (m.person, m.tool, m.month) in team_lines:
            candidates.append(team_lines[(m.person, m.tool, m.month)])
        for line in candidates:  # the org's own line first: it is the one people are told about
            if line.micros >= CALIBRATION_MIN_LINE_MICROS and \
                    line.micros <= m.cost_micros <= line.micros * (1 + CALIBRATION_BAND):
                per_person[m.person].append((m, line))
                break
    for found in per_person.values():
        found.sort(key=lambda x: (x[0].month, x[0].tool))
    return per_person


def threshold_calibration(months: Iterable[MonthSpend], thresholds_usd: dict[str, float],
                          team_lines: dict[tuple[str, str, Any], Line] | None = None,
                          line_kind: str = "expected_minimum") -> list[Flag]:
    """Finished months whose spend on a tool lands just above a visible line, mostly topped up in the month's
    last days. The lines: `thresholds_usd` per tool (the org's expected minimum; `line_kind` says what it is)
    and, when given, `team_lines` (`team_average_lines`: the team average each person sees)."""
    return _calibration_flags(_calibration_selected(months, thresholds_usd, team_lines, line_kind))


def _calibration_flags(selected: dict[str, list[tuple[MonthSpend, Line]]]) -> list[Flag]:
    flags = []
    for person, found in selected.items():
        closeness = sum(1 - (m.cost_micros / line.micros - 1) / CALIBRATION_BAND for m, line in found) / len(found)
        late = sum(m.late_cost_micros / m.cost_micros for m, _ in found) / len(found)
        excess = (min(1.0, (len(found) - 1) / 2) + closeness
                  + (late - CALIBRATION_MIN_LATE_SHARE) / (1 - CALIBRATION_MIN_LATE_SHARE)) / 3
        m0, line0 = found[-1]
        what = line0.kind.replace("_", " ")
        summary = (f"{len(found)} month(s) of {m0.tool} spend landed just above a visible line "
                   f"(latest {m0.month:%Y-%m}: {_money(m0.cost_micros)} against the {what} of "
                   f"{_money(line0.micros)}, {m0.late_cost_micros / m0.cost_micros:.0%} of it in the last "
                   f"{CALIBRATION_LATE_DAYS} days).")
        flags.append(Flag(person, "threshold_calibration", _score(excess), summary, {
            "months": [{"month": m.month.strftime("%Y-%m"), "tool": m.tool, "threshold": line.kind,
                        "threshold_usd": _usd(line.micros), "cost_usd": _usd(m.cost_micros),
                        "over_threshold_usd": _usd(m.cost_micros - line.micros),
                        "late_cost_usd": _usd(m.late_cost_micros),
                        "late_share": round(m.late_cost_micros / m.cost_micros, 4)} for m, line in found],
            "late_days": CALIBRATION_LATE_DAYS,
            "sample_event_ids": [i for m, _ in found for i in m.late_sample_ids][:SAMPLES],
        }))
    return flags


def _churn_candidate(f: PersonFeatures) -> bool:
    """Enough failures, and few enough results, that whether they were retried decides."""
    return (f.failed >= CHURN_MIN_FAILED and f.failed >= CHURN_MIN_FAILED_SHARE * f.requests
            and f.commits + f.pull_requests <= CHURN_MAX_RESULTS_PER_FAILURE * f.failed)


def retry_churn(people: Iterable[PersonFeatures]) -> list[Flag]:
    """Many failed runs, retried, with rejected edits and hardly a commit or pull request to show."""
    flags = []
    for f in people:
        if not _churn_candidate(f) or f.retried_failures < CHURN_MIN_RETRIED:
            continue
        share = f.failed / f.requests
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


def _features(store: Any, since: datetime, until: datetime, tz: str,
              expected_monthly_usd: dict[str, int] | None
              ) -> tuple[list[Burst], dict[str, PersonFeatures], dict[str, tuple[list[SessionSpend], int, float]],
                         dict[str, list[tuple[MonthSpend, Line]]]]:
    """What the detectors decide on: the bursts, per-person features, and the people the no-outcome and
    calibration rules select (with what they select)."""
    store.refresh_rollups()
    con = store.con
    people = person_features(con, since, until, SHORT_CONTEXT_TOKENS)
    repeated = burst_prompts(con, since, until, LOOP_MIN_REPEATS)
    no_outcome = _no_outcome_selected(
        sessions_without_outcome(con, since, until, NO_OUTCOME_MIN_SESSION_USD * 1_000_000), people)
    months, averages = monthly_spend(con, since, until, tz, CALIBRATION_LATE_DAYS, CALIBRATION_MIN_LATE_SHARE)
    if expected_monthly_usd:
        lines, kind = {k: float(v) for k, v in expected_monthly_usd.items()}, "expected_minimum"
    else:  # without a floor, the org-wide line is each tool's average monthly spend per person
        lines, kind = {tool: micros / 1_000_000 for tool, micros in averages.items()}, "org_average"
    calibrating = _calibration_selected(months, lines, team_average_lines(months), kind)
    bursts = details(con, since, until, repeated, [f for f in people.values() if _churn_candidate(f)],
                     [s for found, _, _ in no_outcome.values() for s in found[:SAMPLES]],
                     [m for found in calibrating.values() for m, _ in found])
    return bursts, people, no_outcome, calibrating


def detect(store: Any, since: datetime, until: datetime, tz: str = "UTC",
           expected_monthly_usd: dict[str, int] | None = None) -> list[Flag]:
    """Run every detector over [since, until) and return their flags, highest score first, then by person.

    `expected_monthly_usd` is the org's expected minimum monthly spend per tool (e.g. {"claude_code": 200});
    without it the threshold detector uses each tool's average monthly spend as the org-wide line. Either
    way it also watches each team's average (from the people directory).

    The order keeps the passes over the events few: per-person totals; the prompts sent over and over;
    spend per session and month from the hourly summaries; then one pass for what only the candidates need
    (burst baselines, retried failures, sample ids)."""
    with store.analysis_memory():
        bursts, people, no_outcome, calibrating = _features(store, since, until, tz, expected_monthly_usd)
    flags = [*runaway_loop(bursts), *shallow_volume(people.values()), *_no_outcome_flags(no_outcome, people),
             *_calibration_flags(calibrating), *retry_churn(people.values())]
    flags.sort(key=lambda f: (-f.score, f.person, DETECTORS.index(f.detector)))
    return flags
