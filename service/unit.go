package service

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Name is the service's name: the systemd unit smsagent.service, the
// Windows service and event log source "smsagent".
const Name = "smsagent"

// Default account and locations of the Linux packages.
const (
	DefaultUser = "smsagent"
	// StateDir is the folder systemd creates for the service
	// (StateDirectory=smsagent) and keeps writable under ProtectSystem.
	StateDir = "/var/lib/smsagent"
	// PackagedUnitPath is where the .deb and .rpm install the unit.
	PackagedUnitPath = "/usr/lib/systemd/system/smsagent.service"
	// AdminUnitPath is where service install writes the unit (the folder
	// systemd reserves for the administrator).
	AdminUnitPath = "/etc/systemd/system/smsagent.service"
)

// Unit describes the systemd unit of the agent. The packages ship
// PackagedUnit rendered (packaging/smsagent.service, checked by a test);
// service install renders one for the binary and configuration at hand.
type Unit struct {
	Exec       string // absolute path of the smsagent binary
	ConfigFile string // absolute path of the configuration file
	// WritablePaths are folders the service writes besides StateDir: the
	// spool, and the database folder when it is elsewhere. The unit
	// mounts everything else read-only (ProtectSystem=strict).
	WritablePaths []string
	User, Group   string // default DefaultUser
}

// PackagedUnit is the unit the Linux packages install.
func PackagedUnit() Unit {
	return Unit{
		Exec:          "/usr/bin/smsagent",
		ConfigFile:    "/etc/smsagent/smsagent.yaml",
		WritablePaths: []string{"/var/spool/smsagent"},
	}
}

// unitTemplate is the unit with {{placeholders}} for the values that vary.
// kardianos/service's own template hard-codes RestartSec=120 and starts
// before the network is up, so this one is passed to it fully rendered.
//
// The stop budget: SIGTERM starts a graceful stop that service.Run bounds
// at RunOptions.GracePeriod + ForcePeriod (9 s by default); TimeoutStopSec
// leaves room above that before systemd sends SIGKILL. Being killed loses
// nothing (the queue is committed before anything is acknowledged), it only
// widens the window for duplicates.
const unitTemplate = `# smsagent: store-and-forward SMS agent (SMPP 3.4).
# To change a setting, run "systemctl edit smsagent" and override it in the
# drop-in it opens; this file is replaced on upgrade. If the configuration
# moves the spool or the database elsewhere, add the new folder there:
#   [Service]
#   ReadWritePaths=/srv/sms
[Unit]
Description=smsagent store-and-forward SMS agent
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart={{ExecStart}}
User={{User}}
Group={{Group}}
Restart=always
RestartSec=5
# Exit status 2 is a configuration or usage error: restarting cannot fix it.
RestartPreventExitStatus=2
TimeoutStopSec=15
StateDirectory=smsagent
StateDirectoryMode=0750
UMask=0027
ReadWritePaths={{ReadWritePaths}}

# Hardening. The agent needs TCP to the SMSC and the admin API, its state
# folder and the spool; nothing else.
NoNewPrivileges=true
CapabilityBoundingSet=
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectKernelLogs=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=true
RestrictRealtime=true
RestrictSUIDSGID=true
LockPersonality=true
MemoryDenyWriteExecute=true
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`

// Render returns the unit file. It refuses paths the unit cannot serve:
// relative ones, ones under /home, /root or /run/user (hidden by
// ProtectHome=true), under /tmp or /var/tmp (private to the service under
// PrivateTmp=true, so producers and the agent would see different folders),
// and ones with characters that need escaping in a unit file.
func (u Unit) Render() (string, error) {
	user, group := u.User, u.Group
	if user == "" {
		user = DefaultUser
	}
	if group == "" {
		group = user
	}
	if err := checkUnitPath("the smsagent binary", u.Exec); err != nil {
		return "", err
	}
	if err := checkUnitPath("the configuration file", u.ConfigFile); err != nil {
		return "", err
	}
	var writable, seen []string
	for _, p := range u.WritablePaths {
		if err := checkUnitPath("the folder", p); err != nil {
			return "", err
		}
		p = path.Clean(p)
		if p == StateDir || strings.HasPrefix(p, StateDir+"/") || slices.Contains(seen, p) {
			continue // StateDirectory= already makes it writable
		}
		seen = append(seen, p)
		// "-": a missing folder does not stop the unit from starting, so the
		// agent can report it in words instead of systemd's status=226.
		writable = append(writable, quoteUnitWord("-"+p))
	}
	if len(writable) == 0 {
		writable = []string{StateDir}
	}
	for _, name := range []string{user, group} {
		if !validAccount(name) {
			return "", fmt.Errorf("service: %q is not a valid user or group name", name)
		}
	}
	r := strings.NewReplacer(
		"{{ExecStart}}", quoteUnitWord(u.Exec)+" run --config "+quoteUnitWord(u.ConfigFile),
		"{{User}}", user,
		"{{Group}}", group,
		"{{ReadWritePaths}}", strings.Join(writable, " "),
	)
	return r.Replace(unitTemplate), nil
}

// checkUnitPath refuses a path the unit cannot use; what says which one it
// is, for the message.
func checkUnitPath(what, p string) error {
	if !path.IsAbs(p) {
		return fmt.Errorf("service: %s must be an absolute path, got %q", what, p)
	}
	if i := strings.IndexFunc(p, func(r rune) bool {
		return r < 0x20 || r == 0x7f || strings.ContainsRune(`"'\$%`, r)
	}); i >= 0 {
		return fmt.Errorf("service: %s %q contains %q, which a systemd unit cannot carry unescaped; use another path",
			what, p, p[i])
	}
	if strings.Contains(p, "{{") {
		return fmt.Errorf("service: %s %q contains \"{{\"; use another path", what, p)
	}
	clean := path.Clean(p)
	for _, dir := range []string{"/home", "/root", "/run/user"} {
		if clean == dir || strings.HasPrefix(clean, dir+"/") {
			return fmt.Errorf("service: %s %s is under %s, which the service cannot see (ProtectHome=true); "+
				"move it, e.g. the binary to /usr/local/bin", what, p, dir)
		}
	}
	for _, dir := range []string{"/tmp", "/var/tmp"} {
		if clean == dir || strings.HasPrefix(clean, dir+"/") {
			return fmt.Errorf("service: %s %s is under %s, which is private to the service (PrivateTmp=true); "+
				"move it", what, p, dir)
		}
	}
	return nil
}

// quoteUnitWord quotes a word for a unit file when it holds spaces.
// checkUnitPath has already refused the characters that would need escapes.
func quoteUnitWord(s string) string {
	if strings.ContainsAny(s, " \t") {
		return `"` + s + `"`
	}
	return s
}

// validAccount accepts the portable user name set (POSIX plus the usual
// "-" and "_"), which is all a unit's User= line should ever carry.
func validAccount(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
