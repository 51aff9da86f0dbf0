package dlr

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// TLVs are the optional parameters of a deliver_sm or data_sm that concern
// a receipt, as the agent took them from the decoded PDU. The zero value
// means none was sent.
type TLVs struct {
	// ReceiptedMessageID is receipted_message_id (0x001E, §5.3.2.12), ""
	// when absent. Its trailing NUL, which the value includes on the wire,
	// may be left on: Parse strips it.
	ReceiptedMessageID string
	// MessageState is message_state (0x0427, §5.3.2.35), valid only when
	// HasMessageState is set.
	MessageState    uint8
	HasMessageState bool
	// NetworkErrorCode is the network_error_code value (0x0423,
	// §5.3.2.31) as received, nil when absent.
	NetworkErrorCode []byte
}

// Input is what Parse reads: a deliver_sm or data_sm the agent has decoded.
type Input struct {
	ESMClass   byte
	DataCoding byte
	// Message is the short_message, or the message_payload when the text
	// came in that instead (sm_length 0). It may be empty when the TLVs
	// carry the receipt.
	Message []byte
	TLVs    TLVs
}

// Options tune Parse. The zero value is ready to use.
type Options struct {
	// Location is the zone the SMSC writes its dates in; nil means UTC.
	Location *time.Location
}

// NetworkError is a network_error_code (SMPP 3.4 §5.3.2.31): the network
// type and a code whose meaning depends on it.
type NetworkError struct {
	Type uint8
	Code uint16
	// Raw is the value as received; when it is not three octets, Type and
	// Code are zero and only Raw means anything.
	Raw []byte
}

// networkTypes names the network types of §5.3.2.31; 4-8 were added by
// SMPP 5.0.
var networkTypes = [...]string{
	1: "ANSI-136",
	2: "IS-95",
	3: "GSM",
	4: "ANSI-136-CAUSE",
	5: "IS-95-CAUSE",
	6: "ANSI-41",
	7: "SMPP",
	8: "MC",
}

// String renders the code as "GSM:0x0001", "type9:0x0001" for a type
// without a name, or "raw:0a0b" for a value of the wrong length.
func (e NetworkError) String() string {
	if len(e.Raw) != 3 {
		return "raw:" + hex.EncodeToString(e.Raw)
	}
	name := fmt.Sprintf("type%d", e.Type)
	if int(e.Type) < len(networkTypes) && networkTypes[e.Type] != "" {
		name = networkTypes[e.Type]
	}
	return fmt.Sprintf("%s:0x%04X", name, e.Code)
}

func parseNetworkError(b []byte) *NetworkError {
	if b == nil {
		return nil
	}
	e := &NetworkError{Raw: append([]byte(nil), b...)}
	if len(b) == 3 {
		e.Type, e.Code = b[0], uint16(b[1])<<8|uint16(b[2])
	}
	return e
}

// Receipt is a parsed delivery receipt.
type Receipt struct {
	Kind Kind // from esm_class
	// ID is the receipted message id: receipted_message_id when the SMSC
	// sent one, else the text's id. Look it up with Candidates.
	ID string
	// Status is the outcome: from message_state when it is valid, else
	// from the stat word (see the package documentation).
	Status Status
	// Reason explains every status but Delivered and Intermediate in words
	// an operator can act on, and names a stat word that was not
	// understood.
	Reason string
	// Fields are the text's fields as sent, raw stat and err included; all
	// empty when the receipt came in TLVs only.
	Fields Text
	// Raw is the receipt text as decoded, kept for reports of receipts that
	// match nothing.
	Raw string
	// MessageState is the message_state TLV as received, even when out of
	// range; HasMessageState says whether there was one.
	MessageState    uint8
	HasMessageState bool
	// NetworkError is the network_error_code TLV; nil when absent.
	NetworkError *NetworkError
	// Submitted and Done are the text's dates in Options.Location; zero
	// when absent or unreadable (the raw digits stay in Fields).
	Submitted, Done time.Time
}

// Parse reads a delivery receipt from a deliver_sm or data_sm: the text of
// SMPP 3.4 Appendix B and the receipt TLVs, where the TLVs win: a
// receipted_message_id replaces the text's id, a message_state in 1..9
// decides the status over the stat word.
//
// The text is read as ASCII/Latin-1 whatever the data_coding says, because
// SMSCs label ASCII receipts with data_coding 8; only when that finds no id
// is it read again as UCS-2. Parse fails only when no valid id is found in
// either the TLV or the text; the error then wraps ErrNoID or ErrBadID. It
// never panics. Parse does not check that esm_class marks a receipt: the
// caller does, with IsReceipt, and decides what to do with a message that
// is not one.
func Parse(in Input, o Options) (Receipt, error) {
	r := Receipt{
		Kind:            KindOf(in.ESMClass),
		MessageState:    in.TLVs.MessageState,
		HasMessageState: in.TLVs.HasMessageState,
		NetworkError:    parseNetworkError(in.TLVs.NetworkErrorCode),
	}
	raw, fields, textErr := decodeText(in.Message)
	r.Raw, r.Fields = raw, fields

	tlvID := strings.TrimRight(in.TLVs.ReceiptedMessageID, "\x00")
	tlvErr := checkTLVID(tlvID)
	switch {
	case tlvID != "" && tlvErr == nil:
		r.ID = tlvID
	case textErr == nil:
		r.ID = fields.ID
	case tlvID != "":
		return r, tlvErr
	default:
		return r, textErr
	}

	r.Status, r.Reason = decide(r.Kind, fields, in.TLVs, r.NetworkError)
	if fields.SubmitDate != "" {
		r.Submitted, _ = ParseDate(fields.SubmitDate, o.Location)
	}
	if fields.DoneDate != "" {
		r.Done, _ = ParseDate(fields.DoneDate, o.Location)
	}
	return r, nil
}

// checkTLVID applies a wider rule than the text's: the TLV is a C-Octet
// String of its own, so any printable ASCII but the space is kept as the
// SMSC sent it.
func checkTLVID(id string) error {
	if len(id) > MaxIDLen {
		return fmt.Errorf("dlr: receipted_message_id: %w: %d characters, at most %d", ErrBadID, len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return fmt.Errorf("dlr: receipted_message_id: %w %q: character %q at position %d", ErrBadID, id, id[i], i+1)
		}
	}
	return nil
}

// decodeText reads the receipt octets: Latin-1 first (ASCII is a subset),
// UCS-2 when that has no id. What is returned with an error is the Latin-1
// reading.
func decodeText(b []byte) (string, Text, error) {
	s := latin1(b)
	t, err := ParseText(s)
	if errors.Is(err, ErrNoID) && len(b) >= 2 {
		u := ucs2(b)
		if ut, uerr := ParseText(u); !errors.Is(uerr, ErrNoID) {
			return u, ut, uerr
		}
	}
	return s, t, err
}

func latin1(b []byte) string {
	var s strings.Builder
	s.Grow(len(b))
	for _, c := range b {
		s.WriteRune(rune(c))
	}
	return s.String()
}

// ucs2 reads UTF-16BE; an odd last octet is dropped and unpaired surrogates
// become U+FFFD.
func ucs2(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}

// decide maps what the receipt says to a status and a reason.
func decide(kind Kind, t Text, tlv TLVs, nerr *NetworkError) (Status, string) {
	var (
		s      Status
		ok     bool
		source string
	)
	if tlv.HasMessageState {
		if s, ok = StateStatus(tlv.MessageState); ok {
			source = fmt.Sprintf("message_state %d (%s)", tlv.MessageState, StateName(tlv.MessageState))
		}
	}
	if !ok && t.Stat != "" {
		if s, ok = StatStatus(t.Stat); ok {
			source = "stat " + t.Stat
		} else {
			// An unreadable word is final: waiting for a receipt that can
			// never be understood would keep the message open forever.
			return Failed, fmt.Sprintf("unrecognised receipt stat %q%s: treated as failed", t.Stat, details(t, nerr))
		}
	}
	if !ok {
		switch kind {
		case KindIntermediate:
			return Intermediate, ""
		case KindSMEAck, KindUserAck:
			// The recipient itself acknowledged the message.
			return Delivered, ""
		}
		return Failed, "receipt has neither a stat nor a message_state" + details(t, nerr) + ": treated as failed"
	}
	if s == Delivered || s == Intermediate {
		return s, ""
	}
	return s, s.String() + ": " + source + details(t, nerr)
}

// details lists err and the network error for a reason.
func details(t Text, nerr *NetworkError) string {
	var b strings.Builder
	if t.Err != "" {
		b.WriteString(", err ")
		b.WriteString(t.Err)
	}
	if nerr != nil {
		b.WriteString(", network error ")
		b.WriteString(nerr.String())
	}
	return b.String()
}
