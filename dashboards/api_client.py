"""The query API's command-line client, for `run_console.py query`: the API request the arguments
ask for, the running console's reply over HTTP, the same reply made in this process by a `QueryApi`
when no console answers, and the reply printed (the `data` object as JSON, or promtool's text).

Loading the config and opening the store stay in run_console.py, which passes in what it wired.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import TextIO

from dashboards.api import STATUS_CODES, ApiError, Params, QueryApi, error_body, success_body
from dashboards.api_text import result_text
from model import Secret

__all__ = ["QUERY_HTTP_TIMEOUT", "Reply", "evaluate", "post", "print_reply", "query_request"]

QUERY_HTTP_TIMEOUT = 120.0
"""`query` waits this long (seconds) for the console's answer."""

Reply = tuple[int | None, str]
"""(HTTP status, JSON body) of the API, or (None, what went wrong) when no API answered."""


def query_request(
    expr: str, *, at: str | None, start: str | None, end: str | None, step: str | None
) -> tuple[str, dict[str, str]]:
    """The API path and form of a query: a range query with all of `start`, `end` and `step`, else an
    instant one (at `at`, default now). Raises ValueError ("query: ...") for a wrong combination."""
    span = [start, end, step]
    if any(v is not None for v in span):
        if at is not None:
            raise ValueError("query: --at cannot be combined with --start, --end and --step")
        if start is None or end is None or step is None:
            raise ValueError("query: a range query needs all of --start, --end and --step")
        return "/api/v1/query_range", {"query": expr, "start": start, "end": end, "step": step}
    return "/api/v1/query", {"query": expr, **({"time": at} if at is not None else {})}


def post(url: str, form: dict[str, str], token: Secret | None) -> Reply:
    """POST `form` to the API: (HTTP status, body). A non-JSON answer (a 401, another server) is
    (None, what went wrong). Raises OSError when nothing answers."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token.reveal()}"
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=QUERY_HTTP_TIMEOUT) as response:
            status, content_type, body = response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            status, content_type, body = exc.code, exc.headers.get_content_type(), exc.read()
    text = body.decode("utf-8", "replace")
    if content_type != "application/json":
        return None, f"{url} answered HTTP {status} ({content_type}): {text.strip()[:200]}"
    return status, text


def evaluate(api: QueryApi, path: str, form: dict[str, str]) -> Reply:
    """What the console would reply to `form` on `path`, made in this process by `api`."""
    params = Params({name: [value] for name, value in form.items()})
    try:
        answer = api.query_range(params) if path.endswith("query_range") else api.query(params)
    except ApiError as exc:
        return STATUS_CODES[exc.error_type], error_body(exc)
    return 200, success_body(answer)


def print_reply(reply: Reply, fmt: str, out: TextIO, err: TextIO) -> int:
    """Write the reply's `data` to `out` (`fmt` "json" or "text") and its warnings to `err`: 0. An
    error goes to `err`: 2 for a bad query (`bad_data`), 1 otherwise (or when nothing answered)."""
    status, body = reply
    if status is None:
        err.write(f"error: {body}\n")
        return 1
    answer = json.loads(body)
    if answer.get("status") != "success":
        err.write(f"error: {answer.get('errorType')}: {answer.get('error')}\n")
        return 2 if answer.get("errorType") == "bad_data" else 1
    for warning in answer.get("warnings", ()):
        err.write(f"warning: {warning}\n")
    data = answer["data"]
    out.write(json.dumps(data, ensure_ascii=False) + "\n" if fmt == "json" else result_text(data))
    return 0
