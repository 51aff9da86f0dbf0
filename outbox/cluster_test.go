package outbox_test

import (
	"slices"
	"testing"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

func imported(id smsagent.MessageID, to, origin string) smsagent.Message {
	m := msg(to, "from the cluster "+id.String())
	m.ID, m.Origin, m.Report = id, origin, true
	return m
}

func (e *env) importMsgs(ms ...smsagent.Message) []outbox.Holding {
	e.t.Helper()
	hs, err := e.s.Import(e.ctx, ms)
	if err != nil {
		e.t.Fatalf("Import: %v", err)
	}
	return hs
}

func (e *env) holdings(ids ...smsagent.MessageID) []outbox.Holding {
	e.t.Helper()
	hs, err := e.s.Holdings(e.ctx, ids)
	if err != nil {
		e.t.Fatalf("Holdings: %v", err)
	}
	return hs
}

// TestImport_holdAndRelease: messages taken from a cluster's queue keep
// the cluster's ids and origin, are sent like any other, and say what
// became of them; a delivery repeated changes nothing; what no SMSC
// accepted can be released (and only that), and ReleaseQueued releases
// it all at a start.
func TestImport_holdAndRelease(t *testing.T) {
	e := newEnv(t)
	hs := e.importMsgs(imported(1001, "+358401", "alpha"), imported(1002, "+358402", "alpha"), imported(1003, "+358403", "beta"))
	if slices.ContainsFunc(hs, func(h outbox.Holding) bool { return h.Stored }) {
		t.Fatalf("new imports said stored before: %+v", hs)
	}
	rec := e.get(1002)
	if rec.State != smsagent.StateQueued || rec.Origin != "alpha" || rec.To.String() != "+358402" {
		t.Fatalf("imported record %+v", rec)
	}
	// 1001 is accepted, 1002 is claimed and in flight, 1003 waits.
	claimed := e.claim(2)
	if got := ids(claimed); !slices.Equal(got, []smsagent.MessageID{1001, 1002}) {
		t.Fatalf("claimed %v", got)
	}
	e.record(accept(1001, 1, 1))
	again := e.importMsgs(imported(1001, "+358401", "alpha"), imported(1003, "+358403", "beta"))
	if !again[0].Stored || !again[0].Accepted || again[0].Final || !again[1].Stored || again[1].Accepted {
		t.Fatalf("repeated deliveries: %+v", again)
	}
	released, err := e.s.Release(e.ctx, []smsagent.MessageID{1001, 1002, 1003, 9999})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(released, []smsagent.MessageID{1003}) {
		t.Fatalf("released %v, want only the queued one nobody accepted", released)
	}
	if h := e.holdings(1001, 1002, 1003); !h[0].Stored || !h[1].Stored || h[2].Stored {
		t.Fatalf("holdings after release %+v", h)
	}
	// 1002's answer never came: after a restart it is queued again, and
	// released at the start; 1001 stays (accepted).
	e.reopen()
	released, err = e.s.ReleaseQueued(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(released, []smsagent.MessageID{1002}) {
		t.Fatalf("released at start %v, want 1002", released)
	}
	if n := e.stats().ByState[smsagent.StateQueued]; n != 0 {
		t.Fatalf("%d still queued", n)
	}
	// A message of this node's own (bbolt-era) queue is not released.
	own := e.enqueueOne(msg("+358404", "local"))
	if released, _ := e.s.ReleaseQueued(e.ctx); len(released) != 0 {
		t.Fatalf("released %v, a local message among them (%s)", released, own)
	}
	// Migrated takes it, whatever its origin.
	if got, err := e.s.Migrated(e.ctx, []smsagent.MessageID{own, 1001}); err != nil || !slices.Equal(got, []smsagent.MessageID{own}) {
		t.Fatalf("migrated %v %v", got, err)
	}
	keys, err := e.s.AwaitingKeys(e.ctx)
	if err != nil || !slices.Equal(keys, []string{"s1001-1"}) {
		t.Fatalf("awaiting keys %v %v", keys, err)
	}
	here, err := e.s.Indexed(e.ctx, []string{"s1001-1", "s1002-1", ""})
	if err != nil || !slices.Equal(here, []bool{true, false, false}) {
		t.Fatalf("indexed %v %v", here, err)
	}
	// The report names the origin node.
	e.apply(receipt("s1001-1", smsagent.StateDelivered, "DELIVRD"))
	if rep := e.reports()["1001"]; rep == nil || rep.Node != "alpha" || rep.Status != "delivered" {
		t.Fatalf("report %+v", rep)
	}
	if _, err := e.s.Import(e.ctx, []smsagent.Message{msg("+358405", "no id")}); err == nil {
		t.Fatal("an import without an id was stored")
	}
}

// TestImportEvents_oncePerMessage: events another node made are stored
// once per delivery, and a message's report once at its origin however
// many nodes finished it.
func TestImportEvents_oncePerMessage(t *testing.T) {
	e := newEnv(t)
	report := func(id smsagent.MessageID, status string) smsagent.Event {
		return smsagent.Event{Kind: smsagent.EventReport, Time: t0, Subject: id.String(),
			Report: &smsagent.Report{Type: "report", MessageID: id, Status: status, Done: t0, Node: "alpha"}}
	}
	mo := smsagent.Event{Kind: smsagent.EventMO, Time: t0, Subject: "e7",
		MO: &smsagent.MO{Type: "mo", From: "+1", To: "2", Text: "hi", Encoding: "gsm7", Parts: 1, Received: t0}}
	err := e.s.ImportEvents(e.ctx, []outbox.ClaimedEvent{
		{Claim: "d1", Event: report(7, "delivered")},
		{Claim: "d2", Event: mo},
		{Claim: "d1", Event: report(7, "delivered")}, // the same delivery twice in one batch
	})
	if err != nil {
		t.Fatal(err)
	}
	// Redelivered, and the same message reported by another node.
	if err := e.s.ImportEvents(e.ctx, []outbox.ClaimedEvent{{Claim: "d1", Event: report(7, "delivered")},
		{Claim: "d3", Event: report(7, "undeliverable")}, {Claim: "d4", Event: report(8, "delivered")}}); err != nil {
		t.Fatal(err)
	}
	evs := e.drainEvents()
	var got []string
	for _, ev := range evs {
		switch ev.Kind {
		case smsagent.EventReport:
			got = append(got, ev.Report.MessageID.String()+":"+ev.Report.Status)
		case smsagent.EventMO:
			got = append(got, "mo:"+ev.MO.Text)
		}
	}
	if want := []string{"7:delivered", "mo:hi", "8:delivered"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	// The origin finishing message 8 itself later writes no second report.
	e.importMsgs(imported(8, "+358408", "alpha"))
	e.claim(1)
	e.record(accept(8, 1, 1))
	e.apply(receipt("s8-1", smsagent.StateDelivered, "DELIVRD"))
	if reps := e.reports(); len(reps) != 0 {
		t.Fatalf("a second report of message 8: %+v", reps)
	}
	if r := e.get(8); !r.Final {
		t.Fatalf("message 8 not final: %+v", r)
	}
}
