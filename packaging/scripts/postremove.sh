#!/bin/sh
# smsagent postremove: deb postrm ($1 = remove | purge | upgrade |
# failed-upgrade | abort-install | abort-upgrade | disappear) and rpm
# %postun ($1 = packages left afterwards: 0 on remove, 1 on upgrade).
#
# Remove keeps the configuration, the queue database and the spool; only a
# Debian purge deletes them. The smsagent account stays (Debian policy:
# its ids may still own files elsewhere).
set -e

unit=smsagent.service
case "$1" in
	remove | 0) action=remove ;;
	purge) action=purge ;;
	*) exit 0 ;;
esac

if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null 2>&1 || true
fi
if [ "$action" = purge ]; then
	if command -v deb-systemd-helper >/dev/null 2>&1; then
		deb-systemd-helper purge "$unit" >/dev/null || true
	fi
	rm -rf /var/lib/smsagent /var/spool/smsagent /etc/smsagent
fi
exit 0
