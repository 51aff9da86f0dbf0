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
		LookupUser: func(name string) (service.Account, error) {
			if name != service.DefaultUser {
				t.Errorf("looked up user %q", name)
			}
			return service.Account{Name: name, UID: os.Getuid(), GID: os.Getgid(), Groups: []int{os.Getgid()}}, lookupErr
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

// TestManager_InstallMakesParentsTraversable: the folders Install creates
// above a missing writable folder let the service user through, whatever
// the installer's umask; only the writable folder itself is the service's.
func TestManager_InstallMakesParentsTraversable(t *testing.T) {
	f := newFixture(t, nil)
	old := syscall.Umask(0o077) // an installer with a strict umask
	defer syscall.Umask(old)
	if err := f.m.Install(); err != nil {
		t.Fatal(err)
	}
	for dir, mode := range map[string]os.FileMode{"srv": 0o755, "srv/sms": 0o755, "srv/sms/spool": 0o750} {
		fi, err := os.Stat(filepath.Join(f.root, dir))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("/%s: mode %v, want %v", dir, fi.Mode().Perm(), mode)
		}
	}
}

// reachFixture is a Manager whose service user is not the test's user: its
// uid is one nobody owns, and its groups are given. Every writable folder
// exists (Install cannot chown to that uid without root), so Install only
// checks.
func reachFixture(t *testing.T, groups []int, readable ...string) *fixture {
	t.Helper()
	f := &fixture{root: t.TempDir(), ctl: &fakeController{}}
	const stranger = 4000000
	m, err := service.NewManager(service.Options{
		ConfigFile:    "/etc/smsagent/smsagent.yaml",
		Executable:    "/usr/local/bin/smsagent",
		WritablePaths: []string{"/srv/sms/spool", "/var/lib/smsagent"},
		ReadableFiles: readable,
		Root:          f.root,
		Controller:    f.ctl,
		LookupUser: func(name string) (service.Account, error) {
			return service.Account{Name: name, UID: stranger, GID: stranger, Groups: groups}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	for _, d := range []string{"srv", "srv/sms", "srv/sms/spool", "var", "var/lib", "var/lib/smsagent", "etc", "etc/smsagent"} {
		f.chmod(t, d, 0o777)
	}
	return f
}

// chmod creates the folder p under the root if needed and sets its mode.
func (f *fixture) chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(f.root, p)
	if err := os.MkdirAll(full, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil {
		t.Fatal(err)
	}
}

// TestManager_InstallChecksReach: Install refuses, naming the folder, when
// the service user could not get to a writable folder or a file it reads,
// and the service is not registered.
func TestManager_InstallChecksReach(t *testing.T) {
	mine := os.Getgid() // the group of every folder the test makes
	t.Run("reachable through others and the group", func(t *testing.T) {
		f := reachFixture(t, []int{mine})
		f.chmod(t, "srv/sms", 0o751)       // others may enter
		f.chmod(t, "srv/sms/spool", 0o770) // the group may write
		if err := f.m.Install(); err != nil {
			t.Fatal(err)
		}
		if strings.Join(f.ctl.calls, ",") != "install" {
			t.Errorf("controller calls = %v", f.ctl.calls)
		}
	})
	t.Run("parent closed", func(t *testing.T) {
		f := reachFixture(t, nil)
		f.chmod(t, "srv/sms", 0o750) // what MkdirAll left before: no way in for others
		err := f.m.Install()
		if err == nil || !strings.Contains(err.Error(), "service: the service user smsagent cannot reach /srv/sms/spool: "+
			"it may not enter /srv/sms (") || !strings.Contains(err.Error(), "mode 0750)") {
			t.Fatalf("Install = %v", err)
		}
		if len(f.ctl.calls) != 0 {
			t.Errorf("the service was registered: %v", f.ctl.calls)
		}
	})
	t.Run("the group's bits apply, not the others'", func(t *testing.T) {
		f := reachFixture(t, []int{mine})
		f.chmod(t, "srv", 0o705)
		if err := f.m.Install(); err == nil || !strings.Contains(err.Error(), "it may not enter /srv (") {
			t.Fatalf("Install = %v", err)
		}
	})
	t.Run("folder not writable", func(t *testing.T) {
		f := reachFixture(t, []int{mine})
		f.chmod(t, "var/lib/smsagent", 0o750)
		err := f.m.Install()
		if err == nil || !strings.Contains(err.Error(), "service: the service user smsagent cannot write in /var/lib/smsagent (") {
			t.Fatalf("Install = %v", err)
		}
		if len(f.ctl.calls) != 0 {
			t.Errorf("the service was registered: %v", f.ctl.calls)
		}
	})
	t.Run("file not readable", func(t *testing.T) {
		f := reachFixture(t, []int{mine}, "/etc/smsagent/smsagent.yaml")
		file := filepath.Join(f.root, "etc/smsagent/smsagent.yaml")
		if err := os.WriteFile(file, []byte("smsc: {}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := f.m.Install()
		if err == nil || !strings.Contains(err.Error(), "service: the service user smsagent cannot read /etc/smsagent/smsagent.yaml (") {
			t.Fatalf("Install = %v", err)
		}
		if err := os.Chmod(file, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := f.m.Install(); err != nil {
			t.Errorf("readable by the group: %v", err)
		}
	})
	t.Run("file missing", func(t *testing.T) {
		f := reachFixture(t, []int{mine}, "/etc/smsagent/smsc.password")
		if err := f.m.Install(); err == nil || !strings.Contains(err.Error(), "/etc/smsagent/smsc.password") {
			t.Fatalf("Install = %v", err)
		}
	})
}

// TestManager_InstallReachThroughACL: a folder closed by its mode but open
// to the service user through a POSIX ACL (setfacl -m u:smsagent:x) is
// reachable.
func TestManager_InstallReachThroughACL(t *testing.T) {
	f := reachFixture(t, nil)
	f.chmod(t, "srv/sms", 0o700)
	if err := f.m.Install(); err == nil {
		t.Fatal("the closed folder passed")
	}
	// user::rwx user:4000000:--x group::--- mask::--x other::---
	acl := []byte{2, 0, 0, 0,
		1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,
		2, 0, 1, 0, 0x00, 0x09, 0x3d, 0x00, // 4000000 = 0x003d0900
		4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
		0x10, 0, 1, 0, 0xff, 0xff, 0xff, 0xff,
		0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}
	err := syscall.Setxattr(filepath.Join(f.root, "srv/sms"), "system.posix_acl_access", acl, 0)
	if errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) {
		t.Skip("this file system keeps no ACLs")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := f.m.Install(); err != nil {
		t.Errorf("Install with the ACL: %v", err)
	}
}
