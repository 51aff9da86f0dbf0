package service_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/service"
)

var update = flag.Bool("update", false, "rewrite packaging/smsagent.service from the template")

// packagedUnitFile is the unit the .deb and .rpm install.
var packagedUnitFile = filepath.Join("..", "packaging", "smsagent.service")

func TestUnit_Render(t *testing.T) {
	got, err := service.PackagedUnit().Render()
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(got, "\n") {
		lines[l] = true
	}
	for _, want := range []string{
		"[Unit]",
		"After=network-online.target",
		"Wants=network-online.target",
		"[Service]",
		"ExecStart=/usr/bin/smsagent run --config /etc/smsagent/smsagent.yaml",
		"User=smsagent",
		"Group=smsagent",
		"Restart=always",
		"RestartSec=5",
		"RestartPreventExitStatus=2",
		"TimeoutStopSec=15",
		"StateDirectory=smsagent",
		"UMask=0027",
		"ReadWritePaths=-/var/spool/smsagent",
		"NoNewPrivileges=true",
		"ProtectSystem=strict",
		"ProtectHome=true",
		"PrivateTmp=true",
		"PrivateDevices=true",
		"ProtectKernelTunables=true",
		"ProtectKernelModules=true",
		"ProtectControlGroups=true",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"LockPersonality=true",
		"MemoryDenyWriteExecute=true",
		"CapabilityBoundingSet=",
		"[Install]",
		"WantedBy=multi-user.target",
	} {
		if !lines[want] {
			t.Errorf("unit lacks %q", want)
		}
	}
	for l := range lines {
		// The library default's slow restart and RHEL-only environment file
		// must not come back.
		if strings.HasPrefix(l, "RestartSec=") && l != "RestartSec=5" || strings.HasPrefix(l, "EnvironmentFile=") {
			t.Errorf("unit has %q", l)
		}
		if strings.Contains(l, "{{") {
			t.Errorf("placeholder left in unit: %q", l)
		}
	}
}

// TestUnit_PackagedFile keeps the unit the packages ship equal to the
// template: go test ./service -run PackagedFile -update rewrites it.
func TestUnit_PackagedFile(t *testing.T) {
	want, err := service.PackagedUnit().Render()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(packagedUnitFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(packagedUnitFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s differs from service.PackagedUnit().Render(); run go test ./service -run PackagedFile -update", packagedUnitFile)
	}
}

func TestUnit_RenderPaths(t *testing.T) {
	u := service.Unit{
		Exec:          "/opt/sms agent/bin/smsagent",
		ConfigFile:    "/etc/sms/agent.yaml",
		WritablePaths: []string{"/srv/sms/spool", "/var/lib/smsagent", "/srv/sms/spool/", "/srv/sms db"},
		User:          "sms",
	}
	got, err := u.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`ExecStart="/opt/sms agent/bin/smsagent" run --config /etc/sms/agent.yaml`,
		`ReadWritePaths=-/srv/sms/spool "-/srv/sms db"`,
		"User=sms",
		"Group=sms",
	} {
		if !strings.Contains(got, "\n"+want+"\n") {
			t.Errorf("unit lacks line %q:\n%s", want, got)
		}
	}
	only := service.Unit{Exec: "/usr/bin/smsagent", ConfigFile: "/etc/smsagent/smsagent.yaml", WritablePaths: []string{"/var/lib/smsagent/db"}}
	got, err = only.Render()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "\nReadWritePaths=/var/lib/smsagent\n") {
		t.Errorf("a state folder path should not be listed twice:\n%s", got)
	}
}

func TestUnit_RenderRefuses(t *testing.T) {
	base := service.Unit{Exec: "/usr/bin/smsagent", ConfigFile: "/etc/smsagent/smsagent.yaml"}
	tests := []struct {
		name string
		edit func(*service.Unit)
		want string
	}{
		{"relative binary", func(u *service.Unit) { u.Exec = "smsagent" },
			`service: the smsagent binary must be an absolute path, got "smsagent"`},
		{"binary in home", func(u *service.Unit) { u.Exec = "/home/ann/go/bin/smsagent" },
			"service: the smsagent binary /home/ann/go/bin/smsagent is under /home, which the service cannot see (ProtectHome=true); move it, e.g. the binary to /usr/local/bin"},
		{"config in root's home", func(u *service.Unit) { u.ConfigFile = "/root/smsagent.yaml" },
			"service: the configuration file /root/smsagent.yaml is under /root, which the service cannot see (ProtectHome=true); move it, e.g. the binary to /usr/local/bin"},
		{"spool in tmp", func(u *service.Unit) { u.WritablePaths = []string{"/tmp/spool"} },
			"service: the folder /tmp/spool is under /tmp, which is private to the service (PrivateTmp=true); move it"},
		{"percent", func(u *service.Unit) { u.WritablePaths = []string{"/srv/100%"} },
			`service: the folder "/srv/100%" contains '%', which a systemd unit cannot carry unescaped; use another path`},
		{"newline", func(u *service.Unit) { u.ConfigFile = "/etc/a\nExecStartPre=/bin/sh" },
			`service: the configuration file "/etc/a\nExecStartPre=/bin/sh" contains '\n', which a systemd unit cannot carry unescaped; use another path`},
		{"template braces", func(u *service.Unit) { u.ConfigFile = "/etc/{{x}}.yaml" },
			`service: the configuration file "/etc/{{x}}.yaml" contains "{{"; use another path`},
		{"bad user", func(u *service.Unit) { u.User = "root\nExecStart=/bin/sh" },
			`service: "root\nExecStart=/bin/sh" is not a valid user or group name`},
	}
	for _, tt := range tests {
		u := base
		tt.edit(&u)
		_, err := u.Render()
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: Render() = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestUnit_SystemdVerify has systemd itself parse the unit, where the machine
// has systemd-analyze: any unknown or malformed directive is reported.
func TestUnit_SystemdVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	u := service.PackagedUnit()
	u.Exec = "/bin/true" // verify checks that ExecStart is executable
	unit, err := u.Render()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "smsagent.service")
	if err := os.WriteFile(file, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", file).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
