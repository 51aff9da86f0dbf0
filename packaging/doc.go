// Package packaging holds no code: it is the home of the Linux packages'
// nfpm configuration (nfpm.yaml), the systemd unit they ship
// (smsagent.service, rendered from service.Unit), the maintainer scripts
// (scripts/), the sample configuration and the Windows zip's instructions,
// with package.sh building them all.
//
// Its tests build the packages through the tools module's nfpm and check
// what a user gets: every file's path, mode and owner, the conffile, the
// scripts (sh -n clean, and run against stub commands for every dpkg and rpm
// argument), and the Windows zip. The .deb is read as an ar archive of
// tar.gz members (deb(5)), the .rpm as lead, signature and header (the RPM
// package file format of the rpm documentation, tags from rpmtag.h) followed
// by a gzip'd cpio "newc" payload.
package packaging
