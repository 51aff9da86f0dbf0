package smsc_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/coding"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// segment reads an MO part the way the agent does: header or SAR TLVs,
// then the user data.
func segment(t testing.TB, d *pdu.DeliverSM) coding.Segment {
	t.Helper()
	seg := coding.Segment{From: d.Source.Addr, To: d.Dest.Addr, DataCoding: byte(d.DataCoding), Data: d.ShortMessage}
	if p, ok := d.TLVs.MessagePayload(); ok {
		seg.Data = p
	}
	if d.ESMClass.UDHI() {
		udh, rest, err := coding.ParseUDH(seg.Data)
		if err != nil {
			t.Fatal(err)
		}
		seg.Data = rest
		seg.Concat, _ = udh.Concat()
	}
	if ref, ok := d.TLVs.SARMsgRefNum(); ok {
		total, _ := d.TLVs.SARTotalSegments()
		seq, _ := d.TLVs.SARSegmentSeqnum()
		seg.Concat = coding.Concat{Kind: coding.RefSAR, Ref: ref, Total: int(total), Seq: int(seq)}
	}
	return seg
}

// MO messages arrive as deliver_sm, split as asked, and join back to the
// text injected; every part's deliver_sm_resp is recorded.
func TestServer_InjectMO(t *testing.T) {
	checkNoLeak(t)
	srv := startServer(t, smsc.Options{})
	in := make(inbox, 16)
	bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: in.handle})
	long := strings.Repeat("Brackets [x] and ~tilde~ count twice. ", 7)
	emoji := strings.Repeat("Grüße 😀 ", 20)
	for _, tc := range []struct {
		name string
		text string
		o    smsc.MOOptions
		dcs  pdu.DataCoding
	}{
		{"single", "Hello", smsc.MOOptions{}, pdu.CodingDefault},
		{"udh8 gsm", long, smsc.MOOptions{Ref: 200}, pdu.CodingDefault},
		{"udh16 ucs2", emoji, smsc.MOOptions{Method: coding.SplitUDH16, Ref: 0x1234}, pdu.CodingUCS2},
		{"sar", emoji, smsc.MOOptions{Method: coding.SplitSAR}, pdu.CodingUCS2},
		{"payload", long, smsc.MOOptions{Method: coding.SplitPayload}, pdu.CodingDefault},
		{"latin1", "Ça coûte 5 £? Non: 5 ¤", smsc.MOOptions{Encoding: coding.Latin1}, pdu.CodingLatin1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mo, err := srv.InjectMO("agent", "358401234567", "12345", tc.text, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			re := coding.NewReassembler(coding.ReassemblerOptions{})
			var got []coding.Reassembled
			for range mo.Parts {
				r := in.next(t)
				d := r.PDU.(*pdu.DeliverSM)
				if d.DataCoding != tc.dcs || d.Source != (pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "358401234567"}) || d.Dest.Addr != "12345" {
					t.Errorf("part: dcs 0x%02X from %s to %s", d.DataCoding, d.Source, d.Dest)
				}
				ready, dup := re.Add(segment(t, d))
				if dup {
					t.Error("duplicate part")
				}
				got = append(got, ready...)
				_ = r.Ack(pdu.StatusOK)
			}
			if len(got) != 1 || got[0].Text != tc.text || got[0].Incomplete {
				t.Fatalf("reassembled %+v, want %q", got, tc.text)
			}
			if acked, err := mo.Wait(ctx10(t)); err != nil || !acked {
				t.Fatalf("Wait = %v, %v", acked, err)
			}
			for i, rs := range mo.Responses() {
				if !slices.Equal(rs, []pdu.Status{pdu.StatusOK}) {
					t.Errorf("part %d responses %v", i+1, rs)
				}
			}
		})
	}
	if len(srv.MOs()) != 6 {
		t.Errorf("%d MOs recorded", len(srv.MOs()))
	}
}

// A part the ESME refuses comes again until it is acknowledged or the
// attempts run out; the statuses tell the story.
func TestServer_InjectMO_redelivery(t *testing.T) {
	srv := startServer(t, smsc.Options{RetryDelay: 1})
	in := make(inbox, 4)
	bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: in.handle})

	mo, err := srv.InjectMO("agent", "358401234567", "12345", "store me", smsc.MOOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = in.next(t).Ack(pdu.StatusXTAppn) // not committed: try again
	_ = in.next(t).Ack(pdu.StatusOK)
	if acked, _ := mo.Wait(ctx10(t)); !acked {
		t.Error("not acknowledged")
	}
	if rs := mo.Responses(); !slices.Equal(rs[0], []pdu.Status{pdu.StatusXTAppn, pdu.StatusOK}) {
		t.Errorf("responses %v", rs)
	}

	mo, err = srv.InjectMO("agent", "358401234567", "12345", "refused", smsc.MOOptions{Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	_ = in.next(t).Ack(pdu.StatusXPAppn)
	_ = in.next(t).Ack(pdu.StatusXPAppn)
	if acked, err := mo.Wait(ctx10(t)); err != nil || acked {
		t.Errorf("Wait = %v, %v; want settled, not acknowledged", acked, err)
	}
	if rs := mo.Responses(); !slices.Equal(rs[0], []pdu.Status{pdu.StatusXPAppn, pdu.StatusXPAppn}) {
		t.Errorf("responses %v", rs)
	}
}

// MO messages wait for a receiver, and a session that ends before
// answering does not lose them.
func TestServer_InjectMO_queued(t *testing.T) {
	srv := startServer(t, smsc.Options{})
	mo, err := srv.InjectMO("agent", "358401234567", "12345", "wait for me", smsc.MOOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bind(t, srv, smpp.Transmitter, smpp.SessionOptions{}) // a transmitter takes none
	in := make(inbox, 1)
	first := bind(t, srv, smpp.Receiver, smpp.SessionOptions{Handler: in.handle})
	in.next(t) // never answered
	if err := first.Close(ctx10(t)); err != nil {
		t.Fatal(err)
	}
	in2 := make(inbox, 1)
	bind(t, srv, smpp.Receiver, smpp.SessionOptions{Handler: in2.handle})
	r := in2.next(t)
	if d := r.PDU.(*pdu.DeliverSM); string(d.ShortMessage) != "wait for me" {
		t.Errorf("got %q", d.ShortMessage)
	}
	_ = r.Ack(pdu.StatusOK)
	if acked, _ := mo.Wait(ctx10(t)); !acked || mo.Lost() != 1 {
		t.Errorf("acked %v, lost %d", acked, mo.Lost())
	}
}

// An answer lost with the connection: the simulator drops the link when
// the ESME's deliver_sm_resp arrives, and the part, with its id, comes
// again on the next session.
func TestServer_InjectMO_lostAnswer(t *testing.T) {
	const tag = pdu.Tag(0x1403)
	srv := startServer(t, smsc.Options{RetryDelay: 1, MOIDTag: tag})
	in := make(inbox, 4)
	first := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: in.handle})
	srv.SetFaults(smsc.Faults{LoseMOResponses: 1})

	mo, err := srv.InjectMO("agent", "358401234567", "12345", "OK", smsc.MOOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := srv.InjectMO("agent", "358401234567", "12345", "OK", smsc.MOOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(mo.IDs) != 1 || len(other.IDs) != 1 || mo.IDs[0] == other.IDs[0] {
		t.Fatalf("ids %v and %v, want one each, different", mo.IDs, other.IDs)
	}
	r := in.next(t)
	id, _ := r.PDU.(*pdu.DeliverSM).TLVs.CString(tag)
	if id != mo.IDs[0] {
		t.Fatalf("first deliver_sm carries id %q, want %q", id, mo.IDs[0])
	}
	_ = r.Ack(pdu.StatusOK)
	select {
	case <-first.Done():
	case <-ctx10(t).Done():
		t.Fatal("the connection stayed up after the lost answer")
	}
	if f := srv.Faults(); f.LoseMOResponses != 0 {
		t.Errorf("LoseMOResponses left %d", f.LoseMOResponses)
	}

	in2 := make(inbox, 4)
	bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: in2.handle})
	ids := map[string]int{}
	for range 2 {
		r := in2.next(t)
		id, _ := r.PDU.(*pdu.DeliverSM).TLVs.CString(tag)
		ids[id]++
		_ = r.Ack(pdu.StatusOK)
	}
	if ids[mo.IDs[0]] != 1 || ids[other.IDs[0]] != 1 {
		t.Errorf("second session got ids %v, want %s (again) and %s", ids, mo.IDs[0], other.IDs[0])
	}
	// At least the answer the fault took; the dying session may have been
	// offered the part once more before it noticed its end.
	if acked, _ := mo.Wait(ctx10(t)); !acked || mo.Lost() < 1 {
		t.Errorf("acked %v, lost %d; want acknowledged after a lost answer", acked, mo.Lost())
	}
	if rs := mo.Responses(); !slices.Equal(rs[0], []pdu.Status{pdu.StatusOK}) {
		t.Errorf("responses %v: the lost answer is not one", rs)
	}
}

// MOOptions.Lose: the parts named are never sent; the MO is settled when
// the others are.
func TestServer_InjectMO_lose(t *testing.T) {
	srv := startServer(t, smsc.Options{})
	in := make(inbox, 4)
	bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: in.handle})
	long := strings.Repeat("Three parts of GSM text. ", 14)
	mo, err := srv.InjectMO("agent", "358401234567", "12345", long, smsc.MOOptions{Ref: 9, Lose: []int{2}})
	if err != nil {
		t.Fatal(err)
	}
	if mo.Parts != 3 {
		t.Fatalf("%d parts, want 3", mo.Parts)
	}
	var seqs []int
	for range 2 {
		r := in.next(t)
		seg := segment(t, r.PDU.(*pdu.DeliverSM))
		seqs = append(seqs, seg.Concat.Seq)
		_ = r.Ack(pdu.StatusOK)
	}
	if !slices.Equal(seqs, []int{1, 3}) {
		t.Errorf("parts sent %v, want [1 3]", seqs)
	}
	if acked, err := mo.Wait(ctx10(t)); err != nil || !acked {
		t.Errorf("Wait = %v, %v", acked, err)
	}
	select {
	case r := <-in:
		t.Errorf("a lost part was sent: %+v", r.PDU)
	default:
	}
	if _, err := srv.InjectMO("agent", "358401234567", "12345", "one", smsc.MOOptions{Lose: []int{1}}); err == nil {
		t.Error("an MO with every part lost was injected")
	}
}
