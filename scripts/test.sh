#!/usr/bin/env bash
# Set up with what the tests need, then lint, type-check and run every test (what CI runs).
# Extra arguments go to pytest (e.g. tests/dashboards -x). Exits with the first failing step's code;
# pytest's own code is kept, so "no tests collected" (5) fails too.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh --test

echo "test: ruff check" >&2
.venv/bin/ruff check --quiet .
echo "test: mypy (strict, on the files of [tool.mypy] in pyproject.toml)" >&2
.venv/bin/mypy
echo "test: pytest" >&2
exec .venv/bin/python -m pytest -n 2 -q "$@"
