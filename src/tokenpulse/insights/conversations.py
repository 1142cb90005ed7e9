"""The conversation queue: "go and talk to these people, here is why" — never a podium.

Each period, the queue holds a check-in item for the top spenders (the top N, and anyone spending more
than k times their team's median) and for everyone a detector flagged. Each item carries the evidence a
leader (and the person, who sees their own item) can check: spend by tool and model, the depth of the
usage, the outcomes, the flags. Items move open -> scheduled -> done (with notes), or are dismissed;
re-running the queue for a period refreshes the evidence and keeps where each item stands.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..errors import TokenpulseError
from ..money import micros_to_decimal_usd
from ..store.governance import ConversationItem
from .depth import Depth

TOP_N = 10
TEAM_MULTIPLE = 3
"""Anyone spending more than this many times their team's median is in the queue."""
STATUSES = ("open", "scheduled", "done", "dismissed")
_NEXT = {"open": {"scheduled", "done", "dismissed"}, "scheduled": {"open", "done", "dismissed"},
         "done": set(), "dismissed": {"open"}}


class ConversationError(TokenpulseError):
    """A conversation item cannot move that way (or does not exist)."""


def transition(item: ConversationItem, status: str, *, by: str, now: datetime, notes: str | None = None,
               scheduled_for: str | None = None) -> ConversationItem:
    """The item moved to `status` (open -> scheduled -> done, or dismissed; a dismissed item can be reopened)."""
    if status not in STATUSES:
        raise ConversationError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    if status != item.status and status not in _NEXT[item.status]:
        raise ConversationError(f"{item.id} is {item.status}; it cannot become {status}")
    if status == "done" and not (notes or item.notes):
        raise ConversationError("closing a conversation needs notes (what was discussed, what happens next)")
    item.status = status
    item.notes = notes if notes is not None else item.notes
    item.scheduled_for = scheduled_for if scheduled_for is not None else item.scheduled_for
    item.updated_at, item.updated_by = now, by
    return item


def build_queue(store: Any, period: str, since: datetime, until: datetime, tz: str, flags: Sequence[Any],
                now: datetime, top_n: int = TOP_N, team_multiple: int = TEAM_MULTIPLE) -> list[ConversationItem]:
    """The queue's items for a period (not yet saved): top spenders, outliers in their team, flagged people.

    Two grouped queries over the hourly summaries, whatever the size of the organisation: spend per person
    (to pick who is in the queue), then spend per tool and model for the people picked (their evidence)."""
    spend = store.spend_per_person(since, until)
    teams = store.person_teams()
    by_team: dict[str | None, list[int]] = {}
    for person, micros in spend.items():
        by_team.setdefault(teams.get(person), []).append(micros)
    medians = {team: int(statistics.median(values)) for team, values in by_team.items()}

    reasons: dict[str, list[str]] = {}
    for rank, person in enumerate(sorted(spend, key=lambda p: (-spend[p], p))[:top_n], start=1):
        reasons.setdefault(person, []).append(f"top_spender:{rank}")
    for person, micros in spend.items():
        median = medians.get(teams.get(person), 0)
        if median and micros > team_multiple * median:
            reasons.setdefault(person, []).append("above_team_median")
    flagged: dict[str, list[Any]] = {}
    for flag in flags:
        flagged.setdefault(flag.person, []).append(flag)
        reasons.setdefault(flag.person, []).append(f"flag:{flag.detector}")

    outcomes = store.outcome_counts(since, until, sorted(reasons))
    by_tool: dict[str, dict[str, int]] = {}
    by_model: dict[str, dict[str, int]] = {}
    depths: dict[str, Depth] = {}
    for person, tool, model, requests, inp, out, cache_read, cache_write, cost, unpriced in store.spend_breakdown(
            since, until, sorted(reasons)):
        tools = by_tool.setdefault(person, {})
        tools[tool] = tools.get(tool, 0) + cost
        models = by_model.setdefault(person, {})
        models[str(model)] = models.get(str(model), 0) + cost
        d = depths.setdefault(person, Depth(person))
        d.requests += requests
        d.input_tokens += inp
        d.output_tokens += out
        d.cache_read_tokens += cache_read
        d.cache_write_tokens += cache_write
        d.cost_micros += cost
        d.unpriced_requests += unpriced
    items = []
    for person in sorted(reasons):
        team = teams.get(person)
        person_depth = depths.get(person)
        evidence = {
            "period": {"since": since.isoformat(), "until": until.isoformat()},
            "spend_usd": str(micros_to_decimal_usd(spend.get(person, 0))),
            "team_median_usd": str(micros_to_decimal_usd(medians.get(team, 0))),
            "spend_by_tool_usd": {k: str(micros_to_decimal_usd(v)) for k, v in sorted(by_tool.get(person, {}).items())},
            "spend_by_model_usd": {k: str(micros_to_decimal_usd(v)) for k, v in sorted(by_model.get(person, {}).items())},
            "depth": _plain(person_depth.to_json()) if person_depth else None,
            "outcomes": outcomes.get(person, {}),
            "flags": [f.to_json() for f in flagged.get(person, [])],
        }
        items.append(ConversationItem(period=period, person=person, team=team, reasons=reasons[person],
                                      evidence=evidence, created_at=now, updated_at=now))
    return items


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Decimals as strings, so the packet is plain JSON wherever it is stored."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in data.items()}
