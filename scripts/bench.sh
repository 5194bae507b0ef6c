#!/usr/bin/env bash
# `make bench`: the runtime benchmark (scripts/bench.py: pipeline vs kcat, startup, RSS,
# transform chain), then every connector benchmark in tests/bench/ (bench_*.py); each prints
# its own table of ratios against a baseline measured in the same run.
# BENCH_LINES / BENCH_N set the record counts (default 1M).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v kcat >/dev/null || bash scripts/install-deps.sh
echo "== scripts/bench.py"
/usr/bin/python3 scripts/bench.py
for b in tests/bench/bench_*.py; do
    [ -e "$b" ] || continue
    echo "== $b"
    /usr/bin/python3 "$b"
done
