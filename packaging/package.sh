#!/usr/bin/env bash
# Builds the smsagent packages from binaries built beforehand (make package
# builds them and calls this):
#   .deb and .rpm for every smsagent-linux-<arch> in BINDIR,
#   a zip for every smsagent-windows-<arch>.exe in BINDIR.
#
# usage: packaging/package.sh BINDIR OUTDIR
# environment:
#   VERSION       package version; default from git tags (v1.2.3 -> 1.2.3)
#   NFPM          nfpm binary; default: built from the tools module into bin/
#   SIGN_PKCS12   Authenticode certificate (PKCS#12) to sign the .exe with
#                 osslsigncode; SIGN_PASS its password, SIGN_TIMESTAMP_URL a
#                 timestamp server. Unset: the .exe is not signed. Signing
#                 problems are warnings: they never fail the build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bindir=$(cd "${1:?usage: package.sh BINDIR OUTDIR}" && pwd)
mkdir -p "${2:?usage: package.sh BINDIR OUTDIR}"
outdir=$(cd "$2" && pwd)
cd "$root"

if [[ -z "${VERSION:-}" ]]; then
	# v1.2.3 -> 1.2.3; 3 commits later -> 1.2.3+3+gabc1234 (sorts after
	# 1.2.3 in dpkg and rpm); no tag -> 0.0.0+git<commit>.
	if v=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
		VERSION=$(echo "${v#v}" | tr - +)
	else
		VERSION=0.0.0+git$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	fi
fi
# Reproducible archives: file times from the last commit.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

if [[ -z "${NFPM:-}" ]]; then
	NFPM=$root/bin/nfpm
	(cd tools && go build -o "$NFPM" github.com/goreleaser/nfpm/v2/cmd/nfpm)
fi

shopt -s nullglob
built=0
for bin in "$bindir"/smsagent-linux-*; do
	arch=${bin##*/smsagent-linux-}
	for packager in deb rpm; do
		SMSAGENT_VERSION=$VERSION SMSAGENT_ARCH=$arch SMSAGENT_BINARY=$bin \
			"$NFPM" package --config packaging/nfpm.yaml --packager "$packager" --target "$outdir/" >/dev/null
	done
	built=$((built + 1))
done

# sign_exe signs $1 in place if SIGN_PKCS12 is set; on any problem it warns
# and leaves the binary unsigned.
sign_exe() {
	local exe=$1 passfile args
	[[ -n "${SIGN_PKCS12:-}" ]] || return 0
	if ! command -v osslsigncode >/dev/null; then
		echo "package.sh: warning: SIGN_PKCS12 is set but osslsigncode is not installed; not signing" >&2
		return 0
	fi
	args=(sign -pkcs12 "$SIGN_PKCS12" -n smsagent -h sha256 -in "$exe" -out "$exe.signed")
	passfile=
	if [[ -n "${SIGN_PASS:-}" ]]; then
		# A file, not -pass: arguments are visible to every user in ps.
		passfile=$(mktemp)
		chmod 600 "$passfile"
		printf '%s' "$SIGN_PASS" >"$passfile"
		args+=(-readpass "$passfile")
	fi
	if [[ -n "${SIGN_TIMESTAMP_URL:-}" ]]; then
		args+=(-ts "$SIGN_TIMESTAMP_URL")
	fi
	if osslsigncode "${args[@]}" >/dev/null 2>&1; then
		mv "$exe.signed" "$exe"
	else
		echo "package.sh: warning: signing $exe failed; the zip holds it unsigned" >&2
		rm -f "$exe.signed"
	fi
	[[ -z "$passfile" ]] || rm -f "$passfile"
}

for bin in "$bindir"/smsagent-windows-*.exe; do
	arch=${bin##*/smsagent-windows-}
	arch=${arch%.exe}
	stage=$(mktemp -d)
	mkdir "$stage/smsagent"
	cp "$bin" "$stage/smsagent/smsagent.exe"
	sign_exe "$stage/smsagent/smsagent.exe"
	# Windows line endings for the files a person opens in Notepad.
	sed 's/$/\r/' packaging/smsagent.yaml >"$stage/smsagent/smsagent.yaml"
	sed 's/$/\r/' packaging/INSTALL-windows.txt >"$stage/smsagent/INSTALL-windows.txt"
	touch -d "@$SOURCE_DATE_EPOCH" "$stage/smsagent" "$stage/smsagent"/*
	zip="$outdir/smsagent_${VERSION}_windows_${arch}.zip"
	rm -f "$zip"
	(cd "$stage" && TZ=UTC zip -q -X -r "$zip" smsagent)
	rm -rf "$stage"
	built=$((built + 1))
done

if [[ $built -eq 0 ]]; then
	echo "package.sh: no smsagent-linux-* or smsagent-windows-*.exe in $bindir" >&2
	exit 1
fi
ls -1 "$outdir"
