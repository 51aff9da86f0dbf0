package smsagent

import "time"

// Receipt is a delivery receipt already parsed from its wire form, in the
// agent's terms. The SMPP layer parses; the agent maps into this; the outbox
// matches it to a part.
type Receipt struct {
	// SMSCID is the receipted message id as the SMSC sent it.
	SMSCID string
	// Keys are the index keys to look the part up by, in order of
	// preference: the exact id's key first, then normalised alternatives
	// (hex/decimal, case, leading zeros) allowed by the message_id rule.
	// Parts are stored under the key of their submit_sm_resp id (see
	// PartResult.SMSCKey), produced by the same function.
	Keys []string
	// State is the part's new state: a final state, or StateSent for an
	// intermediate receipt (ACCEPTD, ENROUTE, …) which records Stat only.
	State State
	Stat  string // raw stat word, e.g. "DELIVRD"
	Err   string // raw err value, e.g. "000"
	// Done is the receipt's done date when it had one, else zero.
	Done     time.Time
	Received time.Time
	// Raw fields for an unmatched report.
	Source, Dest, Text string
}

// ReceiptOutcome says what applying a receipt did.
type ReceiptOutcome uint8

const (
	// ReceiptMatched updated a part.
	ReceiptMatched ReceiptOutcome = iota + 1
	// ReceiptRepeated matched a part that already had this final state: an
	// SMSC redelivery after a lost deliver_sm_resp. Nothing changed.
	ReceiptRepeated
	// ReceiptParked matched nothing yet; it is kept for a grace period in
	// case its submit_sm_resp has not been committed, then reported as
	// unmatched.
	ReceiptParked
)

func (o ReceiptOutcome) String() string {
	switch o {
	case ReceiptMatched:
		return "matched"
	case ReceiptRepeated:
		return "repeated"
	case ReceiptParked:
		return "parked"
	}
	return "unknown"
}

// MOPart is one received SMS part (or a whole single-part SMS) as the outbox
// stores it until its siblings arrive.
type MOPart struct {
	From, To string
	// Key identifies the concatenated message: sender, recipient,
	// reference, total and reference width, built by the agent. Empty for
	// a single-part SMS.
	Key   string
	Total int // 1 for a single-part SMS
	Seq   int // 1-based
	// DataCoding and Data are the raw short_message (or message_payload)
	// without the UDH: parts are joined as bytes and decoded once, because an
	// escape or a surrogate pair may straddle two parts.
	DataCoding byte
	Data       []byte
	// Fingerprint identifies a redelivered copy of the same part (the SMSC
	// sends it again when our deliver_sm_resp was lost); the outbox remembers
	// recent fingerprints and drops repeats.
	Fingerprint string
	Received    time.Time
}
