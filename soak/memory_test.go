//go:build linux

package soak_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// peakRSSLimit is the memory bound docs/configuration.md gives for taking
// any file with the default spool.max_messages and max_file_size.
const peakRSSLimit = 256 << 20

// TestMemory_bigFiles drops, against the real binary with its default
// limits, a 64 MiB NDJSON file of minimal messages (the default
// spool.max_file_size; two million messages, refused while it is read at
// the 100,001st) and a file of many messages (the full run: exactly the
// limit), and checks the agent's peak resident set stays under the
// documented bound, the big one is refused with its reason, and every
// message of the other is reported once.
func TestMemory_bigFiles(t *testing.T) {
	r := newRig(t, "64 MiB and max_messages files", simOptions())
	p := r.start()
	r.waitBound(20 * time.Second)

	var big bytes.Buffer
	for i := 0; ; i++ {
		line := fmt.Sprintf(`{"to":"+4179%07d","text":"x"}`+"\n", i)
		if big.Len()+len(line) > 64<<20 {
			break
		}
		big.WriteString(line)
	}
	r.drop("huge.ndjson", big.Bytes())
	r.fault("64 MiB NDJSON of %d minimal messages", bytes.Count(big.Bytes(), []byte{'\n'}))
	failed := filepath.Join(r.spool, "failed", "huge.ndjson.error.json")
	r.eventually(60*time.Second, func() string {
		if countFiles(filepath.Dir(failed)) < 2 {
			return "huge.ndjson not refused yet"
		}
		return ""
	})
	var rep struct{ Error string }
	readJSON(t, failed, &rep)
	if !strings.Contains(rep.Error, "more than 100000 messages in one file") {
		t.Errorf("huge.ndjson refused for %q", rep.Error)
	}

	n := scale(20_000, 100_000)
	ids := r.bulk("m", n, n)
	r.fault("one file of %d messages", n)
	r.waitReports(n, 5*time.Minute)
	peak := p.procValue("status", "VmHWM:") << 10
	p.stop(10 * time.Second)
	r.ledger(ids)
	t.Logf("peak RSS %.1f MiB", float64(peak)/(1<<20))
	if peak == 0 || peak > peakRSSLimit {
		t.Errorf("peak RSS %.1f MiB, the documented bound is %d MiB", float64(peak)/(1<<20), peakRSSLimit>>20)
	}
}
