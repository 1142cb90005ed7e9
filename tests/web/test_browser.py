"""The dashboard in a real browser: headless Chromium (Debian's) driven by Playwright, against a real
`tokenpulse serve` on a demo org. An engineer, a manager and an admin sign in; each sees what the `team`
visibility policy allows and nothing more; the admin changes a budget and moves a conversation; people
re-enable tripped breakers. Every page is screenshotted into test-output/screenshots/."""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from dashboard_demo import PERIOD, DemoServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("TOKENPULSE_TEST_OUTPUT", Path(__file__).parents[2] / "test-output")) / "screenshots"
# Flags for a machine without a display or outside network: no sandbox (root in CI), and no background
# connections to Google's services.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: install Debian's chromium package (.ci/run does)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def api(server: DemoServer, role: str, path: str, body: dict | None = None) -> object:
    request = urllib.request.Request(server.url + path, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {server.keys[role]}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


class Visitor:
    """One person's browser context: signs in, opens pages, screenshots them, checks for external hosts."""

    def __init__(self, browser: object, server: DemoServer, name: str):
        self.server = server
        self.name = name
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.requested_hosts: set[str] = set()
        self.page.on("request", lambda r: self.requested_hosts.add(r.url.split("/")[2]))

    def sign_in_with_key(self, key: str) -> None:
        self.page.goto(self.server.url + "/")
        assert self.page.url.startswith(self.server.url + "/login"), "an anonymous visit goes to sign-in"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.name}-sign-in.png"))
        self.page.fill("input[name=key]", key)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def open(self, path: str, shot: str | None = None) -> int:
        response = self.page.goto(self.server.url + path)
        assert response is not None
        html = self.page.content()
        assert not EXTERNAL.search(html), f"{path} refers to another host"
        if shot:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{self.name}-{shot}.png"), full_page=True)
        return response.status

    def text(self) -> str:
        return self.page.inner_text("main")

    def close(self) -> None:
        hosts = {h for h in self.requested_hosts if h != self.server.url.split("/")[2]}
        self.context.close()
        assert not hosts, f"the browser was sent to other hosts: {hosts}"


def test_an_engineer_sees_their_team_their_own_sessions_and_no_one_elses(browser: object,
                                                                       demo_server: DemoServer) -> None:
    engineer, other = demo_server.person("engineer"), demo_server.person("other_engineer")
    their_session = api(demo_server, "other_engineer", f"/api/v1/profiles/{other}?{PERIOD}")["sessions"][0]["session"]
    me = Visitor(browser, demo_server, "engineer")
    try:
        me.sign_in_with_key(demo_server.keys["engineer"])
        assert me.open(f"/?{PERIOD}", "overview") == 200
        assert "Spend per day" in me.text()

        assert me.open(f"/people?{PERIOD}", "people") == 200
        listed = me.page.locator("#people tbody tr small").all_inner_texts()
        team = demo_server.people["engineer"].team
        assert engineer in listed and other not in listed
        assert all(row == "–" or row == team for row in me.page.locator("#people tbody tr td:nth-child(2)")
                   .all_inner_texts())

        assert me.open(f"/people/{engineer}?{PERIOD}", "profile") == 200
        assert "Your sessions" in me.text()
        first_session = me.page.locator("a[href^='/sessions/']").first
        first_session.click()
        me.page.wait_for_load_state()
        assert "/sessions/" in me.page.url and "Context" in me.text()
        me.open(me.page.url.removeprefix(demo_server.url), "session")
        # Share it by link; a colleague signed in elsewhere opens it, and the engineer can see that they did.
        me.page.click("form[action$='/share'] button")
        me.page.wait_for_load_state()
        link = me.page.locator("code", has_text="/shared/").inner_text()
        colleague = Visitor(browser, demo_server, "colleague")
        try:
            colleague.sign_in_with_key(demo_server.keys["manager"])
            assert colleague.open(link, "shared-session") == 200
            assert "shared by " + engineer in colleague.text() and "Prompts" not in colleague.text()
        finally:
            colleague.close()
        assert me.open("/me/views", "views") == 200 and "view_shared_session" in me.text()

        # Someone else's session or profile, by URL: the same "not available" as for what does not exist.
        assert me.open(f"/sessions/{quote(their_session)}", "session-of-another") == 404
        assert me.open(f"/people/{other}?{PERIOD}") == 404
        assert me.open("/people/nobody@example.com") == 404

        # Self-service re-enable of their own tripped breaker, from their profile.
        me.open(f"/people/{engineer}?{PERIOD}")
        me.page.fill("input[name=reason]", "load test I started on purpose")
        me.page.click("form[action='/api/v1/incidents/reenable'] button")
        me.page.wait_for_load_state()
        assert "load test I started on purpose" in me.text()
        for path, shot in (("/conversations", "conversations"), ("/incidents", "incidents"),
                           ("/policies", "policies"), (f"/exports?{PERIOD}", "exports")):
            assert me.open(path, shot) == 200
        me.open("/incidents")
        assert other not in me.text()  # another team's incidents are not shown
        # Reconciliation: only their own cells (per-day figures are as private as incidents).
        assert me.open(f"/reconciliation?{PERIOD}&only=all", "reconciliation") == 200
        assert engineer in me.text() and other not in me.text()
        mine = api(demo_server, "engineer", f"/api/v1/reconciliation?{PERIOD}&only=all")
        assert mine["cells"] and {c["person"] for c in mine["cells"]} == {engineer}
    finally:
        me.close()


def test_a_manager_signs_in_by_link_and_sees_their_team_only(browser: object, demo_server: DemoServer) -> None:
    manager = demo_server.person("manager")
    engineer, other = demo_server.person("engineer"), demo_server.person("other_engineer")
    link = api(demo_server, "admin", "/api/v1/login-links", {"email": manager})["path"]
    boss = Visitor(browser, demo_server, "manager")
    try:
        boss.open(link)
        boss.page.click("button[type=submit]")
        boss.page.wait_for_load_state()
        assert boss.page.url.rstrip("/") == demo_server.url
        assert boss.open(link) == 200 and "already used" not in boss.text()  # the form, not yet used ...
        assert boss.open(f"/people?{PERIOD}", "people") == 200
        listed = boss.page.locator("#people tbody tr small").all_inner_texts()
        assert engineer in listed and other not in listed
        assert boss.open(f"/people/{engineer}?{PERIOD}", "profile-of-report") == 200
        assert "Breaker history" in boss.text() and "Your sessions" not in boss.text()
        assert boss.open(f"/people/{other}?{PERIOD}") == 404
        assert boss.open(f"/?{PERIOD}&team={demo_server.people['other_engineer'].team}") == 403
        assert boss.open(f"/?{PERIOD}", "overview") == 200
    finally:
        boss.close()
    # The engineer can read that their manager looked at their profile.
    views = api(demo_server, "engineer", "/api/v1/audit/me")["entries"]
    assert any(e["actor"] == manager and e["action"] == "view_profile" for e in views)
    # ... and a used link does not sign anyone in again.
    again = Visitor(browser, demo_server, "manager-again")
    try:
        again.open(link)
        again.page.click("button[type=submit]")
        again.page.wait_for_load_state()
        assert "already used" in again.text()
    finally:
        again.close()


def test_an_admin_changes_a_budget_moves_a_conversation_and_re_enables_a_breaker(
        browser: object, demo_server: DemoServer) -> None:
    other = demo_server.person("other_engineer")
    admin = Visitor(browser, demo_server, "admin")
    try:
        admin.sign_in_with_key(demo_server.keys["admin"])
        assert admin.open(f"/people?{PERIOD}", "people") == 200
        assert admin.page.locator("#people tbody tr").count() == 40

        admin.open("/policies", "policies")
        budgets = '[{"each": "person", "tool": "claude_code", "usd": 300}]'
        admin.page.fill("textarea[name=value] >> nth=1", budgets)
        admin.page.click("form:has(input[value=budgets]) button")
        admin.page.wait_for_load_state()
        assert api(demo_server, "admin", "/api/v1/policies")["policies"]["budgets"] == [
            {"each": "person", "tool": "claude_code", "usd": 300}]
        admin.open("/policies", "policies-after")
        # The budget now applies to everyone, and each profile shows it with this month's claude_code spend.
        profile = api(demo_server, "admin", f"/api/v1/profiles/{other}?{PERIOD}")
        month = api(demo_server, "admin", f"/api/v1/profiles/{other}?since=2026-12-01&until=2026-12-04")
        [budget] = profile["budgets"]
        assert (budget["scope"], budget["period"], budget["limit_usd"]) == (
            f"person:{other}|tool:claude_code", "month", 300)
        claude_this_month = [t for t in month["by_tool"] if t["tool"] == "claude_code"]
        assert budget["spent_micros"] == (claude_this_month[0]["spend_micros"] if claude_this_month else 0)

        admin.open("/conversations?status=open", "conversations")
        item = admin.page.locator("article.item").first
        item_id = item.get_attribute("id")
        item.locator("select[name=status]").select_option("scheduled")
        item.locator("input[name=scheduled_for]").fill("2026-12-08")
        item.locator("button").click()
        admin.page.wait_for_load_state()
        moved = [i for i in api(demo_server, "admin", "/api/v1/conversations")["items"] if i["id"] == item_id]
        assert moved[0]["status"] == "scheduled" and moved[0]["scheduled_for"] == "2026-12-08"

        admin.open("/incidents", "incidents")
        row = admin.page.locator(f"tr:has(a:text-is('{other}'))")
        row.locator("input[name=reason]").fill("confirmed with the team: a planned backfill")
        row.locator("button").click()
        admin.page.wait_for_load_state()
        incidents = api(demo_server, "admin", "/api/v1/incidents")
        theirs = [i for c in incidents["causes"] for i in c["incidents"] if i["person"] == other]
        assert theirs[0]["reenable_reason"] == "confirmed with the team: a planned backfill"
        for path, shot in ((f"/?{PERIOD}", "overview"), (f"/?{PERIOD}&stack=model", "overview-by-model"),
                           (f"/people/{other}?{PERIOD}", "profile"), (f"/exports?{PERIOD}", "exports"),
                           (f"/reconciliation?{PERIOD}", "reconciliation")):
            assert admin.open(path, shot) == 200
        everyone = api(demo_server, "admin", f"/api/v1/reconciliation?{PERIOD}&only=all")
        assert len({c["person"] for c in everyone["cells"]}) > 2
    finally:
        admin.close()
