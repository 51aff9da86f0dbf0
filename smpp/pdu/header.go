package pdu

import (
	"encoding/binary"
	"fmt"
)

// HeaderLen is the size of the PDU header (§3.2): command_length,
// command_id, command_status and sequence_number, four octets each.
const HeaderLen = 16

// Header is the fixed part every PDU starts with (§3.2). Length counts the
// whole PDU, header included.
type Header struct {
	Length   uint32
	ID       CommandID
	Status   Status
	Sequence uint32
}

// ParseHeader reads the 16-octet header at the start of b. It checks only
// that b is long enough: framing limits are the Reader's business and the
// body is DecodeBody's.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("pdu: header needs %d octets, have %d", HeaderLen, len(b))
	}
	return Header{
		Length:   binary.BigEndian.Uint32(b[0:4]),
		ID:       CommandID(binary.BigEndian.Uint32(b[4:8])),
		Status:   Status(binary.BigEndian.Uint32(b[8:12])),
		Sequence: binary.BigEndian.Uint32(b[12:16]),
	}, nil
}

// Append appends the header's 16 octets to dst as they are; it does not
// compute Length.
func (h Header) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, h.Length)
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.ID))
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.Status))
	return binary.BigEndian.AppendUint32(dst, h.Sequence)
}

func (h Header) String() string {
	return fmt.Sprintf("%s seq=%d status=%s len=%d", h.ID, h.Sequence, h.Status.String(), h.Length)
}

// CommandID identifies a PDU (§5.1.2.1). A response has the request's id
// with bit 31 set.
type CommandID uint32

// The SMPP 3.4 command ids (§5.1.2.1).
const (
	GenericNackID         CommandID = 0x80000000
	BindReceiverID        CommandID = 0x00000001
	BindReceiverRespID    CommandID = 0x80000001
	BindTransmitterID     CommandID = 0x00000002
	BindTransmitterRespID CommandID = 0x80000002
	QuerySMID             CommandID = 0x00000003
	QuerySMRespID         CommandID = 0x80000003
	SubmitSMID            CommandID = 0x00000004
	SubmitSMRespID        CommandID = 0x80000004
	DeliverSMID           CommandID = 0x00000005
	DeliverSMRespID       CommandID = 0x80000005
	UnbindID              CommandID = 0x00000006
	UnbindRespID          CommandID = 0x80000006
	ReplaceSMID           CommandID = 0x00000007
	ReplaceSMRespID       CommandID = 0x80000007
	CancelSMID            CommandID = 0x00000008
	CancelSMRespID        CommandID = 0x80000008
	BindTransceiverID     CommandID = 0x00000009
	BindTransceiverRespID CommandID = 0x80000009
	OutbindID             CommandID = 0x0000000B
	EnquireLinkID         CommandID = 0x00000015
	EnquireLinkRespID     CommandID = 0x80000015
	SubmitMultiID         CommandID = 0x00000021
	SubmitMultiRespID     CommandID = 0x80000021
	AlertNotificationID   CommandID = 0x00000102
	DataSMID              CommandID = 0x00000103
	DataSMRespID          CommandID = 0x80000103
)

const responseBit = 0x80000000

func (id CommandID) String() string {
	switch id {
	case GenericNackID:
		return "generic_nack"
	case BindReceiverID:
		return "bind_receiver"
	case BindReceiverRespID:
		return "bind_receiver_resp"
	case BindTransmitterID:
		return "bind_transmitter"
	case BindTransmitterRespID:
		return "bind_transmitter_resp"
	case QuerySMID:
		return "query_sm"
	case QuerySMRespID:
		return "query_sm_resp"
	case SubmitSMID:
		return "submit_sm"
	case SubmitSMRespID:
		return "submit_sm_resp"
	case DeliverSMID:
		return "deliver_sm"
	case DeliverSMRespID:
		return "deliver_sm_resp"
	case UnbindID:
		return "unbind"
	case UnbindRespID:
		return "unbind_resp"
	case ReplaceSMID:
		return "replace_sm"
	case ReplaceSMRespID:
		return "replace_sm_resp"
	case CancelSMID:
		return "cancel_sm"
	case CancelSMRespID:
		return "cancel_sm_resp"
	case BindTransceiverID:
		return "bind_transceiver"
	case BindTransceiverRespID:
		return "bind_transceiver_resp"
	case OutbindID:
		return "outbind"
	case EnquireLinkID:
		return "enquire_link"
	case EnquireLinkRespID:
		return "enquire_link_resp"
	case SubmitMultiID:
		return "submit_multi"
	case SubmitMultiRespID:
		return "submit_multi_resp"
	case AlertNotificationID:
		return "alert_notification"
	case DataSMID:
		return "data_sm"
	case DataSMRespID:
		return "data_sm_resp"
	}
	return fmt.Sprintf("command_id(0x%08X)", uint32(id))
}

// IsResponse reports whether bit 31 is set: a response, generic_nack
// included.
func (id CommandID) IsResponse() bool { return id&responseBit != 0 }

// Response is the id of the response to this request (id | 0x80000000).
// For a response it is the id itself.
func (id CommandID) Response() CommandID { return id | responseBit }

// Known reports whether id is an SMPP 3.4 command this package decodes.
func (id CommandID) Known() bool {
	switch id {
	case GenericNackID,
		BindReceiverID, BindReceiverRespID,
		BindTransmitterID, BindTransmitterRespID,
		BindTransceiverID, BindTransceiverRespID,
		QuerySMID, QuerySMRespID,
		SubmitSMID, SubmitSMRespID,
		DeliverSMID, DeliverSMRespID,
		UnbindID, UnbindRespID,
		ReplaceSMID, ReplaceSMRespID,
		CancelSMID, CancelSMRespID,
		OutbindID,
		EnquireLinkID, EnquireLinkRespID,
		SubmitMultiID, SubmitMultiRespID,
		AlertNotificationID,
		DataSMID, DataSMRespID:
		return true
	}
	return false
}

// ExpectsResponse reports whether the peer must answer a request with
// this id. Responses, outbind and alert_notification (§4.1.7, §4.12)
// expect none.
func (id CommandID) ExpectsResponse() bool {
	if id.IsResponse() || id == OutbindID || id == AlertNotificationID {
		return false
	}
	return id.Known()
}
