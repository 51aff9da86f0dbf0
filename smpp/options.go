package smpp

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// Role is the end of the SMPP session this side plays (§2.1).
type Role uint8

const (
	// ESME binds, submits messages and receives deliver_sm: the agent.
	ESME Role = iota
	// SMSC accepts a bind, receives submissions and sends deliver_sm: the
	// simulator. Inbound binds go to the Handler, which answers them with
	// Request.Respond; a successful bind_*_resp binds the session.
	SMSC
)

func (r Role) String() string {
	if r == SMSC {
		return "smsc"
	}
	return "esme"
}

// BindMode is how an ESME binds (§2.2): what it may send and receive.
type BindMode uint8

const (
	// Transmitter sends messages (bind_transmitter, §4.1.1).
	Transmitter BindMode = iota + 1
	// Receiver receives messages and receipts (bind_receiver, §4.1.3).
	Receiver
	// Transceiver does both on one connection (bind_transceiver, §4.1.5).
	Transceiver
)

func (m BindMode) String() string {
	switch m {
	case Transmitter:
		return "transmitter"
	case Receiver:
		return "receiver"
	case Transceiver:
		return "transceiver"
	}
	return fmt.Sprintf("bind_mode(%d)", uint8(m))
}

// CommandID is the bind request's command id for the mode.
func (m BindMode) CommandID() pdu.CommandID {
	switch m {
	case Transmitter:
		return pdu.BindTransmitterID
	case Receiver:
		return pdu.BindReceiverID
	case Transceiver:
		return pdu.BindTransceiverID
	}
	return 0
}

// ModeOf is the bind mode a bind request or response id stands for, or 0.
func ModeOf(id pdu.CommandID) BindMode {
	switch id &^ 0x80000000 {
	case pdu.BindTransmitterID:
		return Transmitter
	case pdu.BindReceiverID:
		return Receiver
	case pdu.BindTransceiverID:
		return Transceiver
	}
	return 0
}

// transmits reports whether the mode may send messages to the SMSC.
func (m BindMode) transmits() bool { return m == Transmitter || m == Transceiver }

// receives reports whether the mode may receive messages from the SMSC.
func (m BindMode) receives() bool { return m == Receiver || m == Transceiver }

// Direction says whether a PDU was sent or received.
type Direction uint8

const (
	In Direction = iota + 1
	Out
)

func (d Direction) String() string {
	if d == In {
		return "in"
	}
	return "out"
}

// SessionOptions configures a Session. The zero value is usable: every
// zero field takes the default named in its comment.
type SessionOptions struct {
	// Role is ESME (the default) or SMSC.
	Role Role

	// Window is the most requests sent and not yet answered (nor timed
	// out); Send blocks while it is full. Default 10.
	Window int
	// ResponseTimeout is how long a request waits for its response before
	// its done is told Result{Pending: true} and its window slot is
	// released. Default 30 s: a short timeout turns a slow SMSC into
	// ambiguous outcomes.
	ResponseTimeout time.Duration
	// MaxUnanswered is the most timed-out requests still waiting for a
	// late response: the one that reaches it ends the session with
	// ErrUnanswered. Default 2 × Window.
	MaxUnanswered int
	// MaxPendingAge is how long a timed-out request may still wait for a
	// late response; past it the session ends with ErrUnanswered, so a
	// peer that lost a few responses and answers everything else cannot
	// hold their outcomes open for as long as the link lives. Default
	// 10 × ResponseTimeout, at least a minute; negative waits as long as
	// the session lives.
	MaxPendingAge time.Duration
	// BindTimeout bounds Bind on top of its context. Default 10 s.
	BindTimeout time.Duration

	// EnquireLink is the interval: once bound, an enquire_link is sent
	// whenever nothing has been received for this long. Default 30 s;
	// negative disables it.
	EnquireLink time.Duration
	// EnquireLinkTimeout is how long an enquire_link may go unanswered
	// before the session ends with ErrLinkDead. Default 10 s, at most
	// EnquireLink.
	EnquireLinkTimeout time.Duration
	// IdleTimeout ends the session with ErrIdle when nothing at all has
	// been received for this long, bound or not. Default 3 × EnquireLink
	// (90 s when EnquireLink is disabled); negative disables it.
	IdleTimeout time.Duration

	// Handler receives the peer's requests: deliver_sm, data_sm and
	// alert_notification for an ESME; binds, submit_sm, submit_multi,
	// data_sm, query_sm, cancel_sm and replace_sm for an SMSC. It runs
	// on one session goroutine, in arrival order. Without a Handler those
	// requests are answered ESME_RX_T_APPN (temporary error: the peer
	// retries later).
	Handler func(Request)
	// InboundWindow is the most requests from the peer that may be queued
	// for the Handler or waiting for their answer. Beyond it the session
	// answers ESME_RTHROTTLED itself, so a slow Handler never stalls the
	// responses to our own requests. Default DefaultInboundWindow.
	InboundWindow int

	// MaxPDULength is the largest command_length accepted from the peer.
	// Default pdu.DefaultMaxLength (a full message_payload fits).
	MaxPDULength int

	// Logger receives PDUs at debug level (passwords redacted) and
	// protocol oddities at warn. Nil discards.
	Logger *slog.Logger
	// OnPDU, when set, is called for every PDU sent or received, from
	// whichever goroutine sends or reads it, concurrently; outgoing PDUs
	// are reported under the session's lock, so it must be quick (count,
	// not log) and must not call the session.
	OnPDU func(dir Direction, h pdu.Header)
}

// DefaultInboundWindow is SessionOptions.InboundWindow when zero: the
// inbound requests a session leaves unanswered at most. Many SMSCs send
// receipts with no window of their own, in bursts as fast as their
// submit_sm_resp went out, while a Handler that answers only after a
// durable commit holds each one for a group commit (milliseconds, tens
// on a busy disk): 64 was refused with ESME_RTHROTTLED about once per 200
// receipts against npm's smpp server at 4,000 msgs/s, and a refused
// receipt comes back only when the SMSC retries (a second later, or never
// on some). A held request costs one PDU (about 300 bytes).
const DefaultInboundWindow = 256

const (
	defaultWindow             = 10
	defaultResponseTimeout    = 30 * time.Second
	defaultBindTimeout        = 10 * time.Second
	defaultEnquireLink        = 30 * time.Second
	defaultEnquireLinkTimeout = 10 * time.Second
	defaultInboundWindow      = DefaultInboundWindow
	// idleFactor times the enquire_link interval is the default idle
	// timeout, as in Kannel's 30 s / 300 s pairing but tighter.
	idleFactor = 3
)

// withDefaults fills in the zero fields.
func (o SessionOptions) withDefaults() SessionOptions {
	if o.Window <= 0 {
		o.Window = defaultWindow
	}
	if o.ResponseTimeout <= 0 {
		o.ResponseTimeout = defaultResponseTimeout
	}
	if o.MaxUnanswered <= 0 {
		o.MaxUnanswered = 2 * o.Window
	}
	if o.MaxPendingAge == 0 {
		o.MaxPendingAge = max(10*o.ResponseTimeout, time.Minute)
	}
	if o.BindTimeout <= 0 {
		o.BindTimeout = defaultBindTimeout
	}
	if o.EnquireLink == 0 {
		o.EnquireLink = defaultEnquireLink
	}
	if o.EnquireLinkTimeout <= 0 {
		o.EnquireLinkTimeout = defaultEnquireLinkTimeout
	}
	if o.EnquireLink > 0 {
		o.EnquireLinkTimeout = min(o.EnquireLinkTimeout, o.EnquireLink)
	}
	if o.IdleTimeout == 0 {
		if o.EnquireLink > 0 {
			o.IdleTimeout = idleFactor * o.EnquireLink
		} else {
			o.IdleTimeout = idleFactor * defaultEnquireLink
		}
	}
	if o.InboundWindow <= 0 {
		o.InboundWindow = defaultInboundWindow
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
