"""`tokenpulse gateway` (the metering proxy) and what a person does with it: `reenable` a tripped
breaker, `override` their own budget, and `gateway-status`."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click
import msgspec

from ..errors import ConfigError
from .app import App
from .render import console, print_json

GATEWAY_URL_ENV = "TOKENPULSE_GATEWAY"


@click.command("gateway")
@click.option("--host", metavar="ADDRESS", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, metavar="PORT", help="Port to listen on (default 8788; 0 picks a free one).")
@click.option("--anthropic-upstream", metavar="URL", help="Where Anthropic Messages requests go.")
@click.option("--openai-upstream", metavar="URL", help="Where OpenAI Chat Completions and Responses requests go.")
@click.option("--redis-url", metavar="URL", help="Share budget and breaker counters with other replicas.")
@click.option("--shadow", is_flag=True, default=None, help="Record breaker trips and refusals, block nothing.")
@click.pass_obj
def gateway(app: App, host: str | None, port: int | None, anthropic_upstream: str | None,
            openai_upstream: str | None, redis_url: str | None, shadow: bool | None) -> None:
    """A drop-in proxy for the Anthropic and OpenAI APIs that meters every request exactly and enforces
    budgets and the circuit breaker before forwarding it. Point tools at it with ANTHROPIC_BASE_URL /
    OPENAI_BASE_URL and give each person a virtual key (`tokenpulse keys create --kind gateway`).

    Settings: the [gateway] table of tokenpulse.toml and TOKENPULSE_GATEWAY_* variables; flags win.
    Vendor keys come from ANTHROPIC_API_KEY and OPENAI_API_KEY in this process's environment."""
    from ..gateway.run import serve
    from ..gateway.settings import gateway_settings
    from ..store import describe_location

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    settings = gateway_settings(app.settings, host=host, port=port, anthropic_upstream=anthropic_upstream,
                                openai_upstream=openai_upstream, redis_url=redis_url, shadow=shadow)
    label = describe_location(app.settings.db)

    def listening(url: str) -> None:
        counters = "Redis" if settings.redis_url else "this process"
        click.echo(f"tokenpulse gateway: listening on {url} (store {label}, counters in {counters}, "
                   f"price book {app.book.version})", err=True)

    serve(app.settings, settings, app.book, on_listening=listening)


def _gateway_options(f: Any) -> Any:
    f = click.option("--key", metavar="KEY", help="Your virtual key (default: $TOKENPULSE_GATEWAY_KEY).")(f)
    return click.option("--gateway", "url", metavar="URL",
                        help=f"The gateway (default: ${GATEWAY_URL_ENV}, else ANTHROPIC_BASE_URL).")(f)


def _call(url: str | None, key: str | None, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    from ..client import ServerClient

    url = url or os.environ.get(GATEWAY_URL_ENV) or os.environ.get("ANTHROPIC_BASE_URL")
    key = key or os.environ.get("TOKENPULSE_GATEWAY_KEY") or os.environ.get("ANTHROPIC_API_KEY", "")
    if not url:
        raise ConfigError(f"which gateway? pass --gateway URL or set {GATEWAY_URL_ENV}")
    if not key.startswith(("tp-", "tpa_")):
        raise ConfigError("pass your virtual key (tp-…) with --key or TOKENPULSE_GATEWAY_KEY")
    client = ServerClient(url, key)
    return client.request(method, path, msgspec.json.encode(body) if body is not None else None)


@click.command("reenable")
@click.option("--reason", required=True, metavar="TEXT", help="Why the spend is intended (goes into the audit log).")
@_gateway_options
@click.option("--json", "json_", is_flag=True, help="Print JSON.")
def reenable(reason: str, url: str | None, key: str | None, json_: bool) -> None:
    """Re-enable your tripped circuit breaker for the rest of today (with a raised threshold)."""
    result = _call(url, key, "POST", "/tokenpulse/v1/reenable", {"reason": reason})
    if json_:
        print_json(result)
        return
    if "threshold_usd" in result:
        console().print(f"Re-enabled. Today's breaker threshold is now ${result['threshold_usd']}; "
                        f"{result.get('manager') or 'your manager'} has been told.")
    else:  # tripped on what a vendor reported (Cursor, Copilot), not in the gateway
        console().print(f"Re-enabled ({', '.join(result.get('days', []))}).")
    for action in result.get("vendor_actions", []):
        console().print(f"  {action.get('action')}: {'done' if action.get('ok') else 'failed'}"
                        + (f" ({action['error']})" if action.get("error") else ""))


@click.command("override")
@click.option("--raise", "raise_usd", required=True, metavar="USD", help="How much to raise your cap by, in USD.")
@click.option("--reason", required=True, metavar="TEXT", help="Why (goes into the audit log).")
@click.option("--budget", metavar="SCOPE", help="Which of your budgets (default: the one you are closest to).")
@_gateway_options
@click.option("--json", "json_", is_flag=True, help="Print JSON.")
def override(raise_usd: str, reason: str, budget: str | None, url: str | None, key: str | None, json_: bool) -> None:
    """Raise your own budget cap for this period, within your organisation's policy."""
    result = _call(url, key, "POST", "/tokenpulse/v1/override",
                   {"raise_usd": raise_usd, "reason": reason, "budget": budget})
    if json_:
        print_json(result)
        return
    console().print(f"Raised {result['budget']} by ${result['raised_usd']} for {result['period']}: "
                    f"the cap is now ${result['limit_usd']}.")


@click.command("gateway-status")
@_gateway_options
@click.option("--json", "json_", is_flag=True, help="Print JSON.")
def gateway_status(url: str | None, key: str | None, json_: bool) -> None:
    """Your spend today, your budgets and your breaker, as the gateway sees them."""
    result = _call(url, key, "GET", "/tokenpulse/v1/status")
    if json_:
        print_json(result)
        return
    out = console()
    out.print(f"{result['person']}: ${result['spend_today_usd']} today; breaker {result['breaker']['state']} "
              f"(threshold ${result['breaker']['threshold_usd']})")
    for b in result["budgets"]:
        out.print(f"  {b['scope']} {b['period']}: ${b['spent_usd']} of ${b['limit_usd']}")


COMMANDS = [gateway, reenable, override, gateway_status]
