package pdu_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// TestAppend_ErrorResponseWithoutBody checks §4.4.2: an error response
// with nothing in it goes out as the bare header, and a success response
// of the same type keeps its body.
func TestAppend_ErrorResponseWithoutBody(t *testing.T) {
	for _, req := range []pdu.CommandID{pdu.BindTransmitterID, pdu.BindReceiverID, pdu.BindTransceiverID,
		pdu.SubmitSMID, pdu.SubmitMultiID, pdu.DeliverSMID, pdu.DataSMID, pdu.QuerySMID} {
		resp := pdu.NewResponse(req)
		frame, err := pdu.Append(nil, resp, pdu.StatusSysErr, 9)
		if err != nil {
			t.Fatalf("%s: %v", resp.CommandID(), err)
		}
		want := pdu.Header{Length: pdu.HeaderLen, ID: resp.CommandID(), Status: pdu.StatusSysErr, Sequence: 9}.Append(nil)
		if !bytes.Equal(frame, want) {
			t.Errorf("%s error: %X, want the 16-octet header %X", resp.CommandID(), frame, want)
		}
		ok, err := pdu.Append(nil, resp, pdu.StatusOK, 9)
		if err != nil || len(ok) <= pdu.HeaderLen {
			t.Errorf("%s success: %X, %v; want a body", resp.CommandID(), ok, err)
		}
		// Both forms decode to the empty response.
		for _, f := range [][]byte{frame, ok} {
			if _, p, err := pdu.Decode(f); err != nil || !reflect.DeepEqual(p, resp) {
				t.Errorf("%s: Decode(%X) = %#v, %v", resp.CommandID(), f, p, err)
			}
		}
	}
	// An error response that has something to say keeps its body.
	p := &pdu.SubmitSMResp{TLVs: pdu.TLVs{{Tag: pdu.TagAdditionalStatusInfoText, Value: []byte("x\x00")}}}
	if frame, _ := pdu.Encode(p, pdu.StatusSubmitFail, 1); len(frame) == pdu.HeaderLen {
		t.Error("an error response with a TLV lost its body")
	}
}

// TestAppend_AppendsAndLeavesDstOnError checks the append contract: bytes
// already in dst stay, command_length counts only the new PDU, and a
// failed encode leaves dst as it was.
func TestAppend_AppendsAndLeavesDstOnError(t *testing.T) {
	dst := []byte("prefix")
	out, err := pdu.Append(dst, &pdu.SubmitSMResp{MessageID: "1"}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte("prefix"), frameHex(t, "00000000 80000004 00000000 00000001 3100")...)
	if !bytes.Equal(out, want) {
		t.Errorf("Append = %X, want %X", out, want)
	}
	out, err = pdu.Append(dst, &pdu.SubmitSM{Source: pdu.Address{Addr: "0123456789012345678901"}}, 0, 2)
	if err == nil || !bytes.Equal(out, []byte("prefix")) {
		t.Errorf("failed Append = %q, %v; want dst unchanged and an error", out, err)
	}
}

func TestAppend_Refusals(t *testing.T) {
	cases := []struct {
		name  string
		p     pdu.PDU
		field string
	}{
		{"NUL inside a C-Octet String", &pdu.SubmitSM{Source: pdu.Address{Addr: "12\x0034"}}, "source_addr"},
		{"bind with a non-bind id", &pdu.Bind{ID: pdu.SubmitSMID}, "command_id"},
		{"bind with no id", &pdu.Bind{}, "command_id"},
		{"bind_resp with a request id", &pdu.BindResp{ID: pdu.BindTransmitterID}, "command_id"},
		{"dest_flag 0", &pdu.SubmitMulti{Dests: []pdu.DestAddress{{Address: mobile}}}, "dest_flag"},
		{"SME address with a dl_name", &pdu.SubmitMulti{Dests: []pdu.DestAddress{{Flag: pdu.DestSMEAddress, DLName: "x"}}}, "dest_address"},
		{"list with an address", &pdu.SubmitMulti{Dests: []pdu.DestAddress{{Flag: pdu.DestDistributionList, Address: mobile}}}, "dest_address"},
		{"256 unsuccess entries", &pdu.SubmitMultiResp{Unsuccess: make([]pdu.UnsuccessSME, 256)}, "no_unsuccess"},
	}
	for _, c := range cases {
		_, err := pdu.Encode(c.p, 0, 1)
		var ee *pdu.EncodeError
		if !errors.As(err, &ee) || ee.Field != c.field {
			t.Errorf("%s: err = %v, want an EncodeError for %s", c.name, err, c.field)
		}
	}
}

// TestAppend_NoAllocations checks that encoding the PDUs of the hot path
// into a reused buffer does not allocate.
func TestAppend_NoAllocations(t *testing.T) {
	sm := typicalSubmitSM()
	resp := &pdu.SubmitSMResp{MessageID: "5f3c9a1e"}
	dresp := &pdu.DeliverSMResp{}
	buf := make([]byte, 0, 512)
	for name, p := range map[string]pdu.PDU{"submit_sm": sm, "submit_sm_resp": resp, "deliver_sm_resp": dresp} {
		allocs := testing.AllocsPerRun(200, func() {
			var err error
			if buf, err = pdu.Append(buf[:0], p, pdu.StatusOK, 7); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per encode, want 0", name, allocs)
		}
	}
}

func TestDecodeError_Error(t *testing.T) {
	_, _, err := pdu.Decode(frameHex(t, "00000000 00000004 00000000 0000002A 00 0500 41"))
	want := "pdu: decode submit_sm: source_addr (seq 42): no NUL terminator before the end of the body (ESME_RINVSRCADR)"
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", err, want)
	}
}

// TestDecodeBody_EmptyResponseAnyStatus checks the leniency for SMSCs that
// leave out the body of a successful response: the status is still heard.
func TestDecodeBody_EmptyResponseAnyStatus(t *testing.T) {
	h := pdu.Header{Length: pdu.HeaderLen, ID: pdu.SubmitSMRespID, Status: pdu.StatusOK, Sequence: 1}
	p, err := pdu.DecodeBody(h, nil)
	if err != nil || !reflect.DeepEqual(p, &pdu.SubmitSMResp{}) {
		t.Errorf("DecodeBody(empty submit_sm_resp) = %#v, %v", p, err)
	}
	// A request without its body is still an error.
	h.ID = pdu.SubmitSMID
	if _, err := pdu.DecodeBody(h, nil); err == nil {
		t.Error("DecodeBody(empty submit_sm) succeeded")
	}
}
