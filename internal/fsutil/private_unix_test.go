//go:build unix

package fsutil_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/smsagent/smsagent/internal/fsutil"
)

// outside is a folder holding a file the operations below must not touch.
func outside(t *testing.T) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "outbox.db")
	if err := os.WriteFile(file, []byte("the queue"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

func intact(t *testing.T, file string) {
	t.Helper()
	if data, err := os.ReadFile(file); err != nil || string(data) != "the queue" {
		t.Fatalf("%s was touched: %q %v", file, data, err)
	}
}

// TestCreateExclusive_PlantedLink: a temporary name planted as a link to
// the queue database makes the create fail; the database is untouched.
func TestCreateExclusive_PlantedLink(t *testing.T) {
	_, db := outside(t)
	planted := filepath.Join(t.TempDir(), "1.tmp")
	if err := os.Symlink(db, planted); err != nil {
		t.Fatal(err)
	}
	f, err := fsutil.CreateExclusive(planted, 0o640)
	if err == nil {
		f.Write([]byte("report"))
		f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateExclusive through a link = %v, want fs.ErrExist", err)
	}
	intact(t, db)
}

// TestClearPrivateDir: links inside a private folder are removed as links,
// folders with what they hold; nothing behind a link is touched, and a
// private folder that is itself a link is refused whole.
func TestClearPrivateDir(t *testing.T) {
	out, db := outside(t)
	dir := filepath.Join(t.TempDir(), "tmp")
	if err := fsutil.PrivateDir(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("created with mode %04o, want 0700", fi.Mode().Perm())
	}
	for name, target := range map[string]string{"to-file": db, "to-folder": out} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub", "deeper"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "3.tmp"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.ClearPrivateDir(dir); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
	intact(t, db)

	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(out, link); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(string) error{"PrivateDir": fsutil.PrivateDir, "ClearPrivateDir": fsutil.ClearPrivateDir} {
		if err := f(link); !errors.Is(err, fsutil.ErrNotPrivate) {
			t.Errorf("%s of a link = %v, want ErrNotPrivate", name, err)
		}
	}
	intact(t, db)
}

// TestRenameNoReplace: a name that exists, whatever stands there, is never
// replaced, and the error says it exists.
func TestRenameNoReplace(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(src, "mine")
	taken := filepath.Join(dir, "taken")
	write(taken, "theirs")
	if err := fsutil.RenameNoReplace(src, taken); !errors.Is(err, fs.ErrExist) {
		t.Errorf("over a file: %v, want fs.ErrExist", err)
	}
	if data, _ := os.ReadFile(taken); string(data) != "theirs" {
		t.Errorf("the existing file was replaced: %q", data)
	}
	if err := fsutil.RenameNoReplace(src, filepath.Join(dir, "free")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "free")); string(data) != "mine" || exists(src) {
		t.Errorf("moved %q, source still there %v", data, exists(src))
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
