"""The dashboard's security, over real HTTP against `tokenpulse serve` on the demo org: no page or API answers
without credentials, sign-in sets safe cookies, cookie-authenticated changes need the CSRF token, ids in
URLs cannot be probed, views of someone else are audited for them, and pages load nothing from other hosts.

The server is shared by the module: the test that changes the visibility policy restores it.
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import quote, unquote, urlencode

import pytest
from aiohttp import web
from dashboard_demo import PERIOD, DemoServer

from tokenpulse.web import actions
from tokenpulse.web.routes import PAGES

HTML = {"Accept": "text/html"}
PLACEHOLDERS = {"person": "someone@example.com", "session": "s-unknown", "token": "t-unknown", "id": "2026-11:x"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)

    def cookies(self) -> dict[str, str]:
        """Set-Cookie headers by cookie name (the whole header line)."""
        return {line.split("=", 1)[0].strip(): line for line in self.headers.get_all("Set-Cookie") or []}


@dataclass
class Client:
    """A browser-like client: its own cookies, no redirects followed, statuses returned rather than raised."""

    url: str
    cookies: dict[str, str] = field(default_factory=dict)
    key: str | None = None

    def request(self, method: str, path: str, *, form: dict[str, str] | None = None, json_body: Any = None,
                headers: dict[str, str] | None = None) -> Reply:
        sent = dict(headers or {})
        body = None
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        elif method == "POST":
            body = b""
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.key:
            sent["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=sent)
        try:
            with _OPENER.open(request, timeout=60) as response:
                reply = Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                reply = Reply(exc.code, exc.headers, exc.read())
        for name, line in reply.cookies().items():
            value = line.split("=", 1)[1].split(";", 1)[0]
            if value and "max-age=0" not in line.lower() and "expires=thu, 01 jan 1970" not in line.lower():
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return reply

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)


def hidden(html: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name!r} field in the page"
    return found.group(1)


def sign_in(server: DemoServer, role: str) -> Client:
    """Sign in through the real form: GET /login (login cookie + hidden csrf), POST /login with the key."""
    browser = Client(server.url)
    page = browser.get("/login", headers=HTML)
    assert page.status == 200
    reply = browser.post("/login", form={"csrf": hidden(page.text, "csrf"), "key": server.keys[role],
                                         "next": "/"})
    assert reply.status == 303, reply.text
    assert "tp_session" in browser.cookies
    return browser


def csrf_of(browser: Client, path: str = "/incidents") -> str:
    page = browser.get(path, headers=HTML)
    assert page.status == 200, page.text
    return hidden(page.text, "csrf")


def keyed(server: DemoServer, role: str) -> Client:
    return Client(server.url, key=server.keys[role])


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: quote(PLACEHOLDERS[m.group(1)], safe="@"), path)


def protected_routes() -> list[tuple[str, str, bool]]:
    """(method, path, is_page) of every dashboard route but the sign-in pages: the pages, their JSON routes and
    the routes `actions.add_routes` adds (changes and downloads)."""
    routes = []
    for page in PAGES:
        routes.append(("GET", concrete(page.path), True))
        routes.append(("GET", concrete(page.api), False))
    app = web.Application()
    actions.add_routes(app)
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method == "HEAD" or actions.is_open(path):
            continue
        routes.append((route.method, concrete(path), False))
    return sorted(set(routes))


ROUTES = protected_routes()


def test_the_route_list_covers_pages_changes_and_downloads() -> None:
    methods = {(m, p) for m, p, _ in ROUTES}
    assert ("POST", "/logout") in methods and ("POST", "/api/v1/policies") in methods
    assert ("GET", "/api/v1/export") in methods and ("GET", "/people/someone@example.com") in methods
    assert len(ROUTES) >= 2 * len(PAGES) + 8


def expect_refused(reply: Reply, method: str, path: str, is_page: bool, accept_html: bool) -> None:
    if is_page and method == "GET" and accept_html:
        assert reply.status == 303, (method, path, reply.status, reply.text[:200])
        location = reply.headers["Location"]
        assert location.startswith("/login?next=") and unquote(location.split("=", 1)[1]) == path
    else:
        assert reply.status == 401, (method, path, reply.status, reply.text[:200])
        assert reply.json()["ok"] is False
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("credentials", ["none", "wrong key", "forged cookie", "signed-out cookie"])
def test_no_route_answers_without_valid_credentials(demo_server: DemoServer, credentials: str) -> None:
    browser = Client(demo_server.url)
    if credentials == "wrong key":
        browser.key = "tpk_" + secrets.token_urlsafe(24)
    elif credentials == "forged cookie":
        browser.cookies["tp_session"] = secrets.token_urlsafe(32)
    elif credentials == "signed-out cookie":
        browser = sign_in(demo_server, "engineer")
        stale = browser.cookies["tp_session"]
        assert browser.get("/api/v1/overview?" + PERIOD).status == 200
        assert browser.post("/logout", form={"csrf": csrf_of(browser)}).status == 303
        browser.cookies = {"tp_session": stale}
    for method, path, is_page in ROUTES:
        for headers in (HTML, {"Accept": "application/json"}):
            reply = browser.request(method, path, headers=headers)
            if credentials == "wrong key":
                # a wrong key is an API caller: never sent to the sign-in page
                assert reply.status == 401, (method, path, reply.status)
                continue
            expect_refused(reply, method, path, is_page, headers is HTML)
    # the sign-in pages stay open
    assert Client(demo_server.url).get("/login", headers=HTML).status == 200


def test_sign_in_sets_a_strict_http_only_session_cookie(demo_server: DemoServer) -> None:
    browser = Client(demo_server.url)
    page = browser.get("/login", headers=HTML)
    assert page.status == 200 and "Content-Security-Policy" in page.headers
    login_cookie = page.cookies()["tp_login"]
    assert "httponly" in login_cookie.lower() and "samesite=strict" in login_cookie.lower()
    token = hidden(page.text, "csrf")
    assert browser.cookies["tp_login"] == token

    reply = browser.post("/login", form={"csrf": token, "key": demo_server.keys["manager"], "next": "/people"})
    assert reply.status == 303 and reply.headers["Location"] == "/people"
    cookie = reply.cookies()["tp_session"]
    attributes = {part.strip().split("=", 1)[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=strict"
    assert attributes["path"] == "Path=/"
    assert browser.get("/people", headers=HTML).status == 200
    me = browser.get("/api/v1/directory?" + PERIOD).json()
    assert demo_server.person("engineer") in {p["person"] for p in me["people"]}


def test_sign_in_is_refused_without_the_login_csrf(demo_server: DemoServer) -> None:
    key = demo_server.keys["engineer"]
    # no login cookie and no field
    assert Client(demo_server.url).post("/login", form={"key": key}).status == 403
    # the field without the cookie (another site cannot set it)
    browser = Client(demo_server.url)
    token = hidden(browser.get("/login", headers=HTML).text, "csrf")
    assert Client(demo_server.url).post("/login", form={"csrf": token, "key": key}).status == 403
    # the cookie with a missing or different field
    for form in ({"key": key}, {"csrf": secrets.token_urlsafe(24), "key": key}):
        reply = browser.post("/login", form=form)
        assert reply.status == 403, form
        assert "tp_session" not in browser.cookies
    # a JSON body does not get around it either
    assert browser.post("/login", json_body={"key": key}).status == 403
    # and a wrong key with the right token is refused without a session
    reply = browser.post("/login", form={"csrf": token, "key": "tpk_" + secrets.token_urlsafe(24)})
    assert reply.status == 401 and "tp_session" not in browser.cookies


@pytest.mark.parametrize("next_path", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                       "/\t/evil.example", "/\n/evil.example", "\t//evil.example",
                                       "/\r\nSet-Cookie: tp_session=x", "evil.example"])
def test_sign_in_never_sends_the_browser_to_another_host(demo_server: DemoServer, next_path: str) -> None:
    browser = Client(demo_server.url)
    page = browser.get("/login?next=" + quote(next_path, safe=""), headers=HTML)
    assert hidden(page.text, "next") == "/"
    reply = browser.post("/login", form={"csrf": hidden(page.text, "csrf"), "key": demo_server.keys["engineer"],
                                         "next": next_path})
    assert reply.status == 303
    assert reply.headers["Location"] == "/"
    assert list(reply.cookies()) == ["tp_session", "tp_login"]


def test_a_json_sign_in_with_odd_fields_is_not_a_server_error(demo_server: DemoServer) -> None:
    browser = Client(demo_server.url)
    token = hidden(browser.get("/login", headers=HTML).text, "csrf")
    reply = browser.post("/login", json_body={"csrf": token, "key": demo_server.keys["engineer"], "next": 5})
    assert (reply.status, reply.headers["Location"]) == (303, "/")


# --- CSRF on every change ---------------------------------------------------------------------------


def item_of(client: Client, person: str) -> dict[str, Any]:
    items = client.get("/api/v1/conversations").json()["items"]
    return next(i for i in items if i["person"] == person)


def conversation_path(item_id: str) -> str:
    return "/api/v1/conversations/" + quote(item_id, safe="")


def test_moving_a_conversation_needs_the_csrf_token(demo_server: DemoServer) -> None:
    manager = sign_in(demo_server, "manager")
    engineer = demo_server.person("engineer")
    item = item_of(manager, engineer)
    assert item["status"] == "open"
    path = conversation_path(item["id"])
    refused = [
        manager.post(path, form={"status": "dismissed"}),
        manager.post(path, form={"status": "dismissed", "csrf": "0" * 40}),
        manager.post(path, json_body={"status": "dismissed"}),
        manager.post(path, json_body={"status": "dismissed", "csrf": csrf_of(manager)}),  # only header for JSON
        manager.post(path, json_body={"status": "dismissed"}, headers={"X-CSRF-Token": "nope"}),
    ]
    assert [r.status for r in refused] == [403] * len(refused)
    assert item_of(manager, engineer)["status"] == "open"

    reply = manager.post(path, json_body={"status": "scheduled", "scheduled_for": "2026-12-03"},
                         headers={"X-CSRF-Token": csrf_of(manager)})
    assert reply.status == 200, reply.text
    assert item_of(manager, engineer)["status"] == "scheduled"
    reply = manager.post(path, form={"status": "done", "notes": "talked it through", "csrf": csrf_of(manager,
                                                                                                   "/conversations")})
    assert reply.status == 303 and reply.headers["Location"] == "/conversations"
    moved = item_of(manager, engineer)
    assert (moved["status"], moved["notes"]) == ("done", "talked it through")


def test_reenabling_a_breaker_needs_the_csrf_token(demo_server: DemoServer) -> None:
    engineer = sign_in(demo_server, "engineer")

    def open_count() -> int:
        return engineer.get("/api/v1/incidents").json()["open"]

    assert open_count() == 1
    for form in ({"reason": "mine"}, {"reason": "mine", "csrf": "x"}):
        assert engineer.post("/api/v1/incidents/reenable", form=form).status == 403
    assert engineer.post("/api/v1/incidents/reenable", json_body={"reason": "mine"}).status == 403
    assert open_count() == 1

    token = csrf_of(engineer, f"/people/{demo_server.person('engineer')}?{PERIOD}")
    reply = engineer.post("/api/v1/incidents/reenable", form={"reason": "a deliberate batch job", "csrf": token})
    assert reply.status == 303, reply.text
    assert open_count() == 0


def test_changing_a_policy_needs_the_csrf_token(demo_server: DemoServer) -> None:
    admin = sign_in(demo_server, "admin")

    def discount() -> str:
        return admin.get("/api/v1/policies").json()["policies"]["discount"]

    before = discount()
    assert admin.post("/api/v1/policies", form={"name": "discount", "value": "12%"}).status == 403
    assert admin.post("/api/v1/policies", json_body={"name": "discount", "value": "12%"}).status == 403
    assert discount() == before

    token = csrf_of(admin, "/policies")
    reply = admin.post("/api/v1/policies", form={"name": "discount", "value": "12%", "csrf": token})
    assert reply.status == 303, reply.text
    assert discount() == "12%"
    reply = admin.post("/api/v1/policies", json_body={"name": "discount", "value": before},
                       headers={"X-CSRF-Token": token})
    assert reply.status == 200, reply.text
    assert discount() == before


def test_making_a_sign_in_link_needs_the_csrf_token_and_an_admin(demo_server: DemoServer) -> None:
    admin = sign_in(demo_server, "admin")
    email = {"email": demo_server.person("other_manager")}
    assert admin.post("/api/v1/login-links", json_body=email).status == 403
    assert admin.post("/api/v1/login-links", form=email).status == 403
    reply = admin.post("/api/v1/login-links", json_body=email, headers={"X-CSRF-Token": csrf_of(admin)})
    assert reply.status == 201 and reply.json()["path"].startswith("/login/link/")
    link = reply.json()["path"]
    # the link signs in once, with the login form's csrf, as that person
    browser = Client(demo_server.url)
    page = browser.get(link, headers=HTML)
    assert page.status == 200
    assert Client(demo_server.url).post(link, form={"csrf": hidden(page.text, "csrf")}).status == 403
    used = browser.post(link, form={"csrf": hidden(page.text, "csrf")})
    assert used.status == 303 and "tp_session" in browser.cookies
    assert "httponly" in used.cookies()["tp_session"].lower()
    listed = browser.get("/api/v1/directory?" + PERIOD).json()["people"]
    assert demo_server.person("other_engineer") in {p["person"] for p in listed}  # signed in as that manager
    again = Client(demo_server.url)
    page = again.get(link, headers=HTML)
    assert again.post(link, form={"csrf": hidden(page.text, "csrf")}).status == 401
    assert "tp_session" not in again.cookies
    # an engineer, signed in or with their key, makes none
    engineer = sign_in(demo_server, "engineer")
    assert engineer.post("/api/v1/login-links", json_body=email,
                         headers={"X-CSRF-Token": csrf_of(engineer)}).status == 403
    assert keyed(demo_server, "engineer").post("/api/v1/login-links", json_body=email).status == 403


def own_sessions(server: DemoServer, role: str) -> list[str]:
    profile = keyed(server, role).get(f"/api/v1/profiles/{quote(server.person(role))}?{PERIOD}").json()
    assert profile["sessions"], f"{role} has no sessions in the demo period"
    return [s["session"] for s in profile["sessions"]]


def test_sharing_a_session_needs_the_csrf_token(demo_server: DemoServer) -> None:
    engineer = sign_in(demo_server, "engineer")
    session = own_sessions(demo_server, "engineer")[0]
    path = f"/api/v1/sessions/{quote(session, safe='')}"
    assert engineer.get(path).json()["shared"] is False
    assert engineer.post(path + "/share", form={}).status == 403
    assert engineer.post(path + "/share", json_body={}).status == 403
    assert engineer.get(path).json()["shared"] is False

    reply = engineer.post(path + "/share", json_body={}, headers={"X-CSRF-Token": csrf_of(engineer)})
    assert reply.status == 201, reply.text
    assert reply.json()["url"].startswith("/shared/")
    assert engineer.get(path).json()["shared"] is True
    # the session page's own form carries the token too
    token = csrf_of(engineer, f"/sessions/{quote(session, safe='')}")
    assert engineer.post(path + "/unshare", form={}).status == 403
    assert engineer.get(path).json()["shared"] is True
    assert engineer.post(path + "/unshare", form={"csrf": token}).status == 303
    assert engineer.get(path).json()["shared"] is False


def test_signing_out_needs_the_csrf_token(demo_server: DemoServer) -> None:
    browser = sign_in(demo_server, "other_engineer")
    assert browser.post("/logout", form={}).status == 403
    assert browser.post("/logout", form={"csrf": "wrong"}).status == 403
    assert browser.get("/api/v1/overview?" + PERIOD).status == 200  # still signed in

    reply = browser.post("/logout", headers={"X-CSRF-Token": csrf_of(browser)})
    assert reply.status == 303 and reply.headers["Location"] == "/login"
    assert "tp_session" not in browser.cookies
    assert browser.get("/api/v1/overview?" + PERIOD).status == 401
    assert browser.get("/", headers=HTML).status == 303


# --- ids in URLs cannot be probed -------------------------------------------------------------------


def same_not_found(a: Reply, b: Reply) -> None:
    assert a.status == b.status == 404, (a.status, b.status)
    assert a.json() == b.json()


def test_profiles_of_another_team_look_like_nobody(demo_server: DemoServer) -> None:
    nobody = f"nobody-{secrets.token_hex(4)}@example.com"
    for viewer, other in (("engineer", "other_engineer"), ("manager", "other_engineer"),
                          ("manager", "other_manager"), ("other_engineer", "engineer")):
        client = keyed(demo_server, viewer)
        hidden_one = client.get(f"/api/v1/profiles/{quote(demo_server.person(other))}?{PERIOD}")
        unknown = client.get(f"/api/v1/profiles/{quote(nobody)}?{PERIOD}")
        same_not_found(hidden_one, unknown)
        pages = [client.get(f"/people/{quote(p)}?{PERIOD}", headers=HTML) for p in (demo_server.person(other), nobody)]
        assert [p.status for p in pages] == [404, 404]
        assert demo_server.person(other) not in pages[0].text
    # their own team is visible under `team`
    assert keyed(demo_server, "other_engineer").get(
        f"/api/v1/profiles/{quote(demo_server.person('other_manager'))}?{PERIOD}").status == 200


def test_someone_elses_session_looks_like_no_session(demo_server: DemoServer) -> None:
    theirs = own_sessions(demo_server, "other_engineer")[0]
    assert keyed(demo_server, "other_engineer").get(f"/api/v1/sessions/{theirs}").status == 200
    made_up = secrets.token_hex(16)
    # nobody but the owner: not a peer, not their manager, not an admin
    for role in ("engineer", "manager", "other_manager", "admin"):
        client = keyed(demo_server, role)
        for suffix, method in (("", "GET"), ("/export", "GET"), ("/share", "POST"), ("/unshare", "POST")):
            same_not_found(client.request(method, f"/api/v1/sessions/{theirs}{suffix}"),
                           client.request(method, f"/api/v1/sessions/{made_up}{suffix}"))
        page = client.get(f"/sessions/{theirs}", headers=HTML)
        assert page.status == 404 and theirs not in page.text.replace(f"/sessions/{theirs}", "")


def test_other_peoples_conversation_items_look_like_no_item(demo_server: DemoServer) -> None:
    admin = keyed(demo_server, "admin")
    teams = {p["person"]: p["team"] for p in admin.get("/api/v1/directory?" + PERIOD).json()["people"]}
    items = admin.get("/api/v1/conversations").json()["items"]
    other_team = demo_server.people["other_engineer"].team
    theirs = next(i for i in items if teams.get(i["person"]) == other_team)
    made_up = f"2026-11:nobody-{secrets.token_hex(4)}@example.com"
    for role in ("engineer", "manager"):
        client = keyed(demo_server, role)
        assert theirs["id"] not in client.get("/api/v1/conversations").text
        same_not_found(client.post(conversation_path(theirs["id"]), json_body={"status": "dismissed"}),
                       client.post(conversation_path(made_up), json_body={"status": "dismissed"}))
    after = next(i for i in admin.get("/api/v1/conversations").json()["items"] if i["id"] == theirs["id"])
    assert after["status"] == theirs["status"]
    # nor can another team's breaker be re-enabled: the same 404 as for nobody
    engineer = keyed(demo_server, "engineer")
    same_not_found(engineer.post("/api/v1/incidents/reenable", json_body={
                       "person": demo_server.person("other_engineer"), "reason": "x"}),
                   engineer.post("/api/v1/incidents/reenable", json_body={
                       "person": f"nobody-{secrets.token_hex(4)}@example.com", "reason": "x"}))
    assert keyed(demo_server, "other_engineer").get("/api/v1/incidents").json()["open"] == 1


def test_directories_list_only_what_the_policy_allows(demo_server: DemoServer) -> None:
    everyone = keyed(demo_server, "admin").get("/api/v1/directory?" + PERIOD).json()["people"]
    assert len(everyone) == 40
    team_of = {p["person"]: p["team"] for p in everyone}
    for role, other in (("engineer", "other_engineer"), ("manager", "other_manager"),
                        ("other_engineer", "engineer")):
        team = demo_server.people[role].team
        listed = keyed(demo_server, role).get("/api/v1/directory?" + PERIOD).json()["people"]
        assert {p["team"] for p in listed} == {team}, role
        assert {p["person"] for p in listed} == {p for p, t in team_of.items() if t == team}
        assert demo_server.person(other) not in {p["person"] for p in listed}
        # asking for the other team by name is refused, searching for them finds nothing
        client = keyed(demo_server, role)
        assert client.get(f"/api/v1/directory?team={demo_server.people[other].team}&{PERIOD}").status == 403
        found = client.get(f"/api/v1/directory?q={quote(demo_server.person(other))}&{PERIOD}").json()["people"]
        assert found == []


def test_a_managers_view_of_a_profile_is_in_the_viewed_persons_audit(demo_server: DemoServer) -> None:
    engineer, manager = demo_server.person("engineer"), demo_server.person("manager")
    before = keyed(demo_server, "engineer").get("/api/v1/audit/me").json()["entries"]
    assert keyed(demo_server, "manager").get(f"/api/v1/profiles/{quote(engineer)}?{PERIOD}").status == 200
    entries = keyed(demo_server, "engineer").get("/api/v1/audit/me").json()["entries"]
    views = [e for e in entries if e["action"] == "view_profile" and e["actor"] == manager]
    assert len(views) > len([e for e in before if e["action"] == "view_profile" and e["actor"] == manager])
    assert all(e["subject"] == engineer for e in entries)
    page = keyed(demo_server, "engineer").get("/me/views", headers=HTML)
    assert page.status == 200 and manager in page.text
    # the manager does not read the engineer's audit, only their own
    assert all(e["subject"] == manager for e in keyed(demo_server, "manager").get("/api/v1/audit/me").json()["entries"])


def test_sessions_and_prompts_stay_out_of_other_peoples_profiles(demo_server: DemoServer) -> None:
    engineer = demo_server.person("engineer")
    sessions = own_sessions(demo_server, "engineer")
    for role in ("manager", "admin"):
        reply = keyed(demo_server, role).get(f"/api/v1/profiles/{quote(engineer)}?{PERIOD}")
        assert reply.status == 200
        profile = reply.json()
        assert profile["sessions"] is None and profile["is_you"] is False
        assert '"prompts"' not in reply.text and '"text"' not in reply.text
        assert not any(f'"session":"{s}","tools"' in reply.text for s in sessions)  # no session listing
        # evidence packets may name a session (the conversation queue's evidence), but it stays closed
        for session in sorted({s for s in sessions if s in reply.text}):
            assert keyed(demo_server, role).get(f"/api/v1/sessions/{session}").status == 404
        page = keyed(demo_server, role).get(f"/people/{quote(engineer)}?{PERIOD}", headers=HTML)
        assert page.status == 200 and not any(f'href="/sessions/{s}"' in page.text for s in sessions)
    # the owner does see them
    own = keyed(demo_server, "engineer").get(f"/api/v1/profiles/{quote(engineer)}?{PERIOD}").json()
    assert own["is_you"] is True and own["sessions"]


def test_exports_hold_only_what_the_viewer_may_see(demo_server: DemoServer) -> None:
    import csv
    import io

    engineer, team = demo_server.person("engineer"), demo_server.people["engineer"].team
    teammates = {p["person"] for p in keyed(demo_server, "admin").get(f"/api/v1/directory?{PERIOD}&team={team}")
                 .json()["people"]}

    def rows(role: str, fmt: str) -> list[dict[str, str]]:
        reply = keyed(demo_server, role).get(f"/api/v1/export?format={fmt}&{PERIOD}")
        assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(reply.text)))

    # One row per request carries sessions and projects: an engineer gets their own requests only ...
    own = rows("engineer", "csv")
    assert own and {r["person"] for r in own} == {engineer}
    # ... while FOCUS holds daily totals, for whoever's totals the policy shows them (their team) ...
    focus_people = {r["x_Person"] for r in rows("engineer", "focus")}
    assert engineer in focus_people and focus_people <= teammates
    # ... and an admin exports everyone.
    assert len({r["person"] for r in rows("admin", "csv")}) > len(teammates)


# --- pages load nothing from other hosts --------------------------------------------------------------

NAMESPACES = re.compile(r'\s(?:xmlns(?::\w+)?)="http://www\.w3\.org/[^"]*"')


def html_paths(server: DemoServer) -> list[str]:
    session = own_sessions(server, "engineer")[0]
    return [f"/?{PERIOD}", f"/?{PERIOD}&stack=model", f"/people?{PERIOD}", f"/people?{PERIOD}&sort=-spend",
            f"/people/{quote(server.person('engineer'))}?{PERIOD}", f"/sessions/{session}", "/conversations",
            "/incidents", "/policies", "/me/views", f"/exports?{PERIOD}", "/people/nobody@example.com"]


def test_html_pages_reference_no_other_host_and_carry_a_csp(demo_server: DemoServer) -> None:
    engineer = sign_in(demo_server, "engineer")
    share = engineer.post(f"/api/v1/sessions/{own_sessions(demo_server, 'engineer')[1]}/share", json_body={},
                          headers={"X-CSRF-Token": csrf_of(engineer)}).json()["url"]
    admin = sign_in(demo_server, "admin")
    pages = [(engineer, p) for p in [*html_paths(demo_server), share]] + [(admin, "/policies"), (admin, "/")]
    pages.append((Client(demo_server.url), "/login"))
    for client, path in pages:
        reply = client.get(path, headers=HTML)
        assert reply.status in (200, 404), (path, reply.status)
        assert reply.headers["Content-Type"].startswith("text/html"), path
        csp = reply.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "http" not in csp, path
        body = NAMESPACES.sub("", reply.text)  # XML namespace names of inline SVG are not fetched
        assert not re.search(r"https?://", body, re.IGNORECASE), (path, re.findall(r"https?://\S{0,60}", body))
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']?//""", body, re.IGNORECASE), path
        assert "<script" not in body.lower(), path
    assert engineer.get("/static/style.css").status == 200
    assert "http" not in engineer.get("/static/style.css").text.replace("http://www.w3.org/2000/svg", "")


# --- last: changes the org policy (and restores it) -------------------------------------------------


def test_visibility_policy_changes_what_colleagues_see(demo_server: DemoServer) -> None:
    admin = keyed(demo_server, "admin")
    engineer = keyed(demo_server, "engineer")
    other = f"/api/v1/profiles/{quote(demo_server.person('other_engineer'))}?{PERIOD}"
    assert admin.get("/api/v1/policies").json()["policies"]["visibility"] == "team"
    try:
        for visibility, directory_size, other_status in (("transparent", 40, 200), ("private", 1, 404)):
            assert admin.post("/api/v1/policies", json_body={"name": "visibility", "value": visibility}).status == 200
            listed = engineer.get("/api/v1/directory?" + PERIOD)
            assert listed.json()["visibility"] == visibility
            assert len(listed.json()["people"]) == directory_size
            reply = engineer.get(other)
            assert reply.status == other_status
            if reply.status == 200:
                profile = reply.json()
                # totals only: no sessions, no conversation items, no incidents of a peer
                assert (profile["sessions"], profile["conversations"], profile["incidents"]) == (None, None, None)
        # a manager still sees their own team under `private`
        listed = keyed(demo_server, "manager").get("/api/v1/directory?" + PERIOD).json()["people"]
        assert demo_server.person("engineer") in {p["person"] for p in listed}
        # an engineer cannot change it
        assert engineer.post("/api/v1/policies", json_body={"name": "visibility", "value": "transparent"}
                             ).status == 403
    finally:
        restored = admin.post("/api/v1/policies", json_body={"name": "visibility", "value": "team"})
        assert restored.status == 200
    assert engineer.get(other).status == 404
