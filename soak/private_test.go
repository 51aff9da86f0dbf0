//go:build !windows

package soak_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPrivate_linkedFolders replays the attack of a producer in the spool
// group on the agent's working folders against the real binary. First the
// one that emptied the state folder: inbox/.tmp (where the inbox writer
// used to keep its temporary files) replaced by a link to it; the agent
// must run on, sending and reporting, with its database and token intact.
// Then a private folder (.inbox-tmp, .work) found as a link: the agent
// must refuse to start, name the folder, and leave what the link points to
// alone; once the link is gone it starts and the ledger holds.
func TestPrivate_linkedFolders(t *testing.T) {
	r := newRig(t, "private folders replaced by links", simOptions())
	state := filepath.Dir(r.dbPath)
	canary := filepath.Join(state, "canary")
	ids := r.bulk("p", 20, 10)
	p := r.start()
	r.waitReports(len(ids)/2, 60*time.Second)
	p.stop(10 * time.Second)
	if err := os.WriteFile(canary, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}

	legacy := filepath.Join(r.spool, "inbox", ".tmp")
	_ = os.RemoveAll(legacy)
	if err := os.Symlink(state, legacy); err != nil {
		t.Fatal(err)
	}
	r.fault("inbox/.tmp -> state folder")
	p = r.start()
	r.waitBound(20 * time.Second)
	r.waitReports(len(ids), 60*time.Second)
	p.stop(10 * time.Second)
	for _, f := range []string{r.dbPath, canary} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s is gone after a start with inbox/.tmp linked to the state folder: %v", f, err)
		}
	}

	more := r.bulk("q", 10, 10)
	for _, name := range []string{".inbox-tmp", ".work"} {
		private := filepath.Join(r.spool, name)
		if err := os.Rename(private, private+".aside"); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(state, private); err != nil {
			t.Fatal(err)
		}
		r.fault("%s -> state folder", name)
		before := len(r.log.String())
		p = r.start()
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			t.Fatalf("the agent ran with %s linked to the state folder", name)
		}
		out := r.log.String()[before:]
		if p.err == nil || !strings.Contains(out, private) || !strings.Contains(out, "symbolic link") {
			t.Errorf("start with %s linked: exit %v, output %q; want a refusal naming the folder", name, p.err, out)
		}
		if _, err := os.Stat(canary); err != nil {
			t.Fatalf("the state folder was touched through %s: %v", name, err)
		}
		if err := os.Remove(private); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(private+".aside", private); err != nil {
			t.Fatal(err)
		}
	}
	p = r.start()
	r.waitReports(len(ids)+len(more), 60*time.Second)
	p.stop(10 * time.Second)
	r.ledger(append(ids, more...))
}
