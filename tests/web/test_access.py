"""Who may see what, as pure rules over a small directory: roles, the three visibility policies, the chain
of managers, and sessions private to their owner whatever the role."""

from __future__ import annotations

import pytest

from tokenpulse.people import Person
from tokenpulse.web.access import led_teams, may_see_private, may_see_profile, may_see_session, viewer_for

PEOPLE = [
    Person("cto@x.io", team="leadership", role="cto"),
    Person("dir@x.io", team="eng-group", manager="cto@x.io", role="director"),
    Person("mia@x.io", team="payments", manager="dir@x.io", role="manager"),
    Person("ann@x.io", team="payments", manager="mia@x.io", role="engineer"),
    Person("bob@x.io", team="payments", manager="mia@x.io", role="engineer"),
    Person("sam@x.io", team="search", manager="dir@x.io", role="manager"),
    Person("cy@x.io", team="search", manager="sam@x.io", role="engineer"),
    Person("root@x.io", team="platform", role="admin"),
]
BY_ID = {p.person: p for p in PEOPLE}


def viewer(person: str):
    return viewer_for(person, person, PEOPLE)


def sees(who: str, whom: str, visibility: str) -> bool:
    return may_see_profile(viewer(who), BY_ID.get(whom), whom, visibility)


def test_roles_come_from_the_directory_and_the_reporting_chain() -> None:
    assert viewer("ann@x.io").role == "engineer"
    assert viewer("mia@x.io").role == "manager" and viewer("mia@x.io").led_teams == {"payments"}
    # A director leads every team under their managers; the CTO everything below.
    assert led_teams("dir@x.io", PEOPLE) == {"payments", "search"}
    assert led_teams("cto@x.io", PEOPLE) == {"eng-group", "payments", "search"}
    assert viewer("root@x.io").role == "admin"
    # An admin key with no person behind it.
    assert viewer_for("admin-key:tpa_1", None, PEOPLE, admin=True).role == "admin"


@pytest.mark.parametrize(("who", "whom", "transparent", "team", "private"), [
    ("ann@x.io", "ann@x.io", True, True, True),      # yourself, always
    ("ann@x.io", "bob@x.io", True, True, False),     # a teammate
    ("ann@x.io", "cy@x.io", True, False, False),     # another team
    ("ann@x.io", "mia@x.io", True, True, False),     # your manager is in your team
    ("mia@x.io", "bob@x.io", True, True, True),      # a manager's report, whatever the policy
    ("mia@x.io", "cy@x.io", True, False, False),     # a manager does not see another manager's team
    ("dir@x.io", "cy@x.io", True, True, True),       # ... but their director does
    ("root@x.io", "cy@x.io", True, True, True),      # an admin sees everyone
    ("ann@x.io", "ghost@x.io", True, False, False),  # someone not in the directory: only when transparent
])
def test_profiles_follow_the_visibility_policy(who: str, whom: str, transparent: bool, team: bool,
                                               private: bool) -> None:
    assert (sees(who, whom, "transparent"), sees(who, whom, "team"), sees(who, whom, "private")) == (
        transparent, team, private)


def test_conversations_and_incidents_are_for_the_person_their_managers_and_admins_never_peers() -> None:
    def private(who: str, whom: str) -> bool:
        return may_see_private(viewer(who), BY_ID.get(whom), whom)

    assert private("ann@x.io", "ann@x.io")
    assert not private("ann@x.io", "bob@x.io")  # a teammate, even under `transparent`
    assert private("mia@x.io", "bob@x.io") and private("dir@x.io", "bob@x.io") and private("cto@x.io", "bob@x.io")
    assert not private("sam@x.io", "bob@x.io")
    assert private("root@x.io", "bob@x.io")


def test_sessions_are_their_owners_alone_whatever_the_role() -> None:
    assert may_see_session(viewer("ann@x.io"), "ann@x.io")
    for other in ("bob@x.io", "mia@x.io", "dir@x.io", "cto@x.io", "root@x.io"):
        assert not may_see_session(viewer(other), "ann@x.io")
    assert not may_see_session(viewer_for("admin-key:tpa_1", None, PEOPLE, admin=True), "ann@x.io")
    assert not may_see_session(viewer("ann@x.io"), None)
