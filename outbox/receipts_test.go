package outbox_test

import (
	"slices"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

// sentWithReceipt enqueues a message asking for a receipt and has all its
// parts accepted.
func (e *env) sentWithReceipt(total int) smsagent.MessageID {
	e.t.Helper()
	m := msg("+358401234567", "report me")
	m.Report = true
	m.ClientID = "r1"
	id := e.enqueueOne(m)
	e.claim(1)
	var rs []outbox.PartResult
	for i := 1; i <= total; i++ {
		rs = append(rs, accept(id, i, total))
	}
	e.record(rs...)
	return id
}

func TestStore_ApplyReceipts_Delivered(t *testing.T) {
	e := newEnv(t)
	id := e.sentWithReceipt(2)
	if r := e.get(id); r.State != smsagent.StateSent || r.Final {
		t.Fatalf("before receipts: %s final=%t", r.State, r.Final)
	}
	if st := e.stats(); st.Awaiting != 1 {
		t.Fatalf("awaiting %d", st.Awaiting)
	}
	out := e.apply(receipt("s1-1", smsagent.StateSent, "ENROUTE"), receipt("s1-1", smsagent.StateDelivered, "DELIVRD"))
	if !slices.Equal(out, []smsagent.ReceiptOutcome{smsagent.ReceiptMatched, smsagent.ReceiptMatched}) {
		t.Fatalf("outcomes %v", out)
	}
	if r := e.get(id); r.State != smsagent.StateSent || r.Parts[0].State != smsagent.StateDelivered || r.Parts[0].Stat != "DELIVRD" {
		t.Fatalf("after part 1: %+v", r)
	}
	if len(e.reports()) != 0 {
		t.Fatal("report before every part is final")
	}
	e.clock.Add(time.Minute)
	e.apply(receipt("s1-2", smsagent.StateDelivered, "DELIVRD"))
	r := e.get(id)
	if r.State != smsagent.StateDelivered || !r.Final || !r.Done.Equal(t0.Add(time.Minute)) {
		t.Fatalf("final: %+v", r)
	}
	rep := e.reports()[id.String()]
	if rep == nil || rep.Status != "delivered" || rep.Stat != "DELIVRD" || rep.Err != "000" || rep.Error != "" ||
		rep.ID != "r1" || rep.Parts.Items[0].Status != "delivered" {
		t.Fatalf("report %+v", rep)
	}
	// The SMSC lost our deliver_sm_resp and sends it again.
	if out := e.apply(receipt("s1-2", smsagent.StateDelivered, "DELIVRD")); out[0] != smsagent.ReceiptRepeated {
		t.Fatalf("repeat: %v", out)
	}
	if evs := e.drainEvents(); len(evs) != 0 {
		t.Fatalf("a repeated receipt made events: %+v", evs)
	}
	if st := e.stats(); st.Awaiting != 0 || st.ByState[smsagent.StateDelivered] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// The message state is the first part's that was not delivered; the report
// carries that part's stat and err and a readable error.
func TestStore_ApplyReceipts_Undeliverable(t *testing.T) {
	e := newEnv(t)
	id := e.sentWithReceipt(2)
	u := receipt("s1-2", smsagent.StateUndeliverable, "UNDELIV")
	u.Err = "001"
	e.apply(receipt("s1-1", smsagent.StateDelivered, "DELIVRD"), u)
	if r := e.get(id); r.State != smsagent.StateUndeliverable {
		t.Fatalf("%s", r.State)
	}
	rep := e.reports()[id.String()]
	if rep.Status != "undeliverable" || rep.Stat != "UNDELIV" || rep.Err != "001" ||
		rep.Error != "delivery receipt UNDELIV (err 001): the network could not deliver the message" {
		t.Fatalf("report %+v", rep)
	}
}

// Keys are tried in order. A receipt that gives the id only in another
// form (hex for decimal) is parked first: its own response may not be
// committed yet. When none came within the grace, the converted key is
// taken, and from then on such a receipt matches at once.
func TestStore_ApplyReceipts_AlternativeKey(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.OrphanGrace = time.Minute })
	m1 := msg("+358401", "one")
	m1.Report = true
	m2 := msg("+358402", "two")
	m2.Report = true
	ids := e.enqueue(m1, m2)
	e.claim(2)
	e.record(accept(ids[0], 1, 1), accept(ids[1], 1, 1))
	first := receipt("S1-1", smsagent.StateDelivered, "DELIVRD")
	first.Keys = []string{"S1-1", "s1-1"}
	if out := e.apply(first); out[0] != smsagent.ReceiptParked {
		t.Fatalf("a guessed key taken before the SMSC showed it converts ids: %v", out)
	}
	e.clock.Add(time.Minute)
	e.sweep(t0.Add(time.Minute))
	if r := e.get(ids[0]); r.State != smsagent.StateDelivered {
		t.Fatalf("after the grace: %s", r.State)
	}
	second := receipt("S2-1", smsagent.StateDelivered, "DELIVRD")
	second.Keys = []string{"S2-1", "s2-1"}
	if out := e.apply(second); out[0] != smsagent.ReceiptMatched {
		t.Fatalf("once the SMSC converts, a guess is taken at once: %v", out)
	}
	if r := e.get(ids[1]); r.State != smsagent.StateDelivered {
		t.Fatalf("%s", r.State)
	}
}

// Regression (soak, SMSC with hex ids and receipts racing their
// responses): message 0x10's receipt "00000010" has dlr.Auto keys "10",
// "16" and "a". Before its submit_sm_resp was committed, the guess "a" hit
// message 10 ("0000000A") and the receipt was taken as a repeat of that
// message's, so message 16 waited for a receipt forever; when message 10
// was still waiting, the guess settled it with message 16's receipt.
// Parked instead, the receipt is applied when its own response commits.
func TestStore_ApplyReceipts_GuessedKeyCollision(t *testing.T) {
	e := newEnv(t)
	var ms []smsagent.Message
	for _, to := range []string{"+358410", "+358411", "+358416", "+358417"} {
		m := msg(to, "text for "+to)
		m.Report = true
		ms = append(ms, m)
	}
	ids := e.enqueue(ms...)
	e.claim(4)
	bind := func(i int, smscID, key string) {
		r := accept(ids[i], 1, 1)
		r.SMSCID, r.SMSCKey = smscID, key
		e.record(r)
	}
	bind(0, "0000000A", "a") // message 10
	ten := receipt("0000000A", smsagent.StateDelivered, "DELIVRD")
	ten.Keys = []string{"a", "10"}
	if out := e.apply(ten); out[0] != smsagent.ReceiptMatched {
		t.Fatalf("message 10's receipt: %v", out)
	}
	early16 := receipt("00000010", smsagent.StateUndeliverable, "UNDELIV")
	early16.Keys = []string{"10", "16", "a"}
	early17 := receipt("00000011", smsagent.StateUndeliverable, "UNDELIV")
	early17.Keys = []string{"11", "17", "b"}
	if out := e.apply(early16, early17); !slices.Equal(out, []smsagent.ReceiptOutcome{smsagent.ReceiptParked, smsagent.ReceiptParked}) {
		t.Fatalf("receipts ahead of their responses: %v, want both parked", out)
	}
	// Message 11's response commits while message 17's receipt is parked
	// under "b" too: it stays parked for its own.
	bind(1, "0000000B", "b")
	if r := e.get(ids[1]); r.State != smsagent.StateSent {
		t.Fatalf("message 11 settled by message 17's parked receipt: %s", r.State)
	}
	bind(2, "00000010", "10")
	bind(3, "00000011", "11")
	for _, i := range []int{2, 3} {
		if r := e.get(ids[i]); r.State != smsagent.StateUndeliverable {
			t.Fatalf("message %d after its response: %s, want undeliverable from its parked receipt", i, r.State)
		}
	}
	if r := e.get(ids[0]); r.State != smsagent.StateDelivered {
		t.Fatalf("message 10: %s", r.State)
	}
	// A receipt naming the handset settles its message through a guess at
	// once: message 11's, given in decimal.
	eleven := receipt("11", smsagent.StateDelivered, "DELIVRD")
	eleven.Keys, eleven.Source = []string{"x11", "b"}, "358411"
	if out := e.apply(eleven); out[0] != smsagent.ReceiptMatched {
		t.Fatalf("message 11's receipt with its handset: %v", out)
	}
	if err := e.s.Check(); err != nil {
		t.Fatal(err)
	}
}

// Regression (soak, an SMSC restarting from decimal to hex ids): message A
// was given "129" and its receipt was still on its way when a later
// message B was given "00000129", the same key. The index named B alone,
// so A's receipt settled B, B's own was a repeat, and A waited for ever.
// The key now names both while A waits, and each receipt goes to the
// message whose destination is its handset.
func TestStore_ApplyReceipts_ReusedID(t *testing.T) {
	e := newEnv(t)
	a, b := msg("+35850000198", "a"), msg("+35850000777", "b")
	a.Report, b.Report = true, true
	ids := e.enqueue(a, b)
	e.claim(2)
	bind := func(i int, smscID string) {
		r := accept(ids[i], 1, 1)
		r.SMSCID, r.SMSCKey = smscID, "129"
		e.record(r)
	}
	bind(0, "129")
	bind(1, "00000129")
	if err := e.s.Check(); err != nil {
		t.Fatalf("a key naming two parts: %v", err)
	}
	late := receipt("129", smsagent.StateDelivered, "DELIVRD")
	late.Keys, late.Source = []string{"129"}, "35850000198"
	if out := e.apply(late); out[0] != smsagent.ReceiptMatched {
		t.Fatalf("A's late receipt: %v", out)
	}
	if r := e.get(ids[0]); r.State != smsagent.StateDelivered {
		t.Fatalf("A: %s, want delivered by its own receipt", r.State)
	}
	if r := e.get(ids[1]); r.State != smsagent.StateSent {
		t.Fatalf("B: %s, want still waiting for its receipt", r.State)
	}
	own := receipt("00000129", smsagent.StateUndeliverable, "UNDELIV")
	own.Keys, own.Source = []string{"129"}, "35850000777"
	if out := e.apply(own); out[0] != smsagent.ReceiptMatched {
		t.Fatalf("B's receipt: %v", out)
	}
	if r := e.get(ids[1]); r.State != smsagent.StateUndeliverable {
		t.Fatalf("B: %s", r.State)
	}
	// Without a handset the newest part is the guess, as before.
	c := msg("+35850000888", "c")
	c.Report = true
	idc := e.enqueueOne(c)
	e.claim(1)
	r := accept(idc, 1, 1)
	r.SMSCID, r.SMSCKey = "129", "129"
	e.record(r)
	bare := receipt("129", smsagent.StateDelivered, "DELIVRD")
	bare.Keys = []string{"129"}
	if out := e.apply(bare); out[0] != smsagent.ReceiptMatched {
		t.Fatalf("a receipt without its handset: %v", out)
	}
	if r := e.get(idc); r.State != smsagent.StateDelivered {
		t.Fatalf("C: %s", r.State)
	}
	if err := e.s.Check(); err != nil {
		t.Fatal(err)
	}
}

// A receipt that arrives before the submit_sm_resp is committed is parked
// and applied the moment the part is bound.
// TestStore_ApplyReceipts_ReusedIDBeforeBind: the SMSC's counter
// restarted; a new message's receipt beats its submit_sm_resp to the
// commit while an old, delivered message to another handset still holds
// the id. The receipt waits for its own part instead of being taken for a
// repeat of the old one (and lost).
func TestStore_ApplyReceipts_ReusedIDBeforeBind(t *testing.T) {
	e := newEnv(t)
	old, fresh := msg("+35850000198", "old"), msg("+35850000777", "new")
	old.Report, fresh.Report = true, true
	idOld := e.enqueueOne(old)
	e.claim(1)
	r := accept(idOld, 1, 1)
	r.SMSCID, r.SMSCKey = "1", "1"
	e.record(r)
	first := receipt("1", smsagent.StateDelivered, "DELIVRD")
	first.Keys, first.Source = []string{"1"}, "35850000198"
	if out := e.apply(first); out[0] != smsagent.ReceiptMatched {
		t.Fatalf("the old message's receipt: %v", out)
	}
	idNew := e.enqueueOne(fresh)
	e.claim(1)
	early := receipt("1", smsagent.StateUndeliverable, "UNDELIV")
	early.Keys, early.Source = []string{"1"}, "35850000777"
	if out := e.apply(early); out[0] != smsagent.ReceiptParked {
		t.Fatalf("the new message's early receipt: %v, want parked for its own part", out)
	}
	r = accept(idNew, 1, 1)
	r.SMSCID, r.SMSCKey = "1", "1"
	e.record(r)
	if got := e.get(idNew); got.State != smsagent.StateUndeliverable {
		t.Fatalf("the new message: %s, want undeliverable by its parked receipt", got.State)
	}
	if got := e.get(idOld); got.State != smsagent.StateDelivered {
		t.Fatalf("the old message: %s", got.State)
	}
}

func TestStore_ApplyReceipts_OrphanBoundLater(t *testing.T) {
	e := newEnv(t)
	m := msg("+358401", "fast receipt")
	m.Report = true
	id := e.enqueueOne(m)
	e.claim(1)
	early := receipt("s1-1", smsagent.StateDelivered, "DELIVRD")
	if out := e.apply(early, early); !slices.Equal(out, []smsagent.ReceiptOutcome{smsagent.ReceiptParked, smsagent.ReceiptParked}) {
		t.Fatalf("%v", out)
	}
	e.record(accept(id, 1, 1))
	if r := e.get(id); r.State != smsagent.StateDelivered {
		t.Fatalf("parked receipt not applied on bind: %s", r.State)
	}
	if rep := e.reports()[id.String()]; rep == nil || rep.Status != "delivered" {
		t.Fatalf("report %+v", rep)
	}
	// Nothing is left to report as unmatched: the twin was not stored.
	if res := e.sweep(t0.Add(time.Hour)); res.Unmatched != 0 {
		t.Fatalf("sweep %+v", res)
	}
}

func TestStore_ApplyReceipts_Unmatched(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.OrphanGrace = 5 * time.Minute })
	rc := receipt("zz9", smsagent.StateDelivered, "DELIVRD")
	rc.Source, rc.Dest, rc.Text = "358401", "12345", "id:zz9 stat:DELIVRD"
	e.apply(rc)
	if res := e.sweep(t0.Add(4 * time.Minute)); res.Unmatched != 0 {
		t.Fatalf("reported within grace: %+v", res)
	}
	e.clock.Add(5 * time.Minute)
	if res := e.sweep(t0.Add(5 * time.Minute)); res.Unmatched != 1 {
		t.Fatalf("sweep %+v", res)
	}
	evs := e.drainEvents()
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	if ev.Subject != "e1" || ev.Report.Status != "unmatched" || ev.Report.Receipt == nil ||
		ev.Report.Receipt.SMSCID != "zz9" || ev.Report.Receipt.Text != "id:zz9 stat:DELIVRD" || ev.Report.Stat != "DELIVRD" {
		t.Fatalf("event %+v report %+v", ev, ev.Report)
	}
}

// A late result for a canceled message is recorded on the part; receipts
// for it update the part and change nothing else.
func TestStore_Cancel_LateResult(t *testing.T) {
	e := newEnv(t)
	m := msg("+358401", "x")
	m.Report = true
	id := e.enqueueOne(m)
	e.claim(1)
	if err := e.s.Cancel(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	rep := e.reports()[id.String()]
	if rep == nil || rep.Status != "canceled" {
		t.Fatalf("report %+v", rep)
	}
	e.record(accept(id, 1, 1))
	r := e.get(id)
	if r.State != smsagent.StateCanceled || r.Parts[0].State != smsagent.StateSent || r.Parts[0].SMSCID != "s1-1" {
		t.Fatalf("%+v", r)
	}
	if out := e.apply(receipt("s1-1", smsagent.StateDelivered, "DELIVRD")); out[0] != smsagent.ReceiptMatched {
		t.Fatalf("%v", out)
	}
	if r := e.get(id); r.State != smsagent.StateCanceled || r.Parts[0].State != smsagent.StateDelivered {
		t.Fatalf("%+v", r)
	}
	if evs := e.drainEvents(); len(evs) != 0 {
		t.Fatalf("second report: %+v", evs)
	}
}

func TestStore_Sweep_ReceiptTimeout(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.ReceiptTimeout = time.Hour })
	id := e.sentWithReceipt(1)
	if res := e.sweep(t0.Add(59 * time.Minute)); res.ReceiptTimeouts != 0 {
		t.Fatalf("%+v", res)
	}
	if res := e.sweep(t0.Add(time.Hour)); res.ReceiptTimeouts != 1 {
		t.Fatalf("%+v", res)
	}
	r := e.get(id)
	if r.State != smsagent.StateSent || !r.Final {
		t.Fatalf("%+v", r)
	}
	if rep := e.reports()[id.String()]; rep.Status != "sent" || rep.Error != "no delivery receipt within 1h0m0s" {
		t.Fatalf("%+v", rep)
	}
	if st := e.stats(); st.Awaiting != 0 || st.ByState[smsagent.StateSent] != 1 {
		t.Fatalf("%+v", st)
	}
	// A receipt after the timeout is kept on the part, without a report.
	if out := e.apply(receipt("s1-1", smsagent.StateDelivered, "DELIVRD")); out[0] != smsagent.ReceiptMatched {
		t.Fatalf("%v", out)
	}
	if len(e.drainEvents()) != 0 {
		t.Fatal("late receipt made a report")
	}
}
