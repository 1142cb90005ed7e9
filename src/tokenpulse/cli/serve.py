"""`tokenpulse serve`: the collector and API service."""

from __future__ import annotations

import logging
import sys

import click

from ..store import describe_location, open_store
from .app import App


@click.command("serve")
@click.option("--host", metavar="ADDRESS", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, metavar="PORT", help="Port to listen on (default 8787; 0 picks a free one).")
@click.option("--decode-workers", type=int, metavar="N",
              help="Processes that decode large bodies (default: one per core; 0: none).")
@click.option("--max-body-mb", type=float, metavar="MB", help="Largest request body accepted (default 16).")
@click.option("--gateway/--no-gateway", "with_gateway", default=None,
              help="Also serve the metering gateway (Anthropic and OpenAI routes) from this service.")
@click.pass_obj
def serve(app: App, host: str | None, port: int | None, decode_workers: int | None, max_body_mb: float | None,
          with_gateway: bool | None) -> None:
    """Collect usage from a whole organisation: OTLP/HTTP at /v1/logs, /v1/metrics and /v1/traces, canonical
    NDJSON at /api/v1/events, and the JSON API. Every route but /healthz needs a key (`tokenpulse keys create`).

    Settings: the [serve] table of tokenpulse.toml and TOKENPULSE_SERVE_* variables; flags win."""
    from ..server.app import open_service, run
    from ..server.settings import serve_settings

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    settings = app.settings
    options = serve_settings(settings, host=host, port=port, decode_workers=decode_workers, max_body_mb=max_body_mb,
                             gateway=with_gateway)
    label = describe_location(settings.db)
    service = open_service(options, app.book, app.price_files, lambda: open_store(settings.db), settings.tz, label,
                           config=settings)
    if options.gateway:
        from ..gateway.run import build
        from ..gateway.settings import gateway_settings

        gateway = gateway_settings(settings)
        service.gateway = lambda writer: build(settings, gateway, app.book, writer)

    def listening(url: str) -> None:
        click.echo(f"tokenpulse serve: listening on {url} (store {label}, price book {app.book.version})", err=True)

    run(service, on_listening=listening)


COMMANDS = [serve]
