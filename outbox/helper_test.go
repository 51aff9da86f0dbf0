package outbox_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

// t0 is the tests' epoch: every clock starts here.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// clock is a settable clock shared by a store and its test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// maxSource makes every jitter draw its upper bound, so a backoff equals
// its cap exactly.
type maxSource struct{}

func (maxSource) Uint64() uint64 { return math.MaxUint64 }

// env is one store in a temporary folder, checked after every test.
type env struct {
	t     testing.TB
	path  string
	opts  outbox.Options
	clock *clock
	s     *outbox.Store
	ctx   context.Context
}

// newEnv opens a store in t.TempDir() with a fake clock at t0 and jitter at
// its maximum. After the test, whatever it did, Check must pass (the
// bbolt btesting pattern) and Close must succeed.
func newEnv(t testing.TB, configure ...func(*outbox.Options)) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "outbox.db"), clock: &clock{t: t0}, ctx: context.Background()}
	e.opts = outbox.Options{Clock: e.clock.Now, Retry: outbox.RetryPolicy{Rand: maxSource{}}}
	for _, f := range configure {
		f(&e.opts)
	}
	e.open()
	t.Cleanup(func() {
		if e.s == nil {
			return
		}
		if err := e.s.Check(); err != nil {
			t.Errorf("Check after test: %v", err)
		}
		if err := e.s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

func (e *env) open() {
	e.t.Helper()
	s, err := outbox.Open(e.path, e.opts)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	e.s = s
}

// reopen closes the store and opens it again, as a restart does.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.s.Close(context.Background()); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.open()
}

func msg(to string, text string) smsagent.Message {
	a, err := smsagent.ParseNumber(to)
	if err != nil {
		panic(err)
	}
	return smsagent.Message{To: a, Text: text}
}

var claimSeq atomic.Int64

// enqueue stores messages as one file and returns their ids.
func (e *env) enqueue(ms ...smsagent.Message) []smsagent.MessageID {
	e.t.Helper()
	res, err := e.s.Enqueue(e.ctx, smsagent.Batch{Claim: fmt.Sprintf("claim-%d", claimSeq.Add(1)), File: "f.json", Messages: ms})
	if err != nil {
		e.t.Fatalf("Enqueue: %v", err)
	}
	return res.IDs
}

func (e *env) enqueueOne(m smsagent.Message) smsagent.MessageID { return e.enqueue(m)[0] }

func (e *env) claim(max int) []smsagent.Record {
	e.t.Helper()
	rs, err := e.s.Claim(e.ctx, e.clock.Now(), max)
	if err != nil {
		e.t.Fatalf("Claim: %v", err)
	}
	return rs
}

func (e *env) record(results ...outbox.PartResult) {
	e.t.Helper()
	if err := e.s.RecordParts(e.ctx, results); err != nil {
		e.t.Fatalf("RecordParts: %v", err)
	}
}

func (e *env) get(id smsagent.MessageID) smsagent.Record {
	e.t.Helper()
	r, err := e.s.Get(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

func (e *env) apply(rs ...smsagent.Receipt) []smsagent.ReceiptOutcome {
	e.t.Helper()
	out, err := e.s.ApplyReceipts(e.ctx, rs)
	if err != nil {
		e.t.Fatalf("ApplyReceipts: %v", err)
	}
	return out
}

func (e *env) sweep(now time.Time) outbox.SweepResult {
	e.t.Helper()
	res, err := e.s.Sweep(e.ctx, now)
	if err != nil {
		e.t.Fatalf("Sweep: %v", err)
	}
	return res
}

// events returns every pending event and marks them written.
func (e *env) drainEvents() []smsagent.Event {
	e.t.Helper()
	evs, err := e.s.Events(e.ctx, 0, 1000)
	if err != nil {
		e.t.Fatalf("Events: %v", err)
	}
	seqs := make([]uint64, len(evs))
	for i, ev := range evs {
		seqs[i] = ev.Seq
	}
	if err := e.s.EventsWritten(e.ctx, seqs); err != nil {
		e.t.Fatalf("EventsWritten: %v", err)
	}
	return evs
}

// reports returns the pending report events keyed by subject.
func (e *env) reports() map[string]*smsagent.Report {
	e.t.Helper()
	out := map[string]*smsagent.Report{}
	for _, ev := range e.drainEvents() {
		if ev.Kind == smsagent.EventReport {
			out[ev.Subject] = ev.Report
		}
	}
	return out
}

func (e *env) stats() smsagent.Stats {
	e.t.Helper()
	st, err := e.s.Stats(e.ctx)
	if err != nil {
		e.t.Fatalf("Stats: %v", err)
	}
	return st
}

// accept is the result of an accepted part with SMSC id "s<id>-<seq>".
func accept(id smsagent.MessageID, seq, total int) outbox.PartResult {
	smscID := fmt.Sprintf("s%d-%d", id, seq)
	return outbox.PartResult{ID: id, Seq: seq, Total: total, Outcome: outbox.OutcomeAccepted,
		SMSCID: smscID, SMSCKey: smscID, At: t0}
}

func result(id smsagent.MessageID, seq, total int, o outbox.Outcome, status uint32, text string) outbox.PartResult {
	return outbox.PartResult{ID: id, Seq: seq, Total: total, Outcome: o, Status: status, Error: text, At: t0}
}

func receipt(smscID string, st smsagent.State, stat string) smsagent.Receipt {
	return smsagent.Receipt{SMSCID: smscID, Keys: []string{smscID}, State: st, Stat: stat, Err: "000", Received: t0}
}

func ids(rs []smsagent.Record) []smsagent.MessageID {
	out := make([]smsagent.MessageID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func itoa(n int64) string { return fmt.Sprint(n) }
