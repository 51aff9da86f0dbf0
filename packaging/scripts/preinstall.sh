#!/bin/sh
# smsagent preinstall: deb preinst ($1 = install | upgrade | abort-upgrade)
# and rpm %pre ($1 = 1 on install, 2 on upgrade).
#
# Creates the accounts before the files they own are unpacked: the system
# user smsagent; its own group smsagent, which alone reads the
# configuration and the queue; and the group smsagent-spool of the programs
# that drop message files and read reports. The service user is in both.
# Idempotent: existing accounts are kept, only the memberships are ensured.
#
# Migration from the single group smsagent of earlier releases, which the
# producers joined and which could read the configuration (the SMSC
# password): that group is renamed smsagent-spool. It keeps its id and its
# members, and the spool's files keep their group, so producers go on
# working, even programs running since before the upgrade; a new group
# smsagent, of the service alone, takes over the configuration folder and
# the state folder, which producers can no longer read.
set -e

group_exists() { getent group "$1" >/dev/null 2>&1; }

migrate=
if group_exists smsagent && ! group_exists smsagent-spool; then
	migrate=yes
	if ! groupmod -n smsagent-spool smsagent; then
		echo "smsagent: cannot rename the group smsagent to smsagent-spool (is it kept outside /etc/group?);" \
			"rename it, create a system group smsagent for the service alone, then install again" >&2
		exit 1
	fi
fi
if ! group_exists smsagent; then
	groupadd --system smsagent
fi
if ! group_exists smsagent-spool; then
	groupadd --system smsagent-spool
fi
if ! getent passwd smsagent >/dev/null 2>&1; then
	shell=/usr/sbin/nologin
	[ -x "$shell" ] || shell=/sbin/nologin
	[ -x "$shell" ] || shell=/bin/false
	useradd --system --gid smsagent --groups smsagent-spool --home-dir /var/lib/smsagent --no-create-home \
		--shell "$shell" --comment "smsagent SMS agent" smsagent
else
	usermod --gid smsagent --append --groups smsagent-spool smsagent
fi

if [ -n "$migrate" ]; then
	# What only the service may read goes to its new group. Nobody but
	# root and the service can write in these folders, so what find meets
	# there is ours; -h changes a link, never what it points to.
	for d in /etc/smsagent /var/lib/smsagent /var/spool/smsagent/.work; do
		find "$d" -xdev -group smsagent-spool -exec chgrp -h smsagent {} + 2>/dev/null || true
	done
	chown root:smsagent /etc/smsagent 2>/dev/null || true
	chmod 0750 /etc/smsagent 2>/dev/null || true
	# The spool root no longer hands its group down: the agent's private
	# folders there keep the service's group.
	chmod g-s /var/spool/smsagent 2>/dev/null || true
	echo "smsagent: the group smsagent is now called smsagent-spool. Its members (the programs that write" \
		"to the spool) keep the spool, with nothing to restart, and can no longer read the configuration" \
		"or the queue: those belong to a new group smsagent of the service alone. Add a program with:" \
		"usermod -aG smsagent-spool ACCOUNT. Files elsewhere that you gave the group smsagent now belong to" \
		"smsagent-spool; list them with: find / -xdev -group smsagent-spool ! -path '/var/spool/smsagent/*'"
fi
exit 0
