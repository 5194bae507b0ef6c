#!/usr/bin/env bash
# make bench: runs every benchmark in tests/bench/ (bench_*.py); each prints its own ratios.
# BENCH_N sets the record count (default 1M per benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
for b in tests/bench/bench_*.py; do
    echo "== $b"
    /usr/bin/python3 "$b"
done
