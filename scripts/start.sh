#!/usr/bin/env bash
# Set up (scripts/setup.sh) and start the console on the built-in demo estate: simulated SNMP agents
# for two data centres, their WAN links and 20 regional offices (config/demo.yaml).
# Extra arguments go to `run_console.py demo` (e.g. --listen 127.0.0.1:8051 --data-dir /tmp/ops-demo).
# To monitor real devices instead: .venv/bin/python run_console.py run --config YOUR.yaml
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh
exec .venv/bin/python run_console.py demo "$@"
