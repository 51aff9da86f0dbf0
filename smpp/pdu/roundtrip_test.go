package pdu_test

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp/pdu"
)

var seedFlag = flag.Uint64("seed", 0, "seed for the generated round-trip values (0: from the clock)")

// gen makes random values that the spec allows, up to every field's
// maximum, so the round trip also covers the largest legal PDUs.
type gen struct{ r *rand.Rand }

func (g gen) str(max int) string {
	n := g.r.IntN(max) // max counts the NUL
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(1 + g.r.IntN(255)) // anything but NUL
	}
	return string(b)
}

func (g gen) bytes(max int) []byte {
	n := g.r.IntN(max + 1)
	if n == 0 {
		return nil // decoding an empty short_message gives nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.UintN(256))
	}
	return b
}

func (g gen) u8() uint8 { return uint8(g.r.UintN(256)) }

func (g gen) addr(max int) pdu.Address {
	return pdu.Address{TON: pdu.TON(g.u8()), NPI: pdu.NPI(g.u8()), Addr: g.str(max)}
}

func (g gen) time() string {
	if g.r.IntN(3) == 0 {
		return ""
	}
	// The codec checks only the size of a time field; ParseTime checks
	// the contents.
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	b[15] = "+-R"[g.r.IntN(3)]
	return string(b)
}

var knownTags = []pdu.Tag{
	pdu.TagReceiptedMessageID, pdu.TagMessageState, pdu.TagNetworkErrorCode, pdu.TagMessagePayload,
	pdu.TagSARMsgRefNum, pdu.TagSARTotalSegments, pdu.TagSARSegmentSeqnum, pdu.TagSCInterfaceVersion,
	pdu.TagUserMessageReference, pdu.TagSourcePort, pdu.TagDestinationPort, pdu.TagPayloadType,
	pdu.TagMoreMessagesToSend, pdu.TagAdditionalStatusInfoText, pdu.TagDeliveryFailureReason,
	pdu.TagCallbackNum, pdu.TagSourceSubaddress, pdu.TagQosTimeToLive, pdu.TagAlertOnMessageDelivery,
}

// tlvLen picks a length the tag's rule allows.
func (g gen) tlvLen(tag pdu.Tag) int {
	switch tag {
	case pdu.TagReceiptedMessageID:
		return g.r.IntN(66)
	case pdu.TagAdditionalStatusInfoText:
		return g.r.IntN(257)
	case pdu.TagMessageState, pdu.TagSARTotalSegments, pdu.TagSARSegmentSeqnum, pdu.TagSCInterfaceVersion,
		pdu.TagPayloadType, pdu.TagMoreMessagesToSend, pdu.TagDeliveryFailureReason:
		return 1
	case pdu.TagSARMsgRefNum, pdu.TagUserMessageReference, pdu.TagSourcePort, pdu.TagDestinationPort:
		return 2
	case pdu.TagNetworkErrorCode:
		return 3
	case pdu.TagQosTimeToLive:
		return 4
	case pdu.TagCallbackNum:
		return 4 + g.r.IntN(16)
	case pdu.TagSourceSubaddress:
		return 2 + g.r.IntN(22)
	case pdu.TagAlertOnMessageDelivery:
		return 0
	case pdu.TagMessagePayload:
		if g.r.IntN(8) == 0 {
			return 0xFFFF
		}
		return g.r.IntN(600)
	}
	return g.r.IntN(40) // unknown and vendor tags: any length
}

func (g gen) tlvs() pdu.TLVs {
	n := g.r.IntN(5)
	if n == 0 {
		return nil
	}
	ts := make(pdu.TLVs, n)
	for i := range ts {
		var tag pdu.Tag
		switch g.r.IntN(3) {
		case 0:
			tag = knownTags[g.r.IntN(len(knownTags))]
		case 1:
			tag = pdu.TagVendorFirst + pdu.Tag(g.r.IntN(int(pdu.TagVendorLast-pdu.TagVendorFirst)+1))
		default:
			tag = pdu.Tag(0x5000 + g.r.IntN(0xAFFF)) // not standard, not vendor
		}
		v := make([]byte, g.tlvLen(tag)) // decoded values are never nil
		for j := range v {
			v[j] = g.u8()
		}
		ts[i] = pdu.TLV{Tag: tag, Value: v}
	}
	return ts
}

func (g gen) submitSM() pdu.SubmitSM {
	return pdu.SubmitSM{
		ServiceType: g.str(6), Source: g.addr(21), Dest: g.addr(21),
		ESMClass: pdu.ESMClass(g.u8()), ProtocolID: g.u8(), PriorityFlag: g.u8(),
		ScheduleDeliveryTime: g.time(), ValidityPeriod: g.time(),
		RegisteredDelivery: pdu.RegisteredDelivery(g.u8()), ReplaceIfPresent: g.u8(),
		DataCoding: pdu.DataCoding(g.u8()), SMDefaultMsgID: g.u8(),
		ShortMessage: g.bytes(254), TLVs: g.tlvs(),
	}
}

// value returns a random PDU of the type for id.
func (g gen) value(id pdu.CommandID) pdu.PDU {
	switch id {
	case pdu.BindTransmitterID, pdu.BindReceiverID, pdu.BindTransceiverID:
		return &pdu.Bind{ID: id, SystemID: g.str(16), Password: g.str(9), SystemType: g.str(13),
			InterfaceVersion: g.u8(), AddressRange: g.addr(41)}
	case pdu.BindTransmitterRespID, pdu.BindReceiverRespID, pdu.BindTransceiverRespID:
		return &pdu.BindResp{ID: id, SystemID: g.str(16), TLVs: g.tlvs()}
	case pdu.OutbindID:
		return &pdu.Outbind{SystemID: g.str(16), Password: g.str(9)}
	case pdu.SubmitSMID:
		p := g.submitSM()
		return &p
	case pdu.DeliverSMID:
		p := pdu.DeliverSM(g.submitSM())
		return &p
	case pdu.SubmitSMRespID:
		return &pdu.SubmitSMResp{MessageID: g.str(65), TLVs: g.tlvs()}
	case pdu.DeliverSMRespID:
		return &pdu.DeliverSMResp{TLVs: g.tlvs()}
	case pdu.SubmitMultiID:
		s := g.submitSM()
		p := &pdu.SubmitMulti{ServiceType: s.ServiceType, Source: s.Source, ESMClass: s.ESMClass,
			ProtocolID: s.ProtocolID, PriorityFlag: s.PriorityFlag, ScheduleDeliveryTime: s.ScheduleDeliveryTime,
			ValidityPeriod: s.ValidityPeriod, RegisteredDelivery: s.RegisteredDelivery,
			ReplaceIfPresent: s.ReplaceIfPresent, DataCoding: s.DataCoding, SMDefaultMsgID: s.SMDefaultMsgID,
			ShortMessage: s.ShortMessage, TLVs: s.TLVs}
		if n := g.r.IntN(pdu.MaxDests + 1); n > 0 && g.r.IntN(4) > 0 {
			n = 1 + n%5 // mostly a few destinations, sometimes up to the maximum
			p.Dests = make([]pdu.DestAddress, n)
		} else if n > 0 {
			p.Dests = make([]pdu.DestAddress, n)
		}
		for i := range p.Dests {
			if g.r.IntN(2) == 0 {
				p.Dests[i] = pdu.DestAddress{Flag: pdu.DestSMEAddress, Address: g.addr(21)}
			} else {
				p.Dests[i] = pdu.DestAddress{Flag: pdu.DestDistributionList, DLName: g.str(21)}
			}
		}
		return p
	case pdu.SubmitMultiRespID:
		p := &pdu.SubmitMultiResp{MessageID: g.str(65), TLVs: g.tlvs()}
		if n := g.r.IntN(4); n > 0 {
			p.Unsuccess = make([]pdu.UnsuccessSME, n)
			for i := range p.Unsuccess {
				p.Unsuccess[i] = pdu.UnsuccessSME{Address: g.addr(21), Status: pdu.Status(g.r.Uint32())}
			}
		}
		return p
	case pdu.DataSMID:
		return &pdu.DataSM{ServiceType: g.str(6), Source: g.addr(65), Dest: g.addr(65), ESMClass: pdu.ESMClass(g.u8()),
			RegisteredDelivery: pdu.RegisteredDelivery(g.u8()), DataCoding: pdu.DataCoding(g.u8()), TLVs: g.tlvs()}
	case pdu.DataSMRespID:
		return &pdu.DataSMResp{MessageID: g.str(65), TLVs: g.tlvs()}
	case pdu.QuerySMID:
		return &pdu.QuerySM{MessageID: g.str(65), Source: g.addr(21)}
	case pdu.QuerySMRespID:
		return &pdu.QuerySMResp{MessageID: g.str(65), FinalDate: g.time(), MessageState: pdu.MessageState(g.u8()), ErrorCode: g.u8()}
	case pdu.CancelSMID:
		return &pdu.CancelSM{ServiceType: g.str(6), MessageID: g.str(65), Source: g.addr(21), Dest: g.addr(21)}
	case pdu.ReplaceSMID:
		return &pdu.ReplaceSM{MessageID: g.str(65), Source: g.addr(21), ScheduleDeliveryTime: g.time(),
			ValidityPeriod: g.time(), RegisteredDelivery: pdu.RegisteredDelivery(g.u8()), SMDefaultMsgID: g.u8(),
			ShortMessage: g.bytes(254), TLVs: g.tlvs()}
	case pdu.AlertNotificationID:
		return &pdu.AlertNotification{Source: g.addr(65), ESMEAddr: g.addr(65), TLVs: g.tlvs()}
	}
	return pdu.New(id) // the header-only PDUs
}

// TestRoundTrip_Generated encodes random legal values of every PDU type,
// decodes them and expects the same value and header back. The seed is
// printed; rerun with -seed to reproduce a failure.
func TestRoundTrip_Generated(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -seed=%d)", seed, seed)
	g := gen{rand.New(rand.NewPCG(seed, seed^0x5EED))}
	for range 300 {
		for _, id := range allCommandIDs {
			p := g.value(id)
			seq := g.r.Uint32()
			frame, err := pdu.Encode(p, pdu.StatusOK, seq)
			if err != nil {
				t.Fatalf("Encode(%#v): %v", p, err)
			}
			for _, alias := range []bool{false, true} {
				h, got, err := pdu.Decoder{AliasBytes: alias}.Decode(frame)
				if err != nil {
					t.Fatalf("Decode(Encode(%#v)) = %v\nframe %X", p, err, frame)
				}
				want := pdu.Header{Length: uint32(len(frame)), ID: id, Status: pdu.StatusOK, Sequence: seq}
				if h != want {
					t.Fatalf("%s: header %+v, want %+v", id, h, want)
				}
				if !reflect.DeepEqual(got, p) {
					t.Fatalf("%s (alias %v): round trip changed the value\n got %#v\nwant %#v", id, alias, got, p)
				}
				if again, err := pdu.Encode(got, pdu.StatusOK, seq); err != nil || !bytes.Equal(again, frame) {
					t.Fatalf("%s: re-encoding gave other octets (%v)", id, err)
				}
			}
		}
	}
}

// TestDecoder_CopiesByDefault proves the zero Decoder's result does not
// share memory with the frame, and that AliasBytes does.
func TestDecoder_CopiesByDefault(t *testing.T) {
	p := &pdu.DeliverSM{Source: mobile, ShortMessage: []byte("original"),
		TLVs: pdu.TLVs{{Tag: pdu.TagMessagePayload, Value: []byte("payload")}}}
	frame, err := pdu.Encode(p, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, copied, err := pdu.Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	_, aliased, err := pdu.Decoder{AliasBytes: true}.Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	for i := range frame[pdu.HeaderLen:] {
		frame[pdu.HeaderLen+i] = 'X' // the reader's buffer being reused
	}
	c := copied.(*pdu.DeliverSM)
	if string(c.ShortMessage) != "original" || string(c.TLVs[0].Value) != "payload" || c.Source.Addr != mobile.Addr {
		t.Errorf("copying decoder result changed with the frame: %q %q %q", c.ShortMessage, c.TLVs[0].Value, c.Source.Addr)
	}
	a := aliased.(*pdu.DeliverSM)
	if string(a.ShortMessage) != "XXXXXXXX" || string(a.TLVs[0].Value) != "XXXXXXX" {
		t.Errorf("aliasing decoder result did not share the frame: %q %q", a.ShortMessage, a.TLVs[0].Value)
	}
	if a.Source.Addr != mobile.Addr {
		t.Errorf("aliasing decoder must still copy strings, source_addr is %q", a.Source.Addr)
	}
}

// TestDecoder_ShortMessageAppendDoesNotClobber checks that growing a
// decoded short_message cannot overwrite the TLVs decoded next to it.
func TestDecoder_ShortMessageAppendDoesNotClobber(t *testing.T) {
	p := &pdu.SubmitSM{ShortMessage: []byte("ab"), TLVs: pdu.TLVs{{Tag: pdu.TagSourcePort, Value: []byte{1, 2}}}}
	frame, _ := pdu.Encode(p, 0, 1)
	for _, alias := range []bool{false, true} {
		_, got, err := pdu.Decoder{AliasBytes: alias}.Decode(frame)
		if err != nil {
			t.Fatal(err)
		}
		sm := got.(*pdu.SubmitSM)
		_ = append(sm.ShortMessage, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)
		if port, _ := sm.TLVs.SourcePort(); port != 0x0102 {
			t.Errorf("alias %v: append to ShortMessage changed source_port to %#x", alias, port)
		}
	}
}
