package agent

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/smpp/coding"
	"github.com/smsagent/smsagent/smpp/dlr"
	"github.com/smsagent/smsagent/smpp/pdu"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func deliver(esm pdu.ESMClass, dcs pdu.DataCoding, msg string, tlvs pdu.TLVs) *pdu.DeliverSM {
	return &pdu.DeliverSM{
		Source: pdu.Address{TON: 1, NPI: 1, Addr: "358401234567"}, Dest: pdu.Address{Addr: "12345"},
		ESMClass: esm, DataCoding: dcs, ShortMessage: []byte(msg), TLVs: tlvs,
	}
}

func shortOf(p *pdu.DeliverSM) *short {
	m := &short{esm: byte(p.ESMClass), dataCoding: byte(p.DataCoding), source: number(p.Source), dest: number(p.Dest),
		data: p.ShortMessage, tlvs: p.TLVs}
	if len(m.data) == 0 {
		m.data, _ = p.TLVs.MessagePayload()
	}
	return m
}

// TestReceiver_receipt maps receipts (SMPP 3.4 Appendix B text, and the
// TLVs that win over it) onto the domain's Receipt.
func TestReceiver_receipt(t *testing.T) {
	h := &receiver{acct: &account{name: "default"}, rule: dlr.HexDec, log: slog.New(slog.DiscardHandler)}
	var tlvs pdu.TLVs
	tlvs.SetReceiptedMessageID("00AB\x00")
	tlvs.SetMessageState(pdu.MessageState(5)) // UNDELIVERABLE
	tlvs.SetNetworkErrorCode(pdu.NetworkErrorCode{Type: 3, Code: 1})
	tests := []struct {
		name string
		p    *pdu.DeliverSM
		want smsagent.Receipt
	}{
		{"text", deliver(0x04, 0, "id:870928761 sub:001 dlvrd:001 submit date:2611251200 done date:2611251201 stat:DELIVRD err:000 text:hi", nil),
			smsagent.Receipt{SMSCID: "870928761", Keys: []string{"33e95179"}, State: smsagent.StateDelivered, Stat: "DELIVRD",
				Err: "000", Done: time.Date(2026, 11, 25, 12, 1, 0, 0, time.UTC)}},
		{"intermediate", deliver(0x20, 0, "id:42 stat:ENROUTE err:0", nil),
			smsagent.Receipt{SMSCID: "42", Keys: []string{"2a"}, State: smsagent.StateSent, Stat: "ENROUTE", Err: "0"}},
		{"TLVs win", deliver(0x44, 8, "id:99 stat:DELIVRD", tlvs),
			smsagent.Receipt{SMSCID: "00AB", Keys: []string{"ab"}, State: smsagent.StateUndeliverable, Stat: "DELIVRD",
				Err: "GSM:0x0001"}},
		{"TLVs only", deliver(0x04, 0, "", tlvs),
			smsagent.Receipt{SMSCID: "00AB", Keys: []string{"ab"}, State: smsagent.StateUndeliverable, Stat: "UNDELIVERABLE",
				Err: "GSM:0x0001"}},
		{"no id", deliver(0x04, 0, "stat:DELIVRD", nil),
			smsagent.Receipt{State: smsagent.StateFailed, Text: "stat:DELIVRD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := h.receipt(shortOf(tt.p), t0)
			w := tt.want
			w.Received, w.Source, w.Dest = t0, "+358401234567", "12345"
			if w.Text == "" {
				w.Text = got.Text // the raw text is kept for unmatched reports; compared below
			}
			if got.SMSCID != w.SMSCID || !slices.Equal(got.Keys, w.Keys) || got.State != w.State || got.Stat != w.Stat ||
				got.Err != w.Err || !got.Done.Equal(w.Done) || got.Received != w.Received || got.Source != w.Source ||
				got.Dest != w.Dest || got.Text != w.Text {
				t.Errorf("\n got %+v\nwant %+v", got, w)
			}
		})
	}
}

// TestMOPart reads the concatenation of incoming parts from an 8-bit or
// 16-bit reference UDH (3GPP TS 23.040 §9.2.3.24.1, .8) or the SAR TLVs
// (SMPP 3.4 §5.3.2.22-24), strips the header and keys the set with
// coding.ConcatKey.
func TestMOPart(t *testing.T) {
	var sar pdu.TLVs
	sar.SetSARMsgRefNum(0x1234)
	sar.SetSARTotalSegments(3)
	sar.SetSARSegmentSeqnum(2)
	from, to := "+358401234567", "12345"
	tests := []struct {
		name       string
		p          *pdu.DeliverSM
		key        string
		total, seq int
		data       string
	}{
		{"single", deliver(0, 0, "hello", nil), "", 1, 1, "hello"},
		{"udh8", deliver(0x40, 0, "\x05\x00\x03\x07\x02\x01abc", nil),
			coding.ConcatKey(from, to, coding.Ref8, 7, 2), 2, 1, "abc"},
		{"udh16", deliver(0x40, 8, "\x06\x08\x04\x01\x02\x03\x03\x00a", nil),
			coding.ConcatKey(from, to, coding.Ref16, 0x0102, 3), 3, 3, "\x00a"},
		{"sar", deliver(0, 0, "xyz", sar), coding.ConcatKey(from, to, coding.RefSAR, 0x1234, 3), 3, 2, "xyz"},
		{"part 0 is a message of its own", deliver(0x40, 0, "\x05\x00\x03\x07\x02\x00abc", nil), "", 1, 1, "abc"},
		{"port header only", deliver(0x40, 4, "\x06\x05\x04\x0b\x84\x23\xf0data", nil), "", 1, 1, "data"},
		{"bad UDH kept as data", deliver(0x40, 0, "\x09\x00\x03", nil), "", 1, 1, "\x09\x00\x03"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := moPart(shortOf(tt.p), t0)
			if got.Key != tt.key || got.Total != tt.total || got.Seq != tt.seq || string(got.Data) != tt.data ||
				got.From != from || got.To != to || got.DataCoding != byte(tt.p.DataCoding) || got.Received != t0 {
				t.Errorf("got %+v", got)
			}
		})
	}
}

// TestFingerprint: a redelivery of the same deliver_sm has the same print;
// any difference in what it carries gives another.
func TestFingerprint(t *testing.T) {
	a := deliver(0, 0, "hello", nil)
	b := deliver(0, 0, "hello", nil)
	c := deliver(0, 0, "hellp", nil)
	d := deliver(0, 0, "hello", nil)
	d.Source.Addr = "358401234568"
	if fingerprint(a) != fingerprint(b) {
		t.Error("the same deliver_sm has two fingerprints")
	}
	if fingerprint(a) == fingerprint(c) || fingerprint(a) == fingerprint(d) {
		t.Error("different messages share a fingerprint")
	}
	ds := &pdu.DataSM{Source: a.Source, Dest: a.Dest}
	ds.TLVs.SetMessagePayload([]byte("hello"))
	if fingerprint(ds) == fingerprint(a) {
		t.Error("data_sm and deliver_sm share a fingerprint")
	}
}

// TestReceiver_print: the fingerprint an incoming part gets under each
// mo.duplicates rule.
func TestReceiver_print(t *testing.T) {
	const tag = pdu.Tag(0x1403)
	withID := func(id, text string) *pdu.DeliverSM {
		var tlvs pdu.TLVs
		if id != "" {
			tlvs.SetCString(tag, id)
		}
		return deliver(0, 0, text, tlvs)
	}
	printOf := func(dups config.Duplicates, p *pdu.DeliverSM) string {
		h := &receiver{acct: &account{name: "default"}, dups: dups, idTag: tag}
		m := shortOf(p)
		mo := moPart(m, t0)
		return h.print(m, p, &mo)
	}
	ok1, ok2 := withID("A1", "OK"), withID("A2", "OK")
	if got := printOf(config.DuplicatesWindow, ok1); got != fingerprint(ok1) || got == "" {
		t.Errorf("window: %q, want the whole deliver_sm's fingerprint", got)
	}
	if got := printOf(config.DuplicatesOff, ok1); got != "" {
		t.Errorf("off: %q, want none", got)
	}
	if printOf(config.DuplicatesSMSCID, ok1) == printOf(config.DuplicatesSMSCID, ok2) {
		t.Error("smsc_id: two ids, one print")
	}
	// A retry on which the SMSC changed another field is still the same
	// message under its id.
	retry := withID("A1", "OK")
	retry.ScheduleDeliveryTime = "261125120000000+"
	if printOf(config.DuplicatesSMSCID, ok1) != printOf(config.DuplicatesSMSCID, retry) {
		t.Error("smsc_id: the same id with another field, two prints")
	}
	if fingerprint(ok1) == fingerprint(ok2) {
		t.Error("window: two ids in a TLV, one print")
	}
	if got := printOf(config.DuplicatesSMSCID, withID("", "OK")); got != "" {
		t.Errorf("smsc_id without the TLV: %q, want none", got)
	}
	other := withID("A1", "OK")
	other.Source.Addr = "358409999999"
	if printOf(config.DuplicatesSMSCID, ok1) == printOf(config.DuplicatesSMSCID, other) {
		t.Error("smsc_id: the same id from two senders, one print")
	}
}
