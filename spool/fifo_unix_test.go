//go:build unix

package spool_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/testutil"
)

// TestIntake_FIFONeverOpened: opening a FIFO for reading blocks until a
// writer comes, so an intake that opened one would hang here (and the test
// would time out) instead of quarantining it.
func TestIntake_FIFONeverOpened(t *testing.T) {
	r := newRig(t, nil)
	fifo := filepath.Join(r.layout.Outgoing, "pipe.txt")
	if err := syscall.Mkfifo(fifo, 0o640); err != nil {
		t.Skip("cannot create a FIFO here:", err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(fifo, old, old); err != nil {
		t.Fatal(err)
	}
	r.start()
	failed := filepath.Join(r.layout.Failed, "pipe.txt")
	testutil.Eventually(t, 10*time.Second, "FIFO quarantined", func() bool { return exists(failed) })
	fi, err := os.Lstat(failed)
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("failed/pipe.txt: %v, mode %v; want the FIFO itself", err, fi.Mode())
	}
	if rep := readReport(t, failed+".error.json"); !strings.HasPrefix(rep["error"].(string), "named pipe") {
		t.Errorf("reason %q", rep["error"])
	}
	// A non-blocking open for writing fails with ENXIO exactly when no
	// process has the FIFO open for reading.
	f, err := os.OpenFile(failed, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err == nil {
		f.Close()
		t.Fatal("someone holds the FIFO open for reading")
	}
	if !errors.Is(err, syscall.ENXIO) {
		t.Fatalf("open for writing: %v, want ENXIO", err)
	}
	if r.parser.total() != 0 {
		t.Error("the parser was called for a FIFO")
	}
}
