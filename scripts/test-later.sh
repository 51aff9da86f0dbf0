#!/usr/bin/env bash
# Runs the tests with the wall clock moved forward (default three years), to
# catch a test that compares a date fixed in the code with time.Now: such a
# test passes on the day it is written and fails once the calendar passes its
# date. Every test must take its time from an injected clock instead.
#
# Usage: scripts/test-later.sh [go test flags and packages]   (default ./...)
# LATER_SECONDS sets the shift (default 94608000, three years).
#
# How: a `go build -overlay` replaces $GOROOT/src/time/time.go with a copy
# whose Now adds the shift to the wall clock (the monotonic clock, and so
# timers, Since and Until, are untouched), read from GOTIME_SHIFT_SECONDS.
# GOFLAGS carries the overlay, so binaries the tests build themselves (the
# soak suite's agent) run on the shifted clock too. File times the kernel
# stamps are not shifted: a test that compares a file's mtime with the clock
# must stamp the file from the clock (os.Chtimes) rather than rely on the
# kernel's.
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
goroot=$("$go" env GOROOT)
src=$goroot/src/time/time.go
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
hook=$'\tsec, nsec, mono := runtimeNow()\n'
if [ "$(grep -c '^	sec, nsec, mono := runtimeNow()$' "$src")" != 1 ]; then
	echo "test-later: $src has changed shape (no single 'sec, nsec, mono := runtimeNow()' line); update this script" >&2
	exit 1
fi
awk '{ print } /^\tsec, nsec, mono := runtimeNow\(\)$/ { print "\tsec += laterShift" }' "$src" >"$dir/time.go"
cat >"$dir/zz_later.go" <<'GO'
package time

import "syscall"

// laterShift is GOTIME_SHIFT_SECONDS, added to the wall clock by Now
// (scripts/test-later.sh).
var laterShift = func() int64 {
	v, _ := syscall.Getenv("GOTIME_SHIFT_SECONDS")
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}()
GO
printf '{"Replace":{"%s":"%s","%s":"%s"}}\n' "$src" "$dir/time.go" "$goroot/src/time/zz_later.go" "$dir/zz_later.go" >"$dir/overlay.json"
shift_s=${LATER_SECONDS:-94608000}
echo "test-later: the wall clock reads $(GOTIME_SHIFT_SECONDS=$shift_s date -u -d "@$(($(date +%s) + shift_s))" +%Y-%m-%d) in these tests" >&2
[ $# -gt 0 ] || set -- ./...
GOFLAGS="${GOFLAGS:+$GOFLAGS }-overlay=$dir/overlay.json" GOTIME_SHIFT_SECONDS=$shift_s "$go" test -count=1 "$@"
