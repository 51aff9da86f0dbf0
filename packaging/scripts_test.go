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
	debian bool // deb-systemd-helper and deb-systemd-invoke exist (Debian) or not (RPM systems)
	// groups and user are the accounts that exist before the script runs;
	// the account stubs add, rename and look them up.
	groups        []string
	user          bool
	groupmodFails bool // the group is not in /etc/group (LDAP, NIS): groupmod cannot rename it
}

// The accounts of a machine before each kind of install.
var (
	noAccounts    = stubs{}
	splitAccounts = stubs{groups: []string{"smsagent", "smsagent-spool"}, user: true}
	// oneGroup is the layout of the releases before the split: producers
	// joined the group smsagent, which also read the configuration.
	oneGroup = stubs{groups: []string{"smsagent"}, user: true}
)

// accountStubs keep the accounts as files under $STUB_DB/group and
// $STUB_DB/passwd, so a script that creates or renames an account finds it
// afterwards as it would on a real system.
var accountStubs = map[string]string{
	"getent":   `if [ -e "$STUB_DB/$1/$2" ]; then exit 0; fi; exit 2`, // 2: key not found
	"groupadd": `for a; do n=$a; done; : >"$STUB_DB/group/$n"`,
	"groupmod": `[ -z "$STUB_GROUPMOD_FAILS" ] || exit 10; [ "$1" = -n ] && "$STUB_MV" "$STUB_DB/group/$3" "$STUB_DB/group/$2"`,
	"useradd":  `for a; do n=$a; done; : >"$STUB_DB/passwd/$n"`,
}

// scriptRun is what a script did: the commands it ran, its output, its
// error, and the groups that exist afterwards.
type scriptRun struct {
	calls  []string
	output string
	err    error
	groups []string
}

// runScript runs scripts/name with args and returns the commands it ran and
// its output; the script must succeed.
func runScript(t *testing.T, s stubs, name string, args ...string) (calls []string, output string) {
	t.Helper()
	r := runScriptResult(t, s, name, args...)
	if r.err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, r.err, r.output)
	}
	return r.calls, r.output
}

func runScriptResult(t *testing.T, s stubs, name string, args ...string) scriptRun {
	t.Helper()
	dir := t.TempDir()
	bin, db := filepath.Join(dir, "bin"), filepath.Join(dir, "db")
	log := filepath.Join(dir, "calls")
	for _, d := range []string{bin, filepath.Join(db, "group"), filepath.Join(db, "passwd")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range s.groups {
		if err := os.WriteFile(filepath.Join(db, "group", g), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if s.user {
		if err := os.WriteFile(filepath.Join(db, "passwd", "smsagent"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	commands := []string{"getent", "groupadd", "groupmod", "useradd", "usermod", "chown", "chmod", "chgrp", "find",
		"systemctl", "rm"}
	if s.debian {
		commands = append(commands, "deb-systemd-helper", "deb-systemd-invoke")
	}
	for _, c := range commands {
		stub := "#!/bin/sh\necho \"" + c + " $*\" >>\"$STUB_LOG\"\n" + accountStubs[c] + "\n"
		if err := os.WriteFile(filepath.Join(bin, c), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("/bin/sh", append([]string{filepath.Join("scripts", name)}, args...)...)
	mv, err := exec.LookPath("mv")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = []string{"PATH=" + bin, "STUB_LOG=" + log, "STUB_DB=" + db, "STUB_MV=" + mv}
	if s.groupmodFails {
		cmd.Env = append(cmd.Env, "STUB_GROUPMOD_FAILS=1")
	}
	out, err := cmd.CombinedOutput()
	r := scriptRun{output: string(out), err: err}
	data, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l != "" {
			r.calls = append(r.calls, l)
		}
	}
	entries, err := os.ReadDir(filepath.Join(db, "group"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		r.groups = append(r.groups, e.Name())
	}
	return r
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

// What postinstall sets on a first install: the archives carry owner
// names, resolved before the accounts may have existed with these ids.
var firstInstallOwners = []string{
	"chown root:smsagent /etc/smsagent /etc/smsagent/smsagent.yaml",
	"chown smsagent:smsagent /var/lib/smsagent",
	"chown smsagent:smsagent-spool /var/spool/smsagent /var/spool/smsagent/outgoing /var/spool/smsagent/inbox " +
		"/var/spool/smsagent/failed /var/spool/smsagent/sent",
	"chmod 2770 /var/spool/smsagent/outgoing /var/spool/smsagent/inbox /var/spool/smsagent/failed /var/spool/smsagent/sent",
}

func TestScripts(t *testing.T) {
	shell := "/bin/false" // the script's choice: the first of these that exists
	for _, s := range []string{"/sbin/nologin", "/usr/sbin/nologin"} {
		if fi, err := os.Stat(s); err == nil && fi.Mode()&0o111 != 0 {
			shell = s // later entries take precedence, as in the script
		}
	}
	reload := "systemctl --system daemon-reload"
	deb, rpm := splitAccounts, splitAccounts
	deb.debian = true
	tests := []struct {
		name   string
		stubs  stubs
		script string
		args   []string
		want   []string
	}{
		{"new accounts", noAccounts, "preinstall.sh", []string{"install"}, []string{
			"getent group smsagent", "getent group smsagent", "groupadd --system smsagent",
			"getent group smsagent-spool", "groupadd --system smsagent-spool", "getent passwd smsagent",
			"useradd --system --gid smsagent --groups smsagent-spool --home-dir /var/lib/smsagent --no-create-home --shell " +
				shell + " --comment smsagent SMS agent smsagent"}},
		{"existing accounts", rpm, "preinstall.sh", []string{"2"}, []string{
			"getent group smsagent", "getent group smsagent-spool", "getent group smsagent", "getent group smsagent-spool",
			"getent passwd smsagent", "usermod --gid smsagent --append --groups smsagent-spool smsagent"}},

		{"deb first install", deb, "postinstall.sh", []string{"configure", ""}, cat(firstInstallOwners, []string{
			"deb-systemd-helper unmask smsagent.service", "deb-systemd-helper enable smsagent.service"}, ifSystemd(reload))},
		{"deb first install, no version", deb, "postinstall.sh", []string{"configure"}, cat(firstInstallOwners, []string{
			"deb-systemd-helper unmask smsagent.service", "deb-systemd-helper enable smsagent.service"}, ifSystemd(reload))},
		{"deb upgrade", deb, "postinstall.sh", []string{"configure", "1.0.0"},
			ifSystemd(reload, "deb-systemd-invoke try-restart smsagent.service")},
		{"deb abort-upgrade", deb, "postinstall.sh", []string{"abort-upgrade", "1.0.0"}, nil},
		{"rpm first install", rpm, "postinstall.sh", []string{"1"}, cat(firstInstallOwners, []string{
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
			firstInstall := tt.script == "postinstall.sh" && len(calls) > 0 && calls[0] == firstInstallOwners[0]
			if hint := strings.Contains(out, "systemctl start smsagent") &&
				strings.Contains(out, "usermod -aG smsagent-spool ACCOUNT"); hint != firstInstall {
				t.Errorf("start hint printed = %v, want %v; output %q", hint, firstInstall, out)
			}
			if strings.Contains(out, "is now called smsagent-spool") {
				t.Errorf("migration notice without a migration: %q", out)
			}
		})
	}
}

// TestPreinstall_SplitsTheOneGroup: an install from before the split has
// one group smsagent that producers joined and that reads the
// configuration. preinstall renames it smsagent-spool (same id, same
// members, so the spool's files and running producers keep their access),
// creates a new group smsagent for the service alone, makes it the service
// user's primary group, gives it what was private (the configuration
// folder, the state folder, the claimed files), stops the spool root from
// handing its group down, and says what it did.
func TestPreinstall_SplitsTheOneGroup(t *testing.T) {
	migration := []string{
		"getent group smsagent", "getent group smsagent-spool",
		"groupmod -n smsagent-spool smsagent",
		"getent group smsagent", "groupadd --system smsagent",
		"getent group smsagent-spool",
		"getent passwd smsagent", "usermod --gid smsagent --append --groups smsagent-spool smsagent",
		"find /etc/smsagent -xdev -group smsagent-spool -exec chgrp -h smsagent {} +",
		"find /var/lib/smsagent -xdev -group smsagent-spool -exec chgrp -h smsagent {} +",
		"find /var/spool/smsagent/.work -xdev -group smsagent-spool -exec chgrp -h smsagent {} +",
		"chown root:smsagent /etc/smsagent", "chmod 0750 /etc/smsagent",
		"chmod g-s /var/spool/smsagent",
	}
	for _, args := range [][]string{{"upgrade", "1.2.3"}, {"2"}, {"install"}} {
		r := runScriptResult(t, oneGroup, "preinstall.sh", args...)
		if r.err != nil {
			t.Fatalf("preinstall %q: %v\n%s", args, r.err, r.output)
		}
		if !reflect.DeepEqual(r.calls, migration) {
			t.Errorf("preinstall %q ran:\n  %s\nwant:\n  %s", args, strings.Join(r.calls, "\n  "), strings.Join(migration, "\n  "))
		}
		if !reflect.DeepEqual(r.groups, []string{"smsagent", "smsagent-spool"}) {
			t.Errorf("groups afterwards: %v", r.groups)
		}
		for _, w := range []string{"the group smsagent is now called smsagent-spool", "usermod -aG smsagent-spool ACCOUNT",
			"find / -xdev -group smsagent-spool"} {
			if !strings.Contains(r.output, w) {
				t.Errorf("preinstall %q: the notice lacks %q: %q", args, w, r.output)
			}
		}
	}
	// A second run (the next upgrade) finds the split done.
	r := runScriptResult(t, splitAccounts, "preinstall.sh", "upgrade", "1.3.0")
	if r.err != nil || strings.Contains(strings.Join(r.calls, "\n"), "groupmod") || r.output != "" {
		t.Errorf("after the split: %v %q %q", r.err, r.calls, r.output)
	}

	// A group the account tools cannot rename stops the install, which
	// leaves the installed release as it was.
	failing := oneGroup
	failing.groupmodFails = true
	r = runScriptResult(t, failing, "preinstall.sh", "upgrade", "1.2.3")
	if r.err == nil || !strings.Contains(r.output, "cannot rename the group smsagent to smsagent-spool") {
		t.Errorf("unrenamable group: %v %q", r.err, r.output)
	}
	if got := strings.Join(r.calls, ","); got != "getent group smsagent,getent group smsagent-spool,groupmod -n smsagent-spool smsagent" {
		t.Errorf("unrenamable group ran %s", got)
	}
}
