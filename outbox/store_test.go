package outbox_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

func TestOpen_Locked(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	_, err := outbox.Open(e.path, outbox.Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, outbox.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	var le *outbox.LockedError
	if !errors.As(err, &le) || le.Path != e.path || !strings.Contains(err.Error(), "in use by another smsagent process") {
		t.Fatalf("error %q", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Open waited %s", d)
	}
	// The read-only open of the CLI is refused as well while the agent runs.
	if _, err := outbox.Open(e.path, outbox.Options{ReadOnly: true, LockTimeout: 50 * time.Millisecond}); !errors.Is(err, outbox.ErrLocked) {
		t.Fatalf("read-only Open: %v", err)
	}
}

func TestOpen_ReadOnly(t *testing.T) {
	e := newEnv(t)
	id := e.enqueueOne(msg("+358401", "x"))
	if err := e.s.Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	ro, err := outbox.Open(e.path, outbox.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close(context.Background())
	if r, err := ro.Get(e.ctx, id); err != nil || r.Text != "x" {
		t.Fatalf("%+v %v", r, err)
	}
	if st, err := ro.Stats(e.ctx); err != nil || st.ByState[smsagent.StateQueued] != 1 {
		t.Fatalf("%+v %v", st, err)
	}
	if err := ro.Check(); err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Claim(e.ctx, t0, 1); !errors.Is(err, outbox.ErrReadOnly) {
		t.Fatalf("Claim: %v", err)
	}
	// Two readers at once are fine.
	ro2, err := outbox.Open(e.path, outbox.Options{ReadOnly: true, LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_ = ro2.Close(e.ctx)
	e.s = nil // closed above; the readers are checked here
}

func TestOpen_ReadOnlyMissingSchema(t *testing.T) {
	path := t.TempDir() + "/none.db"
	if _, err := outbox.Open(path, outbox.Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing file succeeded")
	}
}

// Close commits every operation already handed over, then refuses more.
func TestStore_Close(t *testing.T) {
	e := newEnv(t)
	const n = 64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var stored, refused int
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.s.Enqueue(e.ctx, smsagent.Batch{Claim: "c" + itoa(claimSeq.Add(1)), Messages: []smsagent.Message{msg("+358401", "x")}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				stored++
			case errors.Is(err, outbox.ErrClosed):
				refused++
			default:
				t.Errorf("Enqueue: %v", err)
			}
		}()
	}
	if err := e.s.Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if stored+refused != n {
		t.Fatalf("stored %d refused %d", stored, refused)
	}
	if err := e.s.Close(e.ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := e.s.Stats(e.ctx); !errors.Is(err, outbox.ErrClosed) {
		t.Fatalf("Stats after Close: %v", err)
	}
	e.open()
	if st := e.stats(); st.ByState[smsagent.StateQueued] != stored {
		t.Fatalf("%d acknowledged, %d stored", stored, st.ByState[smsagent.StateQueued])
	}
}

func TestStore_Events(t *testing.T) {
	e := newEnv(t)
	select {
	case <-e.s.EventsReady():
		t.Fatal("ready before any event")
	default:
	}
	for i := 0; i < 5; i++ {
		id := e.enqueueOne(msg("+358401", "x"))
		e.claim(1)
		e.record(accept(id, 1, 1))
	}
	select {
	case <-e.s.EventsReady():
	default:
		t.Fatal("not signalled after commits that made events")
	}
	page, err := e.s.Events(e.ctx, 0, 2)
	if err != nil || len(page) != 2 || page[0].Seq != 1 || page[1].Seq != 2 {
		t.Fatalf("%+v %v", page, err)
	}
	page, _ = e.s.Events(e.ctx, page[1].Seq, 10)
	if len(page) != 3 || page[0].Seq != 3 {
		t.Fatalf("%+v", page)
	}
	name := page[0].FileName()
	if err := e.s.EventsWritten(e.ctx, []uint64{1, 3, 3, 99}); err != nil {
		t.Fatal(err)
	}
	left, _ := e.s.Events(e.ctx, 0, 10)
	if len(left) != 3 || left[0].Seq != 2 || left[1].Seq != 4 {
		t.Fatalf("%+v", left)
	}
	if st := e.stats(); st.Events != 3 {
		t.Fatalf("%+v", st)
	}
	if name != "20261125T120000.000Z-3.report" {
		t.Fatalf("file name %q", name)
	}
}

// Operations whose context ended before the writer reached them are not
// applied.
func TestStore_ContextCanceled(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := e.s.Enqueue(ctx, smsagent.Batch{Claim: "x", Messages: []smsagent.Message{msg("+358401", "x")}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
	if ok, _ := e.s.Taken(e.ctx, "x"); ok {
		t.Fatal("canceled enqueue stored")
	}
}
