package outbox_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

func TestStore_List(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 30; i++ {
		e.enqueueOne(msg("+358401", "x"))
	}
	e.claim(10) // 1..10 sending
	got := e.listAll(outbox.ListQuery{State: smsagent.StateQueued, Limit: 7})
	if len(got) != 20 || got[0] != 11 || got[19] != 30 || !slices.IsSorted(got) {
		t.Fatalf("%v", got)
	}
	all, _ := e.s.List(e.ctx, outbox.ListQuery{})
	if len(all) != 30 {
		t.Fatalf("unfiltered %d", len(all))
	}

	// Newest first: the queued ones 30..11, in pages below After.
	got = e.listAll(outbox.ListQuery{State: smsagent.StateQueued, Limit: 7, Newest: true})
	if len(got) != 20 || got[0] != 30 || got[19] != 11 ||
		!slices.IsSortedFunc(got, func(a, b smsagent.MessageID) int { return int(b) - int(a) }) {
		t.Fatalf("newest first: %v", got)
	}
	// After beyond the last id starts at the last; After at the first id
	// lists nothing below it.
	if page, _ := e.s.List(e.ctx, outbox.ListQuery{After: 1000, Limit: 1, Newest: true}); len(page) != 1 || page[0].ID != 30 {
		t.Fatalf("after 1000: %v", ids(page))
	}
	if page, _ := e.s.List(e.ctx, outbox.ListQuery{After: 1, Newest: true}); len(page) != 0 {
		t.Fatalf("below 1: %v", ids(page))
	}
}

// listAll pages through List from q, each page after the last id of the
// one before, and returns the ids.
func (e *env) listAll(q outbox.ListQuery) []smsagent.MessageID {
	e.t.Helper()
	var got []smsagent.MessageID
	for {
		page, err := e.s.List(e.ctx, q)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(page) == 0 {
			return got
		}
		if len(page) > q.Limit {
			e.t.Fatalf("page of %d, limit %d", len(page), q.Limit)
		}
		got = append(got, ids(page)...)
		q.After = page[len(page)-1].ID
	}
}

func TestStore_Retry(t *testing.T) {
	e := newEnv(t)
	id := e.enqueueOne(msg("+358401", "x"))
	e.claim(1)
	e.record(result(id, 1, 2, outbox.OutcomeTemporary, 0x14, "busy"), result(id, 2, 2, outbox.OutcomeTemporary, 0x14, "busy"))
	if r := e.get(id); r.Due.Equal(e.clock.Now()) {
		t.Fatal("backoff was zero")
	}
	// queued → due now
	if err := e.s.Retry(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	if r := e.get(id); !r.Due.Equal(e.clock.Now()) || r.Attempts != 1 {
		t.Fatalf("%+v", r)
	}
	// rejected → queued again with attempts reset, parts and SMSC key gone.
	rs := e.claim(1)
	ref := rs[0].ConcatRef
	e.record(accept(id, 1, 2), result(id, 2, 2, outbox.OutcomePermanent, 0x0b, "bad"))
	e.reports()
	if err := e.s.Retry(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	r := e.get(id)
	if r.State != smsagent.StateQueued || r.Final || r.Attempts != 0 || r.Parts != nil || r.ConcatRef == ref || !r.Done.IsZero() {
		t.Fatalf("%+v", r)
	}
	if out := e.apply(receipt("s1-1", smsagent.StateDelivered, "DELIVRD")); out[0] != smsagent.ReceiptParked {
		t.Fatalf("old part's key still bound: %v", out)
	}
	// The new life ends with a second report.
	e.claim(1)
	e.record(accept(id, 1, 1))
	if rep := e.reports()[id.String()]; rep == nil || rep.Status != "sent" {
		t.Fatalf("second report %+v", rep)
	}
	// Not from sending, sent or delivered.
	if err := e.s.Retry(e.ctx, id); !errors.Is(err, outbox.ErrState) {
		t.Fatalf("retry of sent: %v", err)
	}
	if err := e.s.Retry(e.ctx, 12345); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("%v", err)
	}
}

func TestStore_RetryFailed(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.MaxOpsPerTx = 4 })
	var want []smsagent.MessageID
	for i := 0; i < 10; i++ {
		id := e.enqueueOne(msg("+358401", "x"))
		e.claim(1)
		if i%3 == 0 {
			e.record(accept(id, 1, 1)) // sent: not retried
			continue
		}
		e.record(result(id, 1, 1, outbox.OutcomePermanent, 0x0b, "bad"))
		want = append(want, id)
	}
	n, err := e.s.RetryFailed(e.ctx)
	if err != nil || n != len(want) {
		t.Fatalf("RetryFailed = %d, %v; want %d", n, err, len(want))
	}
	got := ids(e.claim(100))
	if !slices.Equal(got, want) {
		t.Fatalf("requeued %v, want %v", got, want)
	}
}

func TestStore_Cancel(t *testing.T) {
	e := newEnv(t)
	queued := e.enqueueOne(msg("+358401", "q"))
	e.clock.Add(time.Second)
	awaiting := e.sentWithReceipt(1)
	for _, id := range []smsagent.MessageID{queued, awaiting} {
		if err := e.s.Cancel(e.ctx, id); err != nil {
			t.Fatal(err)
		}
		if r := e.get(id); r.State != smsagent.StateCanceled || !r.Final {
			t.Fatalf("%+v", r)
		}
	}
	reps := e.reports()
	if len(reps) != 2 || reps[queued.String()].Error != "canceled by the operator" {
		t.Fatalf("%+v", reps)
	}
	if err := e.s.Cancel(e.ctx, queued); !errors.Is(err, outbox.ErrState) {
		t.Fatalf("second cancel: %v", err)
	}
	if st := e.stats(); st.ByState[smsagent.StateCanceled] != 2 || st.Awaiting != 0 || st.ByState[smsagent.StateQueued] != 0 {
		t.Fatalf("%+v", st)
	}
	if got := e.claim(10); len(got) != 0 {
		t.Fatal("canceled message claimed")
	}
}

func TestStore_Sweep_ExpiresQueued(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.Retry.MaxAge = time.Hour })
	a := e.enqueueOne(msg("+358401", "a"))
	b := e.enqueueOne(msg("+358401", "b"))
	e.claim(1) // a is sending: left to its results
	if res := e.sweep(t0.Add(time.Hour)); res.Expired != 1 {
		t.Fatalf("%+v", res)
	}
	if r := e.get(b); r.State != smsagent.StateExpired {
		t.Fatalf("%s", r.State)
	}
	if r := e.get(a); r.State != smsagent.StateSending {
		t.Fatalf("%s", r.State)
	}
}
