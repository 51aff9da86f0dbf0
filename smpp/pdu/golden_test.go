package pdu_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// golden is one PDU whose wire form was derived by hand from the spec and
// written, field by field, to testdata/golden/<name>.hex.
type golden struct {
	name   string
	status pdu.Status
	seq    uint32
	p      pdu.PDU
}

var acme = pdu.Address{TON: pdu.TONAlphanumeric, NPI: pdu.NPIUnknown, Addr: "ACME"}
var mobile = pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "358401234567"}
var shortCode = pdu.Address{TON: pdu.TONUnknown, NPI: pdu.NPIISDN, Addr: "12345"}

func goldens() []golden {
	return []golden{
		{"bind_transmitter", 0, 1, &pdu.Bind{ID: pdu.BindTransmitterID, SystemID: "smsagent", Password: "secret", InterfaceVersion: pdu.InterfaceVersion34}},
		{"bind_receiver", 0, 2, &pdu.Bind{ID: pdu.BindReceiverID, SystemID: "rx1", Password: "pw", SystemType: "SMPP", InterfaceVersion: pdu.InterfaceVersion34,
			AddressRange: pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "^358"}}},
		{"bind_transceiver", 0, 0x7FFFFFFF, &pdu.Bind{ID: pdu.BindTransceiverID, SystemID: "trx", InterfaceVersion: pdu.InterfaceVersion34}},
		{"bind_transmitter_resp", 0, 1, &pdu.BindResp{ID: pdu.BindTransmitterRespID, SystemID: "SMSC",
			TLVs: pdu.TLVs{{Tag: pdu.TagSCInterfaceVersion, Value: []byte{0x34}}}}},
		{"bind_receiver_resp", pdu.StatusInvPaswd, 2, &pdu.BindResp{ID: pdu.BindReceiverRespID}},
		{"bind_transceiver_resp", 0, 0x7FFFFFFF, &pdu.BindResp{ID: pdu.BindTransceiverRespID, SystemID: "SMSC"}},
		{"outbind", 0, 9, &pdu.Outbind{SystemID: "smsc1", Password: "pw12"}},
		{"unbind", 0, 10, &pdu.Unbind{}},
		{"unbind_resp", 0, 10, &pdu.UnbindResp{}},
		{"generic_nack", pdu.StatusInvCmdID, 7, &pdu.GenericNack{}},
		{"enquire_link", 0, 0xFFFFFFFE, &pdu.EnquireLink{}},
		{"enquire_link_resp", 0, 0, &pdu.EnquireLinkResp{}},
		{"submit_sm", 0, 3, &pdu.SubmitSM{
			Source: acme, Dest: mobile,
			ValidityPeriod:     "000002000000000R",
			RegisteredDelivery: pdu.RegDeliveryFinal,
			ShortMessage:       []byte("Hello"),
		}},
		{"submit_sm_tlv", 0, 4, &pdu.SubmitSM{
			ServiceType:          "CMT",
			Source:               pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "12345"},
			Dest:                 mobile,
			ESMClass:             pdu.ESMUDHI,
			PriorityFlag:         1,
			ScheduleDeliveryTime: "261125181500012+",
			RegisteredDelivery:   pdu.RegDeliveryFinal | pdu.RegDeliveryIntermediate,
			DataCoding:           pdu.CodingUCS2,
			ShortMessage:         []byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x00, 'H', 0x00, 'i'},
			TLVs: pdu.TLVs{
				{Tag: pdu.TagUserMessageReference, Value: []byte{0, 7}},
				{Tag: 0x1401, Value: []byte{0xAA, 0xBB, 0xCC}},
			},
		}},
		{"submit_sm_resp", 0, 3, &pdu.SubmitSMResp{MessageID: "5f3c9a1e"}},
		{"submit_sm_resp_error", pdu.StatusThrottled, 5, &pdu.SubmitSMResp{}},
		{"deliver_sm", 0, 11, &pdu.DeliverSM{Source: mobile, Dest: shortCode, ShortMessage: []byte("Hi")}},
		{"deliver_sm_receipt", 0, 12, &pdu.DeliverSM{
			Source: mobile, Dest: acme,
			ESMClass:     pdu.ESMTypeDeliveryReceipt,
			ShortMessage: []byte("id:5f3c9a1e stat:DELIVRD err:000"),
			TLVs: pdu.TLVs{
				{Tag: pdu.TagReceiptedMessageID, Value: []byte("5f3c9a1e\x00")},
				{Tag: pdu.TagMessageState, Value: []byte{2}},
				{Tag: pdu.TagNetworkErrorCode, Value: []byte{3, 0, 0}},
			},
		}},
		{"deliver_sm_resp", 0, 11, &pdu.DeliverSMResp{}},
		{"deliver_sm_resp_error", pdu.StatusXTAppn, 12, &pdu.DeliverSMResp{}},
		{"submit_multi", 0, 13, &pdu.SubmitMulti{
			Source: acme,
			Dests: []pdu.DestAddress{
				{Flag: pdu.DestSMEAddress, Address: mobile},
				{Flag: pdu.DestDistributionList, DLName: "staff"},
			},
			ShortMessage: []byte("Hi"),
		}},
		{"submit_multi_resp", 0, 13, &pdu.SubmitMultiResp{MessageID: "m1",
			Unsuccess: []pdu.UnsuccessSME{{Address: mobile, Status: pdu.StatusInvDstAdr}}}},
		{"data_sm", 0, 14, &pdu.DataSM{
			ServiceType: "WAP", Source: mobile, Dest: shortCode,
			RegisteredDelivery: pdu.RegDeliveryFinal, DataCoding: pdu.CodingBinary8,
			TLVs: pdu.TLVs{
				{Tag: pdu.TagMessagePayload, Value: []byte{1, 2, 3}},
				{Tag: pdu.TagSourcePort, Value: []byte{0x23, 0xF0}},
				{Tag: pdu.TagDestinationPort, Value: []byte{0x0B, 0x84}},
			},
		}},
		{"data_sm_resp", 0, 14, &pdu.DataSMResp{MessageID: "d1"}},
		{"data_sm_resp_error", pdu.StatusDeliveryFailure, 15, &pdu.DataSMResp{TLVs: pdu.TLVs{
			{Tag: pdu.TagDeliveryFailureReason, Value: []byte{3}},
			{Tag: pdu.TagAdditionalStatusInfoText, Value: []byte("busy\x00")},
		}}},
		{"query_sm", 0, 16, &pdu.QuerySM{MessageID: "5f3c9a1e", Source: acme}},
		{"query_sm_resp", 0, 16, &pdu.QuerySMResp{MessageID: "5f3c9a1e", FinalDate: "261125181600000+", MessageState: pdu.StateDelivered}},
		{"cancel_sm", 0, 17, &pdu.CancelSM{MessageID: "5f3c9a1e", Source: acme, Dest: mobile}},
		{"cancel_sm_resp", 0, 17, &pdu.CancelSMResp{}},
		{"replace_sm", 0, 18, &pdu.ReplaceSM{MessageID: "5f3c9a1e", Source: acme, ValidityPeriod: "000000010000000R",
			RegisteredDelivery: pdu.RegDeliveryFinal, ShortMessage: []byte("New")}},
		{"replace_sm_resp", 0, 18, &pdu.ReplaceSMResp{}},
		{"alert_notification", 0, 19, &pdu.AlertNotification{Source: mobile, ESMEAddr: acme,
			TLVs: pdu.TLVs{{Tag: pdu.TagMsAvailabilityStatus, Value: []byte{0}}}}},
	}
}

// readHex reads a golden file: hex octets, with "#" starting a comment.
func readHex(tb testing.TB, path string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var digits strings.Builder
	for line := range strings.Lines(string(raw)) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return b
}

func goldenFrames(tb testing.TB) map[string][]byte {
	frames := make(map[string][]byte)
	for _, g := range goldens() {
		frames[g.name] = readHex(tb, filepath.Join("testdata", "golden", g.name+".hex"))
	}
	return frames
}

// TestEncode_Golden checks that every PDU type encodes to the octets the
// spec gives.
func TestEncode_Golden(t *testing.T) {
	frames := goldenFrames(t)
	for _, g := range goldens() {
		got, err := pdu.Encode(g.p, g.status, g.seq)
		if err != nil {
			t.Errorf("%s: Encode: %v", g.name, err)
			continue
		}
		if want := frames[g.name]; !bytes.Equal(got, want) {
			t.Errorf("%s: Encode =\n%X\nwant\n%X", g.name, got, want)
		}
	}
}

// TestDecode_Golden checks that the spec's octets decode to the value, for
// both the copying and the aliasing decoder.
func TestDecode_Golden(t *testing.T) {
	frames := goldenFrames(t)
	for _, alias := range []bool{false, true} {
		dec := pdu.Decoder{AliasBytes: alias}
		for _, g := range goldens() {
			frame := frames[g.name]
			h, p, err := dec.Decode(frame)
			if err != nil {
				t.Errorf("%s (alias %v): Decode: %v", g.name, alias, err)
				continue
			}
			wantH := pdu.Header{Length: uint32(len(frame)), ID: g.p.CommandID(), Status: g.status, Sequence: g.seq}
			if h != wantH {
				t.Errorf("%s: header = %+v, want %+v", g.name, h, wantH)
			}
			if !reflect.DeepEqual(p, g.p) {
				t.Errorf("%s (alias %v): Decode =\n%#v\nwant\n%#v", g.name, alias, p, g.p)
			}
		}
	}
}

// TestGolden_CoversEveryCommandID makes sure no 3.4 command id lacks a golden
// file.
func TestGolden_CoversEveryCommandID(t *testing.T) {
	seen := make(map[pdu.CommandID]bool)
	for _, g := range goldens() {
		seen[g.p.CommandID()] = true
	}
	for _, id := range allCommandIDs {
		if !seen[id] {
			t.Errorf("no golden PDU for %s", id)
		}
	}
}

var allCommandIDs = []pdu.CommandID{
	pdu.GenericNackID,
	pdu.BindReceiverID, pdu.BindReceiverRespID,
	pdu.BindTransmitterID, pdu.BindTransmitterRespID,
	pdu.QuerySMID, pdu.QuerySMRespID,
	pdu.SubmitSMID, pdu.SubmitSMRespID,
	pdu.DeliverSMID, pdu.DeliverSMRespID,
	pdu.UnbindID, pdu.UnbindRespID,
	pdu.ReplaceSMID, pdu.ReplaceSMRespID,
	pdu.CancelSMID, pdu.CancelSMRespID,
	pdu.BindTransceiverID, pdu.BindTransceiverRespID,
	pdu.OutbindID,
	pdu.EnquireLinkID, pdu.EnquireLinkRespID,
	pdu.SubmitMultiID, pdu.SubmitMultiRespID,
	pdu.AlertNotificationID,
	pdu.DataSMID, pdu.DataSMRespID,
}
