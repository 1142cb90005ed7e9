"""Rendering pages: Jinja2 templates (autoescaped) over the page's data, the navigation a viewer's role
allows, and charts drawn on the server as inline SVG. Pages load nothing from another host and run no
script; every chart has its table beside it."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from markupsafe import Markup

from ..money import decimal_usd_to_micros, format_usd
from . import charts
from .signin import csrf_token

SECURITY_HEADERS = {
    # No script runs on any page; styles and images come from this server (charts are inline SVG).
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Share links carry their token in the path: never send it to another site.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _usd(value: Any, cents: bool = True) -> str:
    if value is None:
        return "–"
    micros = value if isinstance(value, int) else decimal_usd_to_micros(Decimal(str(value)))
    return format_usd(micros, cents=cents)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f}%"


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:,}"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("tokenpulse.web", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters.update(usd=_usd, pct=_pct, num=_num)
    env.globals.update(chart=_chart, usd_of_micros=lambda m: format_usd(m), count=lambda v: f"{int(v):,}")
    return env


def _chart(kind: str, *args: Any, **kwargs: Any) -> Markup:
    """A chart from `charts` as markup (the module escapes everything it draws)."""
    return Markup(getattr(charts, kind)(*args, **kwargs))  # noqa: S704 - charts escape their own text


def nav(viewer: Any) -> list[tuple[str, str]]:
    items = [("/", "Overview"), ("/people", "People"), ("/conversations", "Conversations"),
             ("/incidents", "Incidents"), ("/reconciliation", "Reconciliation"), ("/policies", "Policies"),
             ("/exports", "Exports")]
    if viewer.person:
        items.insert(2, (f"/people/{viewer.person}", "My profile"))
        items.append(("/me/views", "Who viewed me"))
    return items


def render(request: web.Request, template: str, data: dict[str, Any], *, title: str, view: Any,
           status: int = 200) -> web.Response:
    secret = request.get("web_secret")
    query = dict(request.query)

    def with_query(**changes: Any) -> str:
        merged = {**query, **{k: v for k, v in changes.items() if v is not None}}
        return request.path + ("?" + urlencode(merged) if merged else "")

    html = environment().get_template(template).render(
        d=data, title=title, viewer=view.viewer, visibility=view.visibility, nav=nav(view.viewer),
        path=request.path, csrf=csrf_token(secret) if secret else "", signed_in=secret is not None,
        with_query=with_query, query=query)
    return web.Response(text=html, content_type="text/html", status=status, headers=SECURITY_HEADERS)


def render_public(request: web.Request, template: str, data: dict[str, Any], status: int = 200) -> web.Response:
    html = environment().get_template(template).render(d=data, title="Sign in", nav=[], path=request.path,
                                                       signed_in=False, viewer=None)
    return web.Response(text=html, content_type="text/html", status=status, headers=SECURITY_HEADERS)


def render_error(request: web.Request, status: int, message: str, view: Any) -> web.Response:
    return render(request, "error.html", {"status": status, "message": message}, title="Not available",
                  view=view, status=status)


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return files("tokenpulse.web").joinpath("static/style.css").read_text() + "\n" + charts.CHART_CSS
