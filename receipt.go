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
	// SMSC is the account whose bind the receipt came on.
	SMSC string
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
	// Fingerprint identifies copies of one deliver_sm: the SMSC sends it
	// again when our deliver_sm_resp did not reach it. The outbox drops a
	// copy only under the rule of its AddMOParts; an empty Fingerprint is
	// never taken for a copy of anything.
	Fingerprint string
	// AnswerLost says that the session the part came on ended before the
	// part was stored: no deliver_sm_resp can answer it, so the SMSC still
	// owes its redelivery.
	AnswerLost bool
	Received   time.Time
	// SMSC is the account whose bind the part came on.
	SMSC string
}

// MOOutcome says what storing an incoming part did.
type MOOutcome uint8

const (
	// MOStored stored the part: a message of its own, or a part of the set
	// its concatenation key names.
	MOStored MOOutcome = iota + 1
	// MONewSet stored the part in a new set: it contradicted the incomplete
	// set waiting under its key (another data_coding, or a part number that
	// set already holds), so it belongs to another message that reuses the
	// reference. The earlier set keeps waiting for its own parts.
	MONewSet
	// MORedelivered dropped the part: the same deliver_sm came again within
	// the duplicate window after the earlier copy was answered.
	MORedelivered
	// MORedeliveredLost dropped the part: the same deliver_sm came again
	// after the answer to the earlier copy could not be sent.
	MORedeliveredLost
)

// Dropped reports whether the part was recognised as a redelivery and not
// stored again.
func (o MOOutcome) Dropped() bool { return o == MORedelivered || o == MORedeliveredLost }

// String is the outcome's name; for a dropped part it is the reason
// metrics and logs give: "window" or "answer_lost".
func (o MOOutcome) String() string {
	switch o {
	case MOStored:
		return "stored"
	case MONewSet:
		return "new_set"
	case MORedelivered:
		return "window"
	case MORedeliveredLost:
		return "answer_lost"
	}
	return "unknown"
}
