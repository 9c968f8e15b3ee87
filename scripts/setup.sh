#!/usr/bin/env bash
# Set up Ops Console on a fresh Debian 12 machine (as root), idempotently:
#   - the Debian packages it needs, installed only when missing (`apt-get update` only then);
#   - the virtual environment .venv in the repository (python3 -m venv) unless it exists;
#   - the project installed editable into it with its extras: `pip install -e '.[EXTRAS]'`,
#     skipped when pyproject.toml has not changed since the last install of the same extras.
#
# Usage: scripts/setup.sh [--test] [--bench]
#   --test   also what the tests need (Debian packages and the `test` extra)
#   --bench  also what the benchmarks need (the `bench` extra)
#
# The interpreter is `python3` from PATH (Debian's /usr/bin/python3 or a pyenv one), or $PYTHON.
# It must be Python 3.11 to 3.13 (pyproject's requires-python).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

with_test=0
with_bench=0
for arg in "$@"; do
    case "$arg" in
        --test) with_test=1 ;;
        --bench) with_bench=1 ;;
        -h | --help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) printf 'setup: error: unknown option %s (try --help)\n' "$arg" >&2; exit 2 ;;
    esac
done

python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "no $python on PATH: apt-get install -y python3 (Debian 12 ships 3.11)"
"$python" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14)))' ||
    die "$python is Python $("$python" -c 'import platform; print(platform.python_version())'); Ops Console needs 3.11 to 3.13 (set PYTHON=/path/to/python3.11)"

# --- Debian packages -------------------------------------------------------------------------
# fping: ICMP for `ping:` probes when the console does not run as root (it carries cap_net_raw);
# the demo estate pings every device.
# fonts-ipafont-gothic: IPAGothic, the Japanese TrueType font the PDF availability reports embed.
apt_packages=(fping fonts-ipafont-gothic)
# Debian's own interpreter gets venv/ensurepip from python3-venv; a pyenv (or other) build has them.
if [[ "$("$python" -c 'import sys; print(sys.base_prefix)')" == /usr ]]; then
    apt_packages+=(python3-venv)
fi
if ((with_test)); then
    # sqlite3: the CLI, to inspect a store in tests and by hand.
    # snmpd, snmp: net-snmp's agent and CLI, the real agent (and reference walker) of the SNMP tests.
    # prometheus-node-exporter: the real exporter the exporter collector's tests scrape.
    # prometheus: the real Prometheus 2.42 the query engine's differential tests compare against.
    # prometheus-alertmanager: the real Alertmanager 0.25 the Alertmanager notifier's tests send to.
    # victoria-metrics: the real VictoriaMetrics the remote-write tests send to.
    # chromium, fonts-noto-cjk: Debian's browser, driven by Playwright in the web console's browser
    # tests, and the Japanese glyphs its pages and screenshots need.
    # poppler-utils: pdftotext, pdftoppm and pdffonts, which read the PDF reports back in their tests.
    apt_packages+=(sqlite3 snmpd snmp prometheus-node-exporter prometheus prometheus-alertmanager chromium fonts-noto-cjk
        poppler-utils victoria-metrics)
fi

missing=()
for package in ${apt_packages[@]+"${apt_packages[@]}"}; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done
if ((${#missing[@]})); then
    ((EUID == 0)) || die "missing Debian packages ${missing[*]}: run as root, or apt-get install -y ${missing[*]}"
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- virtual environment ---------------------------------------------------------------------
if [[ ! -e .venv ]]; then
    say "creating .venv with $python ($(command -v "$python"))"
    "$python" -m venv .venv
fi
.venv/bin/python -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14)))' 2>/dev/null ||
    die ".venv exists but .venv/bin/python does not run Python 3.11 to 3.13 (made by another interpreter?): rm -rf .venv and run again"

# --- the project, editable, with its extras ---------------------------------------------------
extras=()
if ((with_test)); then extras+=(test); fi
if ((with_bench)); then extras+=(bench); fi
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
stale=0
for part in base ${extras[@]+"${extras[@]}"}; do
    stamp=.venv/.ops-console-$part
    [[ -f $stamp && "$(cat "$stamp")" == "$digest" ]] || stale=1
done
if ((stale)); then
    spec=.
    if ((${#extras[@]})); then spec=".[$(IFS=,; echo "${extras[*]}")]"; fi
    say "pip install -e '$spec'"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
    for part in base ${extras[@]+"${extras[@]}"}; do
        printf '%s\n' "$digest" >".venv/.ops-console-$part"
    done
else
    say "up to date (.venv has this pyproject.toml installed${extras[*]:+ with ${extras[*]}})"
fi

# --- the first admin of the shipped config (config/console.yaml: data/) ---------------------------
# Added once, with a random password (and a TOTP secret: admins need a second factor) printed here;
# the demo has its own users (README.md).
.venv/bin/python run_console.py users first-admin
