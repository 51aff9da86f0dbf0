package spool_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/spool"
)

func TestPrepare(t *testing.T) {
	root := filepath.Join(t.TempDir(), "spool")
	l, err := spool.Prepare(root)
	if err != nil {
		t.Fatal(err)
	}
	if l != spool.NewLayout(root) {
		t.Errorf("Prepare = %+v, want the NewLayout names", l)
	}
	for _, dir := range []string{l.Outgoing, l.Inbox, l.InboxTmp, l.Failed, l.Sent, l.Work} {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			t.Fatalf("%s: %v", dir, err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm()&^0o750 != 0 {
			t.Errorf("%s: mode %v wider than 0750", dir, fi.Mode().Perm())
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".smsagent-probe") {
				t.Errorf("probe file %s left in %s", e.Name(), dir)
			}
		}
	}
	// Preparing again keeps what is there and removes stale probes.
	keep := filepath.Join(l.Outgoing, "waiting.txt")
	stale := filepath.Join(l.Sent, ".smsagent-probe-1-0")
	for _, p := range []string{keep, stale} {
		if err := os.WriteFile(p, nil, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := spool.Prepare(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Error("Prepare removed a waiting file")
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("Prepare left a stale probe file")
	}
}

func TestPrepare_NotAFolder(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "failed"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := spool.Prepare(root)
	var fe *spool.FolderError
	if !errors.As(err, &fe) {
		t.Fatalf("Prepare = %v, want a *FolderError", err)
	}
	if fe.Folder != filepath.Join(root, "failed") {
		t.Errorf("error names %s, want the failed folder", fe.Folder)
	}
	if !errors.Is(err, spool.ErrNotFolder) && fe.Op != "create" {
		t.Errorf("error %v is neither ErrNotFolder nor a create failure", err)
	}
	if fe.Fix == "" || !strings.Contains(err.Error(), fe.Fix) {
		t.Errorf("error %q does not say how to fix it", err)
	}
}

func TestPrepare_Unwritable(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("permission bits do not stop this user")
	}
	root := t.TempDir()
	if _, err := spool.Prepare(root); err != nil {
		t.Fatal(err)
	}
	outgoing := filepath.Join(root, "outgoing")
	if err := os.Chmod(outgoing, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(outgoing, 0o750) })
	_, err := spool.Prepare(root)
	var fe *spool.FolderError
	if !errors.As(err, &fe) || fe.Folder != outgoing || fe.Op != "write" {
		t.Fatalf("Prepare = %v, want a write failure on %s", err, outgoing)
	}
	if !strings.Contains(err.Error(), "permission") {
		t.Errorf("error %q does not say what to fix", err)
	}
}
