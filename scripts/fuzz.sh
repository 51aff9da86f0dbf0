#!/usr/bin/env bash
# Runs every native fuzz target in the module for FUZZTIME each (default 10s).
# Usage: scripts/fuzz.sh [fuzztime]
set -euo pipefail
fuzztime="${1:-${FUZZTIME:-10s}}"
cd "$(dirname "$0")/.."
found=0
while IFS= read -r line; do
	file="${line%%:*}"
	name="$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]+).*/\1/' <<<"$line")"
	pkg="./$(dirname "$file")"
	echo "== fuzz $pkg $name ($fuzztime)"
	go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg"
	found=$((found + 1))
done < <(grep -rEn --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . | grep -v '^./tools/' | sort)
echo "fuzz: $found targets, $fuzztime each"
