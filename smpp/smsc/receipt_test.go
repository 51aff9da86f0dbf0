package smsc_test

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/dlr"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// inbox is an ESME Handler that hands each request to the test.
type inbox chan smpp.Request

func (in inbox) handle(r smpp.Request) { in <- r }

func (in inbox) next(t testing.TB) smpp.Request {
	t.Helper()
	select {
	case r := <-in:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("nothing delivered within 10s")
	}
	return smpp.Request{}
}

// parseReceipt reads a receipt the way the agent does.
func parseReceipt(t testing.TB, r smpp.Request) dlr.Receipt {
	t.Helper()
	d, ok := r.PDU.(*pdu.DeliverSM)
	if !ok {
		t.Fatalf("got %T, want deliver_sm", r.PDU)
	}
	in := dlr.Input{ESMClass: byte(d.ESMClass), DataCoding: byte(d.DataCoding), Message: d.ShortMessage}
	in.TLVs.ReceiptedMessageID, _ = d.TLVs.ReceiptedMessageID()
	if st, ok := d.TLVs.MessageState(); ok {
		in.TLVs.MessageState, in.TLVs.HasMessageState = uint8(st), true
	}
	rc, err := dlr.Parse(in, dlr.Options{})
	if err != nil {
		t.Fatalf("receipt %q: %v", d.ShortMessage, err)
	}
	return rc
}

var appendixB = regexp.MustCompile(`^id:(\S+) sub:001 dlvrd:00[01] submit date:\d{10} done date:\d{10} stat:[A-Z]{7} err:\d{3} text:.{0,20}$`)

// A receipt is a deliver_sm with esm_class 0x04, the Appendix B text and
// the receipt TLVs, addressed back from the handset, on the transceiver
// session that submitted; the simulator keeps the ESME's answer.
func TestServer_receipt(t *testing.T) {
	checkNoLeak(t)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	srv := startServer(t, smsc.Options{Clock: func() time.Time { return now }})
	in := make(inbox, 4)
	s := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: in.handle})
	resp, err := s.Submit(ctx10(t), sm("358401234567", "Hello, world: more than twenty"))
	if err != nil {
		t.Fatal(err)
	}
	r := in.next(t)
	d := r.PDU.(*pdu.DeliverSM)
	if d.ESMClass != pdu.ESMTypeDeliveryReceipt || d.Source.Addr != "358401234567" || d.Dest.Addr != "ACME" {
		t.Errorf("receipt header: esm 0x%02X from %s to %s", d.ESMClass, d.Source, d.Dest)
	}
	text := string(d.ShortMessage)
	if !appendixB.MatchString(text) {
		t.Errorf("receipt text %q is not Appendix B", text)
	}
	if want := "id:" + resp.MessageID + " sub:001 dlvrd:001 submit date:2603040506 done date:2603040506 stat:DELIVRD err:000 text:Hello, world. more t"; text != want {
		t.Errorf("receipt text\n got %q\nwant %q", text, want)
	}
	rc := parseReceipt(t, r)
	if rc.ID != resp.MessageID || rc.Status != dlr.Delivered || !rc.HasMessageState || rc.MessageState != uint8(pdu.StateDelivered) {
		t.Errorf("parsed %+v", rc)
	}
	if err := r.Ack(pdu.StatusOK); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitFor(ctx10(t), func(st smsc.Stats) bool { return st.ReceiptsAcked == 1 }); err != nil {
		t.Fatal(err)
	}
	recs := srv.Receipts()
	if len(recs) != 1 || !recs[0].Acked || !slices.Equal(recs[0].Responses, []pdu.Status{pdu.StatusOK}) ||
		recs[0].MessageID != resp.MessageID || recs[0].Stat != "DELIVRD" {
		t.Errorf("records %+v", recs)
	}
}

// Rules decide the receipt's stat; registered_delivery decides whether
// there is one at all.
func TestServer_receiptOutcomes(t *testing.T) {
	srv := startServer(t, smsc.Options{Rules: []smsc.Rule{
		{Prefix: "3581", Outcome: smsc.Undeliverable, Err: 11},
		{Prefix: "3582", Outcome: smsc.Expired},
		{Prefix: "3583", Outcome: smsc.Rejected},
		{Prefix: "3584", Outcome: smsc.NoReceipt},
	}})
	in := make(inbox, 8)
	s := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: in.handle})
	submit := func(dest string, reg pdu.RegisteredDelivery) string {
		p := sm(dest, "x")
		p.RegisteredDelivery = reg
		resp, err := s.Submit(ctx10(t), p)
		if err != nil {
			t.Fatal(err)
		}
		return resp.MessageID
	}
	// No receipt: none asked, delivered under "failure only", a NoReceipt
	// rule. Each is followed by one that has a receipt, which must come
	// next.
	submit("3585000", pdu.RegDeliveryNone)
	submit("3585000", pdu.RegDeliveryFailure)
	submit("3584000", pdu.RegDeliveryFinal)
	for _, tc := range []struct {
		dest   string
		reg    pdu.RegisteredDelivery
		stat   string
		err    string
		status dlr.Status
	}{
		{"3581000", pdu.RegDeliveryFailure, "UNDELIV", "011", dlr.Undeliverable},
		{"3582000", pdu.RegDeliveryFinal, "EXPIRED", "001", dlr.Expired},
		{"3583000", pdu.RegDeliveryFinal, "REJECTD", "001", dlr.Rejected},
		{"3585000", pdu.RegDeliveryFinal, "DELIVRD", "000", dlr.Delivered},
	} {
		id := submit(tc.dest, tc.reg)
		r := in.next(t)
		rc := parseReceipt(t, r)
		_ = r.Ack(pdu.StatusOK)
		if rc.ID != id || rc.Fields.Stat != tc.stat || rc.Fields.Err != tc.err || rc.Status != tc.status {
			t.Errorf("%s: receipt %+v, want id %s stat %s err %s", tc.dest, rc, id, tc.stat, tc.err)
		}
	}
	if st := srv.Stats(); st.ReceiptsQueued != 4 {
		t.Errorf("%d receipts queued, want 4", st.ReceiptsQueued)
	}
}

// Receipts go to any receiver of the account, not only the session that
// submitted, and wait while none is bound.
func TestServer_receiptQueuedForReceiver(t *testing.T) {
	srv := startServer(t, smsc.Options{})
	tx := bind(t, srv, smpp.Transmitter, smpp.SessionOptions{})
	resp, err := tx.Submit(ctx10(t), sm("358401234567", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.ReceiptsQueued != 1 || st.ReceiptsSent != 0 {
		t.Fatalf("stats before a receiver: %+v", st)
	}
	in := make(inbox, 1)
	bind(t, srv, smpp.Receiver, smpp.SessionOptions{Handler: in.handle})
	r := in.next(t)
	if rc := parseReceipt(t, r); rc.ID != resp.MessageID {
		t.Errorf("receipt for %s, want %s", rc.ID, resp.MessageID)
	}
	_ = r.Ack(pdu.StatusOK)
}

// Receipts may write the id in another base than the submit_sm_resp;
// smpp/dlr still correlates them.
func TestServer_receiptIDFormat(t *testing.T) {
	srv := startServer(t, smsc.Options{MessageID: smsc.HexID, ReceiptID: smsc.DecimalID})
	in := make(inbox, 1)
	s := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: in.handle})
	for range 11 { // to id 0x0B, where hex and decimal differ
		if _, err := s.Submit(ctx10(t), sm("358401234567", "x")); err != nil {
			t.Fatal(err)
		}
		r := in.next(t)
		rc := parseReceipt(t, r)
		_ = r.Ack(pdu.StatusOK)
		recs := srv.Receipts()
		last := recs[len(recs)-1]
		if rc.ID != last.ReceiptID || !slices.Contains(dlr.Candidates(rc.ID, dlr.Auto), dlr.Key(last.MessageID)) {
			t.Errorf("receipt id %s does not lead to submit id %s", rc.ID, last.MessageID)
		}
	}
	if recs := srv.Receipts(); recs[10].MessageID != "0000000B" || recs[10].ReceiptID != "11" {
		t.Errorf("ids %s / %s", recs[10].MessageID, recs[10].ReceiptID)
	}
}

// Duplicated receipts, and receipts offered again after an error answer.
func TestServer_receiptRepeats(t *testing.T) {
	srv := startServer(t, smsc.Options{DuplicateReceipts: true, RetryDelay: time.Millisecond})
	in := make(inbox, 4)
	s := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: in.handle})
	resp, err := s.Submit(ctx10(t), sm("358401234567", "x"))
	if err != nil {
		t.Fatal(err)
	}
	first, second := in.next(t), in.next(t)
	if a, b := parseReceipt(t, first), parseReceipt(t, second); a.ID != resp.MessageID || b.ID != resp.MessageID {
		t.Fatalf("receipts for %s and %s", a.ID, b.ID)
	}
	_ = first.Ack(pdu.StatusOK)
	_ = second.Ack(pdu.StatusXTAppn) // not stored yet: the SMSC tries again
	again := in.next(t)
	if rc := parseReceipt(t, again); rc.ID != resp.MessageID {
		t.Fatalf("redelivered %s", rc.ID)
	}
	_ = again.Ack(pdu.StatusOK)
	if _, err := srv.WaitFor(ctx10(t), func(st smsc.Stats) bool { return st.ReceiptsAcked == 2 }); err != nil {
		t.Fatal(err)
	}
	recs := srv.Receipts()
	if len(recs) != 2 || recs[0].Duplicate || !recs[1].Duplicate ||
		!slices.Equal(recs[1].Responses, []pdu.Status{pdu.StatusXTAppn, pdu.StatusOK}) || !recs[1].Acked {
		t.Errorf("records %+v", recs)
	}
}

// With ReceiptsFirst the receipt reaches the ESME before the
// submit_sm_resp: the ESME holds a receipt for an id it does not know yet.
func TestServer_ReceiptsFirst(t *testing.T) {
	srv := startServer(t, smsc.Options{ReceiptsFirst: true})
	events := make(chan string, 4)
	s := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: func(r smpp.Request) {
		events <- "receipt " + parseReceipt(t, r).ID
		_ = r.Ack(pdu.StatusOK)
	}})
	if err := s.Send(ctx10(t), sm("358401234567", "x"), func(r smpp.Result) {
		events <- "response " + r.Resp.(*pdu.SubmitSMResp).MessageID
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"receipt 00000001", "response 00000001"} {
		select {
		case got := <-events:
			if got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %q", want)
		}
	}
}

// A receipt is not due before ReceiptDelay.
func TestServer_ReceiptDelay(t *testing.T) {
	const delay = 150 * time.Millisecond
	srv := startServer(t, smsc.Options{ReceiptDelay: delay})
	in := make(inbox, 1)
	s := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: in.handle})
	start := time.Now()
	if _, err := s.Submit(ctx10(t), sm("358401234567", "x")); err != nil {
		t.Fatal(err)
	}
	r := in.next(t)
	if d := time.Since(start); d < delay {
		t.Errorf("receipt after %v, before the %v delay", d, delay)
	}
	_ = r.Ack(pdu.StatusOK)
}

// An ESME whose inbound window is full answers ESME_RTHROTTLED itself; the
// simulator offers the receipt again without counting an attempt, so even
// with one attempt allowed no receipt is given up.
func TestServer_receiptThrottled(t *testing.T) {
	srv := startServer(t, smsc.Options{ReceiptAttempts: 1, RetryDelay: 5 * time.Millisecond,
		Session: smpp.SessionOptions{Window: 10}})
	in := make(inbox, 8)
	s := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: in.handle, InboundWindow: 1})
	for _, dest := range []string{"358401234567", "358401234568", "358401234569"} {
		if _, err := s.Submit(ctx10(t), sm(dest, "x")); err != nil {
			t.Fatal(err)
		}
	}
	// The first receipt is held unanswered while the others arrive and are
	// throttled by the ESME's reader; then each is answered in turn.
	held := in.next(t)
	if _, err := srv.WaitFor(ctx10(t), func(smsc.Stats) bool {
		for _, r := range srv.Receipts() {
			if slices.Contains(r.Responses, pdu.StatusThrottled) {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("no receipt was throttled: %v", err)
	}
	_ = held.Ack(pdu.StatusOK)
	for range 2 {
		_ = in.next(t).Ack(pdu.StatusOK)
	}
	if _, err := srv.WaitFor(ctx10(t), func(st smsc.Stats) bool { return st.ReceiptsAcked == 3 }); err != nil {
		t.Fatalf("%v: receipts %+v", err, srv.Receipts())
	}
}

// A receipt for an id the simulator never issued: queued until a receiver
// binds, carried in the text and the TLVs, offered again after
// ESME_RTHROTTLED like every receipt, and counted.
func TestServer_InjectReceipt(t *testing.T) {
	srv := startServer(t, smsc.Options{ReceiptAttempts: 1, RetryDelay: 5 * time.Millisecond})
	if err := srv.InjectReceipt("agent", "FFFF0001", "358401234567", "12345", smsc.Delivered); err != nil {
		t.Fatal(err)
	}
	if err := srv.InjectReceipt("agent", "x", "358401234567", "12345", smsc.NoReceipt); err == nil {
		t.Error("InjectReceipt with NoReceipt: no error")
	}
	in := make(inbox, 8)
	bind(t, srv, smpp.Receiver, smpp.SessionOptions{Handler: in.handle})
	first := in.next(t)
	_ = first.Ack(pdu.StatusThrottled)
	again := in.next(t)
	rc := parseReceipt(t, again)
	d := again.PDU.(*pdu.DeliverSM)
	if rc.ID != "FFFF0001" || rc.Status != dlr.Delivered || d.Source.Addr != "358401234567" || d.Dest.Addr != "12345" {
		t.Errorf("receipt %+v from %s to %s", rc, d.Source.Addr, d.Dest.Addr)
	}
	if id, _ := d.TLVs.ReceiptedMessageID(); id != "FFFF0001" {
		t.Errorf("receipted_message_id %q", id)
	}
	_ = again.Ack(pdu.StatusOK)
	if _, err := srv.WaitFor(ctx10(t), func(st smsc.Stats) bool { return st.ReceiptsAcked == 1 }); err != nil {
		t.Fatalf("%v: stats %+v", err, srv.Stats())
	}
	if st := srv.Stats(); st.ReceiptsQueued != 1 || st.ReceiptsSent != 2 {
		t.Errorf("stats %+v, want 1 queued and 2 sent", st)
	}
}

// Rule.Intermediate sends an intermediate receipt first; the final one is
// queued only once the ESME has answered it, so the two cannot cross even
// over several receiver sessions.
func TestServer_receiptIntermediate(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	srv := startServer(t, smsc.Options{Clock: func() time.Time { return now }, Rules: []smsc.Rule{
		{Prefix: "3581", Outcome: smsc.Undeliverable, Err: 11, Intermediate: "ENROUTE"},
		{Prefix: "3582", Outcome: smsc.Delivered, Intermediate: "ACCEPTD"},
	}})
	in := make(inbox, 4)
	s := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: in.handle})
	for _, c := range []struct {
		dest         string
		first, final string
		firstState   pdu.MessageState
		finalStatus  dlr.Status
	}{
		{"358101234567", "dlvrd:000 submit date:2603040506 done date:2603040506 stat:ENROUTE err:000 text:bad news",
			"dlvrd:000 submit date:2603040506 done date:2603040506 stat:UNDELIV err:011 text:bad news",
			pdu.StateEnroute, dlr.Undeliverable},
		{"358201234567", "dlvrd:000 submit date:2603040506 done date:2603040506 stat:ACCEPTD err:000 text:good news",
			"dlvrd:001 submit date:2603040506 done date:2603040506 stat:DELIVRD err:000 text:good news",
			pdu.StateAccepted, dlr.Delivered},
	} {
		text := "bad news"
		if c.finalStatus == dlr.Delivered {
			text = "good news"
		}
		before := srv.Stats().ReceiptsQueued
		resp, err := s.Submit(ctx10(t), sm(c.dest, text))
		if err != nil {
			t.Fatal(err)
		}
		r := in.next(t)
		if got, want := string(r.PDU.(*pdu.DeliverSM).ShortMessage), "id:"+resp.MessageID+" sub:001 "+c.first; got != want {
			t.Errorf("first receipt\n got %q\nwant %q", got, want)
		}
		if rc := parseReceipt(t, r); rc.ID != resp.MessageID || rc.MessageState != uint8(c.firstState) {
			t.Errorf("first receipt parsed %+v", rc)
		}
		if q := srv.Stats().ReceiptsQueued - before; q != 1 {
			t.Errorf("%d receipts queued before the intermediate one is answered, want 1", q)
		}
		if err := r.Ack(pdu.StatusOK); err != nil {
			t.Fatal(err)
		}
		r = in.next(t)
		if got, want := string(r.PDU.(*pdu.DeliverSM).ShortMessage), "id:"+resp.MessageID+" sub:001 "+c.final; got != want {
			t.Errorf("final receipt\n got %q\nwant %q", got, want)
		}
		if rc := parseReceipt(t, r); rc.ID != resp.MessageID || rc.Status != c.finalStatus {
			t.Errorf("final receipt parsed %+v", rc)
		}
		if err := r.Ack(pdu.StatusOK); err != nil {
			t.Fatal(err)
		}
	}
	var stats []string
	for _, rec := range srv.Receipts() {
		stats = append(stats, rec.Stat)
	}
	if want := []string{"ENROUTE", "UNDELIV", "ACCEPTD", "DELIVRD"}; !slices.Equal(stats, want) {
		t.Errorf("receipts recorded %v, want %v", stats, want)
	}
}
