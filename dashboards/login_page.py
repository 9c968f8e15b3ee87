"""The login and account pages: plain HTML served by Flask (not Dash), so that nobody needs the
console's scripts before logging in. Their one script, `static/auth.js`, posts the form as a
same-origin JSON request with the page's CSRF token (forms and `text/plain` posts are refused by the
guard, dashboards/auth.py). Texts come from `locales/login.<lang>.json`.
"""

from __future__ import annotations

import math
from html import escape

from dashboards.i18n import LANGUAGES, t
from security.passwords import MIN_PASSWORD_LENGTH
from security.users import Role

__all__ = ["account_html", "locked_message", "login_html"]


def locked_message(lang: str, until: float, now: float) -> str:
    """ "Locked for another N min" (rounded up, at least 1)."""
    return t("login.locked", lang, minutes=max(1, math.ceil((until - now) / 60)))


def _page(lang: str, title: str, csrf: str, body: str) -> str:
    other = next(code for code in LANGUAGES if code != lang)
    switch = t("language.switch", lang)
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{escape(csrf)}">
<title>{escape(title)} - Ops Console</title>
<link rel="stylesheet" href="/static/auth.css">
<script src="/static/auth.js" defer></script>
</head>
<body>
<main class="auth">
<h1>Ops Console</h1>
<h2>{escape(title)}</h2>
{body}
<p class="auth-language"><a id="auth-language" href="/language/{other}?next=/login">{escape(switch)}</a></p>
</main>
</body>
</html>
"""


def login_html(lang: str, csrf: str, target: str) -> str:
    """The login form; `target` is where to go after it (a path of this site)."""
    body = f"""<form id="login-form" data-action="/login" data-next="{escape(target)}">
<label>{escape(t("login.name", lang))}<input id="login-name" name="name" autocomplete="username" required></label>
<label>{escape(t("login.password", lang))}<input id="login-password" name="password" type="password"
 autocomplete="current-password" required></label>
<label id="login-code-row" hidden>{escape(t("login.code_label", lang))}<input id="login-code" name="code"
 inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*"></label>
<button id="login-submit" type="submit">{escape(t("login.submit", lang))}</button>
<p id="login-error" class="auth-error" role="alert" data-failed="{escape(t("login.failed", lang))}"></p>
</form>"""
    return _page(lang, t("login.title", lang), csrf, body)


def account_html(lang: str, name: str, role: Role | None, csrf: str) -> str:
    """The password change form of the logged-in user."""
    who = t("account.user", lang, name=name, role=role.value if role is not None else "")
    body = f"""<p id="account-user">{escape(who)}</p>
<form id="account-form" data-action="/account/password" data-differ="{escape(t("account.differ", lang))}"
 data-done="{escape(t("account.done", lang))}">
<label>{escape(t("account.current", lang))}<input id="account-current" type="password"
 autocomplete="current-password" required></label>
<label>{escape(t("account.new", lang))}<input id="account-new" type="password" autocomplete="new-password"
 minlength="{MIN_PASSWORD_LENGTH}" required></label>
<label>{escape(t("account.again", lang))}<input id="account-again" type="password" autocomplete="new-password"
 minlength="{MIN_PASSWORD_LENGTH}" required></label>
<button id="account-submit" type="submit">{escape(t("account.submit", lang))}</button>
<p id="account-error" class="auth-error" role="alert"></p>
</form>
<p><a href="/wall">{escape(t("account.back", lang))}</a></p>"""
    return _page(lang, t("account.title", lang), csrf, body)
