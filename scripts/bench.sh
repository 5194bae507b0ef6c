#!/usr/bin/env bash
# `make bench`: see scripts/bench.py. Needs kcat (scripts/install-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v kcat >/dev/null || bash scripts/install-deps.sh
exec /usr/bin/python3 scripts/bench.py "$@"
