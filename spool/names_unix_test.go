//go:build unix

package spool_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/testutil"
)

// TestIntake_LongNameQuarantined: an invalid file whose name leaves no room
// for ".error.json" (and, the second time, for a number) is quarantined
// under a shortened name with the original in its report, and a valid file
// dropped after it is taken: one file's name never stops intake.
func TestIntake_LongNameQuarantined(t *testing.T) {
	r := newRig(t, nil).start()
	long := strings.Repeat("a", 245) + ".json"
	short := strings.Repeat("a", 239) + ".json"
	r.dropRenamed(long, "!bad\n")
	testutil.Eventually(t, 10*time.Second, "the long-named file quarantined", func() bool {
		return exists(filepath.Join(r.layout.Failed, short+".error.json"))
	})
	rep := readReport(t, filepath.Join(r.layout.Failed, short+".error.json"))
	if rep["file"] != long || rep["failed_as"] != short {
		t.Errorf("report names file %q, failed_as %q; want the original and the shortened name", rep["file"], rep["failed_as"])
	}
	r.dropRenamed(long, "!bad again\n")
	second := strings.Repeat("a", 237) + ".1.json"
	r.dropRenamed("ok.txt", "+358401 hello\n")
	testutil.Eventually(t, 10*time.Second, "the second long-named file quarantined and ok.txt taken", func() bool {
		_, ok := r.store.batchFor("ok.txt")
		return ok && exists(filepath.Join(r.layout.Failed, second)) && exists(filepath.Join(r.layout.Failed, second+".error.json"))
	})
	if st := r.intake.Stats(); st.Stalled != "" {
		t.Errorf("intake stalled: %s", st.Stalled)
	}
}

// TestIntake_SpecialFilesInFailed: a FIFO placed where a report would go,
// and a folder and a link where a quarantined file would go, only make
// those names taken: nothing blocks, nothing is written through them, and
// seventeen bad files (more than there are workers) and a good one behind
// them all go through.
func TestIntake_SpecialFilesInFailed(t *testing.T) {
	r := newRig(t, nil)
	fifo := filepath.Join(r.layout.Failed, "bad.txt.error.json")
	if err := syscall.Mkfifo(fifo, 0o640); err != nil {
		t.Skip("cannot create a FIFO here:", err)
	}
	// Release any reader the old code left blocked, so the test ends.
	t.Cleanup(func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	if err := os.Mkdir(filepath.Join(r.layout.Failed, "bad.1.txt"), 0o750); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(r.layout.Failed, "bad.2.txt.error.json")); err != nil {
		t.Fatal(err)
	}
	r.start()
	for i := range 17 {
		name := "bad.txt"
		if i > 0 {
			name = "bad-" + strings.Repeat("x", i) + ".txt"
		}
		r.dropRenamed(name, "!bad\n")
	}
	r.dropRenamed("good.txt", "+358401 hello\n")
	testutil.Eventually(t, 10*time.Second, "every file taken or quarantined", func() bool {
		_, ok := r.store.batchFor("good.txt")
		return ok && r.intake.Stats().Rejected == 17
	})
	rep := readReport(t, filepath.Join(r.layout.Failed, "bad.3.txt.error.json"))
	if rep["file"] != "bad.txt" || rep["failed_as"] != "bad.3.txt" {
		t.Errorf("bad.txt quarantined as %v, want bad.3.txt past the FIFO, the folder and the link", rep["failed_as"])
	}
	if data, _ := os.ReadFile(victim); string(data) != "keep" {
		t.Errorf("written through the link: %q", data)
	}
}
