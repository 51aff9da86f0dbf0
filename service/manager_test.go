//go:build linux

package service_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/smsagent/smsagent/service"
)

// fakeController records the calls a Manager makes.
type fakeController struct {
	calls  []string
	status service.Status
	err    error
}

var _ service.Controller = (*fakeController)(nil)

func (f *fakeController) call(name string) error {
	f.calls = append(f.calls, name)
	return f.err
}
func (f *fakeController) Install() error   { return f.call("install") }
func (f *fakeController) Uninstall() error { return f.call("uninstall") }
func (f *fakeController) Start() error     { return f.call("start") }
func (f *fakeController) Stop() error      { return f.call("stop") }
func (f *fakeController) Restart() error   { return f.call("restart") }
func (f *fakeController) Status() (service.Status, error) {
	return f.status, f.call("status")
}

type fixture struct {
	root string
	ctl  *fakeController
	m    *service.Manager
}

// newFixture builds a Manager over a fake file system root and controller.
// The service user resolves to the test's own ids so chown works unprivileged.
func newFixture(t *testing.T, lookupErr error) *fixture {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the install checks are systemd's")
	}
	f := &fixture{root: t.TempDir(), ctl: &fakeController{}}
	m, err := service.NewManager(service.Options{
		ConfigFile:    "/etc/smsagent/smsagent.yaml",
		Executable:    "/usr/local/bin/smsagent",
		WritablePaths: []string{"/srv/sms/spool", "/var/lib/smsagent"},
		Root:          f.root,
		Controller:    f.ctl,
		LookupUser: func(name string) (int, int, error) {
			if name != service.DefaultUser {
				t.Errorf("looked up user %q", name)
			}
			return os.Getuid(), os.Getgid(), lookupErr
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	return f
}

func (f *fixture) put(t *testing.T, p string) {
	t.Helper()
	full := filepath.Join(f.root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte("[Unit]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestManager_Install(t *testing.T) {
	f := newFixture(t, nil)
	if err := os.MkdirAll(filepath.Join(f.root, "var/lib/smsagent"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Install(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.ctl.calls, ",") != "install" {
		t.Errorf("controller calls = %v, want install", f.ctl.calls)
	}
	fi, err := os.Stat(filepath.Join(f.root, "srv/sms/spool"))
	if err != nil {
		t.Fatalf("the missing spool folder was not created: %v", err)
	}
	if fi.Mode().Perm() != 0o750 {
		t.Errorf("spool folder mode = %v, want 0750", fi.Mode().Perm())
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Getuid() || int(st.Gid) != os.Getgid() {
		t.Errorf("spool folder owned by %d:%d", st.Uid, st.Gid)
	}
	// An existing folder is the administrator's: left as it is.
	fi, _ = os.Stat(filepath.Join(f.root, "var/lib/smsagent"))
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("existing folder mode changed to %v", fi.Mode().Perm())
	}
	unit, err := f.m.Unit()
	if err != nil || !strings.Contains(unit, "\nExecStart=/usr/local/bin/smsagent run --config /etc/smsagent/smsagent.yaml\n") ||
		!strings.Contains(unit, "\nReadWritePaths=-/srv/sms/spool\n") {
		t.Errorf("unit (%v):\n%s", err, unit)
	}
}

func TestManager_InstallRefuses(t *testing.T) {
	t.Run("packaged unit", func(t *testing.T) {
		f := newFixture(t, nil)
		f.put(t, service.PackagedUnitPath)
		err := f.m.Install()
		if !errors.Is(err, service.ErrInstalledByPackage) ||
			err.Error() != "service: /usr/lib/systemd/system/smsagent.service is installed by a package; use systemctl enable --now smsagent" {
			t.Errorf("Install = %v", err)
		}
		if len(f.ctl.calls) != 0 {
			t.Errorf("controller was called: %v", f.ctl.calls)
		}
	})
	t.Run("admin unit", func(t *testing.T) {
		f := newFixture(t, nil)
		f.put(t, service.AdminUnitPath)
		err := f.m.Install()
		if !errors.Is(err, service.ErrAlreadyInstalled) || !strings.Contains(err.Error(), "/etc/systemd/system/smsagent.service exists") {
			t.Errorf("Install = %v", err)
		}
		if len(f.ctl.calls) != 0 {
			t.Errorf("controller was called: %v", f.ctl.calls)
		}
	})
	t.Run("no user", func(t *testing.T) {
		f := newFixture(t, errors.New("unknown user smsagent"))
		err := f.m.Install()
		if err == nil || !strings.Contains(err.Error(), "user smsagent does not exist") ||
			!strings.Contains(err.Error(), "useradd --system --gid smsagent --home-dir /var/lib/smsagent") {
			t.Errorf("Install = %v", err)
		}
		if _, serr := os.Stat(filepath.Join(f.root, "srv/sms/spool")); serr == nil {
			t.Errorf("folders were created although the install was refused")
		}
	})
	t.Run("unit cannot be rendered", func(t *testing.T) {
		ctl := &fakeController{}
		m, err := service.NewManager(service.Options{
			ConfigFile: "/home/ann/smsagent.yaml", Executable: "/usr/bin/smsagent",
			Root: t.TempDir(), Controller: ctl,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Install(); err == nil || !strings.Contains(err.Error(), "ProtectHome") {
			t.Errorf("Install = %v", err)
		}
		if len(ctl.calls) != 0 {
			t.Errorf("controller was called: %v", ctl.calls)
		}
	})
}

func TestManager_Uninstall(t *testing.T) {
	t.Run("packaged unit", func(t *testing.T) {
		f := newFixture(t, nil)
		f.put(t, service.PackagedUnitPath)
		err := f.m.Uninstall()
		if !errors.Is(err, service.ErrInstalledByPackage) || !strings.Contains(err.Error(), "remove the package instead") {
			t.Errorf("Uninstall = %v", err)
		}
	})
	t.Run("nothing installed", func(t *testing.T) {
		f := newFixture(t, nil)
		if err := f.m.Uninstall(); !errors.Is(err, service.ErrNotInstalled) {
			t.Errorf("Uninstall = %v", err)
		}
	})
	t.Run("running", func(t *testing.T) {
		f := newFixture(t, nil)
		f.put(t, service.AdminUnitPath)
		f.ctl.status = service.StatusRunning
		if err := f.m.Uninstall(); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(f.ctl.calls, ","); got != "status,stop,uninstall" {
			t.Errorf("calls = %s, want the service stopped before removal", got)
		}
	})
	t.Run("stopped", func(t *testing.T) {
		f := newFixture(t, nil)
		f.put(t, service.AdminUnitPath)
		f.ctl.status = service.StatusStopped
		if err := f.m.Uninstall(); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(f.ctl.calls, ","); got != "status,uninstall" {
			t.Errorf("calls = %s", got)
		}
	})
}

func TestManager_Control(t *testing.T) {
	f := newFixture(t, nil)
	f.ctl.status = service.StatusRunning
	for _, op := range []func() error{f.m.Start, f.m.Stop, f.m.Restart} {
		if err := op(); err != nil {
			t.Fatal(err)
		}
	}
	st, err := f.m.Status()
	if err != nil || st != service.StatusRunning || st.String() != "running" {
		t.Errorf("Status = %v, %v", st, err)
	}
	if got := strings.Join(f.ctl.calls, ","); got != "start,stop,restart,status" {
		t.Errorf("calls = %s", got)
	}
	f.ctl.err = errors.New("access denied")
	if err := f.m.Start(); err == nil || err.Error() != "service: start: access denied" {
		t.Errorf("Start = %v", err)
	}
}

func TestNewManager_Unsupported(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("probes the Linux init system")
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("this machine runs systemd")
	}
	_, err := service.NewManager(service.Options{ConfigFile: "/etc/smsagent/smsagent.yaml"})
	if err == nil || !strings.Contains(err.Error(), "support systemd and Windows") {
		t.Errorf("NewManager without systemd = %v", err)
	}
}
