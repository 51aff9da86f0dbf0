package spool

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
)

type countingStore struct {
	mu      sync.Mutex
	batches []smsagent.Batch
}

func (s *countingStore) Enqueue(_ context.Context, b smsagent.Batch) (smsagent.BatchResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, b)
	return smsagent.BatchResult{}, nil
}

func (s *countingStore) Taken(context.Context, string) (bool, error) { return false, nil }

func oneMessageParser(r io.Reader, name string) ([]smsagent.Message, error) {
	data, err := io.ReadAll(r)
	return []smsagent.Message{{To: smsagent.Address{Value: "447700900001", Kind: smsagent.AddrInternational}, Text: string(data)}}, err
}

func newTestIntake(t *testing.T, parse func(io.Reader, string) ([]smsagent.Message, error)) (*Intake, *countingStore) {
	t.Helper()
	layout, err := Prepare(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{}
	in, err := New(Options{Layout: layout, Store: store, Parse: parse, Settle: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return in, store
}

// TestIntake_TakeChangedSinceDecision: a file whose stat at open differs
// from the one the claim decision saw was still being written; it is taken
// only once its mtime is older than Settle.
func TestIntake_TakeChangedSinceDecision(t *testing.T) {
	in, store := newTestIntake(t, oneMessageParser)
	path := filepath.Join(in.opts.Layout.Work, "1-00-1-a.txt")
	if err := os.WriteFile(path, []byte("hello, world"), 0o640); err != nil {
		t.Fatal(err)
	}
	// The intake's clock, not the file system's, decides what "fresh" means:
	// stamp the file with it.
	fresh := time.Now()
	if err := os.Chtimes(path, fresh, fresh); err != nil {
		t.Fatal(err)
	}
	j := &job{claim: "1-00-1-a.txt", name: "a.txt", size: 5, mtime: fresh, known: true} // saw "hello"
	if r := in.take(context.Background(), j); r.out != outRetryFile || !j.restat {
		t.Fatalf("take = %v (restat %v), want a retry: the file changed after the decision", r.out, j.restat)
	}
	// Still fresh: not yet.
	if r := in.take(context.Background(), j); r.out != outRetryFile {
		t.Fatalf("second take = %v, want a retry while the mtime is younger than Settle", r.out)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	// The new mtime is a change again; the take after it finds the file
	// stable and old.
	in.take(context.Background(), j)
	if r := in.take(context.Background(), j); r.out != outDone {
		t.Fatalf("take of a stable file = %v, want done", r.out)
	}
	if len(store.batches) != 1 || store.batches[0].Messages[0].Text != "hello, world" {
		t.Errorf("stored %+v, want the whole file once", store.batches)
	}
}

// TestIntake_TakeGrowsWhileRead: a file that grows while it is parsed is not
// stored from that read.
func TestIntake_TakeGrowsWhileRead(t *testing.T) {
	var path string
	grow := func(r io.Reader, name string) ([]smsagent.Message, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if _, err := f.WriteString(" and more"); err != nil {
			return nil, err
		}
		return oneMessageParser(r, name)
	}
	in, store := newTestIntake(t, grow)
	path = filepath.Join(in.opts.Layout.Work, "1-00-1-a.txt")
	if err := os.WriteFile(path, []byte("hello"), 0o640); err != nil {
		t.Fatal(err)
	}
	j := &job{claim: "1-00-1-a.txt", name: "a.txt", recovered: true}
	if r := in.take(context.Background(), j); r.out != outRetryFile {
		t.Fatalf("take = %v, want a retry: the file grew while it was read", r.out)
	}
	if len(store.batches) != 0 {
		t.Errorf("stored %+v from a read of a growing file", store.batches)
	}
}
