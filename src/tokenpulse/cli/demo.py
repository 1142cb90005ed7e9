"""`tokenpulse demo`: a demo organisation (seeded, reproducible), written as files or loaded into the store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from .app import App
from .options import day_callback
from .render import console, plural, print_json


@click.command("demo")
@click.option("--people", type=click.IntRange(10, 100_000), default=300, show_default=True)
@click.option("--days", type=click.IntRange(1, 400), default=45, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--end", callback=day_callback, metavar="DATE", help="Last day of the history (default: today, UTC).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write events.ndjson, people.csv and personas.json to this folder.")
@click.option("--load/--no-load", default=True, show_default=True, help="Load it into the store.")
@click.option("--sign-in", "sign_in_url", metavar="URL",
              help="Also make an admin key and one-time sign-in links (for a manager and one of their engineers) "
                   "to the dashboard that will be served at URL.")
@click.option("--json", "json_", is_flag=True, help="Print a JSON summary.")
@click.pass_obj
def demo_cmd(app: App, people: int, days: int, seed: int, end: date | str | None, out: Path | None, load: bool,
             sign_in_url: str | None, json_: bool) -> None:
    """Generate a demo organisation: people in teams with managers, several tools and models, and labelled
    personas (normal, light, deep worker, fleet builder, busywork, calibrator, runaway agent, retry churner)."""
    from ..demo import org as demo_org

    generated = demo_org.generate(people=people, days=days, seed=seed, end=end if isinstance(end, date) else None,
                                  book=app.book)
    written = [str(p) for p in demo_org.write(generated, out)] if out else []
    if load:
        demo_org.load(generated, app.store)
    personas: dict[str, int] = {}
    for persona in generated.personas.values():
        personas[persona] = personas.get(persona, 0) + 1
    summary = {"people": len(generated.people), "usage_events": len(generated.usage),
               "outcome_events": len(generated.outcomes), "personas": dict(sorted(personas.items())),
               "start": str(generated.start), "end": str(generated.end), "seed": seed,
               "files": written, "loaded_into": app.store.path if load else None}
    if sign_in_url and load:
        summary["sign_in"] = _sign_in(app, generated, sign_in_url.rstrip("/"))
    if json_:
        print_json(summary)
        return
    console().print(f"Demo organisation (seed {seed}): {plural(len(generated.people), 'person', 'people')}, "
                    f"{len(generated.usage):,} requests and {len(generated.outcomes):,} outcomes from "
                    f"{generated.start} to {generated.end}"
                    + (f"; loaded into {app.store.path}" if load else "") + ".")
    console().print("Personas: " + ", ".join(f"{name} {count}" for name, count in sorted(personas.items())))
    for who, how in summary.get("sign_in", {}).items():
        console().print(f"Sign in as {who}: {how}", soft_wrap=True)


def _sign_in(app: App, generated: object, base: str) -> dict[str, str]:
    """An admin key (typed into the sign-in page) and sign-in links for a manager and one of their engineers."""
    from datetime import UTC, datetime

    from ..keys import hash_secret, make_key
    from ..web.signin import new_login_link

    people = generated.people  # type: ignore[attr-defined]
    manager = next(p for p in people if p.role == "manager")
    engineer = next(p for p in people if p.manager == manager.person)
    secret, key = make_key("admin", name="demo")
    app.store.add_key(key, hash_secret(secret))
    now = datetime.now(UTC)
    minutes = 12 * 60  # a demo's links last the day (a real one lasts LINK_MINUTES)
    return {"admin": f"{base}/login with the key {secret}",
            f"manager {manager.person}": base + "/login/link/" + new_login_link(app.store, manager.person, now, minutes),
            f"engineer {engineer.person}": base + "/login/link/" + new_login_link(app.store, engineer.person, now, minutes)}


COMMANDS = [demo_cmd]
