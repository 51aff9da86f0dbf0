package smsc_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/coding"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

func refusal(err error) pdu.Status {
	var re *smpp.RequestError
	if errors.As(err, &re) {
		return re.Status
	}
	return pdu.StatusOK
}

// Each fault in a submit_sm is answered with its own status, as an SMSC
// would; nothing faulty is accepted.
func TestServer_submitValidation(t *testing.T) {
	srv := startServer(t, smsc.Options{})
	s := bind(t, srv, smpp.Transmitter, smpp.SessionOptions{})
	long := bytes.Repeat([]byte("a"), 161)
	udh := []byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x01}
	for _, tc := range []struct {
		name string
		edit func(*pdu.SubmitSM)
		want pdu.Status
	}{
		{"valid", func(*pdu.SubmitSM) {}, pdu.StatusOK},
		{"alphanumeric destination", func(p *pdu.SubmitSM) { p.Dest = pdu.Address{TON: pdu.TONAlphanumeric, Addr: "ACME"} }, pdu.StatusInvDstTON},
		{"letters in destination", func(p *pdu.SubmitSM) { p.Dest.Addr = "35840ABC" }, pdu.StatusInvDstAdr},
		{"empty destination", func(p *pdu.SubmitSM) { p.Dest.Addr = "" }, pdu.StatusInvDstAdr},
		{"destination npi", func(p *pdu.SubmitSM) { p.Dest.NPI = 2 }, pdu.StatusInvDstNPI},
		{"long alphanumeric sender", func(p *pdu.SubmitSM) { p.Source.Addr = "TWELVE_CHARS" }, pdu.StatusInvSrcAdr},
		{"letters in numeric sender", func(p *pdu.SubmitSM) {
			p.Source = pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "35840x"}
		}, pdu.StatusInvSrcAdr},
		{"source ton", func(p *pdu.SubmitSM) { p.Source.TON = 7 }, pdu.StatusInvSrcTON},
		{"161 septets", func(p *pdu.SubmitSM) { p.ShortMessage = long }, pdu.StatusInvMsgLen},
		{"160 septets", func(p *pdu.SubmitSM) { p.ShortMessage = long[:160] }, pdu.StatusOK},
		{"153 septets after a header", func(p *pdu.SubmitSM) {
			p.ESMClass = pdu.ESMUDHI
			p.ShortMessage = append(append([]byte{}, udh...), long[:153]...)
		}, pdu.StatusOK},
		{"154 septets after a header", func(p *pdu.SubmitSM) {
			p.ESMClass = pdu.ESMUDHI
			p.ShortMessage = append(append([]byte{}, udh...), long[:154]...)
		}, pdu.StatusInvMsgLen},
		{"141 octets of UCS-2", func(p *pdu.SubmitSM) { p.DataCoding = pdu.CodingUCS2; p.ShortMessage = long[:141] }, pdu.StatusInvMsgLen},
		{"odd UCS-2", func(p *pdu.SubmitSM) { p.DataCoding = pdu.CodingUCS2; p.ShortMessage = long[:3] }, pdu.StatusInvMsgLen},
		{"UDHI without a header", func(p *pdu.SubmitSM) { p.ESMClass = pdu.ESMUDHI; p.ShortMessage = []byte{0x09, 0x00} }, pdu.StatusInvEsmClass},
		{"receipt type in a submission", func(p *pdu.SubmitSM) { p.ESMClass = pdu.ESMTypeDeliveryReceipt }, pdu.StatusInvEsmClass},
		{"reserved data_coding", func(p *pdu.SubmitSM) { p.DataCoding = 0x80 }, pdu.StatusSubmitFail},
		{"registered_delivery 3", func(p *pdu.SubmitSM) { p.RegisteredDelivery = 3 }, pdu.StatusInvRegDlvFlg},
		{"priority 4", func(p *pdu.SubmitSM) { p.PriorityFlag = 4 }, pdu.StatusInvPrtFlg},
		{"replace_if_present 2", func(p *pdu.SubmitSM) { p.ReplaceIfPresent = 2 }, pdu.StatusInvRepFlag},
		{"relative validity, fields not capped", func(p *pdu.SubmitSM) { p.ValidityPeriod = "991399000000000R" }, pdu.StatusOK},
		{"bad absolute validity", func(p *pdu.SubmitSM) { p.ValidityPeriod = "261399000000000+" }, pdu.StatusInvExpiry},
		{"bad schedule", func(p *pdu.SubmitSM) { p.ScheduleDeliveryTime = "26010203040500XX" }, pdu.StatusInvSched},
		{"short_message and message_payload", func(p *pdu.SubmitSM) { p.TLVs.SetMessagePayload([]byte("more")) }, pdu.StatusInvMsgLen},
		{"message_payload alone", func(p *pdu.SubmitSM) { p.ShortMessage = nil; p.TLVs.SetMessagePayload(long) }, pdu.StatusOK},
		{"part of SAR", func(p *pdu.SubmitSM) { p.TLVs.SetSARMsgRefNum(1) }, pdu.StatusMissingOptParam},
		{"SAR segment 3 of 2", func(p *pdu.SubmitSM) {
			p.TLVs.SetSARMsgRefNum(1)
			p.TLVs.SetSARTotalSegments(2)
			p.TLVs.SetSARSegmentSeqnum(3)
		}, pdu.StatusInvOptParamVal},
		{"SAR and a concatenation header", func(p *pdu.SubmitSM) {
			p.ESMClass = pdu.ESMUDHI
			p.ShortMessage = append(append([]byte{}, udh...), 'x')
			p.TLVs.SetSARMsgRefNum(1)
			p.TLVs.SetSARTotalSegments(2)
			p.TLVs.SetSARSegmentSeqnum(1)
		}, pdu.StatusInvOptParamVal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := sm("358401234567", "hello")
			tc.edit(p)
			_, err := s.Submit(ctx10(t), p)
			if got := refusal(err); got != tc.want || (tc.want == pdu.StatusOK && err != nil) {
				t.Errorf("got %v, want %s", err, tc.want.String())
			}
		})
	}
}

// Rules by destination prefix refuse a submission with the status asked
// for; ids come from the format configured.
func TestServer_rulesAndIDs(t *testing.T) {
	srv := startServer(t, smsc.Options{
		MessageID: smsc.DecimalID,
		Rules:     []smsc.Rule{{Prefix: "999", Outcome: smsc.Refused, Status: pdu.StatusInvDstAdr}},
	})
	s := bind(t, srv, smpp.Transmitter, smpp.SessionOptions{})
	if _, err := s.Submit(ctx10(t), sm("99912345", "x")); refusal(err) != pdu.StatusInvDstAdr {
		t.Errorf("rule: %v", err)
	}
	for _, want := range []string{"1", "2"} {
		resp, err := s.Submit(ctx10(t), sm("358401234567", "x"))
		if err != nil || resp.MessageID != want {
			t.Errorf("id %v %v, want %s", resp, err, want)
		}
	}
	if got := smsc.HexID(0x2A); got != "0000002A" {
		t.Errorf("HexID = %q", got)
	}
	if got := smsc.HexID(0x1234567890); got != "1234567890" {
		t.Errorf("HexID = %q", got)
	}
}

// data_sm and submit_multi are accepted too, each with its own response.
func TestServer_dataSMAndSubmitMulti(t *testing.T) {
	srv := startServer(t, smsc.Options{Rules: []smsc.Rule{{Prefix: "999", Outcome: smsc.Refused, Status: pdu.StatusInvDstAdr}}})
	s := bind(t, srv, smpp.Transmitter, smpp.SessionOptions{})
	res := make(chan smpp.Result, 2)
	ds := &pdu.DataSM{
		Source: pdu.Address{TON: pdu.TONAlphanumeric, Addr: "ACME"},
		Dest:   pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "358401234567"},
	}
	ds.TLVs.SetMessagePayload([]byte("payload text"))
	if err := s.Send(ctx10(t), ds, func(r smpp.Result) { res <- r }); err != nil {
		t.Fatal(err)
	}
	if r := <-res; r.Err != nil || r.Resp.(*pdu.DataSMResp).MessageID == "" {
		t.Fatalf("data_sm: %+v", r)
	}
	multi := &pdu.SubmitMulti{
		Source: pdu.Address{TON: pdu.TONAlphanumeric, Addr: "ACME"},
		Dests: []pdu.DestAddress{
			{Flag: pdu.DestSMEAddress, Address: pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "358401111111"}},
			{Flag: pdu.DestSMEAddress, Address: pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "99922222"}},
		},
		ShortMessage: []byte("to two"),
	}
	if err := s.Send(ctx10(t), multi, func(r smpp.Result) { res <- r }); err != nil {
		t.Fatal(err)
	}
	r := <-res
	mr, _ := r.Resp.(*pdu.SubmitMultiResp)
	if r.Err != nil || mr == nil || len(mr.Unsuccess) != 1 || mr.Unsuccess[0].Status != pdu.StatusInvDstAdr {
		t.Fatalf("submit_multi: %+v", r)
	}
	subs := srv.Submits()
	if len(subs) != 2 || subs[0].Text != "payload text" || !subs[0].Payload || subs[1].Dest.Addr != "358401111111" {
		t.Errorf("recorded %+v", subs)
	}
}

// What the simulator records of each part, and how it joins the parts:
// 8-bit and 16-bit headers and SAR, GSM with extension characters and
// UCS-2 with a surrogate pair cut between two parts; a part sent twice is
// a duplicate, a different part under the same numbers a conflict.
func TestServer_records(t *testing.T) {
	srv := startServer(t, smsc.Options{})
	s := bind(t, srv, smpp.Transmitter, smpp.SessionOptions{})
	long := strings.Repeat("Curly {braces} cost two septets; € too. ", 6)
	emoji := strings.Repeat("ab😀", 30) // the surrogate pairs fall across the 67-unit boundary
	texts := []struct {
		text   string
		method coding.Method
	}{
		{"short and plain", coding.SplitUDH8},
		{long, coding.SplitUDH8},
		{long, coding.SplitUDH16},
		{emoji, coding.SplitSAR},
		{emoji, coding.SplitPayload},
	}
	for i, tc := range texts {
		dest := "35840000000" + string(rune('0'+i))
		for _, p := range splitSM(t, dest, tc.text, coding.Options{Method: tc.method, Ref: 7}) {
			if _, err := s.Submit(ctx10(t), p); err != nil {
				t.Fatalf("text %d: %v", i, err)
			}
		}
	}
	msgs := srv.Messages()
	if len(msgs) != len(texts) {
		t.Fatalf("%d messages, want %d", len(msgs), len(texts))
	}
	for i, m := range msgs {
		if !m.Complete || m.Text != texts[i].text || m.Duplicates != 0 {
			t.Errorf("message %d: complete %v dups %d text %q, want %q", i, m.Complete, m.Duplicates, m.Text, texts[i].text)
		}
	}
	subs := srv.Submits()
	if first := subs[1]; first.Concat.Kind != coding.Ref8 || first.Concat.Ref != 7 || first.Concat.Seq != 1 ||
		len(first.UDH) != 6 || first.ESMClass&pdu.ESMUDHI == 0 || first.DataCoding != pdu.CodingDefault {
		t.Errorf("first part of the long text: %+v", first)
	}
	var sar smsc.Submit
	for _, sub := range subs {
		if sub.SAR {
			sar = sub
			break
		}
	}
	if sar.Concat.Kind != coding.RefSAR || sar.UDH != nil || sar.DataCoding != pdu.CodingUCS2 {
		t.Errorf("SAR part: %+v", sar)
	}

	// The second part of the long text again, then a different second part
	// under the same reference.
	parts := splitSM(t, "358400000001", long, coding.Options{Ref: 7})
	if _, err := s.Submit(ctx10(t), parts[1]); err != nil {
		t.Fatal(err)
	}
	other := splitSM(t, "358400000001", strings.Repeat("x", len(long)), coding.Options{Ref: 7})
	if _, err := s.Submit(ctx10(t), other[1]); err != nil {
		t.Fatal(err)
	}
	m := srv.Messages()[1]
	if m.Duplicates != 1 || m.Conflicts != 1 || m.Text != long {
		t.Errorf("after a repeat and a conflict: %+v", m)
	}
	if st := srv.Stats(); st.Duplicates != 1 || st.Conflicts != 1 || st.Messages != len(texts) {
		t.Errorf("stats %+v", st)
	}
}

// splitSM turns a text into the submit_sm of its parts.
func splitSM(t testing.TB, dest, text string, o coding.Options) []*pdu.SubmitSM {
	t.Helper()
	plan, parts, err := coding.Split(text, o)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*pdu.SubmitSM, len(parts))
	for i, part := range parts {
		p := sm(dest, "")
		p.DataCoding = pdu.DataCoding(plan.DataCoding)
		if part.UDHI {
			p.ESMClass |= pdu.ESMUDHI
		}
		if o.Method == coding.SplitPayload {
			p.ShortMessage = nil
			p.TLVs.SetMessagePayload(part.Message)
		} else {
			p.ShortMessage = part.Message
		}
		if part.SAR {
			p.TLVs.SetSARMsgRefNum(part.Ref)
			p.TLVs.SetSARTotalSegments(uint8(part.Total))
			p.TLVs.SetSARSegmentSeqnum(uint8(part.Seq))
		}
		out[i] = p
	}
	return out
}

// TestServer_OnAccept: the hook sees each accepted submission, with the
// counters only, before its response reaches the ESME; refused ones never.
func TestServer_OnAccept(t *testing.T) {
	seen := make(chan string, 4)
	srv := startServer(t, smsc.Options{CountersOnly: true,
		Rules:    []smsc.Rule{{Prefix: "999", Outcome: smsc.Refused, Status: pdu.StatusInvDstAdr}},
		OnAccept: func(sub *smsc.Submit) { seen <- sub.Dest.Addr + " " + sub.MessageID }})
	s := bind(t, srv, smpp.Transmitter, smpp.SessionOptions{})
	resp, err := s.Submit(ctx10(t), sm("358401234567", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-seen:
		if want := "358401234567 " + resp.MessageID; got != want {
			t.Errorf("OnAccept saw %q, want %q", got, want)
		}
	default:
		t.Fatal("the response came before OnAccept was called")
	}
	if _, err := s.Submit(ctx10(t), sm("999", "refused")); err == nil {
		t.Fatal("submit to 999 accepted, want refused")
	}
	if len(seen) != 0 {
		t.Errorf("OnAccept called for a refused submission: %q", <-seen)
	}
}
