"""Every route and every Dash callback of a running console, asked by nobody, by each role (with a
login session and with an API token) and by a kiosk: exactly the permitted set gets through.

The tables below are the specification (docs/security.md has the same table for people); they are
written out here rather than imported, so that a change to the server's table shows up as a test
failure. A route or callback the tables do not name fails the test: a new one must be placed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.security.console import ROLES, Running, csrf_of, running

pytestmark = pytest.mark.slow

KIOSK = "kiosk"
ANY = "kiosk"  # the least: every principal, kiosks included
"""Least role per route (Flask endpoint); "kiosk" means every principal, a kiosk included."""
ROUTES: Mapping[str, str] = {
    "/_dash-layout": ANY,
    "/_dash-dependencies": ANY,
    "/_reload-hash": ANY,
    "auth.account_page": "viewer",
    "auth.change_password": "viewer",
    "api_v1.query": "viewer",
    "api_v1.query_range": "viewer",
    "api_v1.series": "viewer",
    "api_v1.labels": "viewer",
    "api_v1.label_values": "viewer",
    "api_v1.metadata": "viewer",
    "api_v1.query_exemplars": "viewer",
    "api_v1.buildinfo": "viewer",
    "api_v1_status.config": "admin",
    "api_v1_admin.reload": "admin",
    "api_v1_alerts.alerts": "viewer",
    "api_v1_alerts.ack": "operator",
    "api_v1_alerts.unack": "operator",
    "api_v1_alerts.silences": "viewer",
    "api_v1_alerts.create_silence": "oncall",
    "api_v1_alerts.silence": "viewer",
    "api_v1_alerts.expire_silence": "oncall",
    "api_v1_alerts.maintenance": "viewer",
    "api_v1_alerts.create_maintenance": "oncall",
    "api_v1_alerts.delete_maintenance": "oncall",
    "api_v1_alerts.notifications": "viewer",
    "api_v1_availability.report": "manager",
    "api_v1_availability.export": "manager",
    "api_v1_availability.reclassifications": "manager",
    "api_v1_availability.reclassify": "admin",
    "api_v1_audit.search": "admin",
    "api_v1_audit.export": "admin",
}
SESSION_ONLY = frozenset({"auth.account_page", "auth.change_password"})
"""A user's own account: a login session, not an API token."""
PUBLIC = frozenset(
    {
        "static",
        "healthz_endpoint",
        "metrics_endpoint",
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
PAGE_ROUTES = frozenset({"/", "/<path:path>"})
CALLBACK_ROUTE = "/_dash-update-component"
"""Decided per callback (CALLBACKS) and per page (PAGES)."""
PAGES: Mapping[str, str] = {
    "/wall": ANY,
    "/alerts": "viewer",
    "/explore": "viewer",
    "/device/console-host": "viewer",
    "/link/none": "viewer",
    "/availability": "manager",
    "/audit": "admin",
    "/no-such-page": "viewer",
}
"""Least role per page path (the page's layout, rendered by Dash's pages router callback)."""
CALLBACKS: Mapping[str, str] = {
    "shell.className": ANY,
    "wall-tiles.children": ANY,
    "alerts-table.children": "viewer",
    "alerts-pending.data": "viewer",
    "alerts-form.className": "viewer",
    "alerts-window-once.className": "viewer",
    "alerts-message.children": "operator",
    "alerts-history-for.data": "viewer",
    "alerts-history.className": "viewer",
    "explore-graph.figure": "viewer",
    "device-state.children": "viewer",
    "link-state.children": "viewer",
    "availability-url.search": "manager",
    "availability-title.children": "manager",
    "availability-download.data": "manager",
    "availability-pending.data": "manager",
    "availability-form.className": "manager",
    "availability-message.children": "admin",
    "audit-table.children": "admin",
    "audit-chain.children": "admin",
}
"""Least role per server-side callback, named by its first output."""

ORDER = (KIOSK, *ROLES)


def permitted(least: str, who: str) -> bool:
    return ORDER.index(who) >= ORDER.index(least)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("walk")) as found:
        yield found


@pytest.fixture(scope="module")
def sessions(console: Running) -> dict[str, httpx.Client]:
    clients = {role: console.login(role) for role in ROLES}
    clients[KIOSK] = console.kiosk()
    return clients


def _path(rule: str) -> str:
    """A concrete path for a Flask rule: every variable `x`."""
    import re

    return re.sub(r"<(?:[a-z]+:)?[A-Za-z_]+>", "x", rule)


def _ask(client: httpx.Client, method: str, path: str, headers: Mapping[str, str]) -> httpx.Response:
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        return client.request(method, path, content="{}", headers={"Content-Type": "application/json", **headers})
    return client.request(method, path, headers=dict(headers))


def _routes(console: Running) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) of every rule of the console's Flask app."""
    app = console.console.app
    assert app is not None
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, _path(rule.rule)))
    return out


def test_every_route_is_in_the_table(console: Running) -> None:
    endpoints = {endpoint for endpoint, _, _ in _routes(console)}
    assert endpoints - set(ROUTES) - PUBLIC - PAGE_ROUTES - {CALLBACK_ROUTE} == set()
    assert set(ROUTES) - endpoints == set()


def test_every_route_refuses_nobody_with_401_or_the_login_page(console: Running) -> None:
    nobody = console.client()
    for endpoint, method, path in _routes(console):
        if endpoint in PUBLIC or endpoint == CALLBACK_ROUTE:  # callbacks: test_each_callback_...
            continue
        answer = _ask(nobody, method, path, {})
        if endpoint in PAGE_ROUTES or endpoint == "auth.account_page":  # `/` is the wall's address first
            login = "/wall" if path == "/" else f"/login?next={path}"
            assert (answer.status_code, answer.headers["location"]) == (302, login), path
        else:
            assert answer.status_code == 401, (endpoint, method, answer.status_code)
            assert answer.json()["errorType"] == "unauthorized"


@pytest.mark.parametrize("who", ORDER)
def test_with_a_session_each_route_answers_exactly_the_permitted(
    console: Running, sessions: dict[str, httpx.Client], who: str
) -> None:
    client = sessions[who]
    refused, passed = [], []
    for endpoint, method, path in _routes(console):
        if endpoint in PUBLIC or endpoint in PAGE_ROUTES or endpoint == CALLBACK_ROUTE:
            continue
        answer = _ask(client, method, path, {"X-CSRFToken": csrf_of(client)})
        assert answer.status_code != 401, (endpoint, answer.text)
        (refused if answer.status_code == 403 else passed).append(endpoint)
    expected = {e for e in ROUTES if not permitted(ROUTES[e], who)}
    assert set(refused) == expected
    assert set(passed) == set(ROUTES) - expected


@pytest.mark.parametrize("role", ROLES)
def test_with_a_token_each_route_answers_exactly_the_permitted(console: Running, role: str) -> None:
    client = console.client()
    bearer = {"Authorization": f"Bearer {console.tokens[role]}"}
    refused = set()
    for endpoint, method, path in _routes(console):
        if endpoint in PUBLIC or endpoint in PAGE_ROUTES or endpoint == CALLBACK_ROUTE:
            continue
        answer = _ask(client, method, path, bearer)
        assert answer.status_code != 401, (endpoint, answer.text)
        if answer.status_code == 403:
            refused.add(endpoint)
    assert refused == {e for e in ROUTES if not permitted(ROUTES[e], role)} | SESSION_ONLY


def test_a_revoked_or_unknown_token_is_401(console: Running) -> None:
    client = console.client()
    answer = client.get("/api/v1/alerts", headers={"Authorization": "Bearer not-a-token"})
    assert answer.status_code == 401


def _callbacks(console: Running, client: httpx.Client) -> list[dict[str, Any]]:
    deps = client.get("/_dash-dependencies").json()
    return [dep for dep in deps if dep.get("clientside_function") is None and "_pages_content" not in dep["output"]]


def _first_output(dep: Mapping[str, Any]) -> str:
    return dep["output"].strip(".").split("...")[0].split("@")[0]


def _item(spec: Mapping[str, Any]) -> dict[str, Any]:
    """An input or state as the renderer sends it: a pattern-matching ALL id as an empty list."""
    if spec["id"].startswith("{"):
        return []  # type: ignore[return-value]  # the renderer sends a list per ALL wildcard
    return {"id": spec["id"], "property": spec["property"], "value": None}


def _body(dep: Mapping[str, Any], inputs: list[Any] | None = None) -> dict[str, Any]:
    outputs = [
        {"id": part.split(".")[0], "property": part.split(".", 1)[1]} for part in dep["output"].strip(".").split("...")
    ]
    return {
        "output": dep["output"],
        "outputs": outputs if dep["output"].startswith("..") else outputs[0],
        "inputs": inputs if inputs is not None else [_item(i) for i in dep["inputs"]],
        "state": [_item(s) for s in dep["state"]],
        "changedPropIds": [],
    }


def test_every_callback_is_in_the_table(console: Running, sessions: dict[str, httpx.Client]) -> None:
    named = {_first_output(dep) for dep in _callbacks(console, sessions["admin"])}
    assert named == set(CALLBACKS)


def _post_callback(client: httpx.Client, body: Mapping[str, Any]) -> httpx.Response:
    return client.post(
        "/_dash-update-component",
        content=json.dumps(body),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf_of(client)},
    )


@pytest.mark.parametrize("who", ["nobody", *ORDER])
def test_each_callback_answers_exactly_the_permitted(
    console: Running, sessions: dict[str, httpx.Client], who: str
) -> None:
    client = console.client() if who == "nobody" else sessions[who]
    refused, answered = set(), set()
    for dep in _callbacks(console, sessions["admin"]):
        answer = _post_callback(client, _body(dep))
        name = _first_output(dep)
        if who == "nobody":
            assert answer.status_code == 401, name
            continue
        (refused if answer.status_code == 403 else answered).add(name)
    if who != "nobody":
        assert refused == {name for name, least in CALLBACKS.items() if not permitted(least, who)}


def _pages_body(client: httpx.Client, pathname: str) -> dict[str, Any]:
    dep = next(d for d in client.get("/_dash-dependencies").json() if "_pages_content" in d["output"])
    inputs = [
        {"id": "_pages_location", "property": "pathname", "value": pathname},
        {"id": "_pages_location", "property": "search", "value": ""},
    ]
    return _body(dep, inputs)


@pytest.mark.parametrize("who", ORDER)
def test_each_page_renders_for_exactly_the_permitted(
    console: Running, sessions: dict[str, httpx.Client], who: str
) -> None:
    client = sessions[who]
    statuses = {path: _post_callback(client, _pages_body(client, path)).status_code for path in PAGES}
    assert statuses == {path: 200 if permitted(least, who) else 403 for path, least in PAGES.items()}


@pytest.mark.parametrize("who", ORDER)
def test_each_page_address_opens_for_exactly_the_permitted(
    console: Running, sessions: dict[str, httpx.Client], who: str
) -> None:
    client = sessions[who]
    statuses = {path: client.get(path).status_code for path in PAGES}
    assert statuses == {path: 200 if permitted(least, who) else 403 for path, least in PAGES.items()}


def test_a_viewer_posting_to_the_acknowledge_callback_is_refused_and_audited(
    console: Running, sessions: dict[str, httpx.Client]
) -> None:
    viewer = sessions["viewer"]
    dep = next(d for d in _callbacks(console, sessions["admin"]) if _first_output(d) == "alerts-message.children")
    body = _body(dep)
    before = len(console.access.audit.entries("authz.denied"))
    answer = _post_callback(viewer, body)
    assert (answer.status_code, answer.json()["errorType"]) == (403, "forbidden")
    denied = console.access.audit.entries("authz.denied")[before:]
    assert [(e.actor, e.subject, e.detail["needs"], e.detail["outcome"]) for e in denied] == [
        ("viewer", "/_dash-update-component", "acknowledge", "denied")
    ]


def test_a_forged_login_pathname_gains_nothing(console: Running, sessions: dict[str, httpx.Client]) -> None:
    """A private callback with `{"property": "pathname", "value": "/login"}` among its inputs is
    still judged by its own output; the pages router with "/login" renders a page everyone may see."""
    viewer = sessions["viewer"]
    dep = next(d for d in _callbacks(console, sessions["admin"]) if _first_output(d) == "audit-table.children")
    body = _body(dep)
    body["inputs"] = [*body["inputs"], {"id": "_pages_location", "property": "pathname", "value": "/login"}]
    assert _post_callback(viewer, body).status_code == 403
    nobody = console.client()
    assert _post_callback(nobody, body).status_code == 401


def test_a_callback_nobody_marked_is_refused_to_everyone(console: Running, sessions: dict[str, httpx.Client]) -> None:
    body = {"output": "no-such.children", "outputs": {"id": "no-such", "property": "children"}, "inputs": []}
    answer = _post_callback(sessions["admin"], body)
    assert (answer.status_code, answer.json()["error"]) == (
        403,
        "admin may not do this (it needs the nobody permission)",
    )


def test_the_kiosk_shell_hides_the_navigation(console: Running, sessions: dict[str, httpx.Client]) -> None:
    dep = next(d for d in _callbacks(console, sessions["admin"]) if _first_output(d) == "shell.className")
    answer = _post_callback(sessions[KIOSK], _body(dep))
    assert answer.json()["response"] == {"shell": {"className": "kiosk"}}


def test_public_routes_answer_without_a_login(console: Running, tmp_path: Path) -> None:
    nobody = console.client()
    assert nobody.get("/healthz").status_code in (200, 503)
    assert nobody.get("/metrics").status_code == 200
    login = nobody.get("/login")
    assert (login.status_code, login.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert nobody.get("/static/auth.js").status_code == 200
