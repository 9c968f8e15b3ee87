"""Access-control benchmark (issue 9): what a login costs, and what the guard adds to every request.

Run: `.venv/bin/python benchmarks/auth.py` (about a minute; `--no-write` skips appending to
docs/benchmarks.md; `--requests` and `--logins` to scale).

A real console (`run_console.start_console`, one host device, waitress on 127.0.0.1) with a user of
each role. Measured over HTTP with one keep-alive client, in the same run:

- a login (`POST /login` after `GET /login`): argon2id verification dominates it (argon2-cffi's
  defaults: 64 MiB, 3 passes), the same for a wrong password and an unknown name;
- one cheap API answer (`GET /api/v1/status/buildinfo`) asked with a login session, with an API token,
  and on the same kind of server without access control (`create_server` alone: the reference), so
  that the difference is the guard's work per request (the session or token look-up in SQLite, the
  user's role, the permission table, the security headers);
- the wall's refresh callback with a session (what a wall screen costs per refresh).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import append_report, cpu_model, log, utc_stamp
from dashboards import HealthReport, create_server
from tests.helpers import serve_wsgi
from tests.security.console import PASSWORDS, csrf_of, start


def timed(call: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds of each of `runs` calls (after 20 warm-up calls)."""
    for _ in range(20):
        call()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _once(call: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    call()
    return (time.perf_counter() - t0) * 1000


def row(what: str, ms: list[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"| {what} | {statistics.median(ms):.2f} | {p95:.2f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--logins", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="auth-bench-") as tmp:
        running = start(Path(tmp))
        try:
            base = running.url
            session = running.login("viewer")
            token = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {running.tokens['viewer']}"})

            def login() -> None:
                assert running.login_answer(running.client(), "operator", PASSWORDS["operator"]).status_code == 200

            def wrong() -> None:
                assert running.login_answer(running.client(), "manager", "wrong-password-1").status_code == 401

            logins = timed(login, args.logins)
            wrongs = []
            for i in range(args.logins):
                if i % 8 == 0:  # never reach the lockout (10 in a row), which answers without verifying
                    running.access.sessions.succeeded("manager")
                wrongs.append(_once(wrong))
            by_session = timed(lambda: session.get("/api/v1/status/buildinfo"), args.requests)
            by_token = timed(lambda: token.get("/api/v1/status/buildinfo"), args.requests)
            dep = next(d for d in session.get("/_dash-dependencies").json() if d["output"].startswith("..wall-tiles"))
            outputs = [
                {"id": p.split(".")[0], "property": p.split(".", 1)[1]} for p in dep["output"].strip(".").split("...")
            ]
            body = json.dumps(
                {
                    "output": dep["output"],
                    "outputs": outputs,
                    "inputs": [{"id": "wall-tick", "property": "n_intervals", "value": 1}],
                    "state": [{"id": "wall-sent", "property": "data", "value": None}],
                    "changedPropIds": ["wall-tick.n_intervals"],
                }
            )
            headers = {"Content-Type": "application/json", "X-CSRFToken": csrf_of(session)}
            wall = timed(lambda: session.post("/_dash-update-component", content=body, headers=headers), 200)
        finally:
            running.console.stop()
    api = running.console.query_api
    app = create_server(metrics=CollectorRegistry(), latest=list, health=lambda: HealthReport({}), api=lambda: api)
    with serve_wsgi(app) as url:
        bare = httpx.Client(base_url=url)
        reference = timed(lambda: bare.get("/api/v1/status/buildinfo"), args.requests)
    added_session = statistics.median(by_session) - statistics.median(reference)
    added_token = statistics.median(by_token) - statistics.median(reference)
    lines = [
        "| request | median, ms | p95, ms |",
        "|---|---|---|",
        row("login (GET /login, POST /login: argon2id verify, session, audit entry)", logins),
        row("login refused (wrong password: the same verify, failure count, audit entry)", wrongs),
        row("GET /api/v1/status/buildinfo without access control (reference)", reference),
        row("the same with a login session (cookie, CSRF cookie, headers)", by_session),
        row("the same with an API token (SHA-256 look-up)", by_token),
        row("the wall's refresh callback with a session (everything changed: first refresh)", wall),
    ]
    verdict = (
        f"the guard adds {added_session:.2f} ms per request with a session "
        f"({statistics.median(by_session) / statistics.median(reference):.2f}x the reference) and "
        f"{added_token:.2f} ms with a token ({statistics.median(by_token) / statistics.median(reference):.2f}x)"
    )
    facts = f"{args.requests} requests each, {args.logins} logins, one keep-alive client, waitress on 127.0.0.1"
    print(facts)
    print("\n".join(lines))
    print(verdict)
    if not args.no_write:
        append_report(
            f"\n## Access-control benchmark, {utc_stamp()}\n\n"
            f"Machine: {os.cpu_count()} cores, {cpu_model()}; Python {platform.python_version()}. "
            f"Command: `python benchmarks/auth.py`. {facts}.\n\n" + "\n".join(lines) + f"\n\n{verdict}.\n"
        )
        log("appended to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
