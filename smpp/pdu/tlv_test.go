package pdu_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// TestTLVs_Typed sets every typed TLV, encodes, decodes, and reads each
// back through its getter.
func TestTLVs_Typed(t *testing.T) {
	var ts pdu.TLVs
	ts.SetReceiptedMessageID("5f3c9a1e")
	ts.SetMessageState(pdu.StateUndeliverable)
	ts.SetNetworkErrorCode(pdu.NetworkErrorCode{Type: pdu.NetworkGSM, Code: 0x0123})
	ts.SetMessagePayload([]byte("a long text"))
	ts.SetSARMsgRefNum(0xBEEF)
	ts.SetSARTotalSegments(3)
	ts.SetSARSegmentSeqnum(2)
	ts.SetSCInterfaceVersion(pdu.InterfaceVersion34)
	ts.SetUserMessageReference(42)
	ts.SetSourcePort(9200)
	ts.SetDestinationPort(2948)
	ts.SetPayloadType(1)
	ts.SetMoreMessagesToSend(true)
	ts.SetAdditionalStatusInfoText("busy")
	ts.SetDeliveryFailureReason(3)

	frame, err := pdu.Encode(&pdu.DataSM{TLVs: ts}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, p, err := pdu.Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	got := p.(*pdu.DataSM).TLVs
	if !reflect.DeepEqual(got, ts) {
		t.Fatalf("TLVs changed in transit:\n got %v\nwant %v", got, ts)
	}
	check := func(name string, ok bool, got, want any) {
		t.Helper()
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, %v; want %v", name, got, ok, want)
		}
	}
	v1, ok := got.ReceiptedMessageID()
	check("ReceiptedMessageID", ok, v1, "5f3c9a1e")
	v2, ok := got.MessageState()
	check("MessageState", ok, v2, pdu.StateUndeliverable)
	v3, ok := got.NetworkErrorCode()
	check("NetworkErrorCode", ok, v3, pdu.NetworkErrorCode{Type: pdu.NetworkGSM, Code: 0x0123})
	v4, ok := got.MessagePayload()
	check("MessagePayload", ok, v4, []byte("a long text"))
	v5, ok := got.SARMsgRefNum()
	check("SARMsgRefNum", ok, v5, uint16(0xBEEF))
	v6, ok := got.SARTotalSegments()
	check("SARTotalSegments", ok, v6, uint8(3))
	v7, ok := got.SARSegmentSeqnum()
	check("SARSegmentSeqnum", ok, v7, uint8(2))
	v8, ok := got.SCInterfaceVersion()
	check("SCInterfaceVersion", ok, v8, uint8(0x34))
	v9, ok := got.UserMessageReference()
	check("UserMessageReference", ok, v9, uint16(42))
	v10, ok := got.SourcePort()
	check("SourcePort", ok, v10, uint16(9200))
	v11, ok := got.DestinationPort()
	check("DestinationPort", ok, v11, uint16(2948))
	v12, ok := got.PayloadType()
	check("PayloadType", ok, v12, uint8(1))
	v13, ok := got.MoreMessagesToSend()
	check("MoreMessagesToSend", ok, v13, true)
	v14, ok := got.AdditionalStatusInfoText()
	check("AdditionalStatusInfoText", ok, v14, "busy")
	v15, ok := got.DeliveryFailureReason()
	check("DeliveryFailureReason", ok, v15, uint8(3))

	// The wire form of two of them, by hand (§5.3.2.12, §5.3.2.31).
	if !bytes.Contains(frame, []byte("\x00\x1e\x00\x09"+"5f3c9a1e\x00")) {
		t.Error("receipted_message_id is not tag 0x001E, length 9, value with NUL")
	}
	if !bytes.Contains(frame, []byte{0x04, 0x23, 0x00, 0x03, 0x03, 0x01, 0x23}) {
		t.Error("network_error_code is not tag 0x0423, length 3, type then code")
	}
}

func TestTLVs_Absent(t *testing.T) {
	var ts pdu.TLVs
	if _, ok := ts.ReceiptedMessageID(); ok {
		t.Error("ReceiptedMessageID of no TLVs is ok")
	}
	if _, ok := ts.MessageState(); ok {
		t.Error("MessageState of no TLVs is ok")
	}
	if _, ok := ts.NetworkErrorCode(); ok {
		t.Error("NetworkErrorCode of no TLVs is ok")
	}
	if ts.Has(pdu.TagMessagePayload) {
		t.Error("Has on no TLVs")
	}
	// Wrong sizes read as absent rather than as garbage.
	bad := pdu.TLVs{{Tag: pdu.TagSARMsgRefNum, Value: []byte{1}}, {Tag: pdu.TagMessageState, Value: nil},
		{Tag: pdu.TagNetworkErrorCode, Value: []byte{3, 0}}, {Tag: pdu.TagQosTimeToLive, Value: []byte{1}}}
	if _, ok := bad.SARMsgRefNum(); ok {
		t.Error("1-octet sar_msg_ref_num read as a uint16")
	}
	if _, ok := bad.MessageState(); ok {
		t.Error("empty message_state read")
	}
	if _, ok := bad.NetworkErrorCode(); ok {
		t.Error("2-octet network_error_code read")
	}
	if _, ok := bad.Uint32(pdu.TagQosTimeToLive); ok {
		t.Error("1-octet qos_time_to_live read as a uint32")
	}
}

// TestTLVs_CStringWithoutNUL reads receipted_message_id as SMSCs often send
// it: without the NUL the spec asks for.
func TestTLVs_CStringWithoutNUL(t *testing.T) {
	ts := pdu.TLVs{{Tag: pdu.TagReceiptedMessageID, Value: []byte("ABC123")}}
	if id, ok := ts.ReceiptedMessageID(); !ok || id != "ABC123" {
		t.Errorf("ReceiptedMessageID = %q, %v", id, ok)
	}
	ts = pdu.TLVs{{Tag: pdu.TagReceiptedMessageID, Value: []byte("ABC\x00junk")}}
	if id, _ := ts.ReceiptedMessageID(); id != "ABC" {
		t.Errorf("ReceiptedMessageID = %q, want up to the NUL", id)
	}
}

func TestTLVs_SetDeleteOrder(t *testing.T) {
	ts := pdu.TLVs{
		{Tag: 0x1401, Value: []byte{1}},
		{Tag: pdu.TagSourcePort, Value: []byte{0, 1}},
		{Tag: 0x1401, Value: []byte{2}},
		{Tag: 0x2000, Value: []byte{3}},
	}
	ts.SetSourcePort(7)
	if ts[1].Tag != pdu.TagSourcePort || !bytes.Equal(ts[1].Value, []byte{0, 7}) || len(ts) != 4 {
		t.Errorf("Set did not replace in place: %v", ts)
	}
	if v, _ := ts.Get(0x1401); !bytes.Equal(v, []byte{1}) {
		t.Errorf("Get returns %v, want the first of the duplicates", v)
	}
	ts.Delete(0x1401)
	want := pdu.TLVs{{Tag: pdu.TagSourcePort, Value: []byte{0, 7}}, {Tag: 0x2000, Value: []byte{3}}}
	if !reflect.DeepEqual(ts, want) {
		t.Errorf("after Delete: %v, want %v", ts, want)
	}
	ts.SetMoreMessagesToSend(false)
	if more, ok := ts.MoreMessagesToSend(); !ok || more {
		t.Errorf("MoreMessagesToSend = %v, %v", more, ok)
	}
	ts.SetUint32(pdu.TagQosTimeToLive, 3600)
	if v, ok := ts.Uint32(pdu.TagQosTimeToLive); !ok || v != 3600 {
		t.Errorf("Uint32 = %v, %v", v, ok)
	}
}

func TestTag_String(t *testing.T) {
	cases := map[pdu.Tag]string{
		pdu.TagReceiptedMessageID: "receipted_message_id",
		pdu.TagMessageState:       "message_state",
		pdu.TagCongestionState:    "congestion_state",
		pdu.TagItsSessionInfo:     "its_session_info",
		0x1401:                    "tlv(0x1401)",
		0x0000:                    "tlv(0x0000)",
	}
	for tag, want := range cases {
		if got := tag.String(); got != want {
			t.Errorf("Tag(0x%04X).String() = %q, want %q", uint16(tag), got, want)
		}
	}
	if !pdu.Tag(0x1400).Vendor() || !pdu.Tag(0x3FFF).Vendor() || pdu.Tag(0x4000).Vendor() || pdu.Tag(0x13FF).Vendor() {
		t.Error("vendor range is not 0x1400-0x3FFF")
	}
	if !pdu.TagMessagePayload.Known() || pdu.Tag(0x1401).Known() {
		t.Error("Known is wrong")
	}
}
