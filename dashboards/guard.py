"""What each request to the console needs: the permission table of every route, Dash callback and
page, the same-origin JSON and CSRF rule for changes, and the security headers of every answer.

Deny by default: a route not in `ROUTE_PERMISSIONS`, `PUBLIC_ROUTES` or the Dash routes below, a
callback without a `@requires` mark and a page without a known path are refused to everyone.
`dashboards.auth` runs `needed()` before every request, once it knows the principal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import dash
import flask

from dashboards.authz import permission_of
from security.access import Permission

__all__ = [
    "CHANGING_METHODS",
    "PUBLIC_ROUTES",
    "ROUTE_PERMISSIONS",
    "Need",
    "callback_permission",
    "content_security_policy",
    "needed",
    "page_permission",
    "same_origin_json",
]

PUBLIC_ROUTES = frozenset(
    {
        "static",  # the login page's script and style
        "healthz_endpoint",
        "metrics_endpoint",  # open as exporters are, or behind console.metrics_token (dashboards/http.py)
        "set_language",
        "auth.login_page",
        "auth.login",
        "auth.logout",
        "auth.kiosk",
        "_dash_assets.static",
        "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
        "/_favicon.ico",
    }
)
"""Flask endpoints that answer without a principal: the login and its static files, health, metrics."""

_ANY = Permission.WALL
"""What the console's shell needs (its layout and callbacks' list): every principal holds it."""

ROUTE_PERMISSIONS: Mapping[str, Permission] = MappingProxyType(
    {
        "/_dash-layout": _ANY,
        "/_dash-dependencies": _ANY,
        "/_reload-hash": _ANY,
        "auth.account_page": Permission.VIEW,
        "auth.change_password": Permission.VIEW,
        "api_v1.query": Permission.VIEW,
        "api_v1.query_range": Permission.VIEW,
        "api_v1.series": Permission.VIEW,
        "api_v1.labels": Permission.VIEW,
        "api_v1.label_values": Permission.VIEW,
        "api_v1.metadata": Permission.VIEW,
        "api_v1.query_exemplars": Permission.VIEW,
        "api_v1.buildinfo": Permission.VIEW,
        "api_v1_status.config": Permission.ADMIN,
        "api_v1_admin.reload": Permission.ADMIN,
        "api_v1_alerts.alerts": Permission.VIEW,
        "api_v1_alerts.ack": Permission.ACKNOWLEDGE,
        "api_v1_alerts.unack": Permission.ACKNOWLEDGE,
        "api_v1_alerts.silences": Permission.VIEW,
        "api_v1_alerts.create_silence": Permission.SILENCE,
        "api_v1_alerts.silence": Permission.VIEW,
        "api_v1_alerts.expire_silence": Permission.SILENCE,
        "api_v1_alerts.maintenance": Permission.VIEW,
        "api_v1_alerts.create_maintenance": Permission.SILENCE,
        "api_v1_alerts.delete_maintenance": Permission.SILENCE,
        "api_v1_alerts.notifications": Permission.VIEW,
        "api_v1_availability.report": Permission.REPORTS,
        "api_v1_availability.export": Permission.REPORTS,
        "api_v1_availability.reclassifications": Permission.REPORTS,
        "api_v1_availability.reclassify": Permission.RECLASSIFY,
        "api_v1_audit.search": Permission.AUDIT,
        "api_v1_audit.export": Permission.AUDIT,
    }
)
"""Every other route of the console and the permission it needs (the callback and page routes are
decided per request: `callback_permission`, `page_permission`)."""

CALLBACK_ROUTE = "/_dash-update-component"
PAGE_ROUTES = frozenset({"/", "/<path:path>"})
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PAGES_OUTPUT = "_pages_content.children"
"""The output of Dash's pages router (`dash.page_container`): it renders the page of a pathname."""


@dataclass(frozen=True, slots=True)
class Need:
    """What a request needs: nothing (`public`), a principal holding `permission`, or it is refused
    to everyone (`permission` None and not public). `page` names a page layout the request renders
    (for the audit log's data views): (page path template, its path variables)."""

    public: bool
    permission: Permission | None
    page: tuple[str, Mapping[str, str]] | None = None


def needed(app: dash.Dash, request: flask.Request) -> Need:
    """What `request` needs to be answered."""
    endpoint = request.url_rule.endpoint if request.url_rule is not None else None
    if endpoint is None:  # no route: a 404 or 405 for everyone, nothing to protect
        return Need(public=True, permission=None)
    if endpoint in PUBLIC_ROUTES:
        return Need(public=True, permission=None)
    if endpoint == CALLBACK_ROUTE:
        return callback_permission(app, request.get_json(silent=True))
    if endpoint in PAGE_ROUTES:
        permission, page = page_permission(request.path)
        return Need(public=False, permission=permission, page=page)
    return Need(public=False, permission=ROUTE_PERMISSIONS.get(endpoint))


def callback_permission(app: dash.Dash, body: object) -> Need:
    """The permission of the callback a `/_dash-update-component` body names: its `@requires` mark,
    or for Dash's pages router the permission of the page whose pathname it renders."""
    if not isinstance(body, Mapping) or not isinstance(body.get("output"), str):
        return Need(public=False, permission=None)
    output: str = body["output"]
    if _PAGES_OUTPUT in output:
        pathname = _input_value(body, "pathname")
        if not isinstance(pathname, str):
            return Need(public=False, permission=None)
        permission, page = page_permission(pathname)
        return Need(public=False, permission=permission, page=page)
    entry = app.callback_map.get(output)
    if entry is None:
        return Need(public=False, permission=None)
    return Need(public=False, permission=permission_of(entry.get("callback")))


def _input_value(body: Mapping[str, Any], prop: str) -> object:
    for item in body.get("inputs") or ():
        if isinstance(item, Mapping) and item.get("property") == prop:
            return item.get("value")
    return None


def page_permission(path: str) -> tuple[Permission | None, tuple[str, Mapping[str, str]] | None]:
    """The permission of the page at `path` (`permission=` of its `dash.register_page`, else
    `view`) and the page's template and variables; `view` for an unknown path (it renders "not
    found")."""
    for page in dash.page_registry.values():
        template = page.get("path_template") or page["path"]
        variables = _match(template, path)
        if variables is not None:
            named = page.get("permission")
            permission = Permission(named) if named else Permission.VIEW
            return permission, (template, variables)
    return Permission.VIEW, None


def _match(template: str, path: str) -> dict[str, str] | None:
    pattern = re.sub(r"<([A-Za-z_]\w*)>", r"(?P<\1>[^/]+)", re.escape(template).replace(r"\<", "<").replace(r"\>", ">"))
    found = re.fullmatch(pattern, path.rstrip("/") or "/")
    return found.groupdict() if found else None


def same_origin_json(request: flask.Request) -> tuple[int, str] | None:
    """None when a state-changing request is a same-origin JSON request; else (status, why): 415
    for a body that is not `application/json` (a form or `text/plain` post, which a foreign page
    can send without asking), 403 for an `Origin` or `Referer` of another site."""
    if request.mimetype != "application/json":
        return 415, "changes need a JSON request (Content-Type: application/json)"
    here = f"{request.scheme}://{request.host}"
    origin = request.headers.get("Origin")
    if origin is not None and origin != here:
        return 403, f"cross-origin request refused (Origin {json.dumps(origin)})"
    referer = request.headers.get("Referer")
    if origin is None and referer is not None:
        parts = urlsplit(referer)
        if f"{parts.scheme}://{parts.netloc}" != here:
            return 403, "cross-origin request refused (Referer of another site)"
    return None


def content_security_policy(script_hashes: list[str]) -> str:
    """The console's CSP: its own scripts and Dash's inline renderer start (by hash), styles from
    itself and inline (Plotly and Dash set styles), images and fonts from itself and data: URIs
    (Plotly's), no frames, no plugins, forms and fetches to itself only."""
    scripts = " ".join(["'self'", *script_hashes])
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; "
        "font-src 'self' data:; "
        "connect-src 'self'; "
        "object-src 'none'; "
        "base-uri 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )
