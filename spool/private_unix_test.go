//go:build unix

package spool_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/internal/fsutil"
	"github.com/smsagent/smsagent/spool"
)

// stateDir makes a folder standing for /var/lib/smsagent, with a queue
// database the attacks below must not touch.
func stateDir(t *testing.T) (dir, db string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db = filepath.Join(dir, "outbox.db")
	if err := os.WriteFile(db, []byte("the queue"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, db
}

func wantIntact(t *testing.T, db string) {
	t.Helper()
	if data, err := os.ReadFile(db); err != nil || string(data) != "the queue" {
		t.Fatalf("the queue database was touched: %q, %v", data, err)
	}
}

// TestPrepare_PrivateFolderIsLink: a private folder replaced by a link to
// the state folder is refused with the folder named, and nothing behind
// the link is touched.
func TestPrepare_PrivateFolderIsLink(t *testing.T) {
	for _, name := range []string{".work", ".inbox-tmp"} {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "spool")
			l, err := spool.Prepare(root)
			if err != nil {
				t.Fatal(err)
			}
			state, db := stateDir(t)
			private := filepath.Join(root, name)
			if err := os.Remove(private); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(state, private); err != nil {
				t.Fatal(err)
			}
			_, err = spool.Prepare(l.Root)
			var fe *spool.FolderError
			if !errors.As(err, &fe) || fe.Folder != private || !errors.Is(err, fsutil.ErrNotPrivate) ||
				!strings.Contains(err.Error(), "symbolic link") {
				t.Fatalf("Prepare = %v, want a refusal of %s as a link", err, private)
			}
			wantIntact(t, db)
		})
	}
}

// TestPrepare_PrivateFolderShared: a private folder that its group may write,
// or whose parent its group may write, is refused.
func TestPrepare_PrivateFolderShared(t *testing.T) {
	root := filepath.Join(t.TempDir(), "spool")
	l, err := spool.Prepare(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(l.Work, 0o770); err != nil {
		t.Fatal(err)
	}
	if _, err := spool.Prepare(root); !errors.Is(err, fsutil.ErrNotPrivate) || !strings.Contains(err.Error(), "mode 0770") {
		t.Fatalf("Prepare with .work 0770 = %v", err)
	}
	if err := os.Chmod(l.Work, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o2770); err != nil {
		t.Fatal(err)
	}
	if _, err := spool.Prepare(root); !errors.Is(err, fsutil.ErrNotPrivate) || !strings.Contains(err.Error(), "parent folder") {
		t.Fatalf("Prepare with a group-writable spool root = %v", err)
	}
	if err := os.Chmod(root, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := spool.Prepare(root); err != nil {
		t.Fatalf("Prepare after the modes were fixed: %v", err)
	}
}

// TestPrepare_LegacyInboxTmp: inbox/.tmp, where the inbox writer used to
// keep its temporary files inside the producers' inbox/, is removed when it
// is the agent's own folder and left alone (not followed) when a producer
// made it a link to the state folder: the attack that emptied
// /var/lib/smsagent.
func TestPrepare_LegacyInboxTmp(t *testing.T) {
	root := filepath.Join(t.TempDir(), "spool")
	l, err := spool.Prepare(root)
	if err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(l.Inbox, ".tmp")
	if err := os.Mkdir(legacy, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(legacy, "7.tmp"), []byte("half"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := spool.Prepare(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(legacy); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old temporary folder is still there: %v", err)
	}

	state, db := stateDir(t)
	if err := os.Symlink(state, legacy); err != nil {
		t.Fatal(err)
	}
	if _, err := spool.Prepare(root); err != nil {
		t.Fatal(err)
	}
	wantIntact(t, db)
	if fi, err := os.Lstat(legacy); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the producer's link was changed: %v", err)
	}
}
