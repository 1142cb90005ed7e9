"""The numbers behind every dashboard page, as JSON-ready dicts: the JSON API returns them as they are and
the HTML pages render them. Each function takes the store and a `View` (who is looking, under which
policy, over which dates) and returns only what that viewer may see.

Money is summed in integer micro-USD and leaves here as decimal USD strings (`*_usd`), like every report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..errors import RequestError
from ..money import micros_to_decimal_usd as usd
from ..people import Person
from ..pricing import Discount
from ..reports import local_bounds
from ..store.web import Scope
from . import access
from .access import Viewer

TOKEN_PARTS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


@dataclass
class View:
    """One request's point of view: the viewer, the org's policy and the dates asked for."""

    viewer: Viewer
    visibility: str
    tz: str
    first: date
    last: date
    discount: Discount = field(default_factory=Discount)
    people: dict[str, Person] = field(default_factory=dict)
    """The directory, by person id."""
    expected_monthly_usd: dict[str, Any] = field(default_factory=dict)
    """The org's expected monthly spend per tool (the floor shown to people), in USD."""
    budgets: list[dict[str, Any]] = field(default_factory=list)
    """The budget rules in force (as written in the policy: `each`/`person`/`team`, `tool`, `usd`, `period`)."""

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return local_bounds(self.tz, self.first, self.last)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def scope(self, team: str | None = None) -> Scope | None:
        """The people the viewer's org-wide pages cover (None: everyone), optionally one team of them."""
        v = self.viewer
        if team is not None:
            if not self.may_see_team(team):
                raise RequestError(f"you may not see the team {team!r}", 403)
            return Scope(teams=(team,))
        if v.is_admin or self.visibility == "transparent":
            return None
        teams = set(v.led_teams)
        if self.visibility == "team" and v.team:
            teams.add(v.team)
        return Scope(teams=tuple(sorted(teams)), people=(v.person,) if v.person else ())

    def may_see_team(self, team: str) -> bool:
        v = self.viewer
        return (v.is_admin or self.visibility == "transparent" or team in v.led_teams
                or (self.visibility == "team" and team == v.team))

    def person(self, person_id: str) -> Person | None:
        return self.people.get(person_id)

    def may_see_profile(self, person_id: str) -> bool:
        return access.may_see_profile(self.viewer, self.person(person_id), person_id, self.visibility)

    def may_see_private(self, person_id: str) -> bool:
        return access.may_see_private(self.viewer, self.person(person_id), person_id)


# --- shared figures ---------------------------------------------------------------------------------


def _tokens(row: dict[str, Any]) -> int:
    return sum(row.get(p, 0) for p in TOKEN_PARTS)


def depth_figures(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Spend and depth of some usage rows: cost per 1M tokens, mean context, cache-read and output shares."""
    requests = cost = inp = out = cr = cw = unpriced = 0
    for r in rows:
        requests += r["requests"]
        cost += r["cost_micros"]
        inp += r["input_tokens"]
        out += r["output_tokens"]
        cr += r["cache_read_tokens"]
        cw += r["cache_write_tokens"]
        unpriced += r["unpriced_requests"]
    context = inp + cr + cw
    tokens = context + out
    return {"requests": requests, "tokens": tokens, "spend_micros": cost, "spend_usd": usd(cost),
            "cost_per_mtok_usd": usd((cost * 1_000_000 * 2 + tokens) // (2 * tokens)) if tokens else None,
            "mean_context_tokens": round(context / requests) if requests else None,
            "cache_read_share": round(cr / context, 4) if context else None,
            "output_share": round(out / tokens, 4) if tokens else None,
            "unpriced_requests": unpriced}


def _cost_per_mtok(rows: list[dict[str, Any]]) -> int | None:
    tokens = sum(_tokens(r) for r in rows)
    cost = sum(r["cost_micros"] for r in rows)
    return (cost * 1_000_000 * 2 + tokens) // (2 * tokens) if tokens else None


class Outcomes:
    """Outcome counts under the outcomes module's rules (git is the record of a kind when a person has it;
    AI-assisted lines from commit markers or an AI tool's own telemetry), summed over some people."""

    def __init__(self, rows: Iterable[dict[str, int]] = ()):
        self.commits = self.pull_requests = self.lines_added = self.lines_removed = self.ai_lines = 0
        for row in rows:
            self.add(row)

    def add(self, row: dict[str, int]) -> None:
        self.commits += row["commits"]
        self.pull_requests += row["pull_requests"]
        self.lines_added += row["lines_added"]
        self.lines_removed += row["lines_removed"]
        self.ai_lines += row["ai_lines"]


def outcome_totals(store: Any, view: View, *, scope: Scope | None = None, by: str = "person"
                   ) -> dict[str | None, dict[str, int]]:
    """Counted outcomes over the view's period per person (or team), within `scope`."""
    from ..insights.outcomes import AI_LINE_TOOLS

    since, until = view.bounds
    rows = store.outcome_totals(since, until, sorted(AI_LINE_TOOLS), scope=scope, by=by)
    return {r[by]: r for r in rows}


def outcome_figures(outcomes: Outcomes, spend_micros: int) -> dict[str, Any]:
    """Outcomes beside the spend they came with: counts per $100 (None when nothing was spent) and the share
    of changed lines that were AI-assisted."""
    def per_100(n: int) -> float | None:
        return round(n * 100_000_000 / spend_micros, 2) if spend_micros else None

    changed = outcomes.lines_added + outcomes.lines_removed
    return {"commits": outcomes.commits, "pull_requests": outcomes.pull_requests,
            "lines_added": outcomes.lines_added, "lines_removed": outcomes.lines_removed,
            "ai_assisted_lines": outcomes.ai_lines,
            "ai_assisted_share": round(outcomes.ai_lines / changed, 4) if changed else None,
            "commits_per_100_usd": per_100(outcomes.commits), "pull_requests_per_100_usd": per_100(outcomes.pull_requests)}


def _series(rows: list[dict[str, Any]], days: list[date], key: str, measure: str = "cost_micros"
            ) -> dict[str, list[int]]:
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[int]] = {}
    for r in rows:
        i = index.get(r["day"])
        if i is not None:
            series.setdefault(str(r[key] or "unknown"), [0] * len(days))[i] += r[measure]
    return dict(sorted(series.items(), key=lambda kv: -sum(kv[1])))


def _period(view: View) -> dict[str, Any]:
    return {"since": view.first.isoformat(), "until": view.last.isoformat(), "timezone": view.tz}


# --- pages ------------------------------------------------------------------------------------------


def overview(store: Any, view: View, *, stack: str = "tool", team: str | None = None,
             today: date | None = None) -> dict[str, Any]:
    """Org or team overview: spend and depth over time, month-end forecast, outcomes per dollar, teams."""
    if stack not in ("tool", "model"):
        raise RequestError("`stack` must be tool or model")
    scope = view.scope(team)
    since, until = view.bounds
    today = today or view.last
    forecast_first = _forecast_first(today)
    forecast_rows = None
    if forecast_first <= view.last + timedelta(days=1) and view.first <= today + timedelta(days=1):
        # The forecast's days touch the period's: one query for both, split by day.
        f_since, f_until = local_bounds(view.tz, forecast_first, today)
        both = store.usage_grouped(["day", stack, "provider"], since=min(since, f_since), until=max(until, f_until),
                                   tz=view.tz, scope=scope)
        rows = [r for r in both if view.first <= r["day"] <= view.last]
        forecast_rows = [r for r in both if forecast_first <= r["day"] <= today]
    else:
        rows = store.usage_grouped(["day", stack, "provider"], since=since, until=until, tz=view.tz, scope=scope)
    days = view.days()
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_day[r["day"]].append(r)
    totals = depth_figures(rows)
    spend_by_provider: dict[str | None, int] = defaultdict(int)
    for r in rows:
        spend_by_provider[r["provider"]] += r["cost_micros"]
    effective = view.discount.effective_total(spend_by_provider)
    per_team_outcomes = outcome_totals(store, view, scope=scope, by="team")
    per_team = _teams(store, view, scope, since, until, per_team_outcomes) if team is None else []
    month_budget = _group_budget(view, team)
    return {
        **_period(view), "team": team, "stack": stack,
        "totals": {**totals, "effective_usd": usd(effective), "discount": view.discount.describe()},
        "daily": {"days": [d.isoformat() for d in days], "spend_micros": _series(rows, days, stack),
                  "cost_per_mtok_micros": [_cost_per_mtok(by_day[d]) for d in days]},
        "forecast": month_forecast(store, view, scope, today, rows=forecast_rows),
        "budget": {"monthly_usd": usd(month_budget), "monthly_micros": month_budget} if month_budget else None,
        "outcomes": outcome_figures(Outcomes(per_team_outcomes.values()), totals["spend_micros"]),
        "teams": per_team,
    }


def _rules(view: View) -> list[Any]:
    from ..gateway.settings import budget_rule

    return [budget_rule(rule, i) for i, rule in enumerate(view.budgets, start=1)]


def _group_budget(view: View, team: str | None) -> int | None:
    """The monthly cap on the whole org (rules with no person, team or `each`) or on one team, if set."""
    limits = [r.limit_micros for r in _rules(view) if r.period == "month" and r.tool is None and r.each is None
              and r.person is None and r.team == team]
    return sum(limits) if limits else None


def budgets_of(store: Any, view: View, person_id: str, today: date) -> list[dict[str, Any]]:
    """The budgets that apply to one person, with what is spent of each in its current period."""
    person = view.person(person_id)
    team = person.team if person else None
    out = []
    for rule in _rules(view):
        scope = rule.scope_for(person_id, team, rule.tool or "")
        if scope is None:
            continue
        first = today.replace(day=1) if rule.period == "month" else today
        since, until = local_bounds(view.tz, first, today)
        if scope.startswith("person:"):
            rows = store.usage_grouped(["tool"], since=since, until=until, tz=view.tz, person=person_id)
        else:
            rows = store.usage_grouped(["tool"], since=since, until=until, tz=view.tz,
                                       scope=Scope(teams=(team,)) if scope.startswith("team:") else None)
        spent = sum(r["cost_micros"] for r in rows if rule.tool is None or r["tool"] == rule.tool)
        out.append({"scope": scope, "period": rule.period, "limit_usd": usd(rule.limit_micros),
                    "spent_usd": usd(spent), "limit_micros": rule.limit_micros, "spent_micros": spent,
                    "used_share": round(spent / rule.limit_micros, 4) if rule.limit_micros else None})
    return out


def _teams(store: Any, view: View, scope: Scope | None, since: datetime, until: datetime,
           outcomes: dict[str | None, dict[str, int]]) -> list[dict[str, Any]]:
    """Per team (summed by the store: a row per team, not per person): people with usage, spend, depth and
    outcomes (`outcomes`: the counted outcomes by team)."""
    usage = {r["team"]: r for r in store.usage_grouped(["team"], since=since, until=until, tz=view.tz, scope=scope)}
    out = []
    for team in sorted(usage, key=lambda t: (t is None, t or "")):
        figures = depth_figures([usage[team]])
        out.append({"team": team, "people": usage[team]["people"], **figures,
                    "outcomes": outcome_figures(Outcomes([outcomes[team]] if team in outcomes else []),
                                                figures["spend_micros"])})
    return out


def _forecast_first(today: date) -> date:
    """The first day whose spend the month-end forecast reads."""
    from ..insights.forecast import LOOKBACK_DAYS

    return min(today.replace(day=1), today - timedelta(days=LOOKBACK_DAYS))


def month_forecast(store: Any, view: View, scope: Scope | None, today: date, person: str | None = None,
                   rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Month-end spend with a 90 % interval, list and effective (the insights forecast over daily spend).
    `rows`: the usage by day and provider (and maybe more) of those days, when the caller already has it."""
    from ..insights.forecast import forecast

    if rows is None:
        since, until = local_bounds(view.tz, _forecast_first(today), today)
        rows = store.usage_grouped(["day", "provider"], since=since, until=until, tz=view.tz, scope=scope,
                                   person=person)
    daily: dict[date, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        daily[r["day"]][r["provider"]] += r["cost_micros"]
    made = forecast(daily, today, view.discount)
    return {**made.to_json(), "month": f"{today:%Y-%m}", "spent_micros": made.spent_micros,
            "forecast_micros": made.forecast_micros}


DIRECTORY_PAGE = 100
NAME_ORDERS = ("team", "name")


def directory(store: Any, view: View, *, query: str = "", team: str | None = None, sort: str = "team",
              page: int = 1, per_page: int = DIRECTORY_PAGE) -> dict[str, Any]:
    """The people the viewer may see, a page at a time, with spend, depth, outcomes per dollar and (where
    allowed) flags. Ordered by team and name unless a column is asked for; there is no podium.

    In name order only the page's people are summed; ordering by a figure sums everyone the viewer may see."""
    sorts = (*NAME_ORDERS, "spend", "cost_per_mtok", "commits_per_100_usd", "flags")
    column = sort.lstrip("-")
    if column not in sorts:
        raise RequestError(f"`sort` must be one of {', '.join(sorts)} (prefix - for descending)")
    if not 1 <= per_page <= 1000:
        raise RequestError("`per_page` must be between 1 and 1000")
    if team is not None and not view.may_see_team(team):
        raise RequestError(f"you may not see the team {team!r}", 403)
    needle = query.strip().lower()
    candidates = [p for p in view.people.values()
                  if (team is None or p.team == team) and view.may_see_profile(p.person)
                  and (not needle or needle in p.person or needle in (p.name or "").lower()
                       or needle in (p.team or "").lower())]
    paging = _page(page, len(candidates), per_page)
    window = slice((page - 1) * per_page, page * per_page)
    if column in NAME_ORDERS:
        candidates.sort(key=_name_key(column), reverse=sort.startswith("-"))
        candidates = candidates[window]
    rows = _directory_rows(store, view, candidates)
    if column not in NAME_ORDERS:
        rows.sort(key=_sort_key(column), reverse=sort.startswith("-"))
        rows = rows[window]
    return {**_period(view), "team": team, "query": query, "sort": sort, "visibility": view.visibility,
            **paging, "people": rows}


def _directory_rows(store: Any, view: View, people: list[Person]) -> list[dict[str, Any]]:
    """Figures for these people: their usage, outcomes and open flags, each read for them alone."""
    ids = [p.person for p in people]
    scope = Scope(people=tuple(ids))
    since, until = view.bounds
    usage = {r["person"]: r for r in store.usage_grouped(["person"], since=since, until=until, tz=view.tz,
                                                          scope=scope)} if ids else {}
    outcomes = outcome_totals(store, view, scope=scope) if ids else {}
    private = [i for i in ids if view.may_see_private(i)]
    flags = _open_flags(store, view, private) if private else {}
    rows = []
    for person in people:
        figures = depth_figures([usage[person.person]] if person.person in usage else [])
        rows.append({"person": person.person, "name": person.name, "team": person.team,
                     "manager": person.manager, **figures,
                     "outcomes": outcome_figures(Outcomes([outcomes[person.person]] if person.person in outcomes
                                                          else []), figures["spend_micros"]),
                     "flags": flags.get(person.person, []) if view.may_see_private(person.person) else None})
    return rows


def _name_key(column: str) -> Any:
    if column == "team":
        return lambda p: (p.team or "~", (p.name or p.person).lower())
    return lambda p: (p.name or p.person).lower()


def _sort_key(column: str) -> Any:
    def key(row: dict[str, Any]) -> Any:
        if column == "spend":
            return row["spend_micros"]
        if column == "cost_per_mtok":
            return row["cost_per_mtok_usd"] or 0
        if column == "flags":
            return len(row["flags"] or [])
        return row["outcomes"][column] or 0
    return key


def _open_flags(store: Any, view: View, people: list[str]) -> dict[str, list[str]]:
    """Detector flags of these people's conversation items still open (or scheduled)."""
    out: dict[str, list[str]] = {}
    for item in store.conversations(scope=private_scope(view), people=people):
        if item.status in ("open", "scheduled"):
            names = [f["detector"] for f in item.evidence.get("flags", []) if isinstance(f, dict)]
            out.setdefault(item.person, [])
            out[item.person] += [n for n in names if n not in out[item.person]]
    return out


def profile(store: Any, view: View, person_id: str, *, today: date | None = None) -> dict[str, Any]:
    """One person: spend by tool, model and day, depth, outcomes, budgets and overrides, breaker history,
    conversation items, and — for the owner only — their sessions."""
    if not view.may_see_profile(person_id):
        # The same answer whether or not the person exists: ids cannot be probed.
        raise RequestError("no such person, or you may not see them", 404)
    since, until = view.bounds
    rows = store.usage_grouped(["day", "tool", "model"], since=since, until=until, tz=view.tz, person=person_id)
    days = view.days()
    figures = depth_figures(rows)
    outcomes = Outcomes(outcome_totals(store, view, scope=Scope(people=(person_id,))).values())
    has_outcomes = store.outcomes_grouped(["person"], since=since, until=until, person=person_id)
    if person_id not in view.people and not rows and not has_outcomes:
        raise RequestError("no such person, or you may not see them", 404)
    by = {dim: _breakdown(rows, dim) for dim in ("tool", "model")}
    person = view.person(person_id)
    own = person_id == view.viewer.person
    private = view.may_see_private(person_id)
    result: dict[str, Any] = {
        **_period(view), "person": person_id, "name": person.name if person else None,
        "team": person.team if person else None, "manager": person.manager if person else None,
        "is_you": own, "totals": figures, "by_tool": by["tool"], "by_model": by["model"],
        "daily": {"days": [d.isoformat() for d in days], "spend_micros": _series(rows, days, "tool")},
        "outcomes": outcome_figures(outcomes, figures["spend_micros"]),
        "forecast": month_forecast(store, view, None, today or view.last, person=person_id),
        "budgets": budgets_of(store, view, person_id, today or view.last),
        "expected_usage": expected_usage_of(store, view, person_id, today or view.last),
        "overrides": [_override(o) for o in _overrides_of(store, person_id, today or view.last)],
        "incidents": [i.to_json() for i in store.incidents(person=person_id)] if private else None,
        "conversations": [c.to_json() for c in store.conversations(person=person_id)] if private else None,
        "sessions": sessions_of(store, view, person_id) if own else None,
    }
    return result


def expected_usage_of(store: Any, view: View, person_id: str, today: date) -> list[dict[str, Any]]:
    """The org's expected monthly spend per tool beside what the person spent on it this month so far."""
    from ..money import decimal_usd_to_micros

    if not view.expected_monthly_usd:
        return []
    since, until = local_bounds(view.tz, today.replace(day=1), today)
    spent = {r["tool"]: r["cost_micros"] for r in store.usage_grouped(["tool"], since=since, until=until,
                                                                        tz=view.tz, person=person_id)}
    return [{"tool": tool, "expected_usd": usd(decimal_usd_to_micros(str(amount))),
             "month_spend_usd": usd(spent.get(tool, 0)), "month": f"{today:%Y-%m}"}
            for tool, amount in sorted(view.expected_monthly_usd.items())]


def _breakdown(rows: list[dict[str, Any]], dim: str) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[str(r[dim] or "unknown")].append(r)
    return sorted(({dim: key, **depth_figures(g)} for key, g in groups.items()), key=lambda x: -x["spend_micros"])


def _overrides_of(store: Any, person_id: str, today: date) -> list[Any]:
    periods = {f"{today:%Y-%m}", today.isoformat()}
    return [o for p in sorted(periods) for o in store.overrides_for(p) if o.scope.startswith(f"person:{person_id}")]


def _override(o: Any) -> dict[str, Any]:
    return {"scope": o.scope, "period": o.period, "raise_usd": usd(o.raise_micros), "reason": o.reason,
            "granted_by": o.granted_by, "granted_at": o.granted_at.isoformat()}


def sessions_of(store: Any, view: View, person_id: str, limit: int = 200) -> list[dict[str, Any]]:
    since, until = view.bounds
    rows = store.usage_grouped(["session", "tool", "project"], since=since, until=until, tz=view.tz,
                               person=person_id)
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["session"]:
            grouped[r["session"]].append(r)
    out = []
    for session, group in grouped.items():
        out.append({"session": session, "tools": sorted({g["tool"] for g in group}),
                    "project": next((g["project"] for g in group if g["project"]), None),
                    "first_ts": min(g["first_ts"] for g in group).isoformat(),
                    "last_ts": max(g["last_ts"] for g in group).isoformat(), **depth_figures(group)})
    out.sort(key=lambda s: s["first_ts"], reverse=True)
    return out[:limit]


def session_detail(store: Any, span: Any, *, with_prompts: bool) -> dict[str, Any]:
    """A session (its `store.session_span`) as a timeline of requests and outcomes; prompt text only when
    `with_prompts` (its owner)."""
    session = span.session
    events = store.session_usage(span)
    requests = [{"ts": e.ts.isoformat(), "clock": f"{e.ts:%H:%M:%S}", "id": e.id, "tool": e.tool, "model": e.priced_model or e.model,
                 "status": e.status, "input_tokens": e.input_tokens, "output_tokens": e.output_tokens,
                 "cache_read_tokens": e.cache_read_tokens, "cache_write_tokens": e.cache_write_tokens,
                 "context_tokens": e.input_tokens + e.cache_read_tokens + e.cache_write_tokens,
                 "cost_usd": usd(e.cost_micros) if e.cost_micros is not None else None,
                 "duration_ms": e.duration_ms} for e in events]
    outcomes = [{"ts": o.ts.isoformat(), "type": o.type, "count": o.count, "tool": o.tool}
                for o in store.session_outcomes(span)]
    owner = events[0].person if events else None
    prompts = None
    if with_prompts and owner:
        prompts = [{"ts": p.ts.isoformat(), "length": p.length, "text": p.text}
                   for p in reversed(store.prompts_of(owner, limit=5000, session=session))]
    cost = sum(e.cost_micros or 0 for e in events)
    return {"session": session, "person": owner, "project": next((e.project for e in events if e.project), None),
            "requests": requests, "outcomes": outcomes, "prompts": prompts, "spend_usd": usd(cost),
            "request_count": len(requests)}


def private_scope(view: View) -> Scope | None:
    """Whose conversation items and incidents the viewer may see: everyone's for an admin, else their own
    and those of the teams they lead (`access.may_see_private`, as a query)."""
    v = view.viewer
    if v.is_admin:
        return None
    return Scope(teams=tuple(sorted(v.led_teams)), people=(v.person,) if v.person else ())


PAGE_SIZE = 50


def _page(request_page: int, total: int, size: int) -> dict[str, int]:
    pages = max(1, -(-total // size))
    if request_page < 1:
        raise RequestError("`page` starts at 1")
    return {"page": request_page, "pages": pages, "per_page": size, "total": total}


def conversations(store: Any, view: View, *, status: str | None = None, page: int = 1,
                  per_page: int = PAGE_SIZE) -> dict[str, Any]:
    """The queue items the viewer may see, a page at a time (newest period first), with counts per status."""
    from ..insights.conversations import STATUSES

    if status is not None and status not in STATUSES:
        raise RequestError(f"`status` must be one of {', '.join(STATUSES)}")
    scope = private_scope(view)
    counts = store.conversation_counts(scope=scope)
    total = counts.get(status, 0) if status else sum(counts.values())
    paging = _page(page, total, per_page)
    items = store.conversations(status=status, scope=scope, limit=per_page, offset=(page - 1) * per_page)
    return {"status": status, "counts": counts, **paging, "items": [i.to_json() for i in items]}


RECONCILIATION_PAGE = 100


def reconciliation(store: Any, view: View, *, only: str = "multiple", tool: str | None = None,
                   page: int = 1) -> dict[str, Any]:
    """Vendor, gateway and local figures per person, tool and UTC day for the people whose private figures
    the viewer may see (`private_scope`), with the totals and the cells a page at a time."""
    from ..reconcile import ONLY, reconcile

    if only not in ONLY:
        raise RequestError(f"`only` must be one of {', '.join(ONLY)}")
    if page < 1:
        raise RequestError("`page` starts at 1")
    result = reconcile(store, view.first, view.last, scope=private_scope(view), tools=(tool,) if tool else (),
                       only=only, limit=RECONCILIATION_PAGE,  # type: ignore[arg-type]
                       offset=(page - 1) * RECONCILIATION_PAGE, count_cells=False).to_json()
    paging = _page(page, result["cells_listed"], RECONCILIATION_PAGE)
    return {**result, "timezone": "UTC days", "tool": tool, **paging}


def incidents(store: Any, view: View) -> dict[str, Any]:
    """Breaker trips the viewer may see, grouped by cause, with how each ended."""
    visible = [i for i in store.incidents(limit=100_000) if view.may_see_private(i.person)]
    causes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in sorted(visible, key=lambda i: i.tripped_at, reverse=True):
        causes[i.cause].append(i.to_json())
    return {"total": len(visible), "open": sum(1 for i in visible if i.reenabled_at is None and not i.shadow),
            "causes": [{"cause": c, "count": len(items), "incidents": items} for c, items in sorted(causes.items())]}


VIEWS_SHOWN = 500
"""The newest entries "who viewed me" lists."""


def views_of_me(store: Any, view: View) -> dict[str, Any]:
    """Who looked at the viewer's profile or shared sessions (the audit log, their own subject)."""
    if not view.viewer.person:
        return {"entries": []}
    entries = store.audit_log(subject=view.viewer.person, limit=VIEWS_SHOWN, newest_first=True)
    return {"entries": [e.to_json() for e in entries], "limit": VIEWS_SHOWN}

