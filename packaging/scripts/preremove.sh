#!/bin/sh
# smsagent preremove: deb prerm ($1 = remove | upgrade | deconfigure |
# failed-upgrade) and rpm %preun ($1 = packages left afterwards: 0 on
# remove, 1 on upgrade).
#
# On remove only: stop and disable the service. An upgrade keeps it running
# until postinstall of the new version restarts it.
set -e

unit=smsagent.service
case "$1" in
	remove | 0) ;;
	*) exit 0 ;;
esac

if [ -d /run/systemd/system ]; then
	if command -v deb-systemd-invoke >/dev/null 2>&1; then
		deb-systemd-invoke stop "$unit" >/dev/null || true
	else
		systemctl stop "$unit" >/dev/null 2>&1 || true
	fi
fi
if command -v deb-systemd-helper >/dev/null 2>&1; then
	deb-systemd-helper disable "$unit" >/dev/null || true
elif command -v systemctl >/dev/null 2>&1; then
	systemctl --no-reload disable "$unit" >/dev/null 2>&1 || true
fi
exit 0
