#!/usr/bin/env bash
# Regenerates the configuration reference at the end of README.md from the schema tables
# (`connectd docs`). With --check, fails when README.md is out of date instead.
set -euo pipefail
cd "$(dirname "$0")/.."
marker='<!-- BEGIN GENERATED REFERENCE'
tmp=$(mktemp)
sed "/^$marker/q" README.md > "$tmp"
echo >> "$tmp"
build/connectd docs >> "$tmp"
if [ "${1:-}" = "--check" ]; then
    if ! diff -q "$tmp" README.md >/dev/null; then
        echo "README.md's configuration reference is out of date: run 'make docs'" >&2
        diff -u README.md "$tmp" | head -40 >&2
        rm -f "$tmp"
        exit 1
    fi
    rm -f "$tmp"
    echo "docs: README.md reference is current"
else
    mv "$tmp" README.md
fi
