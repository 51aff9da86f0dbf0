#!/bin/sh
# smsagent postinstall: deb postinst ($1 = configure, $2 = the version
# configured before, empty on a first install) and rpm %post ($1 = 1 on
# install, 2 on upgrade).
#
# First install: enable the unit (not start it: the configuration needs an
# SMSC first). Upgrade: restart the service if it runs. The configuration
# (a conffile, %config(noreplace)) and the queue are never touched.
set -e

unit=smsagent.service
case "$1" in
	configure) if [ -z "${2:-}" ]; then action=install; else action=upgrade; fi ;;
	1) action=install ;;
	[2-9]) action=upgrade ;;
	*) exit 0 ;; # abort-upgrade, abort-remove, abort-deconfigure
esac

if [ "$action" = install ]; then
	# The archives carry owner names; this also covers an account that
	# existed before with other ids. The configuration and the queue are
	# the service group's; the spool's exchange folders are the producers'
	# group's (setgid: what is dropped or written there stays in it).
	chown root:smsagent /etc/smsagent /etc/smsagent/smsagent.yaml
	chown smsagent:smsagent /var/lib/smsagent
	chown smsagent:smsagent-spool /var/spool/smsagent /var/spool/smsagent/outgoing \
		/var/spool/smsagent/inbox /var/spool/smsagent/failed /var/spool/smsagent/sent
	chmod 2770 /var/spool/smsagent/outgoing /var/spool/smsagent/inbox \
		/var/spool/smsagent/failed /var/spool/smsagent/sent
	if command -v deb-systemd-helper >/dev/null 2>&1; then
		# Debian: works without a running systemd (chroots, images) and
		# records the state for purge.
		deb-systemd-helper unmask "$unit" >/dev/null || true
		deb-systemd-helper enable "$unit" >/dev/null || true
	elif command -v systemctl >/dev/null 2>&1; then
		# RPM systems: follow the distribution's preset policy, which may
		# leave new services disabled.
		systemctl --no-reload preset "$unit" >/dev/null 2>&1 || true
	fi
fi

if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null 2>&1 || true
	if [ "$action" = upgrade ]; then
		if command -v deb-systemd-invoke >/dev/null 2>&1; then
			deb-systemd-invoke try-restart "$unit" >/dev/null || true
		else
			systemctl try-restart "$unit" >/dev/null 2>&1 || true
		fi
	fi
fi

if [ "$action" = install ]; then
	echo "smsagent: set the SMSC in /etc/smsagent/smsagent.yaml, check it with" \
		"'smsagent config check', then run: systemctl start smsagent." \
		"Let a program drop message files and read reports with: usermod -aG smsagent-spool ACCOUNT"
fi
exit 0
