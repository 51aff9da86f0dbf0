package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// TestAgent_Run_submitSM checks the fields of the submit_sm the agent
// builds (SMPP 3.4 §4.4.1): addresses with their TON and NPI, esm_class
// UDHI with a concatenation header, registered_delivery, validity as a
// relative time, priority, data_coding with the flash class.
func TestAgent_Run_submitSM(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1", "smsc.default_from: Company")
	p := newFakePool(10, accept)
	p.setUp(true)
	start(t, cfg, agent.Options{NewPool: p.newPool})

	long := strings.Repeat("0123456789", 20) // 200 septets: two parts of the 8-bit UDH (153 each)
	drop(t, cfg, "a.json", `{"id":"a","to":"+358401234567","from":"ACME","text":"Hello","flash":true,"validity":"90m","priority":"high","report":false}`)
	drop(t, cfg, "b.json", fmt.Sprintf(`{"id":"b","to":"040 123","text":%q,"report":true}`, long))
	testutil.Eventually(t, 10*time.Second, "3 submits", func() bool { return len(p.submitted()) == 3 })
	waitReports(t, cfg, 1, 10*time.Second)

	byDest := map[string][]*pdu.SubmitSM{}
	for _, c := range p.submitted() {
		byDest[c.SM.Dest.Addr] = append(byDest[c.SM.Dest.Addr], c.SM)
	}
	a := byDest["358401234567"]
	if len(a) != 1 {
		t.Fatalf("message a: %d submits", len(a))
	}
	want := pdu.SubmitSM{
		Source:             pdu.Address{TON: pdu.TONAlphanumeric, NPI: pdu.NPIUnknown, Addr: "ACME"},
		Dest:               pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "358401234567"},
		PriorityFlag:       1,
		ValidityPeriod:     "000000013000000R",
		RegisteredDelivery: pdu.RegDeliveryNone,
		DataCoding:         0x10, // GSM 7-bit, class 0 (23.038 §4)
		ShortMessage:       []byte("Hello"),
	}
	if got := *a[0]; !equalSubmit(got, want) {
		t.Errorf("message a:\n got %+v\nwant %+v", got, want)
	}
	b := byDest["040123"]
	if len(b) != 2 {
		t.Fatalf("message b: %d submits", len(b))
	}
	for i, sm := range b {
		if sm.Source != (pdu.Address{TON: pdu.TONAlphanumeric, NPI: pdu.NPIUnknown, Addr: "Company"}) {
			t.Errorf("b part %d: source %+v, want the default_from", i+1, sm.Source)
		}
		if sm.Dest.TON != pdu.TONUnknown || sm.Dest.NPI != pdu.NPIISDN {
			t.Errorf("b part %d: destination TON/NPI %d/%d, want 0/1", i+1, sm.Dest.TON, sm.Dest.NPI)
		}
		if sm.ESMClass != pdu.ESMUDHI || sm.RegisteredDelivery != pdu.RegDeliveryFinal || sm.DataCoding != 0 {
			t.Errorf("b part %d: esm_class %#x registered_delivery %d data_coding %#x", i+1, sm.ESMClass, sm.RegisteredDelivery, sm.DataCoding)
		}
		udh := sm.ShortMessage[:6]
		if !bytes.Equal(udh[:3], []byte{5, 0, 3}) || udh[4] != 2 || udh[5] != byte(i+1) {
			t.Errorf("b part %d: UDH % x, want 05 00 03 ref 02 %02x", i+1, udh, i+1)
		}
		if sm.ShortMessage[3] != b[0].ShortMessage[3] {
			t.Errorf("b parts carry different references")
		}
	}
	if got := string(b[0].ShortMessage[6:]) + string(b[1].ShortMessage[6:]); got != long {
		t.Errorf("b text arrived as %q", got)
	}
	rep := reports(t, cfg)["a"]
	if rep.Status != "sent" || rep.Parts == nil || rep.Parts.Items[0].SMSCID == "" {
		t.Errorf("report of a: %+v", rep)
	}
}

func equalSubmit(a, b pdu.SubmitSM) bool {
	return a.Source == b.Source && a.Dest == b.Dest && a.ESMClass == b.ESMClass && a.PriorityFlag == b.PriorityFlag &&
		a.ValidityPeriod == b.ValidityPeriod && a.RegisteredDelivery == b.RegisteredDelivery &&
		a.DataCoding == b.DataCoding && bytes.Equal(a.ShortMessage, b.ShortMessage) && len(a.TLVs) == len(b.TLVs)
}

// TestAgent_Run_outcomes drives every kind of submit result through the
// settler and checks what became of each message: the report, the number
// of submits (a timed-out response is never resent while the session
// lives), the attempts counted.
func TestAgent_Run_outcomes(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	var mu sync.Mutex
	seen := map[string]int{}
	ok := func(c *fakeCall) smpp.Result {
		return smpp.Result{Header: pdu.Header{ID: pdu.SubmitSMRespID}, Resp: &pdu.SubmitSMResp{MessageID: fmt.Sprintf("ID%d", c.N)}}
	}
	status := func(st pdu.Status) smpp.Result {
		return smpp.Result{Header: pdu.Header{ID: pdu.SubmitSMRespID, Status: st}}
	}
	first := map[string]func(c *fakeCall){
		"1001": func(c *fakeCall) { c.reply(ok(c)) },
		"1002": func(c *fakeCall) { c.reply(status(pdu.Status(0x0B))) },
		"1003": func(c *fakeCall) { c.reply(status(pdu.Status(0x58))) },              // ESME_RTHROTTLED
		"1004": func(c *fakeCall) { c.reply(status(pdu.StatusSysErr)) },              // temporary
		"1005": func(c *fakeCall) { c.reply(smpp.Result{Err: io.ErrUnexpectedEOF}) }, // connection lost
		"1006": func(c *fakeCall) { c.reply(smpp.Result{Err: errors.Join(smpp.ErrNotSent, smpp.ErrClosed)}) },
		"1007": func(c *fakeCall) { c.reply(smpp.Result{Pending: true}); c.reply(ok(c)) }, // late response
		"1008": func(c *fakeCall) { c.reply(smpp.Result{Pending: true}); c.reply(smpp.Result{Err: smpp.ErrLinkDead}) },
		"1009": func(c *fakeCall) {
			c.reply(smpp.Result{Header: pdu.Header{ID: pdu.SubmitSMRespID}, Err: &pdu.DecodeError{}})
		},
		"1010": func(c *fakeCall) {
			c.reply(smpp.Result{Header: pdu.Header{ID: pdu.GenericNackID, Status: pdu.Status(0x03)}}) // ESME_RINVCMDID
		},
	}
	p := newFakePool(10, func(c *fakeCall) {
		mu.Lock()
		seen[c.SM.Dest.Addr]++
		n := seen[c.SM.Dest.Addr]
		mu.Unlock()
		go func() {
			if f := first[c.SM.Dest.Addr]; f != nil && n == 1 {
				f(c)
				return
			}
			c.reply(ok(c))
		}()
	})
	p.setUp(true)
	r := start(t, cfg, agent.Options{NewPool: p.newPool})
	var lines []string
	for d := range first {
		lines = append(lines, fmt.Sprintf(`{"id":%q,"to":%q,"text":"x","report":false}`, d, d))
	}
	drop(t, cfg, "all.ndjson", strings.Join(lines, "\n"))
	got := waitReports(t, cfg, len(first), 10*time.Second)

	want := map[string]struct {
		status   string
		submits  int
		attempts int
		err      string
	}{
		"1001": {"sent", 1, 0, ""},
		"1002": {"rejected", 1, 0, "ESME_RINVDSTADR (0x0000000B): invalid destination address"},
		"1003": {"sent", 2, 0, ""},
		"1004": {"sent", 2, 1, ""},
		"1005": {"sent", 2, 1, ""},
		"1006": {"sent", 2, 0, ""},
		"1007": {"sent", 1, 0, ""},
		"1008": {"sent", 2, 1, ""},
		"1009": {"sent", 1, 0, ""},
		"1010": {"rejected", 1, 0, "ESME_RINVCMDID (0x00000003)"},
	}
	for d, w := range want {
		rep := got[d]
		if rep.Status != w.status || !strings.Contains(rep.Error, w.err) {
			t.Errorf("%s: report %q %q, want %q %q", d, rep.Status, rep.Error, w.status, w.err)
		}
		mu.Lock()
		n := seen[d]
		mu.Unlock()
		if n != w.submits {
			t.Errorf("%s: %d submits, want %d", d, n, w.submits)
		}
		rec, err := r.a.Outbox().Get(context.Background(), rep.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Attempts != w.attempts {
			t.Errorf("%s: %d attempts, want %d", d, rec.Attempts, w.attempts)
		}
	}
	if rep := got["1009"]; rep.Parts.Items[0].SMSCID != "" {
		t.Errorf("1009: accepted without a message_id, yet has SMSC id %q", rep.Parts.Items[0].SMSCID)
	}
}

// TestAgent_Run_offline: with no session bound, files are taken and
// queued and nothing is claimed; once a session binds, the messages go out
// by themselves, oldest first.
func TestAgent_Run_offline(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	p := newFakePool(10, accept)
	r := start(t, cfg, agent.Options{NewPool: p.newPool})
	for i := range 5 {
		drop(t, cfg, fmt.Sprintf("m%d.json", i), fmt.Sprintf(`{"id":"m%d","to":"100%d","text":"x","report":false}`, i, i))
		testutil.Eventually(t, 10*time.Second, "file stored", func() bool {
			st, err := r.a.Outbox().Stats(context.Background())
			return err == nil && st.ByState[smsagent.StateQueued] == i+1
		})
	}
	if err := r.a.Ready(); err == nil {
		t.Error("Ready is nil with no session bound")
	}
	if n := len(p.submitted()); n != 0 {
		t.Fatalf("%d submits while no session is bound", n)
	}
	p.setUp(true)
	waitReports(t, cfg, 5, 10*time.Second)
	for i, c := range p.submitted() {
		if want := fmt.Sprintf("100%d", i); c.SM.Dest.Addr != want {
			t.Errorf("submit %d went to %s, want %s (oldest first)", i+1, c.SM.Dest.Addr, want)
		}
	}
	if err := r.a.Ready(); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

// TestAgent_Run_budget: the parts submitted and not yet recorded in the
// outbox never exceed sessions × window, the number a crash may send twice.
func TestAgent_Run_budget(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1") // 2 sessions × window 5
	// The windows' 10 in flight, and smsc.max_uncommitted's default of
	// twice that answered and not yet committed.
	budget := 10 + agent.Uncommitted(&cfg.SMSC)
	var r *running
	var mu sync.Mutex
	var worst int
	p := newFakePool(100, func(c *fakeCall) {
		st, err := r.a.Outbox().Stats(context.Background())
		if err != nil {
			t.Error(err)
		}
		// Messages are single parts without receipts: each one committed
		// as accepted is final "sent".
		mu.Lock()
		worst = max(worst, c.N-st.ByState[smsagent.StateSent])
		mu.Unlock()
		accept(c)
	})
	p.setUp(true)
	r = start(t, cfg, agent.Options{NewPool: p.newPool})
	var lines []string
	for i := range 300 {
		lines = append(lines, fmt.Sprintf(`{"to":"%d","text":"x","report":false}`, 1000+i))
	}
	drop(t, cfg, "bulk.ndjson", strings.Join(lines, "\n"))
	waitReports(t, cfg, 300, 20*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if worst > budget {
		t.Errorf("%d parts submitted and not recorded at once, budget %d", worst, budget)
	}
	if worst < budget/2 {
		t.Errorf("at most %d parts out at once: the window is not kept full (budget %d)", worst, budget)
	}
}

// TestAgent_Run_gracefulStop: a stop waits for the responses to what was
// submitted and records them, so nothing is sent again at the next start.
func TestAgent_Run_gracefulStop(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	held := make(chan *fakeCall, 100)
	p := newFakePool(10, func(c *fakeCall) { held <- c })
	p.setUp(true)
	r := start(t, cfg, agent.Options{NewPool: p.newPool})
	drop(t, cfg, "five.ndjson", strings.Repeat(`{"to":"123","text":"x","report":false}`+"\n", 5))
	var calls []*fakeCall
	for range 5 {
		calls = append(calls, <-held)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- r.shutdown() }()
	// The stop is waiting: answer now.
	for _, c := range calls {
		accept(c)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(agent.DefaultDrainTimeout):
		t.Fatal("stop did not end once every response was in")
	}
	st, err := openStore(t, cfg).Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.ByState[smsagent.StateSent] != 5 {
		t.Errorf("after the stop: %v, want 5 sent", st.ByState)
	}
}

// TestAgent_Run_stopUnanswered: responses that never come hold the stop
// only DrainTimeout; the parts then end with the session (temporary) and
// are queued again, to be sent at the next start.
func TestAgent_Run_stopUnanswered(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	p := newFakePool(10, func(*fakeCall) {})
	p.setUp(true)
	r := start(t, cfg, agent.Options{NewPool: p.newPool, DrainTimeout: 100 * time.Millisecond})
	drop(t, cfg, "five.ndjson", strings.Repeat(`{"to":"123","text":"x","report":false}`+"\n", 5))
	testutil.Eventually(t, 10*time.Second, "5 submits", func() bool { return len(p.submitted()) == 5 })
	begun := time.Now()
	if err := r.shutdown(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begun); took > 3*time.Second {
		t.Errorf("stop took %s", took)
	}
	recs, err := openStore(t, cfg).List(context.Background(), outbox.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.State != smsagent.StateQueued || rec.Attempts != 1 {
			t.Errorf("message %s: %s after %d attempts, want queued after 1", rec.ID, rec.State, rec.Attempts)
		}
	}
}

// TestAgent_Run_forcedStop: the force context ends the stop at once even
// with responses outstanding and a long drain.
func TestAgent_Run_forcedStop(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	p := newFakePool(10, func(*fakeCall) {})
	p.setUp(true)
	force, hurry := context.WithCancel(context.Background())
	r := start(t, cfg, agent.Options{NewPool: p.newPool, DrainTimeout: time.Hour,
		Force: func(context.Context) context.Context { return force }})
	drop(t, cfg, "one.json", `{"to":"123","text":"x"}`)
	testutil.Eventually(t, 10*time.Second, "a submit", func() bool { return len(p.submitted()) == 1 })
	stopped := make(chan error, 1)
	go func() { stopped <- r.shutdown() }()
	hurry()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("forced stop still waiting")
	}
	st, err := openStore(t, cfg).Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Unanswered at the stop: sending (the settler may not have recorded
	// the session's end) or queued; Open queues it again either way.
	if st.ByState[smsagent.StateQueued]+st.ByState[smsagent.StateSending] != 1 {
		t.Errorf("after a forced stop: %v", st.ByState)
	}
}

// TestAgent_Run_notBound: a Submit refused because the pool lost its
// sessions puts the page back, and it goes out when a session is back.
func TestAgent_Run_notBound(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	var p *fakePool
	down := make(chan struct{})
	p = newFakePool(10, func(c *fakeCall) {
		if c.N == 3 {
			p.setUp(false) // the next Submit finds no session
			close(down)
		}
		accept(c)
	})
	p.setUp(true)
	r := start(t, cfg, agent.Options{NewPool: p.newPool})
	drop(t, cfg, "ten.ndjson", strings.Repeat(`{"to":"123","text":"x","report":false}`+"\n", 10))
	<-down
	if err := r.a.Ready(); err == nil {
		t.Error("Ready is nil with the link down")
	}
	p.setUp(true)
	got := waitReports(t, cfg, 10, 10*time.Second)
	for _, rep := range got {
		if rep.Status != "sent" {
			t.Errorf("message %s: %s", rep.MessageID, rep.Status)
		}
	}
	if n := len(p.submitted()); n != 10 {
		t.Errorf("%d submits for 10 messages", n)
	}
}

// TestAgent_Run_unencodable: a message the SMSC could not be sent is
// refused with its file at intake, with a reason a person can act on.
func TestAgent_Run_unencodable(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	p := newFakePool(10, accept)
	p.setUp(true)
	start(t, cfg, agent.Options{NewPool: p.newPool})
	drop(t, cfg, "bad.json", `[{"to":"1","text":"ok"},{"to":"2","text":"smile 😀","encoding":"gsm7"}]`)
	report := filepath.Join(cfg.Spool.Dir, "failed", "bad.json.error.json")
	var rep struct {
		Problems []smsagent.Problem `json:"problems"`
	}
	// Read until it can be: on Windows a file just renamed into place may
	// be held for a moment (seen under Wine as a sharing violation), and a
	// reader there retries, as the README tells integrations to.
	testutil.Eventually(t, 10*time.Second, "failed/bad.json.error.json readable", func() bool {
		b, err := os.ReadFile(report)
		return err == nil && json.Unmarshal(b, &rep) == nil
	})
	want := `text: character '😀' (U+1F600) at position 7 cannot be encoded in gsm7`
	if len(rep.Problems) != 1 || rep.Problems[0].Index != 2 || rep.Problems[0].Message != want {
		t.Errorf("problems %+v, want message 2: %s", rep.Problems, want)
	}
	if n := len(p.submitted()); n != 0 {
		t.Errorf("%d submits from a refused file", n)
	}
}
