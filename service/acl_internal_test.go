package service

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// recordingController is a Controller that counts installs.
type recordingController struct{ installs int }

func (c *recordingController) Install() error          { c.installs++; return nil }
func (c *recordingController) Uninstall() error        { return nil }
func (c *recordingController) Start() error            { return nil }
func (c *recordingController) Stop() error             { return nil }
func (c *recordingController) Restart() error          { return nil }
func (c *recordingController) Status() (Status, error) { return StatusRunning, nil }

func TestInstall_windowsRestrictsPrivateAndNewFolders(t *testing.T) {
	tmp := t.TempDir()
	base := filepath.Join(tmp, "ProgramData", "smsagent")
	spool := filepath.Join(base, "spool")
	shared := filepath.Join(tmp, "shared", "data") // exists: the administrator's
	if err := os.MkdirAll(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	var restricted []string
	ctl := &recordingController{}
	m, err := newManager(Options{
		ConfigFile:    filepath.Join(base, "smsagent.yaml"),
		Executable:    filepath.Join(tmp, "smsagent.exe"),
		WritablePaths: []string{spool, shared},
		PrivateDirs:   []string{base},
		Controller:    ctl,
		RestrictDir: func(dir string) error {
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				t.Errorf("restricting %s before it exists (%v)", dir, err)
			}
			restricted = append(restricted, dir)
			return nil
		},
	}, "windows")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Install(); err != nil {
		t.Fatal(err)
	}
	if want := []string{base, spool}; !slices.Equal(restricted, want) {
		t.Errorf("restricted %q, want %q (the shared folder that existed stays as it was)", restricted, want)
	}
	if ctl.installs != 1 {
		t.Errorf("%d installs", ctl.installs)
	}
}

func TestInstall_windowsStopsWhenFoldersCannotBeRestricted(t *testing.T) {
	tmp := t.TempDir()
	ctl := &recordingController{}
	denied := errors.New("access denied")
	m, err := newManager(Options{
		ConfigFile:  filepath.Join(tmp, "smsagent.yaml"),
		Executable:  filepath.Join(tmp, "smsagent.exe"),
		PrivateDirs: []string{tmp},
		Controller:  ctl,
		RestrictDir: func(string) error { return denied },
	}, "windows")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Install(); !errors.Is(err, denied) {
		t.Errorf("Install = %v, want the access error", err)
	}
	if ctl.installs != 0 {
		t.Error("the service was registered over folders anyone can read")
	}
}
