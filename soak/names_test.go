//go:build !windows

package soak_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNames_longAndSpecial drops, against the real binary, the two files
// that used to stop intake for good: an invalid file whose name leaves no
// room for ".error.json", twice, and an invalid file whose report name a
// neighbour had taken with a FIFO, seventeen times over (more than the
// workers). Each is quarantined under a name that fits or past the FIFO,
// the agent stays ready, and the good messages behind them all go out.
func TestNames_longAndSpecial(t *testing.T) {
	r := newRig(t, "long names and a FIFO in failed/", simOptions())
	failed := filepath.Join(r.spool, "failed")
	if err := os.MkdirAll(failed, 0o750); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(failed, "bad.json.error.json")
	if err := syscall.Mkfifo(fifo, 0o640); err != nil {
		t.Skip("cannot create a FIFO here:", err)
	}
	r.fault("FIFO at failed/bad.json.error.json")
	p := r.start()
	r.waitBound(20 * time.Second)

	long := strings.Repeat("a", 245) + ".json"
	r.drop(long, []byte(`{"to":"not a number","text":"x"}`))
	r.waitOutgoing(0, 20*time.Second)
	r.drop(long, []byte(`{"to":"not a number","text":"x"}`))
	r.fault("2 invalid files named 245 × a + .json")
	for i := range 17 {
		name := "bad.json"
		if i > 0 {
			name = "bad-" + strings.Repeat("x", i) + ".json"
		}
		r.drop(name, []byte(`{"to":"+358 40 O","text":"x"}`))
	}
	r.fault("17 invalid files behind the FIFO")
	ids := r.bulk("n", 20, 5)
	r.waitReports(len(ids), 60*time.Second)
	r.waitOutgoing(0, 20*time.Second)

	for _, name := range []string{strings.Repeat("a", 239) + ".json", strings.Repeat("a", 237) + ".1.json", "bad.1.json"} {
		var rep struct {
			FailedAs string `json:"failed_as"`
		}
		readJSON(t, filepath.Join(failed, name+".error.json"), &rep)
		if rep.FailedAs != name {
			t.Errorf("failed/%s.error.json: failed_as %q", name, rep.FailedAs)
		}
	}
	if code, body, err := r.http("GET", "/readyz", "", nil); err != nil || code != 200 {
		t.Errorf("/readyz: %d %s %v", code, body, err)
	}
	p.stop(10 * time.Second)
	r.ledger(ids)
}
