//go:build unix

package spool_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/spool"
)

// dyingChildEnv names the spool of a re-executed test binary that dies
// while taking big.ndjson, as an agent killed by the OOM killer does.
const dyingChildEnv = "SPOOL_DYING_CHILD_DIR"

// TestIntake_InterruptedFileQuarantined: the agent died (SIGKILL, as the
// OOM killer sends) while taking a large file. At the next start that file
// goes to failed/ with the reason instead of being taken again, which
// would kill the agent at every start; the next file is taken.
func TestIntake_InterruptedFileQuarantined(t *testing.T) {
	if dir := os.Getenv(dyingChildEnv); dir != "" {
		dyingChild(t, dir)
		return
	}
	root := filepath.Join(t.TempDir(), "spool")
	layout, err := spool.Prepare(root)
	if err != nil {
		t.Fatal(err)
	}
	var big strings.Builder
	for big.Len() < 300<<10 {
		big.WriteString("+358401 x\n")
	}
	if err := os.WriteFile(filepath.Join(layout.Outgoing, "big.ndjson"), []byte(big.String()), 0o640); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestIntake_InterruptedFileQuarantined$", "-test.count=1")
	cmd.Env = append(os.Environ(), dyingChildEnv+"="+root)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want it killed\n%s", err, out)
	}

	r := newRig(t, nil)
	r.layout, r.opts.Layout = layout, layout
	r.start()
	r.dropRenamed("small.txt", "+358402 y\n")
	testutil.Eventually(t, 10*time.Second, "big.ndjson quarantined and small.txt taken", func() bool {
		_, small := r.store.batchFor("small.txt")
		return small && exists(filepath.Join(layout.Failed, "big.ndjson")) && len(names(t, layout.Work)) == 0
	})
	rep := readReport(t, filepath.Join(layout.Failed, "big.ndjson.error.json"))
	if why, _ := rep["error"].(string); !strings.HasPrefix(why, "the agent stopped while it was taking this file") {
		t.Errorf("reason %q", why)
	}
	if _, ok := r.store.batchFor("big.ndjson"); ok {
		t.Error("the interrupted file was taken again")
	}
}

// dyingChild takes the files of the spool at root with a parser that kills
// the process on big.ndjson.
func dyingChild(t *testing.T, root string) {
	layout := spool.NewLayout(root)
	in, err := spool.New(spool.Options{Layout: layout, Store: newFakeStore(), Settle: time.Nanosecond,
		Parse: func(r io.Reader, name string) ([]smsagent.Message, error) {
			if name == "big.ndjson" {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
			return newLineParser().Parse(r, name)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(); err != nil {
		t.Fatal(err)
	}
	<-context.Background().Done()
}
