#!/usr/bin/env bash
# Set up (scripts/setup.sh) and start the console on config/console.yaml.
# Extra arguments go to `run_console.py run` (e.g. --listen 127.0.0.1:8051 --data-dir /var/lib/ops-console).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh
exec .venv/bin/python run_console.py run --config config/console.yaml "$@"
