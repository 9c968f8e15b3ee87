"""The Dash application of the web console, mounted on the console's Flask server.

`create_dash(server, data, ...)` registers the pages of `dashboards/pages/` (one module per page,
`dash.register_page`), the shared shell (navigation, language switch, clock; hidden in kiosk mode
`?kiosk=1`), the CSS of `dashboards/assets/`, and `GET /language/<ja|en>?next=PATH`, which keeps the
user's language in a cookie and goes back to `next`. Pages read the console through
`dashboards.queries.current()` and the language through `request_language()`: both come from the
request, so nothing is shared between requests but the Flask app.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dash
import flask
import werkzeug
from dash import Input, Output, _callback, dcc, html

from dashboards import ids
from dashboards.actions import ACTIONS_KEY, ConsoleActions
from dashboards.authz import current_principal, may, requires
from dashboards.i18n import LANGUAGES, language, t
from dashboards.queries import DATA_KEY, ConsoleData
from security.access import Permission

__all__ = ["LANGUAGE_COOKIE", "NAV_PAGES", "create_dash", "request_language", "triggered"]

LANGUAGE_COOKIE = "ops_console_lang"
DEFAULT_LANGUAGE_KEY = "ops_console.language"
NAV_PAGES = (
    ("/wall", "nav.wall", Permission.WALL),
    ("/alerts", "nav.alerts", Permission.VIEW),
    ("/explore", "nav.explore", Permission.VIEW),
    ("/availability", "nav.availability", Permission.REPORTS),
    ("/audit", "nav.audit", Permission.AUDIT),
)
"""The shell's navigation: path, catalog key and the permission the page needs (links to pages the
user may not open are left out; the server refuses them anyway), in order."""

_HERE = Path(__file__).resolve().parent


def request_language() -> str:
    """The language of this request: the user's cookie, else the console's configured language."""
    default = flask.current_app.extensions.get(DEFAULT_LANGUAGE_KEY, "ja")
    return language(flask.request.cookies.get(LANGUAGE_COOKIE), default)


def create_dash(
    server: flask.Flask,
    data: Callable[[], ConsoleData | None],
    *,
    default_language: str = "ja",
    actions: Callable[[], ConsoleActions | None] | None = None,
) -> dash.Dash:
    """Mount the web console on `server`. `data()` gives the facade (None while starting);
    `actions()` the write side (`dashboards.actions`; None, or no `actions`: pages cannot act)."""
    server.extensions[DATA_KEY] = data
    server.extensions[ACTIONS_KEY] = actions if actions is not None else lambda: None
    server.extensions[DEFAULT_LANGUAGE_KEY] = default_language
    app = dash.Dash(
        __name__,
        server=server,  # type: ignore[arg-type]  # Dash's hint says bool; it takes a Flask app
        use_pages=True,
        pages_folder=str(_HERE / "pages"),
        assets_folder=str(_HERE / "assets"),
        url_base_pathname="/",
        title="Ops Console",
        update_title="",
        # The shell holds no page's components: each page's callbacks name ids of its own layout.
        suppress_callback_exceptions=True,
        serve_locally=True,
    )
    app.layout = _shell
    _give_callbacks(server)
    server.add_url_rule("/language/<lang>", "set_language", _set_language)
    server.before_request(_root_to_wall)
    return app


_REGISTERED: dict[str, Any] = {}
"""The `@dash.callback` registrations of the shell and the pages, kept from the first app."""


def _give_callbacks(server: flask.Flask) -> None:
    """Give this app every page callback. Dash keeps `@dash.callback` registrations in a
    process-wide list that the first app to serve a request takes (and empties); a process may
    build more than one console app (the tests do), so the registrations are kept once, after the
    pages are imported, and put back just before each app takes them."""
    if not _REGISTERED and _callback.GLOBAL_CALLBACK_MAP:
        _REGISTERED["map"] = dict(_callback.GLOBAL_CALLBACK_MAP)
        _REGISTERED["list"] = list(_callback.GLOBAL_CALLBACK_LIST)
        _REGISTERED["scripts"] = list(_callback.GLOBAL_INLINE_SCRIPTS)
    pending = [True]

    def put_back() -> None:
        if pending and _REGISTERED:
            pending.clear()
            _callback.GLOBAL_CALLBACK_MAP.clear()
            _callback.GLOBAL_CALLBACK_MAP.update(_REGISTERED["map"])
            _callback.GLOBAL_CALLBACK_LIST[:] = _REGISTERED["list"]
            _callback.GLOBAL_INLINE_SCRIPTS[:] = _REGISTERED["scripts"]  # clientside callbacks' code

    server.before_request_funcs.setdefault(None, []).insert(0, put_back)  # before Dash's own setup


def _shell() -> html.Div:
    lang = request_language()
    nav = [
        dcc.Link(t(key, lang), href=path, id=f"{ids.NAV_LINK_PREFIX}{path.strip('/')}")
        for path, key, permission in NAV_PAGES
        if may(permission)
    ]
    other = next(code for code in LANGUAGES if code != lang)
    principal = current_principal()
    who: list[Any] = []
    if principal is not None and principal.kind == "session":
        role = principal.role.value if principal.role is not None else ""
        who = [
            html.A(f"{principal.name} ({role})", id=ids.ACCOUNT_LINK, href="/account", className="shell-user"),
            html.Button(t("shell.logout", lang), id=ids.LOGOUT, className="shell-logout"),
        ]
    return html.Div(
        id="shell",
        children=[
            dcc.Location(id=ids.URL),
            html.Header(
                id=ids.NAV,
                className="shell-header",
                children=[
                    html.Span(t("app.name", lang), className="shell-name"),
                    html.Nav(nav, className="shell-nav"),
                    html.A(t("language.switch", lang), id=ids.LANGUAGE_TOGGLE, href=f"/language/{other}"),
                    *who,
                ],
            ),
            html.Main(dash.page_container, className="shell-main"),
        ],
    )


def _root_to_wall() -> werkzeug.Response | None:
    """`/` is the wall (Dash owns the `/` route itself, so this runs before it)."""
    if flask.request.path == "/" and flask.request.method == "GET":
        query = flask.request.query_string.decode()
        return flask.redirect("/wall" + (f"?{query}" if query else ""))
    return None


def _set_language(lang: str) -> werkzeug.Response:
    """Keep `lang` in the cookie and go back to `next` (a path of this site only)."""
    if lang not in LANGUAGES:
        flask.abort(404)
    target = flask.request.args.get("next") or flask.request.referrer or "/wall"
    parts = urlsplit(target)
    path = parts.path if parts.path.startswith("/") and not parts.path.startswith("//") else "/wall"
    query = f"?{parts.query}" if parts.query else ""
    response = flask.redirect(path + query)
    response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 86400, samesite="Lax")
    return response


@dash.callback(Output("shell", "className"), Input(ids.URL, "search"))
@requires(Permission.WALL)
def _kiosk(search: str | None) -> str:
    """Kiosk mode (`?kiosk=1`, for wall screens, and always for a kiosk's session): no navigation chrome."""
    principal = current_principal()
    kiosk = principal is not None and principal.kind == "kiosk"
    return "kiosk" if kiosk or (search and "kiosk=1" in search) else ""


def triggered() -> list[tuple[object, object]]:
    """(component id, value) of every input that triggered the running callback."""
    by_prop = dash.ctx.triggered_prop_ids
    return [(by_prop.get(item["prop_id"]), item["value"]) for item in dash.ctx.triggered]
