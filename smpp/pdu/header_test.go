package pdu_test

import (
	"testing"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// TestCommandID_String checks the spec's name and value of every 3.4
// command id (§5.1.2.1), typed in from the spec's table.
func TestCommandID_String(t *testing.T) {
	spec := []struct {
		id   pdu.CommandID
		v    uint32
		name string
	}{
		{pdu.GenericNackID, 0x80000000, "generic_nack"},
		{pdu.BindReceiverID, 0x00000001, "bind_receiver"},
		{pdu.BindReceiverRespID, 0x80000001, "bind_receiver_resp"},
		{pdu.BindTransmitterID, 0x00000002, "bind_transmitter"},
		{pdu.BindTransmitterRespID, 0x80000002, "bind_transmitter_resp"},
		{pdu.QuerySMID, 0x00000003, "query_sm"},
		{pdu.QuerySMRespID, 0x80000003, "query_sm_resp"},
		{pdu.SubmitSMID, 0x00000004, "submit_sm"},
		{pdu.SubmitSMRespID, 0x80000004, "submit_sm_resp"},
		{pdu.DeliverSMID, 0x00000005, "deliver_sm"},
		{pdu.DeliverSMRespID, 0x80000005, "deliver_sm_resp"},
		{pdu.UnbindID, 0x00000006, "unbind"},
		{pdu.UnbindRespID, 0x80000006, "unbind_resp"},
		{pdu.ReplaceSMID, 0x00000007, "replace_sm"},
		{pdu.ReplaceSMRespID, 0x80000007, "replace_sm_resp"},
		{pdu.CancelSMID, 0x00000008, "cancel_sm"},
		{pdu.CancelSMRespID, 0x80000008, "cancel_sm_resp"},
		{pdu.BindTransceiverID, 0x00000009, "bind_transceiver"},
		{pdu.BindTransceiverRespID, 0x80000009, "bind_transceiver_resp"},
		{pdu.OutbindID, 0x0000000B, "outbind"},
		{pdu.EnquireLinkID, 0x00000015, "enquire_link"},
		{pdu.EnquireLinkRespID, 0x80000015, "enquire_link_resp"},
		{pdu.SubmitMultiID, 0x00000021, "submit_multi"},
		{pdu.SubmitMultiRespID, 0x80000021, "submit_multi_resp"},
		{pdu.AlertNotificationID, 0x00000102, "alert_notification"},
		{pdu.DataSMID, 0x00000103, "data_sm"},
		{pdu.DataSMRespID, 0x80000103, "data_sm_resp"},
	}
	if len(spec) != len(allCommandIDs) {
		t.Fatalf("%d ids in the spec table, %d in allCommandIDs", len(spec), len(allCommandIDs))
	}
	for _, c := range spec {
		if uint32(c.id) != c.v {
			t.Errorf("%s = 0x%08X, want 0x%08X", c.name, uint32(c.id), c.v)
		}
		if c.id.String() != c.name {
			t.Errorf("CommandID(0x%08X).String() = %q, want %q", c.v, c.id.String(), c.name)
		}
		if !c.id.Known() {
			t.Errorf("%s is not Known", c.name)
		}
		if got := pdu.New(c.id); got == nil || got.CommandID() != c.id {
			t.Errorf("New(%s) = %#v", c.name, got)
		}
	}
	if got := pdu.CommandID(0x111).String(); got != "command_id(0x00000111)" {
		t.Errorf("unknown id String() = %q", got)
	}
	if pdu.CommandID(0x111).Known() || pdu.New(0x111) != nil {
		t.Error("0x111 (5.0 broadcast_sm) is Known")
	}
}

func TestCommandID_Response(t *testing.T) {
	for _, id := range allCommandIDs {
		if id.IsResponse() != (uint32(id)&0x80000000 != 0) {
			t.Errorf("%s.IsResponse() = %v", id, id.IsResponse())
		}
		if r := id.Response(); uint32(r) != uint32(id)|0x80000000 {
			t.Errorf("%s.Response() = %s", id, r)
		}
		want := !id.IsResponse() && id != pdu.OutbindID && id != pdu.AlertNotificationID
		if id.ExpectsResponse() != want {
			t.Errorf("%s.ExpectsResponse() = %v, want %v", id, id.ExpectsResponse(), want)
		}
		resp := pdu.NewResponse(id)
		if want != (resp != nil) {
			t.Errorf("NewResponse(%s) = %#v", id, resp)
		}
		if resp != nil && resp.CommandID() != id.Response() {
			t.Errorf("NewResponse(%s).CommandID() = %s", id, resp.CommandID())
		}
	}
	if pdu.CommandID(0x111).ExpectsResponse() {
		t.Error("an unknown id expects a response")
	}
}

func TestParseHeader(t *testing.T) {
	b := frameHex(t, "00000000 80000004 00000058 FFFFFFFF 00")
	h, err := pdu.ParseHeader(b)
	want := pdu.Header{Length: 17, ID: pdu.SubmitSMRespID, Status: pdu.StatusThrottled, Sequence: 0xFFFFFFFF}
	if err != nil || h != want {
		t.Fatalf("ParseHeader = %+v, %v; want %+v", h, err, want)
	}
	if got := h.Append(nil); string(got) != string(b[:16]) {
		t.Errorf("Append = %X, want %X", got, b[:16])
	}
	if _, err := pdu.ParseHeader(b[:15]); err == nil {
		t.Error("ParseHeader of 15 octets succeeded")
	}
	if s := h.String(); s != "submit_sm_resp seq=4294967295 status=ESME_RTHROTTLED len=17" {
		t.Errorf("String() = %q", s)
	}
}

func TestMessageState_String(t *testing.T) {
	want := []string{"SCHEDULED", "ENROUTE", "DELIVERED", "EXPIRED", "DELETED", "UNDELIVERABLE", "ACCEPTED", "UNKNOWN", "REJECTED", "SKIPPED"}
	for i, w := range want {
		if got := pdu.MessageState(i).String(); got != w {
			t.Errorf("MessageState(%d) = %q, want %q", i, got, w)
		}
	}
	if got := pdu.MessageState(10).String(); got != "message_state(10)" {
		t.Errorf("MessageState(10) = %q", got)
	}
	for s, final := range map[pdu.MessageState]bool{pdu.StateEnroute: false, pdu.StateAccepted: false, pdu.StateScheduled: false,
		pdu.StateDelivered: true, pdu.StateRejected: true, pdu.StateUndeliverable: true, pdu.StateExpired: true} {
		if s.Final() != final {
			t.Errorf("%s.Final() = %v", s, s.Final())
		}
	}
}

func TestESMClass(t *testing.T) {
	e := pdu.ESMClass(0x44) // receipt with UDHI, as SMSCs send it
	if e.Type() != pdu.ESMTypeDeliveryReceipt || !e.UDHI() || e.Mode() != pdu.ESMModeDefault {
		t.Errorf("0x44: type %#x udhi %v mode %#x", e.Type(), e.UDHI(), e.Mode())
	}
	if pdu.ESMClass(0x23).Type() != pdu.ESMTypeIntermediate || pdu.ESMClass(0x23).Mode() != pdu.ESMModeStoreForward {
		t.Error("0x23 misread")
	}
	if pdu.RegisteredDelivery(0x11).Receipt() != pdu.RegDeliveryFinal {
		t.Error("registered_delivery 0x11 receipt bits misread")
	}
}
