package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The maintainer scripts run here against stub commands: PATH holds only
// stubs that log their arguments, so the test sees every command a script
// would run for each argument dpkg or rpm passes, and nothing on this
// machine is touched.

// systemdRunning mirrors the scripts' own test for a running systemd, which
// the test cannot stub.
var systemdRunning = func() bool {
	_, err := os.Stat("/run/systemd/system")
	return err == nil
}()

type stubs struct {
	debian     bool // deb-systemd-helper and deb-systemd-invoke exist (Debian) or not (RPM systems)
	userExists bool
}

// runScript runs scripts/name with args and returns the commands it ran and
// its output.
func runScript(t *testing.T, s stubs, name string, args ...string) (calls []string, output string) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	commands := []string{"getent", "groupadd", "useradd", "chown", "systemctl", "rm"}
	if s.debian {
		commands = append(commands, "deb-systemd-helper", "deb-systemd-invoke")
	}
	for _, c := range commands {
		code := "0"
		if c == "getent" && !s.userExists {
			code = "2" // getent: key not found
		}
		stub := "#!/bin/sh\necho \"" + c + " $*\" >>\"$STUB_LOG\"\nexit " + code + "\n"
		if err := os.WriteFile(filepath.Join(dir, c), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("/bin/sh", append([]string{filepath.Join("scripts", name)}, args...)...)
	cmd.Env = []string{"PATH=" + dir, "STUB_LOG=" + log}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	data, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l != "" {
			calls = append(calls, l)
		}
	}
	return calls, string(out)
}

// ifSystemd returns calls when a systemd runs on this machine, else nothing.
func ifSystemd(calls ...string) []string {
	if systemdRunning {
		return calls
	}
	return nil
}

func cat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

const chown = "chown smsagent:smsagent /var/lib/smsagent /var/spool/smsagent /var/spool/smsagent/outgoing " +
	"/var/spool/smsagent/inbox /var/spool/smsagent/failed /var/spool/smsagent/sent"

func TestScripts(t *testing.T) {
	shell := "/bin/false" // the script's choice: the first of these that exists
	for _, s := range []string{"/sbin/nologin", "/usr/sbin/nologin"} {
		if fi, err := os.Stat(s); err == nil && fi.Mode()&0o111 != 0 {
			shell = s // later entries take precedence, as in the script
		}
	}
	reload := "systemctl --system daemon-reload"
	deb, rpm := stubs{debian: true, userExists: true}, stubs{userExists: true}
	tests := []struct {
		name   string
		stubs  stubs
		script string
		args   []string
		want   []string
	}{
		{"new account", stubs{}, "preinstall.sh", []string{"install"}, []string{
			"getent group smsagent", "groupadd --system smsagent", "getent passwd smsagent",
			"useradd --system --gid smsagent --home-dir /var/lib/smsagent --no-create-home --shell " + shell +
				" --comment smsagent SMS agent smsagent"}},
		{"existing account", rpm, "preinstall.sh", []string{"2"}, []string{"getent group smsagent", "getent passwd smsagent"}},

		{"deb first install", deb, "postinstall.sh", []string{"configure", ""}, cat([]string{chown,
			"deb-systemd-helper unmask smsagent.service", "deb-systemd-helper enable smsagent.service"}, ifSystemd(reload))},
		{"deb first install, no version", deb, "postinstall.sh", []string{"configure"}, cat([]string{chown,
			"deb-systemd-helper unmask smsagent.service", "deb-systemd-helper enable smsagent.service"}, ifSystemd(reload))},
		{"deb upgrade", deb, "postinstall.sh", []string{"configure", "1.0.0"},
			ifSystemd(reload, "deb-systemd-invoke try-restart smsagent.service")},
		{"deb abort-upgrade", deb, "postinstall.sh", []string{"abort-upgrade", "1.0.0"}, nil},
		{"rpm first install", rpm, "postinstall.sh", []string{"1"}, cat([]string{chown,
			"systemctl --no-reload preset smsagent.service"}, ifSystemd(reload))},
		{"rpm upgrade", rpm, "postinstall.sh", []string{"2"}, ifSystemd(reload, "systemctl try-restart smsagent.service")},

		{"deb remove", deb, "preremove.sh", []string{"remove"}, cat(
			ifSystemd("deb-systemd-invoke stop smsagent.service"), []string{"deb-systemd-helper disable smsagent.service"})},
		{"deb upgrade (old prerm)", deb, "preremove.sh", []string{"upgrade", "1.2.4"}, nil},
		{"rpm erase", rpm, "preremove.sh", []string{"0"}, cat(
			ifSystemd("systemctl stop smsagent.service"), []string{"systemctl --no-reload disable smsagent.service"})},
		{"rpm upgrade (old %preun)", rpm, "preremove.sh", []string{"1"}, nil},

		{"deb remove keeps data", deb, "postremove.sh", []string{"remove"}, ifSystemd(reload)},
		{"deb purge", deb, "postremove.sh", []string{"purge"}, cat(ifSystemd(reload), []string{
			"deb-systemd-helper purge smsagent.service", "rm -rf /var/lib/smsagent /var/spool/smsagent /etc/smsagent"})},
		{"deb upgrade (old postrm)", deb, "postremove.sh", []string{"upgrade", "1.2.4"}, nil},
		{"rpm erase keeps data", rpm, "postremove.sh", []string{"0"}, ifSystemd(reload)},
		{"rpm upgrade (old %postun)", rpm, "postremove.sh", []string{"1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, out := runScript(t, tt.stubs, tt.script, tt.args...)
			if !reflect.DeepEqual(calls, tt.want) {
				t.Errorf("%s %q ran:\n  %s\nwant:\n  %s", tt.script, tt.args,
					strings.Join(calls, "\n  "), strings.Join(tt.want, "\n  "))
			}
			firstInstall := tt.script == "postinstall.sh" && len(calls) > 0 && calls[0] == chown
			if hint := strings.Contains(out, "systemctl start smsagent"); hint != firstInstall {
				t.Errorf("start hint printed = %v, want %v; output %q", hint, firstInstall, out)
			}
		})
	}
}
