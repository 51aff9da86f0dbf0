package outbox_test

import (
	"errors"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

func TestStore_Enqueue(t *testing.T) {
	e := newEnv(t)
	a := msg("+358401", "a")
	a.ClientID = "x1"
	b := msg("0401", "b")
	b.ClientID = "x1" // same client id, other recipient: not a duplicate
	res, err := e.s.Enqueue(e.ctx, smsagent.Batch{Claim: "c1", File: "in.json", Messages: []smsagent.Message{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IDs) != 2 || res.IDs[0] != 1 || res.IDs[1] != 2 || res.AlreadyTaken || len(res.Duplicates) != 0 {
		t.Fatalf("%+v", res)
	}
	r := e.get(2)
	if r.State != smsagent.StateQueued || r.File != "in.json" || !r.ReceivedAt.Equal(t0) || !r.Due.Equal(t0) ||
		r.Encoding != smsagent.EncodingAuto || r.Text != "b" || r.ClientID != "x1" {
		t.Fatalf("%+v", r)
	}
	if e.get(1).ConcatRef == r.ConcatRef {
		t.Fatal("two messages share a concatenation reference")
	}
	if ok, err := e.s.Taken(e.ctx, "c1"); !ok || err != nil {
		t.Fatalf("Taken: %t %v", ok, err)
	}
	if ok, _ := e.s.Taken(e.ctx, "c2"); ok {
		t.Fatal("Taken of an unknown claim")
	}
	// The same claim again (intake restarted after the commit): nothing.
	res, err = e.s.Enqueue(e.ctx, smsagent.Batch{Claim: "c1", File: "in.json", Messages: []smsagent.Message{a, b}})
	if err != nil || !res.AlreadyTaken || len(res.IDs) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if st := e.stats(); st.ByState[smsagent.StateQueued] != 2 {
		t.Fatalf("%+v", st)
	}
}

func TestStore_Enqueue_Duplicates(t *testing.T) {
	e := newEnv(t)
	a := msg("+358401", "a")
	a.ClientID = "order-1"
	first := e.enqueueOne(a)
	c := msg("+358402", "c")
	res, err := e.s.Enqueue(e.ctx, smsagent.Batch{Claim: "dup", File: "again.json", Messages: []smsagent.Message{a, c, c, a}})
	if err != nil {
		t.Fatal(err)
	}
	if res.IDs[0] != 0 || res.IDs[1] == 0 || res.IDs[2] == 0 || res.IDs[3] != 0 || len(res.Duplicates) != 2 {
		t.Fatalf("%+v", res)
	}
	if d := res.Duplicates[0]; d.ID != "order-1" || d.MessageID != first || d.To != "+358401" {
		t.Fatalf("%+v", d)
	}
	evs := e.drainEvents()
	if len(evs) != 1 || evs[0].Kind != smsagent.EventDuplicate || evs[0].Subject != "e1" {
		t.Fatalf("%+v", evs)
	}
	if d := evs[0].Duplicate; d.File != "again.json" || len(d.Messages) != 2 || d.Messages[1].MessageID != first || d.Type != "duplicate" {
		t.Fatalf("%+v", d)
	}
	// A repeat inside one file is a duplicate of its first occurrence.
	b := msg("+358403", "b")
	b.ClientID = "order-2"
	res, _ = e.s.Enqueue(e.ctx, smsagent.Batch{Claim: "in-file", File: "f", Messages: []smsagent.Message{b, b}})
	if res.IDs[1] != 0 || res.Duplicates[0].MessageID != res.IDs[0] {
		t.Fatalf("%+v", res)
	}
}

// A client id is recognised as long as its message is kept: until the
// retention after it became final. Pruning frees it.
func TestStore_Enqueue_IdempotencyWindow(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.Retention = 24 * time.Hour })
	m := msg("+358401", "once")
	m.ClientID = "k"
	id := e.enqueueOne(m)
	e.claim(1)
	e.record(accept(id, 1, 1))
	e.clock.Add(23 * time.Hour)
	res, _ := e.s.Enqueue(e.ctx, smsagent.Batch{Claim: "w1", Messages: []smsagent.Message{m}})
	if len(res.Duplicates) != 1 {
		t.Fatalf("within the window: %+v", res)
	}
	if got := e.sweep(t0.Add(24 * time.Hour)); got.Pruned != 1 {
		t.Fatalf("%+v", got)
	}
	if _, err := e.s.Get(e.ctx, id); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("pruned message: %v", err)
	}
	res, _ = e.s.Enqueue(e.ctx, smsagent.Batch{Claim: "w2", Messages: []smsagent.Message{m}})
	if len(res.Duplicates) != 0 || res.IDs[0] == 0 || res.IDs[0] == id {
		t.Fatalf("after the window: %+v", res)
	}
}

func TestStore_Enqueue_Invalid(t *testing.T) {
	e := newEnv(t)
	long := msg("+358401", "x")
	long.ClientID = string(make([]byte, smsagent.MaxClientIDLen+1))
	for name, b := range map[string]smsagent.Batch{
		"no claim":     {Messages: []smsagent.Message{msg("+358401", "x")}},
		"no recipient": {Claim: "c", Messages: []smsagent.Message{{Text: "x"}}},
		"no text":      {Claim: "c", Messages: []smsagent.Message{msg("+358401", "x"), msg("+358402", "")}},
		"long id":      {Claim: "c", Messages: []smsagent.Message{long}},
	} {
		if _, err := e.s.Enqueue(e.ctx, b); !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if ok, _ := e.s.Taken(e.ctx, "c"); ok {
		t.Fatal("an invalid batch was recorded as taken")
	}
}

func TestStore_Sweep_PrunesTaken(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.Retention = time.Hour })
	e.enqueue()
	claim := "claim-" + itoa(claimSeq.Load())
	if res := e.sweep(t0.Add(time.Hour)); res.TakenPruned != 1 {
		t.Fatalf("%+v", res)
	}
	if ok, _ := e.s.Taken(e.ctx, claim); ok {
		t.Fatal("taken record kept past retention")
	}
}
