package pdu_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// limitCase is one C-Octet String field with a maximum size (NUL
// included) from §4: build puts s into that field of a PDU.
type limitCase struct {
	name   string // PDU and field, for the subtest
	field  string // the field name errors must carry
	max    int
	status pdu.Status // what a peer's over-long value must be answered with
	build  func(s string) pdu.PDU
}

func limitCases() []limitCase {
	bind := func(f func(*pdu.Bind, string)) func(string) pdu.PDU {
		return func(s string) pdu.PDU { p := &pdu.Bind{ID: pdu.BindTransceiverID}; f(p, s); return p }
	}
	sm := func(f func(*pdu.SubmitSM, string)) func(string) pdu.PDU {
		return func(s string) pdu.PDU { p := &pdu.SubmitSM{}; f(p, s); return p }
	}
	return []limitCase{
		{"bind/system_id", "system_id", 16, pdu.StatusInvSysID, bind(func(p *pdu.Bind, s string) { p.SystemID = s })},
		{"bind/password", "password", 9, pdu.StatusInvPaswd, bind(func(p *pdu.Bind, s string) { p.Password = s })},
		{"bind/system_type", "system_type", 13, pdu.StatusInvSysTyp, bind(func(p *pdu.Bind, s string) { p.SystemType = s })},
		{"bind/address_range", "address_range", 41, pdu.StatusBindFail, bind(func(p *pdu.Bind, s string) { p.AddressRange.Addr = s })},
		{"bind_resp/system_id", "system_id", 16, pdu.StatusInvSysID, func(s string) pdu.PDU {
			return &pdu.BindResp{ID: pdu.BindTransmitterRespID, SystemID: s}
		}},
		{"outbind/system_id", "system_id", 16, pdu.StatusInvSysID, func(s string) pdu.PDU { return &pdu.Outbind{SystemID: s} }},
		{"outbind/password", "password", 9, pdu.StatusInvPaswd, func(s string) pdu.PDU { return &pdu.Outbind{Password: s} }},
		{"submit_sm/service_type", "service_type", 6, pdu.StatusInvSerTyp, sm(func(p *pdu.SubmitSM, s string) { p.ServiceType = s })},
		{"submit_sm/source_addr", "source_addr", 21, pdu.StatusInvSrcAdr, sm(func(p *pdu.SubmitSM, s string) { p.Source.Addr = s })},
		{"submit_sm/destination_addr", "destination_addr", 21, pdu.StatusInvDstAdr, sm(func(p *pdu.SubmitSM, s string) { p.Dest.Addr = s })},
		{"deliver_sm/source_addr", "source_addr", 21, pdu.StatusInvSrcAdr, func(s string) pdu.PDU {
			return &pdu.DeliverSM{Source: pdu.Address{Addr: s}}
		}},
		{"deliver_sm/destination_addr", "destination_addr", 21, pdu.StatusInvDstAdr, func(s string) pdu.PDU {
			return &pdu.DeliverSM{Dest: pdu.Address{Addr: s}}
		}},
		{"submit_sm_resp/message_id", "message_id", 65, pdu.StatusInvMsgID, func(s string) pdu.PDU { return &pdu.SubmitSMResp{MessageID: s} }},
		{"submit_multi/service_type", "service_type", 6, pdu.StatusInvSerTyp, func(s string) pdu.PDU { return &pdu.SubmitMulti{ServiceType: s} }},
		{"submit_multi/source_addr", "source_addr", 21, pdu.StatusInvSrcAdr, func(s string) pdu.PDU {
			return &pdu.SubmitMulti{Source: pdu.Address{Addr: s}}
		}},
		{"submit_multi/destination_addr", "destination_addr", 21, pdu.StatusInvDstAdr, func(s string) pdu.PDU {
			return &pdu.SubmitMulti{Dests: []pdu.DestAddress{{Flag: pdu.DestSMEAddress, Address: pdu.Address{Addr: s}}}}
		}},
		{"submit_multi/dl_name", "dl_name", 21, pdu.StatusInvDLName, func(s string) pdu.PDU {
			return &pdu.SubmitMulti{Dests: []pdu.DestAddress{{Flag: pdu.DestDistributionList, DLName: s}}}
		}},
		{"submit_multi_resp/message_id", "message_id", 65, pdu.StatusInvMsgID, func(s string) pdu.PDU { return &pdu.SubmitMultiResp{MessageID: s} }},
		{"submit_multi_resp/destination_addr", "destination_addr", 21, pdu.StatusInvDstAdr, func(s string) pdu.PDU {
			return &pdu.SubmitMultiResp{Unsuccess: []pdu.UnsuccessSME{{Address: pdu.Address{Addr: s}}}}
		}},
		{"data_sm/service_type", "service_type", 6, pdu.StatusInvSerTyp, func(s string) pdu.PDU { return &pdu.DataSM{ServiceType: s} }},
		{"data_sm/source_addr", "source_addr", 65, pdu.StatusInvSrcAdr, func(s string) pdu.PDU { return &pdu.DataSM{Source: pdu.Address{Addr: s}} }},
		{"data_sm/destination_addr", "destination_addr", 65, pdu.StatusInvDstAdr, func(s string) pdu.PDU { return &pdu.DataSM{Dest: pdu.Address{Addr: s}} }},
		{"data_sm_resp/message_id", "message_id", 65, pdu.StatusInvMsgID, func(s string) pdu.PDU { return &pdu.DataSMResp{MessageID: s} }},
		{"query_sm/message_id", "message_id", 65, pdu.StatusInvMsgID, func(s string) pdu.PDU { return &pdu.QuerySM{MessageID: s} }},
		{"query_sm/source_addr", "source_addr", 21, pdu.StatusInvSrcAdr, func(s string) pdu.PDU { return &pdu.QuerySM{Source: pdu.Address{Addr: s}} }},
		{"query_sm_resp/message_id", "message_id", 65, pdu.StatusInvMsgID, func(s string) pdu.PDU { return &pdu.QuerySMResp{MessageID: s} }},
		{"cancel_sm/service_type", "service_type", 6, pdu.StatusInvSerTyp, func(s string) pdu.PDU { return &pdu.CancelSM{ServiceType: s} }},
		{"cancel_sm/message_id", "message_id", 65, pdu.StatusInvMsgID, func(s string) pdu.PDU { return &pdu.CancelSM{MessageID: s} }},
		{"cancel_sm/source_addr", "source_addr", 21, pdu.StatusInvSrcAdr, func(s string) pdu.PDU { return &pdu.CancelSM{Source: pdu.Address{Addr: s}} }},
		{"cancel_sm/destination_addr", "destination_addr", 21, pdu.StatusInvDstAdr, func(s string) pdu.PDU { return &pdu.CancelSM{Dest: pdu.Address{Addr: s}} }},
		{"replace_sm/message_id", "message_id", 65, pdu.StatusInvMsgID, func(s string) pdu.PDU { return &pdu.ReplaceSM{MessageID: s} }},
		{"replace_sm/source_addr", "source_addr", 21, pdu.StatusInvSrcAdr, func(s string) pdu.PDU { return &pdu.ReplaceSM{Source: pdu.Address{Addr: s}} }},
		{"alert_notification/source_addr", "source_addr", 65, pdu.StatusInvSrcAdr, func(s string) pdu.PDU {
			return &pdu.AlertNotification{Source: pdu.Address{Addr: s}}
		}},
		{"alert_notification/esme_addr", "esme_addr", 65, pdu.StatusInvDstAdr, func(s string) pdu.PDU {
			return &pdu.AlertNotification{ESMEAddr: pdu.Address{Addr: s}}
		}},
	}
}

// setLength rewrites command_length after a test has edited a frame.
func setLength(frame []byte) []byte {
	binary.BigEndian.PutUint32(frame, uint32(len(frame)))
	return frame
}

// TestLimits_CString proves, for every sized C-Octet String field, that
// the largest legal value passes both ways and one octet more fails both
// ways, naming the field (and, decoding, giving the status to answer with).
func TestLimits_CString(t *testing.T) {
	for _, c := range limitCases() {
		t.Run(c.name, func(t *testing.T) {
			fits := strings.Repeat("Q", c.max-1)
			frame, err := pdu.Encode(c.build(fits), 0, 1)
			if err != nil {
				t.Fatalf("Encode with %d characters (the maximum): %v", c.max-1, err)
			}
			if _, _, err := pdu.Decode(frame); err != nil {
				t.Fatalf("Decode with %d characters (the maximum): %v", c.max-1, err)
			}

			_, err = pdu.Encode(c.build(fits+"Q"), 0, 1)
			var ee *pdu.EncodeError
			if !errors.As(err, &ee) || ee.Field != c.field {
				t.Errorf("Encode with %d characters: err = %v, want an EncodeError for %s", c.max, err, c.field)
			}

			// The same frame with one more character in the field.
			i := bytes.Index(frame, []byte(fits))
			long := setLength(append(frame[:i:i], append([]byte("Q"), frame[i:]...)...))
			_, _, err = pdu.Decode(long)
			var de *pdu.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode with %d characters: err = %v, want a DecodeError", c.max, err)
			}
			if de.Field != c.field || de.Status != c.status {
				t.Errorf("Decode with %d characters: field %q status %s, want %q %s", c.max, de.Field, de.Status, c.field, c.status)
			}
		})
	}
}

// TestLimits_Time proves that the time fields take NULL or 16 characters
// and nothing else, both ways.
func TestLimits_Time(t *testing.T) {
	cases := []struct {
		field  string
		status pdu.Status
		build  func(string) pdu.PDU
	}{
		{"schedule_delivery_time", pdu.StatusInvSched, func(s string) pdu.PDU { return &pdu.SubmitSM{ScheduleDeliveryTime: s} }},
		{"validity_period", pdu.StatusInvExpiry, func(s string) pdu.PDU { return &pdu.SubmitSM{ValidityPeriod: s} }},
		{"schedule_delivery_time", pdu.StatusInvSched, func(s string) pdu.PDU { return &pdu.SubmitMulti{ScheduleDeliveryTime: s} }},
		{"validity_period", pdu.StatusInvExpiry, func(s string) pdu.PDU { return &pdu.ReplaceSM{ValidityPeriod: s} }},
		{"final_date", pdu.StatusQueryFail, func(s string) pdu.PDU { return &pdu.QuerySMResp{FinalDate: s} }},
	}
	const valid = "261125181500000+"
	for _, c := range cases {
		p := c.build(valid)
		t.Run(p.CommandID().String()+"/"+c.field, func(t *testing.T) {
			frame, err := pdu.Encode(p, 0, 1)
			if err != nil {
				t.Fatalf("Encode with a 16-character time: %v", err)
			}
			for _, bad := range []string{valid + "0", valid[:15]} {
				var ee *pdu.EncodeError
				if _, err := pdu.Encode(c.build(bad), 0, 1); !errors.As(err, &ee) || ee.Field != c.field {
					t.Errorf("Encode %q: err = %v, want an EncodeError for %s", bad, err, c.field)
				}
			}
			// 17 characters: one too many. 15: shorter than a time.
			i := bytes.Index(frame, []byte(valid))
			long := setLength(append(frame[:i+16:i+16], append([]byte("0"), frame[i+16:]...)...))
			short := setLength(append(frame[:i+15:i+15], frame[i+16:]...))
			for name, f := range map[string][]byte{"17 characters": long, "15 characters": short} {
				_, _, err := pdu.Decode(f)
				var de *pdu.DecodeError
				if !errors.As(err, &de) || de.Field != c.field || de.Status != c.status {
					t.Errorf("Decode with %s: err = %v, want field %s status %s", name, err, c.field, c.status)
				}
			}
		})
	}
}

// TestLimits_ShortMessage proves the 254-octet maximum of short_message
// both ways (§5.2.22).
func TestLimits_ShortMessage(t *testing.T) {
	for _, build := range []func([]byte) pdu.PDU{
		func(b []byte) pdu.PDU { return &pdu.SubmitSM{ShortMessage: b} },
		func(b []byte) pdu.PDU { return &pdu.DeliverSM{ShortMessage: b} },
		func(b []byte) pdu.PDU { return &pdu.SubmitMulti{ShortMessage: b} },
		func(b []byte) pdu.PDU { return &pdu.ReplaceSM{ShortMessage: b} },
	} {
		max := bytes.Repeat([]byte{'m'}, 254)
		p := build(max)
		t.Run(p.CommandID().String(), func(t *testing.T) {
			frame, err := pdu.Encode(p, 0, 1)
			if err != nil {
				t.Fatalf("Encode 254 octets: %v", err)
			}
			var ee *pdu.EncodeError
			if _, err := pdu.Encode(build(append(max, 'm')), 0, 1); !errors.As(err, &ee) || ee.Field != "short_message" {
				t.Errorf("Encode 255 octets: err = %v, want an EncodeError for short_message", err)
			}
			// sm_length 255 with 255 octets present.
			i := bytes.Index(frame, max) // frame[i-1] is sm_length
			bad := append([]byte{}, frame[:i-1]...)
			bad = append(bad, 255)
			bad = append(bad, bytes.Repeat([]byte{'m'}, 255)...)
			bad = setLength(append(bad, frame[i+254:]...))
			_, _, err = pdu.Decode(bad)
			var de *pdu.DecodeError
			if !errors.As(err, &de) || de.Field != "sm_length" || de.Status != pdu.StatusInvMsgLen {
				t.Errorf("Decode sm_length 255: err = %v, want sm_length ESME_RINVMSGLEN", err)
			}
		})
	}
}

// TestLimits_NumberOfDests proves the 254-destination maximum of
// submit_multi both ways (§4.5.1).
func TestLimits_NumberOfDests(t *testing.T) {
	dests := make([]pdu.DestAddress, pdu.MaxDests)
	for i := range dests {
		dests[i] = pdu.DestAddress{Flag: pdu.DestDistributionList, DLName: "L"}
	}
	frame, err := pdu.Encode(&pdu.SubmitMulti{Dests: dests}, 0, 1)
	if err != nil {
		t.Fatalf("Encode %d destinations: %v", pdu.MaxDests, err)
	}
	if _, _, err := pdu.Decode(frame); err != nil {
		t.Fatalf("Decode %d destinations: %v", pdu.MaxDests, err)
	}
	var ee *pdu.EncodeError
	if _, err := pdu.Encode(&pdu.SubmitMulti{Dests: append(dests, dests[0])}, 0, 1); !errors.As(err, &ee) || ee.Field != "number_of_dests" {
		t.Errorf("Encode 255 destinations: err = %v, want an EncodeError for number_of_dests", err)
	}
	// number_of_dests sits after service_type (1), the source triple (3).
	const at = pdu.HeaderLen + 4
	bad := setLength(append(append(frame[:at:at], 255), append([]byte{2, 'L', 0}, frame[at+1:]...)...))
	_, _, err = pdu.Decode(bad)
	var de *pdu.DecodeError
	if !errors.As(err, &de) || de.Field != "number_of_dests" || de.Status != pdu.StatusInvNumDests {
		t.Errorf("Decode 255 destinations: err = %v, want number_of_dests ESME_RINVNUMDESTS", err)
	}
}

// TestLimits_TLV proves the length rules of the TLVs the agent uses, both
// ways: a C-Octet String value over its maximum and an integer of the
// wrong size.
func TestLimits_TLV(t *testing.T) {
	cases := []struct {
		tag      pdu.Tag
		ok, bad  int
		badField string
	}{
		{pdu.TagReceiptedMessageID, 65, 66, "tlv receipted_message_id"},
		{pdu.TagAdditionalStatusInfoText, 256, 257, "tlv additional_status_info_text"},
		{pdu.TagMessageState, 1, 2, "tlv message_state"},
		{pdu.TagNetworkErrorCode, 3, 2, "tlv network_error_code"},
		{pdu.TagSARMsgRefNum, 2, 1, "tlv sar_msg_ref_num"},
		{pdu.TagSARTotalSegments, 1, 0, "tlv sar_total_segments"},
		{pdu.TagSARSegmentSeqnum, 1, 2, "tlv sar_segment_seqnum"},
		{pdu.TagSCInterfaceVersion, 1, 4, "tlv sc_interface_version"},
		{pdu.TagUserMessageReference, 2, 4, "tlv user_message_reference"},
		{pdu.TagSourcePort, 2, 3, "tlv source_port"},
		{pdu.TagDestinationPort, 2, 1, "tlv destination_port"},
		{pdu.TagPayloadType, 1, 2, "tlv payload_type"},
		{pdu.TagMoreMessagesToSend, 1, 2, "tlv more_messages_to_send"},
		{pdu.TagDeliveryFailureReason, 1, 2, "tlv delivery_failure_reason"},
		{pdu.TagCallbackNum, 19, 20, "tlv callback_num"},
		{pdu.TagMessagePayload, 0xFFFF, 0x10000, "tlv message_payload"},
	}
	for _, c := range cases {
		t.Run(c.tag.String(), func(t *testing.T) {
			build := func(n int) *pdu.DeliverSM {
				return &pdu.DeliverSM{TLVs: pdu.TLVs{{Tag: c.tag, Value: bytes.Repeat([]byte{'7'}, n)}}}
			}
			if _, err := pdu.Encode(build(c.ok), 0, 1); err != nil {
				t.Errorf("Encode %d octets: %v", c.ok, err)
			}
			var ee *pdu.EncodeError
			if _, err := pdu.Encode(build(c.bad), 0, 1); !errors.As(err, &ee) || ee.Field != c.badField {
				t.Errorf("Encode %d octets: err = %v, want an EncodeError for %s", c.bad, err, c.badField)
			}
			if c.bad > 0xFFFF {
				return // cannot be framed at all
			}
			// Encode as an unknown tag, then give it the real tag.
			frame, err := pdu.Encode(&pdu.DeliverSM{TLVs: pdu.TLVs{{Tag: 0x7777, Value: bytes.Repeat([]byte{'7'}, c.bad)}}}, 0, 1)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(frame, []byte{0x77, 0x77})
			binary.BigEndian.PutUint16(frame[i:], uint16(c.tag))
			_, _, err = pdu.Decode(frame)
			var de *pdu.DecodeError
			if !errors.As(err, &de) || de.Field != c.badField || de.Status != pdu.StatusInvParLen {
				t.Errorf("Decode %d octets: err = %v, want %s ESME_RINVPARLEN", c.bad, err, c.badField)
			}
		})
	}
}
