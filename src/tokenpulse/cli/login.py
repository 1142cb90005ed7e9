"""`tokenpulse login-link EMAIL`: a one-time link that signs someone in to the dashboard."""

from __future__ import annotations

import click

from ..people import normalize_identity
from .app import App
from .keys import remote
from .options import server_options
from .render import print_json


@click.command("login-link")
@click.argument("email")
@click.option("--url", "base_url", metavar="URL", default="http://127.0.0.1:8787", show_default=True,
              help="The dashboard's address, to print a whole link.")
@server_options
@click.option("--json", "json_", is_flag=True, help="Print JSON.")
@click.pass_obj
def login_link(app: App, email: str, base_url: str, server: str | None, key: str | None, json_: bool) -> None:
    """Print a one-time sign-in link for EMAIL (valid 30 minutes, used once). With --server, a running
    server makes it (needs an admin key); otherwise it is written to the local store."""
    from datetime import UTC, datetime

    from ..web.signin import LINK_MINUTES, new_login_link

    person = normalize_identity(email)
    client = remote(app, server, key)
    if client is not None:
        import msgspec

        made = client.request("POST", "/api/v1/login-links", msgspec.json.encode({"email": person}),
                              "application/json")
        path = made["path"]
        base_url = server or base_url
    else:
        path = f"/login/link/{new_login_link(app.store, person, datetime.now(UTC))}"
    url = base_url.rstrip("/") + path
    if json_:
        print_json({"email": person, "url": url, "expires_in_minutes": LINK_MINUTES})
        return
    click.echo(url)


COMMANDS = [login_link]
