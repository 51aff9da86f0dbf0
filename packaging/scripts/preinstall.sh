#!/bin/sh
# smsagent preinstall: deb preinst ($1 = install | upgrade | abort-upgrade)
# and rpm %pre ($1 = 1 on install, 2 on upgrade).
#
# Creates the smsagent system group and user before the files they own are
# unpacked. Idempotent: an existing account is kept as it is.
set -e

if ! getent group smsagent >/dev/null 2>&1; then
	groupadd --system smsagent
fi
if ! getent passwd smsagent >/dev/null 2>&1; then
	shell=/usr/sbin/nologin
	[ -x "$shell" ] || shell=/sbin/nologin
	[ -x "$shell" ] || shell=/bin/false
	useradd --system --gid smsagent --home-dir /var/lib/smsagent --no-create-home \
		--shell "$shell" --comment "smsagent SMS agent" smsagent
fi
exit 0
