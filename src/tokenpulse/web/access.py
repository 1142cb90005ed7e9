"""Who may see what: roles, the org's visibility policy, and the people a viewer's pages cover.

Pure functions over the directory, so the rules can be read (and tested) in one place:

- an **engineer** sees their own everything; other people's totals and profiles as the policy allows;
- a **manager** also sees everyone in the teams they lead (directly or through the managers under them),
  whatever the policy, and those people's conversation items and breaker incidents;
- an **admin** sees every person's totals and profile, every item and incident, and edits policies.

The visibility policy says what colleagues see of each other: `transparent` (everyone sees everyone's
totals and profile, as on a wiki profile), `team` (their own team), or `private` (only themselves).
Sessions — the requests of one working session, and prompt text where it was collected — are their
owner's alone, for every role, unless the owner shares one by link.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..people import Person

ROLES = ("engineer", "manager", "admin")
VISIBILITY = ("transparent", "team", "private")
DEFAULT_VISIBILITY = "team"


@dataclass(frozen=True)
class Viewer:
    """Who is looking, fixed when they sign in (their role) and read from the directory per request (teams)."""

    actor: str
    """How they appear in audit entries: their email, or `admin-key:<id>`."""
    role: str
    person: str | None = None
    team: str | None = None
    led_teams: frozenset[str] = field(default_factory=frozenset)
    """Teams whose people report to this viewer, directly or through managers under them."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def role_of(person: Person | None, people: Iterable[Person]) -> str:
    """`admin` when the directory's role column says so; `manager` for anyone with people reporting to them
    (directly or down the chain); else `engineer`."""
    if person is None:
        return "engineer"
    if (person.role or "").strip().lower() == "admin":
        return "admin"
    return "manager" if led_teams(person.person, people) else "engineer"


def led_teams(manager: str, people: Iterable[Person]) -> frozenset[str]:
    """Teams with someone reporting to `manager`, directly or down the chain."""
    reports: dict[str, list[Person]] = {}
    for p in people:
        if p.manager:
            reports.setdefault(p.manager, []).append(p)
    teams: set[str] = set()
    seen = {manager}
    todo = [manager]
    while todo:
        for p in reports.get(todo.pop(), []):
            if p.team:
                teams.add(p.team)
            if p.person not in seen:
                seen.add(p.person)
                todo.append(p.person)
    return frozenset(teams)


def viewer_for(actor: str, person: str | None, people: Iterable[Person], *, admin: bool = False) -> Viewer:
    """The viewer for `person` (None: an admin key of nobody in particular); `admin`: signed in as one."""
    people = list(people)
    me = next((p for p in people if p.person == person), None) if person else None
    teams = led_teams(person, people) if person else frozenset()
    role = "admin" if admin or (me is not None and role_of(me, people) == "admin") else \
        "manager" if teams else "engineer"
    return Viewer(actor=actor, role=role, person=person, team=me.team if me else None, led_teams=teams)


def leads(viewer: Viewer, person: Person | None) -> bool:
    """The viewer manages this person (their team is one the viewer leads)."""
    return person is not None and person.team is not None and person.team in viewer.led_teams


def may_see_profile(viewer: Viewer, person: Person | None, person_id: str, visibility: str) -> bool:
    """Totals and profile (spend, depth, outcomes, budgets) of `person_id` (`person`: their directory entry)."""
    if viewer.is_admin or person_id == viewer.person or leads(viewer, person):
        return True
    if visibility == "transparent":
        return True
    if visibility == "team":
        return person is not None and person.team is not None and person.team == viewer.team
    return False


def may_see_private(viewer: Viewer, person: Person | None, person_id: str) -> bool:
    """Conversation items and breaker incidents: the person, their managers, admins — never peers."""
    return viewer.is_admin or person_id == viewer.person or leads(viewer, person)


def may_see_session(viewer: Viewer, owner: str | None) -> bool:
    """A session's requests (and prompt text): its owner only. Shared links are checked separately."""
    return owner is not None and owner == viewer.person


def visible_people(viewer: Viewer, people: Iterable[Person], visibility: str) -> list[Person]:
    """The directory rows whose totals the viewer may see (pages and exports list only these)."""
    return [p for p in people if may_see_profile(viewer, p, p.person, visibility)]
