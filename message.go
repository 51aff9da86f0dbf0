package smsagent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// MessageID is the agent's own identifier of one outgoing message (one
// recipient). The outbox assigns it from a persisted sequence, so it is never
// reused within a database. It prints in decimal.
type MessageID uint64

func (id MessageID) String() string { return strconv.FormatUint(uint64(id), 10) }

// ParseMessageID reads the decimal form that String produces.
func ParseMessageID(s string) (MessageID, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid message id %q: want a positive decimal number", s)
	}
	return MessageID(n), nil
}

// Encoding is the text encoding a message asks for.
type Encoding string

const (
	// EncodingAuto picks GSM 7-bit when every character fits, else UCS-2.
	EncodingAuto   Encoding = "auto"
	EncodingGSM7   Encoding = "gsm7"
	EncodingUCS2   Encoding = "ucs2"
	EncodingLatin1 Encoding = "latin1"
)

// ParseEncoding accepts the JSON words; the empty string means auto.
func ParseEncoding(s string) (Encoding, error) {
	switch Encoding(s) {
	case "", EncodingAuto:
		return EncodingAuto, nil
	case EncodingGSM7, EncodingUCS2, EncodingLatin1:
		return Encoding(s), nil
	}
	return "", fmt.Errorf("unknown encoding %q: want auto, gsm7, ucs2 or latin1", s)
}

// Priority orders due messages: high ones are dispatched before normal ones.
type Priority uint8

const (
	PriorityNormal Priority = 0
	PriorityHigh   Priority = 1
)

func (p Priority) String() string {
	if p == PriorityHigh {
		return "high"
	}
	return "normal"
}

// SplitMode says how a text longer than one SMS is sent. The zero value uses
// the SMSC's configured method (smsc.split: UDH, 16-bit UDH, SAR TLVs or
// message_payload).
type SplitMode uint8

const (
	// SplitDefault concatenates with the method configured for the SMSC.
	SplitDefault SplitMode = iota
	// SplitNone refuses a text that does not fit in one SMS
	// (smstools3 "Autosplit: 0").
	SplitNone
	// SplitPlain sends independent SMS without concatenation headers
	// (smstools3 "Autosplit: 1").
	SplitPlain
	// SplitNumbered sends independent SMS, each starting with "n/m "
	// (smstools3 "Autosplit: 2").
	SplitNumbered
)

func (m SplitMode) String() string {
	switch m {
	case SplitNone:
		return "none"
	case SplitPlain:
		return "plain"
	case SplitNumbered:
		return "numbered"
	}
	return "default"
}

// Message is one outgoing SMS to one recipient, as taken from a message file.
// A file entry with several recipients becomes several Messages.
type Message struct {
	// ID is assigned by the outbox when the message is stored; zero before.
	ID MessageID
	// ClientID is the submitter's reference ("id" in JSON). When set, it is
	// also the idempotency key: a second message with the same ClientID
	// within the retention period is a duplicate and is not stored again.
	ClientID string
	To       Address
	// From is the sender; the zero Address means the SMSC's default.
	From Address
	// Text is the message body as Unicode text. Empty only when UDH carries
	// a binary payload (not produced by any intake format yet).
	Text     string
	Report   bool // request a delivery receipt
	Encoding Encoding
	Flash    bool // class 0: shown at once, not stored by the handset
	// Validity is how long the network should keep trying; zero means the
	// SMSC's default. It also caps how long the agent keeps retrying.
	Validity time.Duration
	// SendAt holds the message until that time; zero means now.
	SendAt   time.Time
	Priority Priority
	Split    SplitMode
	// UDH is an explicit user data header supplied by the submitter
	// (smstools3 UDH-DATA). A message with UDH is sent as one part.
	UDH []byte
	// Meta is a JSON object echoed unchanged into every report of this
	// message; nil when absent.
	Meta json.RawMessage
	// File is the base name of the file the message came from.
	File string
	// ReceivedAt is when the agent accepted the message; queue age and
	// max_age count from here.
	ReceivedAt time.Time
	// Callback is where the message's reports are also delivered over
	// HTTP; the zero value delivers none.
	Callback Callback
	// SMSC pins the message to the SMSC account of that name: it waits for
	// that account and never fails over. "" lets the routes decide.
	SMSC string
	// Origin is the cluster node whose intake took the message (store
	// backend jetstream): its reports are written into that node's inbox/.
	// "" with the bbolt backend.
	Origin string
}

// Callback says where a message's reports are also delivered over HTTP:
// its final report POSTed as JSON to URL ("report_url"), or, with
// KannelMask set (Kannel's dlr-url and dlr-mask), a GET of URL with
// Kannel's escapes filled in for each event the mask selects (Kannel
// 1.4.5 user guide, "Delivery reports").
type Callback struct {
	URL        string
	KannelMask int
	// ReportMask (report_mask) asks for intermediate reports POSTed to
	// URL besides the final one, in Kannel's dlr-mask bits: 8 when the
	// SMSC accepts the message, 4 for each intermediate receipt
	// (ENROUTE, ACCEPTD). 1, 2 and 16 name final reports, which are
	// always sent.
	ReportMask int
}

// ReportMaskBits are the bits report_mask may hold.
const ReportMaskBits = 1 | 2 | 4 | 8 | 16

// MaxCallbackURLLen bounds a callback URL.
const MaxCallbackURLLen = 2048

// Check checks the URL's form; whether the agent may call its host is the
// agent's allow list.
func (c Callback) Check() error {
	if c.URL == "" {
		if c.KannelMask != 0 {
			return fmt.Errorf("dlr-mask without dlr-url")
		}
		if c.ReportMask != 0 {
			return fmt.Errorf("report_mask without report_url")
		}
		return nil
	}
	if c.ReportMask&^ReportMaskBits != 0 || c.ReportMask < 0 {
		return fmt.Errorf("report_mask %d: want a sum of 1, 2, 4, 8 and 16 (Kannel's dlr-mask bits; 4 and 8 ask for intermediate reports)", c.ReportMask)
	}
	if c.ReportMask != 0 && c.KannelMask != 0 {
		return fmt.Errorf("report_mask is for report_url; a dlr-url has dlr-mask")
	}
	if len(c.URL) > MaxCallbackURLLen {
		return fmt.Errorf("report_url longer than %d bytes", MaxCallbackURLLen)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("report_url %q: must be an http:// or https:// URL with a host and no user", c.URL)
	}
	if c.KannelMask < 0 || c.KannelMask > 127 {
		return fmt.Errorf("dlr-mask %d: must be 0 to 127", c.KannelMask)
	}
	return nil
}

// MaxAccountNameLen bounds an SMSC account name.
const MaxAccountNameLen = 32

// CheckAccountName checks the form of an SMSC account name: 1 to 32 of
// a-z, 0-9, "_" and "-" (it appears in reports, metrics labels and logs).
func CheckAccountName(name string) error {
	ok := name != "" && len(name) <= MaxAccountNameLen
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	}
	if !ok {
		return fmt.Errorf("SMSC account name %q: want 1 to %d of a-z, 0-9, _ and -", name, MaxAccountNameLen)
	}
	return nil
}

// Validate checks the rules every intake format shares. Format-specific
// checks (field names, syntax) belong to the parser.
func (m *Message) Validate() error {
	if m.To.Value == "" {
		return fmt.Errorf("missing recipient")
	}
	if m.To.Kind == AddrAlphanumeric {
		return fmt.Errorf("recipient %q: must be a number", m.To.Value)
	}
	if m.Text == "" && len(m.UDH) == 0 {
		return fmt.Errorf("empty text")
	}
	if m.Validity < 0 {
		return fmt.Errorf("negative validity %s", m.Validity)
	}
	if m.Meta != nil && !isJSONObject(m.Meta) {
		return fmt.Errorf("meta must be a JSON object")
	}
	if len(m.ClientID) > MaxClientIDLen {
		return fmt.Errorf("id longer than %d bytes", MaxClientIDLen)
	}
	if m.SMSC != "" {
		if err := CheckAccountName(m.SMSC); err != nil {
			return err
		}
	}
	return m.Callback.Check()
}

// isJSONObject checks without decoding, which would cost allocations on a
// path that runs for every message of a bulk file.
func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// MaxClientIDLen bounds the client id: it is a bbolt key and appears in
// every report.
const MaxClientIDLen = 256

// Batch is every message of one accepted file. The outbox stores it in one
// transaction together with Claim, the name under which intake took the file,
// so that after a crash intake can tell a file it already stored from one it
// did not.
type Batch struct {
	Claim    string
	File     string // the name the file had in outgoing/
	Messages []Message
}

// BatchResult says what storing a Batch did.
type BatchResult struct {
	// IDs has one entry per message of the batch, in order; zero for a
	// message that was a duplicate.
	IDs []MessageID
	// Duplicates lists the messages not stored because their client id was
	// already in the outbox.
	Duplicates []DuplicateEntry
	// AlreadyTaken is set when Claim was already recorded: the batch was
	// stored by an earlier run and nothing was stored now.
	AlreadyTaken bool
}

// IdempotencyKey is the key under which the outbox recognises a repeated
// submission: the client id together with the recipient, so that one file
// entry with an id and several recipients yields several distinct messages.
// It is empty when the message has no client id (such messages are never
// duplicates of each other).
func (m *Message) IdempotencyKey() string {
	if m.ClientID == "" {
		return ""
	}
	return m.ClientID + "\x00" + m.To.String()
}
