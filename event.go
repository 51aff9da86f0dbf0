package smsagent

import (
	"encoding/json"
	"fmt"
	"time"
)

// Report status words that are not message states.
const (
	// ReportUnmatched is the status of a receipt that matched no message.
	ReportUnmatched = "unmatched"
	// ReportDuplicate is the status of a message the agent did not store
	// because its client id was already in the outbox.
	ReportDuplicate = "duplicate"
)

// Report is the final word on one outgoing message, written to inbox/ once
// (or a receipt that matched nothing, with Status "unmatched"). The JSON field
// names are a public format: change them only with a new format version.
type Report struct {
	Type      string    `json:"type"` // always "report"
	ID        string    `json:"id,omitempty"`
	MessageID MessageID `json:"message_id,omitempty"`
	To        string    `json:"to,omitempty"`
	From      string    `json:"from,omitempty"`
	Status    string    `json:"status"`
	// Intermediate marks a report POSTed to report_url before the final
	// one (report_mask); reports in inbox/ are final and never have it.
	Intermediate bool            `json:"intermediate,omitempty"`
	Stat         string          `json:"stat,omitempty"` // receipt stat as the SMSC sent it
	Err          string          `json:"err,omitempty"`  // receipt err as the SMSC sent it
	Error        string          `json:"error,omitempty"`
	Parts        *ReportParts    `json:"parts,omitempty"`
	Submitted    *time.Time      `json:"submitted_at,omitempty"`
	Done         time.Time       `json:"done_at"`
	File         string          `json:"file,omitempty"`
	Meta         json.RawMessage `json:"meta,omitempty"`
	// SMSC is the account that accepted the message (of its first
	// accepted part), or that the last attempt went to, or whose bind an
	// unmatched receipt came on.
	SMSC string `json:"smsc,omitempty"`
	// Node is the cluster node whose intake took the message, into whose
	// inbox/ the report is written; "" outside a cluster.
	Node string `json:"node,omitempty"`
	// Receipt carries the raw fields of an unmatched receipt.
	Receipt *RawReceipt `json:"receipt,omitempty"`
}

// ReportParts lists the SMS parts of a message and how each ended.
type ReportParts struct {
	Count int          `json:"count"`
	Items []ReportPart `json:"items"`
}

// ReportPart is one part in a report.
type ReportPart struct {
	Seq    int    `json:"seq"` // 1-based
	SMSC   string `json:"smsc,omitempty"`
	SMSCID string `json:"smsc_id,omitempty"`
	Status string `json:"status"`
	Stat   string `json:"stat,omitempty"`
	Err    string `json:"err,omitempty"`
	Error  string `json:"error,omitempty"`
}

// RawReceipt is what an SMSC sent in a receipt, kept for reports of receipts
// that matched nothing. Strings are as received (escaped by JSON encoding).
type RawReceipt struct {
	SMSCID string `json:"smsc_id"`
	Source string `json:"source,omitempty"`
	Dest   string `json:"dest,omitempty"`
	Text   string `json:"text,omitempty"`
}

// MO is one incoming SMS, reassembled from its parts.
type MO struct {
	Type       string    `json:"type"` // always "mo"
	From       string    `json:"from"`
	To         string    `json:"to"`
	Text       string    `json:"text"`
	Encoding   string    `json:"encoding"`
	Parts      int       `json:"parts"`
	Incomplete bool      `json:"incomplete,omitempty"`
	Received   time.Time `json:"received_at"`
	SMSC       string    `json:"smsc,omitempty"` // the account whose bind it came on
}

// Duplicate records that a file carried messages whose client ids were
// already queued; written to inbox/ so the submitter sees the outcome.
type Duplicate struct {
	Type     string           `json:"type"` // always "duplicate"
	File     string           `json:"file"`
	Messages []DuplicateEntry `json:"messages"`
	Time     time.Time        `json:"received_at"`
}

// DuplicateEntry names one message that was not stored again.
type DuplicateEntry struct {
	ID        string    `json:"id"`
	MessageID MessageID `json:"message_id"` // the message already stored
	To        string    `json:"to"`
}

// EventKind says what an Event carries.
type EventKind uint8

const (
	EventReport EventKind = iota + 1
	EventMO
	EventDuplicate
	// EventCallbackFailed notes a report callback given up.
	EventCallbackFailed
)

func (k EventKind) String() string {
	switch k {
	case EventReport:
		return "report"
	case EventMO:
		return "mo"
	case EventDuplicate:
		return "duplicate"
	case EventCallbackFailed:
		return "callback_failed"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is one file to write into inbox/. The outbox creates it in the same
// transaction as the state change it reports and keeps it until the inbox
// writer has made the file durable, so a crash writes it again under the same
// name and never twice under two names.
type Event struct {
	Seq  uint64    // assigned by the outbox, increasing
	Kind EventKind // says which of the fields below is set
	Time time.Time // when it happened; part of the file name
	// Subject names the event in the file name: the message id for reports
	// of known messages, else "e<Seq>".
	Subject        string
	Report         *Report
	MO             *MO
	Duplicate      *Duplicate
	CallbackFailed *CallbackFailed
}

// CallbackFailed notes that the agent gave up calling a message's
// report_url or dlr-url: written to inbox/ beside the report (which was
// written already), so the submitter learns that its endpoint never got
// the report.
type CallbackFailed struct {
	Type      string    `json:"type"` // always "callback_failed"
	ID        string    `json:"id,omitempty"`
	MessageID MessageID `json:"message_id"`
	File      string    `json:"file,omitempty"`
	Method    string    `json:"method"` // POST (report_url) or GET (dlr-url)
	URL       string    `json:"url"`
	Attempts  int       `json:"attempts"`
	Since     time.Time `json:"owed_since"` // when the report was made
	GaveUp    time.Time `json:"gave_up_at"`
	LastError string    `json:"last_error,omitempty"`
	Reason    string    `json:"reason"`
}

// FileName is the event's base name in inbox/ without the extension the
// renderer adds: "20261125T181500.123Z-42.report". It uses only the event's
// own timestamp, ids and kind, never a string from an SMSC or a submitter, so
// it is safe on every file system and the same on every retry.
func (e *Event) FileName() string {
	return e.Time.UTC().Format("20060102T150405.000Z") + "-" + e.Subject + "." + e.Kind.String()
}
