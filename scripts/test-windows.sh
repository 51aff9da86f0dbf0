#!/usr/bin/env bash
# Runs Go packages' tests as windows/amd64 binaries under Wine, on Debian 12
# with no Windows machine. `make test-windows` calls it with the packages
# that have Windows-relevant code; CI runs that.
#
# Usage: scripts/test-windows.sh [options] PACKAGE... [-- TEST-BINARY-FLAGS...]
#   -run REGEX     only the tests matching REGEX
#   -timeout D     each package's test timeout (Go duration; default 4m)
#   -j N           packages run at once (default: the number of CPUs, at most 2)
#   -v             print every package's whole output, not only failures
#   --setup-only   install and prepare, run nothing
# Flags after -- go to every test binary (e.g. -- -test.count=2).
#
# What it does; every step is skipped when already done, so a second run
# goes straight to the tests:
#  1. apt-get installs wine, wine64 (Wine 8.0 on Debian 12) and
#     gcc-mingw-w64-x86-64 when missing (sudo unless root).
#  2. Builds scripts/wine/bcryptprimitives.c into a DLL: Go 1.24 and later
#     need bcryptprimitives!ProcessPrng at start and Wine 8 has none.
#  3. Makes a 64-bit Wine prefix reporting Windows 10, with that DLL in its
#     system32 (Go loads it from there only, not from beside the program).
#  4. Builds the test binaries with a `go build -overlay` that adds one file
#     to internal/syscall/windows setting TestDeleteatFallback: os.Remove
#     (and so every t.TempDir cleanup) first tries
#     FileDispositionInformationEx, which Wine 8 answers with
#     STATUS_NOT_IMPLEMENTED, a status Go does not fall back on; the older
#     delete call works. Only these test binaries see the overlay.
#  5. Runs each package's binary in the package's folder (as `go test`
#     does), -j at a time, and prints PASS/FAIL per package with its skipped
#     tests and their reasons. Exit status 1 if any package failed.
#
# State (prefix, DLL, overlay, binaries, logs) lives in
# $SMSAGENT_WINE_HOME, default ${XDG_CACHE_HOME:-$HOME/.cache}/smsagent-wine;
# delete it to start over. One run at a time uses it (a lock); the Wine
# server is stopped at the end, ending whatever a test left running.
#
# Wine is not Windows: the README's "Not yet" says what a pass here does
# not prove.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

run_re=
timeout=4m
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -le 2 ] || jobs=2
verbose=0
setup_only=0
pkgs=()
extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	-run) run_re=$2; shift 2 ;;
	-timeout) timeout=$2; shift 2 ;;
	-j) jobs=$2; shift 2 ;;
	-v) verbose=1; shift ;;
	--setup-only) setup_only=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; extra=("$@"); break ;;
	-*) echo "test-windows: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) pkgs+=("$1"); shift ;;
	esac
done
if [ "$setup_only" = 0 ] && [ ${#pkgs[@]} -eq 0 ]; then
	usage >&2
	exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
home=${SMSAGENT_WINE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/smsagent-wine}
mkdir -p "$home"
home=$(cd "$home" && pwd)

export WINEPREFIX=$home/prefix
export WINEARCH=win64
export WINEDEBUG=${WINEDEBUG:--all}
# No dialogs offering to download Mono or Gecko (there is no network for them).
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}
# Console programs only: without a display Wine looks for no X server.
unset DISPLAY WAYLAND_DISPLAY

log() { printf 'test-windows: %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1fs", b-a}'; }

# One run at a time per state folder: runs share the prefix and its server.
exec 9>"$home/.lock"
if ! flock -n 9; then
	log "waiting for another run using $home"
	flock 9
fi

# ---------------------------------------------------------------- 1. packages
ensure_packages() {
	local need=()
	command -v wine >/dev/null || need+=(wine)
	[ -x /usr/lib/wine/wine64 ] || need+=(wine64)
	command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
	[ ${#need[@]} -eq 0 ] && return 0
	local sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	log "installing ${need[*]} with apt-get (about 200 MB)"
	local t0 aptlog=$home/apt.log
	t0=$(now)
	if ! { $sudo apt-get update -q &&
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}"; } >"$aptlog" 2>&1; then
		tail -n 20 "$aptlog" >&2
		log "apt-get failed (whole log: $aptlog)"
		exit 1
	fi
	log "installed in $(since "$t0")"
}

# ------------------------------------------------------------- 2. the DLL
dll=$home/bcryptprimitives.dll
build_dll() {
	local src=$root/scripts/wine/bcryptprimitives.c def=$root/scripts/wine/bcryptprimitives.def
	if [ -f "$dll" ] && [ "$dll" -nt "$src" ] && [ "$dll" -nt "$def" ]; then
		return 0
	fi
	log "building $dll"
	x86_64-w64-mingw32-gcc -O2 -shared -nostdlib -o "$dll.tmp" "$src" "$def" \
		-Wl,--entry,DllMain -ladvapi32 -lkernel32
	mv "$dll.tmp" "$dll"
}

# ------------------------------------------------------------- 3. the prefix
ensure_prefix() {
	if [ ! -f "$WINEPREFIX/.smsagent-ready" ]; then
		log "creating the Wine prefix $WINEPREFIX"
		local t0
		t0=$(now)
		rm -rf "$WINEPREFIX"
		wineboot -i >/dev/null 2>&1 || true
		wineserver -w
		wine winecfg -v win10 >/dev/null 2>&1
		wineserver -w
		[ -d "$WINEPREFIX/drive_c/windows/system32" ] || { log "wineboot made no prefix in $WINEPREFIX"; exit 1; }
		touch "$WINEPREFIX/.smsagent-ready"
		log "prefix made in $(since "$t0")"
	fi
	local dst=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
	cmp -s "$dll" "$dst" 2>/dev/null || cp "$dll" "$dst"
}

# ------------------------------------------------------------- 4. the overlay
overlay=
ensure_overlay() {
	local goroot gover dir
	goroot=$("$GO" env GOROOT)
	gover=$("$GO" env GOVERSION)
	if ! grep -q '^var TestDeleteatFallback bool' "$goroot/src/internal/syscall/windows/at_windows.go" 2>/dev/null; then
		log "$gover has no internal/syscall/windows.TestDeleteatFallback; this script needs updating"
		exit 1
	fi
	dir=$home/overlay/$gover
	overlay=$dir/overlay.json
	[ -f "$overlay" ] && return 0
	mkdir -p "$dir"
	cat >"$dir/zz_wine_windows.go" <<'GO'
package windows

// Added by scripts/test-windows.sh to the test binaries it runs under
// Wine 8, which answers FileDispositionInformationEx with
// STATUS_NOT_IMPLEMENTED: delete the pre-Windows-10 way at once.
func init() { TestDeleteatFallback = true }
GO
	printf '{"Replace":{"%s":"%s"}}\n' "$goroot/src/internal/syscall/windows/zz_wine_windows.go" \
		"$dir/zz_wine_windows.go" >"$overlay.tmp"
	mv "$overlay.tmp" "$overlay"
}

t_setup=$(now)
ensure_packages
build_dll
ensure_prefix
ensure_overlay
log "ready in $(since "$t_setup"): $(wine --version 2>/dev/null), $("$GO" env GOVERSION), prefix $WINEPREFIX"
[ "$setup_only" = 1 ] && exit 0

stop_wine() { wineserver -k 2>/dev/null || true; wineserver -w 2>/dev/null || true; }
# A server left by a killed run would keep its programs; start clean.
stop_wine
rm -rf "$WINEPREFIX"/drive_c/users/*/Temp/* 2>/dev/null || true
trap stop_wine EXIT

# ------------------------------------------------------------- 5. run
bindir=$home/bin
# Each package replaces only its own log: a run of one package keeps the
# others' logs of the last full run.
logdir=$home/logs
mkdir -p "$bindir" "$logdir"

# seconds: the binary's own -test.timeout plus a minute, for the outer kill
tsec=$(awk -v d="$timeout" 'BEGIN{ s=0; while (match(d, /^[0-9.]+(h|ms|m|s)/)) { u=substr(d,RSTART,RLENGTH); n=u+0; if (u ~ /h$/) s+=n*3600; else if (u ~ /ms$/) s+=n/1000; else if (u ~ /m$/) s+=n*60; else s+=n; d=substr(d,RLENGTH+1) } printf "%d", s+60 }')
targs=(-test.paniconexit0 -test.timeout="$timeout" -test.v)
[ -n "$run_re" ] && targs+=(-test.run="$run_re")
targs+=("${extra[@]}")

listing=$(GOOS=windows GOARCH=amd64 "$GO" list -f '{{.ImportPath}}|{{.Dir}}|{{len .TestGoFiles}}|{{len .XTestGoFiles}}' "${pkgs[@]}")
# Longest first, by the run times of the last run (its verdicts): with -j
# lanes, a long package started last would run alone at the end. Packages
# never run keep their order, after those that were.
listing=$(while IFS='|' read -r ipath rest; do
	[ -n "$ipath" ] || continue
	v=$logdir/$(printf '%s' "$ipath" | tr '/.' '__').verdict
	secs=$(sed -n 's/.*run \([0-9.]*\)s).*/\1/p' "$v" 2>/dev/null || true)
	printf '%s|%s|%s\n' "${secs:--1}" "$ipath" "$rest"
done <<<"$listing" | sort -t'|' -k1,1 -rn -s | cut -d'|' -f2-)

# one_package IMPORTPATH DIR: build and run one package's tests; writes
# $logdir/NAME.log and a one-line verdict to $logdir/NAME.verdict.
one_package() {
	local ipath=$1 dir=$2 name bin lg t0 tb rc why
	name=$(printf '%s' "$ipath" | tr '/.' '__')
	bin=$bindir/$name.test.exe
	lg=$logdir/$name.log
	t0=$(now)
	rm -f "$bin" "$logdir/$name.verdict"
	if ! GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$GO" test -c -overlay="$overlay" -o "$bin" "$ipath" >"$lg" 2>&1; then
		printf 'BUILDFAIL %s (%s)\n' "$ipath" "$(since "$t0")" >"$logdir/$name.verdict"
		return
	fi
	tb=$(since "$t0")
	t0=$(now)
	set +e
	(cd "$dir" && timeout -k 10 "$tsec" wine "$bin" "${targs[@]}") >"$lg" 2>&1 </dev/null
	rc=$?
	set -e
	if [ $rc -eq 0 ]; then
		printf 'PASS      %s (build %s, run %s)\n' "$ipath" "$tb" "$(since "$t0")" >"$logdir/$name.verdict"
	else
		why="exit $rc"
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then why="killed after ${tsec}s"; fi
		if grep -q '^panic: test timed out' "$lg"; then why="test timed out"; fi
		printf 'FAIL      %s (%s; build %s, run %s)\n' "$ipath" "$why" "$tb" "$(since "$t0")" >"$logdir/$name.verdict"
	fi
}

# report IMPORTPATH: print the verdict, the skipped tests with their reasons,
# and on failure the failing tests and the end of the log.
report() {
	local ipath=$1 name lg verdict
	name=$(printf '%s' "$ipath" | tr '/.' '__')
	lg=$logdir/$name.log
	verdict=$(cat "$logdir/$name.verdict")
	printf '%s\n' "$verdict"
	# A test's output comes after "=== RUN|CONT|NAME TestX" and before
	# "--- SKIP: TestX"; its last "file.go:N: text" line is the reason.
	awk '
		/^=== (RUN|CONT|NAME) / { cur = $3; next }
		/^ *--- SKIP: / { printf "    skip %s: %s\n", $3, why[$3]; next }
		/^ +[^ ]+\.go:[0-9]+: / && cur != "" { r = $0; sub(/^ +[^ ]+\.go:[0-9]+: /, "", r); why[cur] = r }
	' "$lg"
	case $verdict in
	PASS*) [ "$verbose" = 1 ] && sed 's/^/    /' "$lg" ;;
	*)
		if [ "$verbose" = 1 ]; then
			sed 's/^/    /' "$lg"
		else
			grep -E '^[[:space:]]*--- FAIL' "$lg" | sed 's/^/    /' || true
			echo "    --- the last lines of $lg:"
			tail -n 30 "$lg" | sed 's/^/    /'
		fi
		;;
	esac
	return 0
}

t_run=$(now)
order=()
running=0
while IFS='|' read -r ipath dir ntest nxtest; do
	[ -n "$ipath" ] || continue
	if [ "$ntest" = 0 ] && [ "$nxtest" = 0 ]; then
		printf 'NOTESTS   %s\n' "$ipath"
		continue
	fi
	order+=("$ipath")
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	one_package "$ipath" "$dir" &
	running=$((running + 1))
done <<<"$listing"
wait

npass=0 nfail=0
for ipath in $(printf '%s\n' "${order[@]}" | sort); do
	report "$ipath"
	case $(cat "$logdir/$(printf '%s' "$ipath" | tr '/.' '__').verdict") in
	PASS*) npass=$((npass + 1)) ;;
	*) nfail=$((nfail + 1)) ;;
	esac
done
echo "test-windows: $(since "$t_run") for ${#order[@]} packages, $jobs at a time; logs in $logdir"
# The closing line CI reads.
echo "test-windows: $npass passed, $nfail failed"
[ $nfail -eq 0 ]
