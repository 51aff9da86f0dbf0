package pdu

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Tag is a TLV parameter tag (§5.3.1).
type Tag uint16

// The SMPP 3.4 TLV tags (§5.3.2), and congestion_state from 5.0, which
// SMSCs send to 3.4 peers.
const (
	TagDestAddrSubunit          Tag = 0x0005
	TagDestNetworkType          Tag = 0x0006
	TagDestBearerType           Tag = 0x0007
	TagDestTelematicsID         Tag = 0x0008
	TagSourceAddrSubunit        Tag = 0x000D
	TagSourceNetworkType        Tag = 0x000E
	TagSourceBearerType         Tag = 0x000F
	TagSourceTelematicsID       Tag = 0x0010
	TagQosTimeToLive            Tag = 0x0017
	TagPayloadType              Tag = 0x0019
	TagAdditionalStatusInfoText Tag = 0x001D
	TagReceiptedMessageID       Tag = 0x001E
	TagMsMsgWaitFacilities      Tag = 0x0030
	TagPrivacyIndicator         Tag = 0x0201
	TagSourceSubaddress         Tag = 0x0202
	TagDestSubaddress           Tag = 0x0203
	TagUserMessageReference     Tag = 0x0204
	TagUserResponseCode         Tag = 0x0205
	TagSourcePort               Tag = 0x020A
	TagDestinationPort          Tag = 0x020B
	TagSARMsgRefNum             Tag = 0x020C
	TagLanguageIndicator        Tag = 0x020D
	TagSARTotalSegments         Tag = 0x020E
	TagSARSegmentSeqnum         Tag = 0x020F
	TagSCInterfaceVersion       Tag = 0x0210
	TagCallbackNumPresInd       Tag = 0x0302
	TagCallbackNumAtag          Tag = 0x0303
	TagNumberOfMessages         Tag = 0x0304
	TagCallbackNum              Tag = 0x0381
	TagDpfResult                Tag = 0x0420
	TagSetDpf                   Tag = 0x0421
	TagMsAvailabilityStatus     Tag = 0x0422
	TagNetworkErrorCode         Tag = 0x0423
	TagMessagePayload           Tag = 0x0424
	TagDeliveryFailureReason    Tag = 0x0425
	TagMoreMessagesToSend       Tag = 0x0426
	TagMessageState             Tag = 0x0427
	TagCongestionState          Tag = 0x0428 // SMPP 5.0
	TagUssdServiceOp            Tag = 0x0501
	TagDisplayTime              Tag = 0x1201
	TagSmsSignal                Tag = 0x1203
	TagMsValidity               Tag = 0x1204
	TagAlertOnMessageDelivery   Tag = 0x130C
	TagItsReplyType             Tag = 0x1380
	TagItsSessionInfo           Tag = 0x1383
)

// Vendor-specific tags lie in this range (§5.3.2); they are kept and sent
// on as opaque octets.
const (
	TagVendorFirst Tag = 0x1400
	TagVendorLast  Tag = 0x3FFF
)

// valueKind is how a known tag's value is read.
type valueKind uint8

const (
	kindInt     valueKind = iota + 1 // big-endian integer of a fixed size
	kindCString                      // C-Octet String; max counts the NUL
	kindOctets                       // octet string of min..max octets
)

// tagSpec is what §5.3.2 says about a tag's value.
type tagSpec struct {
	name     string
	kind     valueKind
	min, max int
}

func intSpec(name string, size int) tagSpec { return tagSpec{name, kindInt, size, size} }

// tagSpecs lists the known tags with the length rule of §5.3.2. The two
// exceptions widen a 3.4 rule to what 5.0 allows, since 5.0 peers send it:
// alert_on_message_delivery may carry 1 octet and ms_validity 4.
var tagSpecs = map[Tag]tagSpec{
	TagDestAddrSubunit:          intSpec("dest_addr_subunit", 1),
	TagDestNetworkType:          intSpec("dest_network_type", 1),
	TagDestBearerType:           intSpec("dest_bearer_type", 1),
	TagDestTelematicsID:         intSpec("dest_telematics_id", 2),
	TagSourceAddrSubunit:        intSpec("source_addr_subunit", 1),
	TagSourceNetworkType:        intSpec("source_network_type", 1),
	TagSourceBearerType:         intSpec("source_bearer_type", 1),
	TagSourceTelematicsID:       intSpec("source_telematics_id", 1),
	TagQosTimeToLive:            intSpec("qos_time_to_live", 4),
	TagPayloadType:              intSpec("payload_type", 1),
	TagAdditionalStatusInfoText: {"additional_status_info_text", kindCString, 0, 256},
	TagReceiptedMessageID:       {"receipted_message_id", kindCString, 0, 65},
	TagMsMsgWaitFacilities:      intSpec("ms_msg_wait_facilities", 1),
	TagPrivacyIndicator:         intSpec("privacy_indicator", 1),
	TagSourceSubaddress:         {"source_subaddress", kindOctets, 2, 23},
	TagDestSubaddress:           {"dest_subaddress", kindOctets, 2, 23},
	TagUserMessageReference:     intSpec("user_message_reference", 2),
	TagUserResponseCode:         intSpec("user_response_code", 1),
	TagSourcePort:               intSpec("source_port", 2),
	TagDestinationPort:          intSpec("destination_port", 2),
	TagSARMsgRefNum:             intSpec("sar_msg_ref_num", 2),
	TagLanguageIndicator:        intSpec("language_indicator", 1),
	TagSARTotalSegments:         intSpec("sar_total_segments", 1),
	TagSARSegmentSeqnum:         intSpec("sar_segment_seqnum", 1),
	TagSCInterfaceVersion:       intSpec("sc_interface_version", 1),
	TagCallbackNumPresInd:       intSpec("callback_num_pres_ind", 1),
	TagCallbackNumAtag:          {"callback_num_atag", kindOctets, 0, 65},
	TagNumberOfMessages:         intSpec("number_of_messages", 1),
	TagCallbackNum:              {"callback_num", kindOctets, 4, 19},
	TagDpfResult:                intSpec("dpf_result", 1),
	TagSetDpf:                   intSpec("set_dpf", 1),
	TagMsAvailabilityStatus:     intSpec("ms_availability_status", 1),
	TagNetworkErrorCode:         {"network_error_code", kindOctets, 3, 3},
	TagMessagePayload:           {"message_payload", kindOctets, 0, 0xFFFF},
	TagDeliveryFailureReason:    intSpec("delivery_failure_reason", 1),
	TagMoreMessagesToSend:       intSpec("more_messages_to_send", 1),
	TagMessageState:             intSpec("message_state", 1),
	TagCongestionState:          intSpec("congestion_state", 1),
	TagUssdServiceOp:            {"ussd_service_op", kindOctets, 1, 1},
	TagDisplayTime:              intSpec("display_time", 1),
	TagSmsSignal:                intSpec("sms_signal", 2),
	TagMsValidity:               {"ms_validity", kindOctets, 1, 4},
	TagAlertOnMessageDelivery:   {"alert_on_message_delivery", kindOctets, 0, 1},
	TagItsReplyType:             intSpec("its_reply_type", 1),
	TagItsSessionInfo:           {"its_session_info", kindOctets, 2, 2},
}

// String gives the spec name of a known tag, else "tlv(0x1401)".
func (t Tag) String() string {
	if s, ok := tagSpecs[t]; ok {
		return s.name
	}
	return fmt.Sprintf("tlv(0x%04X)", uint16(t))
}

// Known reports whether the tag is one of the standard tags above.
func (t Tag) Known() bool {
	_, ok := tagSpecs[t]
	return ok
}

// Vendor reports whether the tag is in the vendor-specific range.
func (t Tag) Vendor() bool { return t >= TagVendorFirst && t <= TagVendorLast }

// checkLen applies the tag's length rule; it returns "" when n is allowed.
func (t Tag) checkLen(n int) string {
	s, ok := tagSpecs[t]
	if !ok {
		return ""
	}
	switch {
	case s.min == s.max && n != s.min:
		return fmt.Sprintf("length %d, the spec fixes %d", n, s.min)
	case n < s.min:
		return fmt.Sprintf("length %d, less than the minimum %d", n, s.min)
	case n > s.max:
		return fmt.Sprintf("length %d, more than the maximum %d", n, s.max)
	}
	return ""
}

// TLV is one optional parameter as it travels: its tag and its raw value.
type TLV struct {
	Tag   Tag
	Value []byte
}

// TLVs is the optional part of a PDU, in wire order. Unknown and vendor
// tags are kept in place, so a decoded PDU encodes back to the same octets.
// The getters read the first TLV with a tag; Set replaces the first or
// appends. Setters allocate the new value; encoding a PDU whose TLVs are
// already built does not allocate.
type TLVs []TLV

// Get returns the raw value of the first TLV with the tag.
func (ts TLVs) Get(tag Tag) ([]byte, bool) {
	for i := range ts {
		if ts[i].Tag == tag {
			return ts[i].Value, true
		}
	}
	return nil, false
}

// Has reports whether a TLV with the tag is present.
func (ts TLVs) Has(tag Tag) bool {
	_, ok := ts.Get(tag)
	return ok
}

// Set replaces the value of the first TLV with the tag, or appends one.
// The slice is kept, not copied.
func (ts *TLVs) Set(tag Tag, value []byte) {
	for i := range *ts {
		if (*ts)[i].Tag == tag {
			(*ts)[i].Value = value
			return
		}
	}
	*ts = append(*ts, TLV{Tag: tag, Value: value})
}

// Delete removes every TLV with the tag.
func (ts *TLVs) Delete(tag Tag) {
	out := (*ts)[:0]
	for _, t := range *ts {
		if t.Tag != tag {
			out = append(out, t)
		}
	}
	clear((*ts)[len(out):])
	*ts = out
}

// Uint8 reads a one-octet integer value.
func (ts TLVs) Uint8(tag Tag) (uint8, bool) {
	v, ok := ts.Get(tag)
	if !ok || len(v) != 1 {
		return 0, false
	}
	return v[0], true
}

// Uint16 reads a two-octet big-endian integer value.
func (ts TLVs) Uint16(tag Tag) (uint16, bool) {
	v, ok := ts.Get(tag)
	if !ok || len(v) != 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(v), true
}

// Uint32 reads a four-octet big-endian integer value.
func (ts TLVs) Uint32(tag Tag) (uint32, bool) {
	v, ok := ts.Get(tag)
	if !ok || len(v) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(v), true
}

// CString reads a C-Octet String value up to its first NUL. A value
// without a NUL is taken whole: SMSCs often leave the NUL out of
// receipted_message_id.
func (ts TLVs) CString(tag Tag) (string, bool) {
	v, ok := ts.Get(tag)
	if !ok {
		return "", false
	}
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return string(v), true
}

// SetUint8 sets a one-octet integer value.
func (ts *TLVs) SetUint8(tag Tag, v uint8) { ts.Set(tag, []byte{v}) }

// SetUint16 sets a two-octet big-endian integer value.
func (ts *TLVs) SetUint16(tag Tag, v uint16) {
	ts.Set(tag, binary.BigEndian.AppendUint16(make([]byte, 0, 2), v))
}

// SetUint32 sets a four-octet big-endian integer value.
func (ts *TLVs) SetUint32(tag Tag, v uint32) {
	ts.Set(tag, binary.BigEndian.AppendUint32(make([]byte, 0, 4), v))
}

// SetCString sets a C-Octet String value, NUL included. A value too long
// for the tag fails when the PDU is encoded.
func (ts *TLVs) SetCString(tag Tag, s string) {
	v := make([]byte, len(s)+1)
	copy(v, s)
	ts.Set(tag, v)
}

// ReceiptedMessageID is the SMSC's id of the message a receipt is about
// (§5.3.2.12), without its NUL.
func (ts TLVs) ReceiptedMessageID() (string, bool) { return ts.CString(TagReceiptedMessageID) }

// SetReceiptedMessageID sets receipted_message_id (at most 64 characters).
func (ts *TLVs) SetReceiptedMessageID(id string) { ts.SetCString(TagReceiptedMessageID, id) }

// MessageState is the state a receipt reports (§5.3.2.35).
func (ts TLVs) MessageState() (MessageState, bool) {
	v, ok := ts.Uint8(TagMessageState)
	return MessageState(v), ok
}

// SetMessageState sets message_state.
func (ts *TLVs) SetMessageState(s MessageState) { ts.SetUint8(TagMessageState, uint8(s)) }

// NetworkErrorCode is the network's own error for a failed delivery
// (§5.3.2.31).
func (ts TLVs) NetworkErrorCode() (NetworkErrorCode, bool) {
	v, ok := ts.Get(TagNetworkErrorCode)
	if !ok || len(v) != 3 {
		return NetworkErrorCode{}, false
	}
	return NetworkErrorCode{Type: NetworkType(v[0]), Code: binary.BigEndian.Uint16(v[1:])}, true
}

// SetNetworkErrorCode sets network_error_code.
func (ts *TLVs) SetNetworkErrorCode(c NetworkErrorCode) {
	ts.Set(TagNetworkErrorCode, []byte{byte(c.Type), byte(c.Code >> 8), byte(c.Code)})
}

// MessagePayload is the message content sent instead of short_message
// (§5.3.2.32).
func (ts TLVs) MessagePayload() ([]byte, bool) { return ts.Get(TagMessagePayload) }

// SetMessagePayload sets message_payload (at most 65535 octets); sm_length
// must then be 0, so leave ShortMessage empty.
func (ts *TLVs) SetMessagePayload(p []byte) { ts.Set(TagMessagePayload, p) }

// SARMsgRefNum is the reference shared by the segments of a concatenated
// message (§5.3.2.22).
func (ts TLVs) SARMsgRefNum() (uint16, bool) { return ts.Uint16(TagSARMsgRefNum) }

// SetSARMsgRefNum sets sar_msg_ref_num.
func (ts *TLVs) SetSARMsgRefNum(v uint16) { ts.SetUint16(TagSARMsgRefNum, v) }

// SARTotalSegments is the number of segments (§5.3.2.23).
func (ts TLVs) SARTotalSegments() (uint8, bool) { return ts.Uint8(TagSARTotalSegments) }

// SetSARTotalSegments sets sar_total_segments.
func (ts *TLVs) SetSARTotalSegments(v uint8) { ts.SetUint8(TagSARTotalSegments, v) }

// SARSegmentSeqnum is this segment's 1-based number (§5.3.2.24).
func (ts TLVs) SARSegmentSeqnum() (uint8, bool) { return ts.Uint8(TagSARSegmentSeqnum) }

// SetSARSegmentSeqnum sets sar_segment_seqnum.
func (ts *TLVs) SetSARSegmentSeqnum(v uint8) { ts.SetUint8(TagSARSegmentSeqnum, v) }

// SCInterfaceVersion is the SMPP version the SMSC supports, sent in
// bind_*_resp (§5.3.2.25).
func (ts TLVs) SCInterfaceVersion() (uint8, bool) { return ts.Uint8(TagSCInterfaceVersion) }

// SetSCInterfaceVersion sets sc_interface_version.
func (ts *TLVs) SetSCInterfaceVersion(v uint8) { ts.SetUint8(TagSCInterfaceVersion, v) }

// UserMessageReference is the ESME's own reference for a message
// (§5.3.2.17).
func (ts TLVs) UserMessageReference() (uint16, bool) { return ts.Uint16(TagUserMessageReference) }

// SetUserMessageReference sets user_message_reference.
func (ts *TLVs) SetUserMessageReference(v uint16) { ts.SetUint16(TagUserMessageReference, v) }

// SourcePort is the application port of the originator (§5.3.2.20).
func (ts TLVs) SourcePort() (uint16, bool) { return ts.Uint16(TagSourcePort) }

// SetSourcePort sets source_port.
func (ts *TLVs) SetSourcePort(v uint16) { ts.SetUint16(TagSourcePort, v) }

// DestinationPort is the application port of the recipient (§5.3.2.21).
func (ts TLVs) DestinationPort() (uint16, bool) { return ts.Uint16(TagDestinationPort) }

// SetDestinationPort sets destination_port.
func (ts *TLVs) SetDestinationPort(v uint16) { ts.SetUint16(TagDestinationPort, v) }

// PayloadType says whether the payload is a default message (0) or a WCMP
// message (1) (§5.3.2.10).
func (ts TLVs) PayloadType() (uint8, bool) { return ts.Uint8(TagPayloadType) }

// SetPayloadType sets payload_type.
func (ts *TLVs) SetPayloadType(v uint8) { ts.SetUint8(TagPayloadType, v) }

// MoreMessagesToSend reports whether the sender has more messages queued
// for the recipient (§5.3.2.34): the value 1, the default when absent.
func (ts TLVs) MoreMessagesToSend() (more, ok bool) {
	v, ok := ts.Uint8(TagMoreMessagesToSend)
	return v != 0, ok
}

// SetMoreMessagesToSend sets more_messages_to_send to 1 or 0.
func (ts *TLVs) SetMoreMessagesToSend(more bool) {
	var v uint8
	if more {
		v = 1
	}
	ts.SetUint8(TagMoreMessagesToSend, v)
}

// AdditionalStatusInfoText is the peer's explanation of a status
// (§5.3.2.11), without its NUL.
func (ts TLVs) AdditionalStatusInfoText() (string, bool) {
	return ts.CString(TagAdditionalStatusInfoText)
}

// SetAdditionalStatusInfoText sets additional_status_info_text (at most
// 255 characters).
func (ts *TLVs) SetAdditionalStatusInfoText(s string) {
	ts.SetCString(TagAdditionalStatusInfoText, s)
}

// DeliveryFailureReason says why a data_sm failed (§5.3.2.33): 0
// destination unavailable, 1 destination address invalid, 2 permanent
// network error, 3 temporary network error.
func (ts TLVs) DeliveryFailureReason() (uint8, bool) { return ts.Uint8(TagDeliveryFailureReason) }

// SetDeliveryFailureReason sets delivery_failure_reason.
func (ts *TLVs) SetDeliveryFailureReason(v uint8) { ts.SetUint8(TagDeliveryFailureReason, v) }

// appendTLVs encodes ts after checking every value against its length
// rule, so a malformed TLV never reaches the wire.
func (e *encoder) tlvs(ts TLVs) {
	if e.err != nil {
		return
	}
	for _, t := range ts {
		if len(t.Value) > 0xFFFF {
			e.fail("tlv "+t.Tag.String(), "%d octets, more than a TLV can carry (65535)", len(t.Value))
			return
		}
		if msg := t.Tag.checkLen(len(t.Value)); msg != "" {
			e.fail("tlv "+t.Tag.String(), "%s", msg)
			return
		}
	}
	for _, t := range ts {
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(t.Tag))
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(len(t.Value)))
		e.b = append(e.b, t.Value...)
	}
}

// tlvs reads TLVs up to the end of the body (§3.2, §5.3.1). A header
// cut short or a length that runs past the end is ESME_RINVOPTPARSTREAM;
// a known tag whose length breaks its rule is ESME_RINVPARLEN. The first
// pass validates and counts so the result is allocated once.
func (d *decoder) tlvs() TLVs {
	if d.err != nil || d.off == len(d.b) {
		return nil
	}
	n := 0
	for off := d.off; off < len(d.b); n++ {
		if len(d.b)-off < 4 {
			d.fail("tlv", StatusInvOptParStream, "%d octets after the last TLV, too few for a TLV header", len(d.b)-off)
			return nil
		}
		tag := Tag(binary.BigEndian.Uint16(d.b[off:]))
		l := int(binary.BigEndian.Uint16(d.b[off+2:]))
		if rest := len(d.b) - off - 4; l > rest {
			d.fail("tlv "+tag.String(), StatusInvOptParStream, "length %d overruns the PDU, which has %d octets left", l, rest)
			return nil
		}
		if msg := tag.checkLen(l); msg != "" {
			d.fail("tlv "+tag.String(), StatusInvParLen, "%s", msg)
			return nil
		}
		off += 4 + l
	}
	ts := make(TLVs, n)
	for i := range ts {
		l := int(binary.BigEndian.Uint16(d.b[d.off+2:]))
		ts[i].Tag = Tag(binary.BigEndian.Uint16(d.b[d.off:]))
		v := d.off + 4
		ts[i].Value = d.slice(v, v+l)
		d.off = v + l
	}
	return ts
}
