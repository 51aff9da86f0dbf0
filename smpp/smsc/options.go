package smsc

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// Options configure a Server. The zero value is a permissive SMSC: any
// system_id and password bind, ids are hexadecimal, receipts go out at
// once with stat:DELIVRD.
type Options struct {
	// Accounts maps system_id to password. When set, an unknown system_id
	// is refused with ESME_RINVSYSID and a wrong password with
	// ESME_RINVPASWD; when empty, every bind is accepted.
	Accounts map[string]string
	// MaxBinds is the most sessions one system_id may have bound at once;
	// the next bind gets ESME_RALYBND. Default 4.
	MaxBinds int
	// SystemID is what the simulator calls itself in bind responses.
	// Default "smsc-sim".
	SystemID string

	// MessageID formats the id of the n-th accepted message (n counts from
	// 1 across the server's life) for submit_sm_resp. Default HexID.
	MessageID func(n uint64) string
	// ReceiptID formats the same message's id in its receipt (the text's
	// id: and receipted_message_id). Default: MessageID, the same string.
	// Set DecimalID with a HexID MessageID to mimic SMSCs that write the
	// two differently.
	ReceiptID func(n uint64) string

	// Rules decide each destination's fate; the first rule whose Prefix
	// starts destination_addr wins. Without a match the message is
	// accepted and delivered (stat:DELIVRD).
	Rules []Rule
	// ReceiptDelay is how long after the submit a receipt is due.
	ReceiptDelay time.Duration
	// DuplicateReceipts sends every receipt twice, as SMSCs do after a
	// lost deliver_sm_resp.
	DuplicateReceipts bool
	// ReceiptsFirst sends each receipt before the submit_sm_resp: the
	// response waits until the receipt's deliver_sm_resp came back (from
	// whichever session of the account took it), so the ESME sees a
	// receipt for an id it does not know yet.
	ReceiptsFirst bool
	// ReceiptAttempts is how many times a receipt is offered while the
	// ESME answers it with an error or the session ends first. Default 3.
	ReceiptAttempts int
	// RetryDelay is the wait before a receipt or an MO part is offered
	// again. Default 100 ms.
	RetryDelay time.Duration
	// PackedGSM decodes data_coding 0 as packed septets (23.038
	// §6.1.2.1.1) instead of one septet per octet.
	PackedGSM bool
	// MOIDTag, when set, makes every MO part carry an id of its own in a
	// TLV with this tag (a C-Octet String, "MO" and eight hexadecimal
	// digits), as SMSCs that number incoming messages do in a vendor TLV.
	// A part offered again keeps its id.
	MOIDTag pdu.Tag

	// CountersOnly keeps counts but no per-message records, so memory
	// stays flat in benchmarks.
	CountersOnly bool
	// OnAccept, when set, is called with every accepted submission (once
	// per destination) on the session's goroutine, before the response is
	// written: a benchmark's clock for "the SMSC has it" without records.
	// It must be cheap, must not block and must not keep sub.
	OnAccept func(sub *Submit)

	// Session is the template for every connection's session: Window is
	// how many deliver_sm may await their response (default 100),
	// InboundWindow how many requests the ESME may have outstanding before
	// the simulator throttles (default 1000), and the enquire_link and
	// timeout settings. Role and Handler are the simulator's.
	Session smpp.SessionOptions

	// Clock gives the time for receipt dates and for the fault windows
	// (throttle storms, refused binds). Default time.Now. Delays use real
	// timers.
	Clock func() time.Time
	// Logger gets binds, faults and errors; PDUs go to Session.Logger.
	// Nil discards.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxBinds <= 0 {
		o.MaxBinds = 4
	}
	if o.SystemID == "" {
		o.SystemID = "smsc-sim"
	}
	if o.MessageID == nil {
		o.MessageID = HexID
	}
	if o.ReceiptID == nil {
		o.ReceiptID = o.MessageID
	}
	if o.ReceiptAttempts <= 0 {
		o.ReceiptAttempts = 3
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 100 * time.Millisecond
	}
	if o.Session.Window <= 0 {
		o.Session.Window = 100
	}
	if o.Session.InboundWindow <= 0 {
		o.Session.InboundWindow = 1000
	}
	o.Session.Role = smpp.SMSC
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// HexID writes n as eight or more upper-case hexadecimal digits
// ("0000002A"), the way many SMSCs write their ids.
func HexID(n uint64) string {
	var b [16]byte
	i := len(b)
	for n > 0 || i > len(b)-8 {
		i--
		b[i] = "0123456789ABCDEF"[n&0xF]
		n >>= 4
	}
	return string(b[i:])
}

// DecimalID writes n in decimal ("42").
func DecimalID(n uint64) string { return strconv.FormatUint(n, 10) }

// Outcome is what happens to a message sent to a destination.
type Outcome uint8

const (
	// Delivered: accepted; the receipt says stat:DELIVRD.
	Delivered Outcome = iota
	// Undeliverable: accepted; the receipt says stat:UNDELIV.
	Undeliverable
	// Expired: accepted; the receipt says stat:EXPIRED.
	Expired
	// Rejected: accepted; the receipt says stat:REJECTD.
	Rejected
	// NoReceipt: accepted; no receipt ever comes.
	NoReceipt
	// Refused: the submit_sm is answered with Rule.Status.
	Refused
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Undeliverable:
		return "undeliverable"
	case Expired:
		return "expired"
	case Rejected:
		return "rejected"
	case NoReceipt:
		return "no-receipt"
	case Refused:
		return "refused"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// stat is the receipt's stat word and message_state (SMPP 3.4 Appendix B,
// §5.2.28).
func (o Outcome) stat() (string, pdu.MessageState) {
	switch o {
	case Undeliverable:
		return "UNDELIV", pdu.StateUndeliverable
	case Expired:
		return "EXPIRED", pdu.StateExpired
	case Rejected:
		return "REJECTD", pdu.StateRejected
	}
	return "DELIVRD", pdu.StateDelivered
}

// failed reports whether the outcome is a failure, for registered_delivery
// "on failure only".
func (o Outcome) failed() bool { return o == Undeliverable || o == Expired || o == Rejected }

// Rule gives the destinations starting with Prefix an outcome.
type Rule struct {
	Prefix  string
	Outcome Outcome
	// Status answers the submit_sm when Outcome is Refused
	// (ESME_RINVDSTADR, ESME_RTHROTTLED, ...).
	Status pdu.Status
	// Err is the receipt's err: value. Default 0 for Delivered, 1
	// otherwise.
	Err int
	// Intermediate, when set, is the stat of a receipt sent before the
	// final one ("ENROUTE" or "ACCEPTD", message_state ENROUTE or
	// ACCEPTED), as SMSCs that report progress do. The final receipt is
	// queued only once the intermediate one is settled, ReceiptDelay
	// later, so that an ESME with several receiver sessions sees the two
	// in order. With ReceiptsFirst the submit_sm_resp waits for the
	// intermediate receipt only; with DuplicateReceipts only the
	// intermediate receipt is sent twice.
	Intermediate string
}

func (o *Options) rule(dest string) Rule {
	for _, r := range o.Rules {
		if strings.HasPrefix(dest, r.Prefix) {
			if r.Err == 0 && r.Outcome != Delivered {
				r.Err = 1
			}
			return r
		}
	}
	return Rule{Outcome: Delivered}
}
