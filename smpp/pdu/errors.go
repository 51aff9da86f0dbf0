package pdu

import (
	"fmt"
	"strconv"
)

// Action says how a session answers a PDU that could not be read or
// decoded (SMPP 3.4 §4.3 and §3.2; doc.go has the rules).
type Action uint8

const (
	// ActionDrop: send nothing; log it. The PDU was a response (answering
	// a response is a protocol error) or a request that has no response
	// (outbind, alert_notification).
	ActionDrop Action = iota
	// ActionRespond: answer with the request's own response PDU, header
	// only, carrying the error's Status and the request's sequence number.
	ActionRespond
	// ActionGenericNack: answer with generic_nack carrying the Status
	// (ESME_RINVCMDID) and the request's sequence number, and keep going.
	ActionGenericNack
	// ActionClose: framing is lost. Send generic_nack ESME_RINVCMDLEN with
	// sequence number 0 (the header was not read) and close the
	// connection: nothing after this point can be trusted to start a PDU.
	ActionClose
)

func (a Action) String() string {
	switch a {
	case ActionDrop:
		return "drop"
	case ActionRespond:
		return "respond"
	case ActionGenericNack:
		return "generic_nack"
	case ActionClose:
		return "close"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// DecodeError reports a PDU whose header was read but whose body could not
// be decoded. It carries what the session needs to answer correctly.
//
// For a response (ActionDrop), Header is still valid: a session may use
// Header.Sequence and Header.Status to settle the request the response
// answers, since the status is readable even when the body is not.
type DecodeError struct {
	Header Header
	// Field names the field at fault ("source_addr", "tlv message_state");
	// empty when the fault is not in one field (an unknown command_id).
	Field string
	// Status is the command_status to answer a request with: the most
	// specific one the spec has for the fault.
	Status Status
	// Reason says what is wrong, for a person reading the log.
	Reason string
}

func (e *DecodeError) Error() string {
	where := e.Header.ID.String()
	if e.Field != "" {
		where += ": " + e.Field
	}
	return fmt.Sprintf("pdu: decode %s (seq %d): %s (%s)", where, e.Header.Sequence, e.Reason, e.Status.String())
}

// Action says how to answer the PDU: generic_nack for a request with an
// unknown command_id, the request's own response for a known request,
// nothing for responses and for requests without a response.
func (e *DecodeError) Action() Action {
	id := e.Header.ID
	switch {
	case id.IsResponse():
		return ActionDrop
	case !id.Known():
		return ActionGenericNack
	case !id.ExpectsResponse():
		return ActionDrop
	}
	return ActionRespond
}

// AppendReply appends the PDU to send back, if any, and reports whether
// there is one (see Action).
func (e *DecodeError) AppendReply(dst []byte) ([]byte, bool) {
	switch e.Action() {
	case ActionGenericNack:
		return appendHeaderOnly(dst, GenericNackID, e.Status, e.Header.Sequence), true
	case ActionRespond:
		return appendHeaderOnly(dst, e.Header.ID.Response(), e.Status, e.Header.Sequence), true
	}
	return dst, false
}

// FramingReason says why a frame could not be delimited.
type FramingReason uint8

const (
	// FramingTooShort: command_length is below 16, the header's own size.
	FramingTooShort FramingReason = iota + 1
	// FramingTooLong: command_length is above the reader's maximum.
	FramingTooLong
	// FramingHTTP: the peer sent an HTTP request or response line.
	FramingHTTP
	// FramingTLS: the peer sent a TLS record (a handshake or an alert).
	FramingTLS
)

// FramingError reports a command_length that cannot start a PDU. The
// stream has lost its framing: the session sends generic_nack
// ESME_RINVCMDLEN with sequence number 0 (AppendReply) and closes the
// connection (ActionClose).
type FramingError struct {
	Reason FramingReason
	// Length is the first four octets read as command_length.
	Length uint32
	// Max is the reader's limit.
	Max uint32
}

func (e *FramingError) Error() string {
	switch e.Reason {
	case FramingHTTP:
		return "pdu: peer speaks HTTP, not SMPP"
	case FramingTLS:
		if e.Length>>24 == 0x15 {
			return "pdu: peer sent a TLS alert: enable tls"
		}
		return "pdu: peer started a TLS handshake: enable tls"
	case FramingTooShort:
		return fmt.Sprintf("pdu: command_length %d is shorter than the %d-octet header: framing lost", e.Length, HeaderLen)
	}
	return fmt.Sprintf("pdu: command_length %d exceeds the limit of %d octets: framing lost", e.Length, e.Max)
}

// Status is ESME_RINVCMDLEN, the status of the generic_nack to send.
func (e *FramingError) Status() Status { return StatusInvCmdLen }

// Action is always ActionClose.
func (e *FramingError) Action() Action { return ActionClose }

// AppendReply appends generic_nack ESME_RINVCMDLEN with sequence number 0
// and returns true: there is always a reply, sent before closing.
func (e *FramingError) AppendReply(dst []byte) ([]byte, bool) {
	return appendHeaderOnly(dst, GenericNackID, StatusInvCmdLen, 0), true
}

// EncodeError reports a value that cannot be put on the wire as it is:
// too long for its field, a NUL inside a C-Octet String, a time of the
// wrong size. Nothing is ever cut to fit.
type EncodeError struct {
	ID     CommandID
	Field  string
	Reason string
}

func (e *EncodeError) Error() string {
	return fmt.Sprintf("pdu: encode %s: %s: %s", e.ID, e.Field, e.Reason)
}

func appendHeaderOnly(dst []byte, id CommandID, status Status, seq uint32) []byte {
	return Header{Length: HeaderLen, ID: id, Status: status, Sequence: seq}.Append(dst)
}
