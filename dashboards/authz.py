"""Authorization inside the console's code: who the running request acts for, and the permission
each Dash callback needs.

`dashboards.auth` finds the request's `Principal` (a login session, an API bearer token or a kiosk
token) before any view runs and keeps it in `flask.g`. Every `@dash.callback` of the console is
marked with `@requires(Permission.X)` under its `@dash.callback(...)`: the guard refuses a callback
request whose principal lacks the permission before Dash runs it (and a callback without a mark is
refused to everyone), and the mark checks again when the function runs, so a callback called some
other way is not open either. Pages name theirs in `dash.register_page(..., permission="...")`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import flask
from werkzeug.exceptions import Forbidden

from security.access import Permission, Principal

__all__ = ["ACCESS_KEY", "PERMISSION_ATTR", "acting", "current_principal", "may", "permission_of", "record", "requires"]

ACCESS_KEY = "ops_console.access"
"""Where `dashboards.auth.install_access` keeps the console's `Access` in `flask.Flask.extensions`.
An app without it has no access control at all (a library use: the pages' and API's own tests);
`run_console.py run` always installs it (tests/security/test_walk.py checks every route there)."""

PERMISSION_ATTR = "__ops_permission__"
"""The attribute `requires` sets on a callback (Dash's wrapper copies it with functools.wraps)."""

_F = TypeVar("_F", bound=Callable[..., Any])


def current_principal() -> Principal | None:
    """The principal of the running request (None outside a request or when nobody is logged in)."""
    if not flask.has_request_context():
        return None
    found: Principal | None = flask.g.get("principal")
    return found


def requires(permission: Permission) -> Callable[[_F], _F]:
    """Mark a callback as needing `permission`, and check it when the callback runs (403 otherwise)."""

    def mark(fn: _F) -> _F:
        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            controlled = flask.has_app_context() and ACCESS_KEY in flask.current_app.extensions
            if controlled and (principal is None or not principal.may(permission)):
                raise Forbidden(f"{permission.value} is not permitted")
            return fn(*args, **kwargs)

        setattr(checked, PERMISSION_ATTR, permission)
        return checked  # type: ignore[return-value]  # same signature as fn

    return mark


def permission_of(fn: object) -> Permission | None:
    """The permission a callback was marked with (None: unmarked, refused to everyone)."""
    found = getattr(fn, PERMISSION_ATTR, None)
    return found if isinstance(found, Permission) else None


def may(permission: Permission) -> bool:
    """Whether the running request's principal holds `permission` (True where no access control is
    installed), for what a page shows: links and buttons of what the user may do."""
    if not flask.has_app_context() or ACCESS_KEY not in flask.current_app.extensions:
        return True
    principal = current_principal()
    return principal is not None and principal.may(permission)


def acting(typed: str | None) -> str:
    """Who acts in the running request: the logged-in principal's name, never what a form says;
    `typed` (the form's name field) only where no access control is installed."""
    principal = current_principal()
    if principal is not None:
        return principal.actor
    if flask.has_app_context() and ACCESS_KEY in flask.current_app.extensions:
        return ""
    return (typed or "").strip()


def record(action: str, subject: str, detail: Mapping[str, object] | None = None) -> None:
    """An audit entry for the running request (dashboards.auth.Access.record); nothing where no
    access control is installed."""
    access = flask.current_app.extensions.get(ACCESS_KEY) if flask.has_app_context() else None
    if access is not None:
        access.record(action, subject, detail or {})
