package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

// cycle runs n messages through their whole life: enqueue, claim, accept,
// delivered receipt, report written, and pruned after the retention.
func (e *env) cycle(round, n int) {
	e.t.Helper()
	ms := make([]smsagent.Message, n)
	for i := range ms {
		ms[i] = msg("+358401234567", fmt.Sprintf("round %d message %d: some text of a usual length for an SMS", round, i))
		ms[i].ClientID = fmt.Sprintf("r%d-%d", round, i)
		ms[i].Report = true
	}
	e.enqueue(ms...)
	rs := e.claim(n)
	results := make([]outbox.PartResult, len(rs))
	receipts := make([]smsagent.Receipt, len(rs))
	for i, r := range rs {
		results[i] = accept(r.ID, 1, 1)
		receipts[i] = receipt(results[i].SMSCID, smsagent.StateDelivered, "DELIVRD")
	}
	e.record(results...)
	e.apply(receipts...)
	e.drainEvents()
	now := e.clock.Add(2 * time.Hour)
	if res := e.sweep(now); res.Pruned != n || res.TakenPruned != 1 {
		e.t.Fatalf("round %d: %+v", round, res)
	}
}

func fileSize(t testing.TB, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// Pruning frees the pages of pruned records and their index keys, and
// bbolt reuses them: the file stops growing once it holds one cycle's
// working set.
func TestStore_Sweep_FileSizeStaysFlat(t *testing.T) {
	// bbolt's own map growth (doubling) makes the file size follow the
	// data; the default map grows the file in 16 MiB steps, which would
	// hide a leak of this size.
	e := newEnv(t, func(o *outbox.Options) { o.Retention = time.Hour; o.MmapSize = -1 })
	const n = 300
	for round := 0; round < 5; round++ {
		e.cycle(round, n)
	}
	settled := fileSize(t, e.path)
	for round := 5; round < 30; round++ {
		e.cycle(round, n)
	}
	if got := fileSize(t, e.path); got > settled {
		t.Fatalf("file grew from %d to %d bytes over 25 prune cycles", settled, got)
	}
	st := e.stats()
	if len(st.ByState) != 0 || st.Events != 0 {
		t.Fatalf("left over: %+v", st)
	}
	// The SMSC ids of pruned messages match nothing any more.
	if out := e.apply(receipt("s1-1", smsagent.StateDelivered, "DELIVRD")); out[0] != smsagent.ReceiptParked {
		t.Fatalf("pruned SMSC key still bound: %v", out)
	}
	t.Logf("file size %d bytes after 30 cycles of %d messages", fileSize(t, e.path), n)
}

func TestCompact(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.Retention = time.Hour })
	for round := 0; round < 2; round++ {
		e.cycle(round, 2500)
	}
	keep := e.enqueueOne(msg("+358409", "still queued"))
	dst := filepath.Join(t.TempDir(), "compact.db")
	if err := outbox.Compact(e.path, dst); !errors.Is(err, outbox.ErrLocked) {
		t.Fatalf("Compact of an open file: %v", err)
	}
	if err := e.s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := outbox.Compact(e.path, dst); err != nil {
		t.Fatal(err)
	}
	before, after := fileSize(t, e.path), fileSize(t, dst)
	if after*2 > before {
		t.Fatalf("compacted file %d bytes, original %d", after, before)
	}
	t.Logf("compacted %d → %d bytes", before, after)
	if err := outbox.Compact(e.path, dst); err == nil {
		t.Fatal("Compact overwrote an existing file")
	}
	e.path = dst
	e.open()
	if r := e.get(keep); r.Text != "still queued" {
		t.Fatalf("%+v", r)
	}
	if id := e.enqueueOne(msg("+358409", "after")); id != keep+1 {
		t.Fatalf("id counter not carried over: %d", id)
	}
}

// TestCompactInPlace: the database is replaced by its compacted copy with
// its mode kept, nothing else is left in the folder, and an open database
// is refused with ErrLocked.
func TestCompactInPlace(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.Retention = time.Hour })
	for round := 0; round < 2; round++ {
		e.cycle(round, 2500)
	}
	keep := e.enqueueOne(msg("+358409", "still queued"))
	if _, err := outbox.CompactInPlace(e.path, 0); !errors.Is(err, outbox.ErrLocked) {
		t.Fatalf("CompactInPlace of an open file: %v", err)
	}
	if err := e.s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(e.path, 0o640); err != nil {
		t.Fatal(err)
	}
	res, err := outbox.CompactInPlace(e.path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.After*2 > res.Before || res.After != fileSize(t, e.path) {
		t.Errorf("compacted %d → %d bytes (file now %d)", res.Before, res.After, fileSize(t, e.path))
	}
	if fi, _ := os.Stat(e.path); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v after compact, want the original 0640", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Dir(e.path)); len(entries) != 1 {
		t.Errorf("folder holds %d entries after compact, want only the database", len(entries))
	}
	e.open()
	if r := e.get(keep); r.Text != "still queued" {
		t.Fatalf("%+v", r)
	}
}
