package fsutil_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/internal/fsutil"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "a.json")
	if err := fsutil.WriteFile(path, []byte("hello"), 0o640, tmp); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "hello" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	entries, _ := os.ReadDir(tmp)
	if len(entries) != 0 {
		t.Errorf("temporary folder not empty: %v", entries)
	}
	// Windows files carry no Unix mode (Go reports 0666 or 0444): their
	// access is the folder's ACL.
	fi, _ := os.Stat(path)
	if runtime.GOOS != "windows" && fi.Mode().Perm()&^0o640 != 0 {
		t.Errorf("mode %v wider than 0640", fi.Mode().Perm())
	}
}

func TestWriteTemp_HiddenName(t *testing.T) {
	dir := t.TempDir()
	p, err := fsutil.WriteTemp(dir, "x.json", []byte("1"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(p)
	if !strings.HasPrefix(base, ".") || !strings.HasSuffix(base, ".tmp") {
		t.Errorf("temporary name %q is not hidden from spool scanners", base)
	}
}

func TestRemove_Missing(t *testing.T) {
	if err := fsutil.Remove(filepath.Join(t.TempDir(), "nope")); err != nil {
		t.Errorf("Remove(missing) = %v, want nil", err)
	}
}
