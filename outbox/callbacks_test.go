package outbox_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

// TestCallbacks_ReportURL: a message with report_url owes one POST of its
// final report's JSON, made in the commit that made it final; a retry
// moves it to its next time with one attempt more; done removes it.
func TestCallbacks_ReportURL(t *testing.T) {
	e := newEnv(t)
	m := msg("+358401234567", "with a callback")
	m.Report, m.ClientID = true, "cb-1"
	m.Callback.URL = "http://127.0.0.1:9999/reports"
	id := e.deliver(m, func() {
		if cbs, _ := e.s.DueCallbacks(e.ctx, e.clock.Now(), 10); len(cbs) != 0 {
			t.Fatalf("callbacks before the report: %+v", cbs)
		}
	})
	cbs, err := e.s.DueCallbacks(e.ctx, e.clock.Now(), 10)
	if err != nil || len(cbs) != 1 {
		t.Fatalf("DueCallbacks: %+v, %v", cbs, err)
	}
	cb := cbs[0]
	var rep smsagent.Report
	if err := json.Unmarshal(cb.Body, &rep); err != nil {
		t.Fatal(err)
	}
	if cb.Method != "POST" || cb.URL != m.Callback.URL || cb.Message != id || rep.ID != "cb-1" || rep.Status != "delivered" ||
		rep.MessageID != id || cb.Attempts != 0 {
		t.Errorf("callback %+v, report %+v", cb, rep)
	}
	next := e.clock.Now().Add(time.Minute)
	if err := e.s.SettleCallbacks(e.ctx, []outbox.CallbackResult{{Key: cb.Key, Outcome: outbox.CallbackRetry, Next: next}}); err != nil {
		t.Fatal(err)
	}
	if cbs, _ := e.s.DueCallbacks(e.ctx, e.clock.Now(), 10); len(cbs) != 0 {
		t.Fatalf("a retried callback due before its time: %+v", cbs)
	}
	if at, ok, err := e.s.NextCallback(); err != nil || !ok || !at.Equal(next) {
		t.Errorf("NextCallback = %s, %t, %v; want %s, true", at, ok, err, next)
	}
	cbs, _ = e.s.DueCallbacks(e.ctx, next, 10)
	if len(cbs) != 1 || cbs[0].Attempts != 1 || string(cbs[0].Body) != string(cb.Body) || !cbs[0].Created.Equal(cb.Created) {
		t.Fatalf("after the retry: %+v", cbs)
	}
	if err := e.s.SettleCallbacks(e.ctx, []outbox.CallbackResult{{Key: cbs[0].Key, Outcome: outbox.CallbackDone}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.s.NextCallback(); ok {
		t.Errorf("a callback left after done")
	}
	// Settling a key twice (a retry after a lost commit) changes nothing.
	if err := e.s.SettleCallbacks(e.ctx, []outbox.CallbackResult{{Key: cbs[0].Key, Outcome: outbox.CallbackRetry, Next: next}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.s.NextCallback(); ok {
		t.Errorf("a settled callback came back")
	}
}

// TestCallbacks_ReportMask: report_mask 12 adds, before the final report,
// a POST when the SMSC accepts the message and one for an intermediate
// receipt, each the report as it stands, marked intermediate.
func TestCallbacks_ReportMask(t *testing.T) {
	e := newEnv(t)
	m := msg("+358401234567", "tell me everything")
	m.Report, m.ClientID = true, "cb-3"
	m.Callback = smsagent.Callback{URL: "http://127.0.0.1:9999/reports", ReportMask: 12}
	id := e.enqueueOne(m)
	e.claim(1)
	e.record(accept(id, 1, 1))
	enroute := receipt(fmt.Sprintf("s%d-1", id), smsagent.StateSent, "ENROUTE")
	e.apply(enroute)
	e.apply(receipt(fmt.Sprintf("s%d-1", id), smsagent.StateDelivered, "DELIVRD"))
	cbs, err := e.s.DueCallbacks(e.ctx, e.clock.Now(), 10)
	if err != nil || len(cbs) != 3 {
		t.Fatalf("DueCallbacks: %d, %v; want 3", len(cbs), err)
	}
	want := []struct {
		status, stat string
		intermediate bool
	}{{"sent", "", true}, {"sent", "ENROUTE", true}, {"delivered", "DELIVRD", false}}
	for i, w := range want {
		var rep smsagent.Report
		if err := json.Unmarshal(cbs[i].Body, &rep); err != nil {
			t.Fatal(err)
		}
		if cbs[i].Method != "POST" || rep.ID != "cb-3" || rep.Status != w.status || rep.Stat != w.stat ||
			rep.Intermediate != w.intermediate {
			t.Errorf("call %d: %s %s", i+1, cbs[i].Method, cbs[i].Body)
		}
	}
	// Without report_mask only the final report is POSTed.
	m.Callback.ReportMask, m.ClientID = 0, "cb-4"
	id = e.enqueueOne(m)
	e.claim(1)
	e.record(accept(id, 1, 1))
	e.apply(receipt(fmt.Sprintf("s%d-1", id), smsagent.StateSent, "ENROUTE"))
	e.apply(receipt(fmt.Sprintf("s%d-1", id), smsagent.StateDelivered, "DELIVRD"))
	if cbs, _ := e.s.DueCallbacks(e.ctx, e.clock.Now(), 10); len(cbs) != 4 {
		t.Errorf("%d calls owed, want the 3 above and 1 final", len(cbs))
	}
}

// TestCallbacks_GiveUpNote: a callback given up is removed and, in the
// same commit, an inbox event notes it with the last error and the reason.
func TestCallbacks_GiveUpNote(t *testing.T) {
	e := newEnv(t)
	m := msg("+358401234567", "with a dead callback")
	m.Report, m.ClientID, m.File = true, "cb-2", "orders.json"
	m.Callback.URL = "http://127.0.0.1:9999/reports"
	id := e.enqueueOne(m)
	e.claim(1)
	e.record(accept(id, 1, 1))
	e.apply(receipt(fmt.Sprintf("s%d-1", id), smsagent.StateDelivered, "DELIVRD"))
	e.drainEvents() // the report
	cbs, err := e.s.DueCallbacks(e.ctx, e.clock.Now(), 10)
	if err != nil || len(cbs) != 1 {
		t.Fatalf("DueCallbacks: %+v, %v", cbs, err)
	}
	long := strings.Repeat("x", 600)
	err = e.s.SettleCallbacks(e.ctx, []outbox.CallbackResult{{Key: cbs[0].Key, Outcome: outbox.CallbackGiveUp,
		Error: "answered 500 Internal Server Error " + long, Reason: "no 2xx answer within callbacks.max_age (1d): given up after 1 attempts"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.s.NextCallback(); ok {
		t.Errorf("a callback left after giving up")
	}
	evs := e.drainEvents()
	if len(evs) != 1 || evs[0].Kind != smsagent.EventCallbackFailed || evs[0].Subject != id.String() {
		t.Fatalf("events %+v", evs)
	}
	n := evs[0].CallbackFailed
	if n.Type != "callback_failed" || n.ID != "cb-2" || n.MessageID != id || n.File != "orders.json" || n.Method != "POST" ||
		n.URL != m.Callback.URL || n.Attempts != 1 || !n.Since.Equal(cbs[0].Created) || len(n.LastError) != 512 ||
		!strings.HasPrefix(n.Reason, "no 2xx answer") {
		t.Errorf("note %+v", n)
	}
}

// TestCallbacks_Kannel: a dlr-url gets a GET for each event its mask asks
// for, with Kannel's escapes: 8 at the SMSC's acceptance, 4 for an
// intermediate receipt, 1 for the delivery; 16 for a refused submit.
func TestCallbacks_Kannel(t *testing.T) {
	e := newEnv(t)
	m := msg("+358401234567", "kannel")
	m.Report = true
	m.From, _ = smsagent.ParseSender("ACME")
	m.Callback = smsagent.Callback{URL: "http://127.0.0.1/dlr?id=%I&type=%d&to=%p&from=%P&smsc=%A&at=%t&ts=%T&fid=%F&odd=%N&pct=%%", KannelMask: 31}
	refused := msg("+358409999999", "refused")
	refused.Callback = smsagent.Callback{URL: "http://127.0.0.1/dlr?type=%d&reply=%A", KannelMask: 16}
	ids := e.enqueue(m, refused)
	e.claim(2)
	e.record(accept(ids[0], 1, 1), result(ids[1], 1, 1, outbox.OutcomePermanent, 0x0B, "ESME_RINVDSTADR (0x0000000B): invalid destination address"))
	enroute := receipt(fmt.Sprintf("s%d-1", ids[0]), smsagent.StateSent, "ENROUTE")
	e.apply(enroute)
	e.apply(receipt(fmt.Sprintf("s%d-1", ids[0]), smsagent.StateDelivered, "DELIVRD"))
	cbs, err := e.s.DueCallbacks(e.ctx, e.clock.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	at := e.clock.Now()
	base := fmt.Sprintf("http://127.0.0.1/dlr?id=%d&type=", ids[0])
	rest := func(smscText string) string {
		return "&to=%2B358401234567&from=ACME&smsc=" + smscText + "&at=" + at.Format("2006-01-02+15:04:05") +
			fmt.Sprintf("&ts=%d&fid=s%d-1", at.Unix(), ids[0]) + "&odd=%N&pct=%"
	}
	want := []string{
		base + "8" + rest("ACK%2F"),
		"http://127.0.0.1/dlr?type=16&reply=NACK%2F0x0000000B%2FESME_RINVDSTADR+%280x0000000B%29%3A+invalid+destination+address",
		base + "4" + rest(fmt.Sprintf("id%%3As%d-1+stat%%3AENROUTE+err%%3A000", ids[0])),
		base + "1" + rest(fmt.Sprintf("id%%3As%d-1+stat%%3ADELIVRD+err%%3A000", ids[0])),
	}
	if len(cbs) != len(want) {
		t.Fatalf("%d callbacks, want %d: %+v", len(cbs), len(want), cbs)
	}
	for i, cb := range cbs {
		if cb.Method != "GET" || cb.URL != want[i] || len(cb.Body) != 0 {
			t.Errorf("callback %d:\n got %s %s\nwant GET %s", i, cb.Method, cb.URL, want[i])
		}
	}
}

// deliver sends m, one part, and applies its DELIVRD receipt; between
// the two, sent runs (when not nil).
func (e *env) deliver(m smsagent.Message, sent func()) smsagent.MessageID {
	e.t.Helper()
	id := e.enqueueOne(m)
	e.claim(1)
	e.record(accept(id, 1, 1))
	if sent != nil {
		sent()
	}
	e.apply(receipt(fmt.Sprintf("s%d-1", id), smsagent.StateDelivered, "DELIVRD"))
	return id
}

// TestHookRuns_OwedWhenWrittenApartFromCalls: EventsWritten owes the runs
// given for events still pending, once (a repeat owes nothing), in their
// own bucket: a backlog of runs hides no call from DueCallbacks, and a
// settled run leaves the calls alone.
func TestHookRuns_OwedWhenWrittenApartFromCalls(t *testing.T) {
	e := newEnv(t)
	m := msg("+358401234567", "with a callback")
	m.Report, m.Callback.URL = true, "http://127.0.0.1:9999/reports"
	id := e.deliver(m, nil)
	evs, err := e.s.Events(e.ctx, 0, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events: %v, %v", evs, err)
	}
	var runs []outbox.HookRun
	for i := range 300 { // more than a page of the worker's
		runs = append(runs, outbox.HookRun{Seq: evs[0].Seq, Run: outbox.Callback{Method: outbox.MethodHook,
			Message: id, EventID: fmt.Sprintf("ev-%d", i), EventType: "report", File: "/spool/inbox/x.json",
			Body: []byte(`{"SMSAGENT_STATUS":"delivered"}`)}})
	}
	if err := e.s.EventsWritten(e.ctx, []uint64{evs[0].Seq}, runs...); err != nil {
		t.Fatal(err)
	}
	// Written again after a crash: the event is gone, nothing more owed.
	if err := e.s.EventsWritten(e.ctx, []uint64{evs[0].Seq}, runs...); err != nil {
		t.Fatal(err)
	}
	calls, _ := e.s.DueCallbacks(e.ctx, e.clock.Now(), 256)
	if len(calls) != 1 || calls[0].Method != "POST" {
		t.Fatalf("calls due behind 300 runs: %+v", calls)
	}
	due, err := e.s.DueHookRuns(e.ctx, e.clock.Now(), 1000)
	if err != nil || len(due) != 300 {
		t.Fatalf("DueHookRuns: %d, %v", len(due), err)
	}
	r := due[0]
	if r.Method != outbox.MethodHook || r.EventID != "ev-0" || r.File != "/spool/inbox/x.json" || r.Attempts != 0 ||
		string(r.Body) != `{"SMSAGENT_STATUS":"delivered"}` || !r.Created.Equal(e.clock.Now()) {
		t.Errorf("run %+v", r)
	}
	next := e.clock.Now().Add(time.Minute)
	err = e.s.SettleCallbacks(e.ctx, []outbox.CallbackResult{
		{Key: due[0].Key, Hook: true, Outcome: outbox.CallbackRetry, Next: next},
		{Key: due[1].Key, Hook: true, Outcome: outbox.CallbackGiveUp, Error: "exit status 1", Reason: "retries used"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if due, _ := e.s.DueHookRuns(e.ctx, next, 1000); len(due) != 299 || due[298].EventID != "ev-0" || due[298].Attempts != 1 {
		t.Fatalf("after a retry and a give-up: %d runs", len(due))
	}
	if calls, _ := e.s.DueCallbacks(e.ctx, e.clock.Now(), 256); len(calls) != 1 {
		t.Errorf("settling runs touched the calls: %+v", calls)
	}
	if evs, _ := e.s.Events(e.ctx, 0, 10); len(evs) != 0 {
		t.Errorf("a run given up left an event: %+v", evs)
	}
	if err := e.s.Check(); err != nil {
		t.Error(err)
	}
}
