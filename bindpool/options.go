package bindpool

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"

	"github.com/smsagent/smsagent/smpp"
)

// Options configure a Pool. Zero fields take the defaults named in their
// comments; only Address (or Dial) is required, and Bind carries the
// account (system_id, password, system_type, address_range).
type Options struct {
	// Dial opens a connection to the SMSC. Nil dials Address with
	// smpp.Dial (TCP keep-alive, and TLS when TLS is set). Each attempt is
	// bounded by BindTimeout.
	Dial func(ctx context.Context) (net.Conn, error)
	// Address is the SMSC's host:port, used when Dial is nil.
	Address string
	// TLS, when not nil, wraps the connection in TLS (with Dial nil).
	TLS *tls.Config

	// Password gives the password each bind attempt uses, read again
	// every time, so that a password rotated in its file is used without
	// a restart. Nil uses Bind.Password.
	Password func() (string, error)

	// Bind is what every session binds with. Bind.Mode is
	// smpp.Transceiver (the default when zero) or smpp.Transmitter; with
	// Receivers set, Transmitter is the only valid mode.
	Bind smpp.BindRequest
	// Receivers adds Sessions receiver binds beside Sessions transmitter
	// binds: config smsc.bind "transmitter_receiver".
	Receivers bool
	// Sessions is the number of binds held (of each kind with Receivers).
	// Default 1.
	Sessions int
	// Window is the most submissions outstanding per session. Default 10.
	Window int
	// Throughput caps submit_sm per second across the pool; 0 means no
	// cap.
	Throughput int
	// EnquireLink, ResponseTimeout and BindTimeout are the sessions'
	// (smpp.SessionOptions); zero takes smpp's defaults, except
	// BindTimeout, which also bounds each dial (default 10 s).
	EnquireLink     time.Duration
	ResponseTimeout time.Duration
	BindTimeout     time.Duration

	// Handler receives deliver_sm, data_sm and alert_notification from
	// every receiver and transceiver session: receipts and MO arrive on
	// whichever bind the SMSC chooses. It runs on one goroutine per
	// session and answers with Request.Ack once what it carries is stored.
	// Nil answers them ESME_RX_T_APPN, so the SMSC offers them again.
	Handler func(smpp.Request)

	// Logger gets binds, losses, refusals and throttling; nil discards.
	// Sessions log their PDUs through it at debug level.
	Logger *slog.Logger
	// Clock stamps state changes and drives the throttle controller's
	// decisions. Default time.Now.
	Clock func() time.Time

	// Backoff paces reconnection after a lost link, a refused connection
	// or a refused bind. Default: full jitter from 1 s to 60 s drawing
	// from Rand.
	Backoff BackoffStrategy
	// BusyBackoff paces reconnection after ESME_RALYBND or ESME_RBINDFAIL:
	// the SMSC still holds a session for us, often our own stale one,
	// which it drops only after its idle timeout (uudashr/jsmpp#54 saw
	// two minutes). Default: full jitter from 30 s to 2 min.
	BusyBackoff BackoffStrategy
	// AuthRetry is about how long the pool waits before it tries
	// credentials the SMSC refused again (ESME_RINVPASWD, ESME_RINVSYSID,
	// ESME_RINVSYSTYP); AuthBackoff, when set, decides instead (default:
	// uniform in [AuthRetry/2, AuthRetry)). Default 5 minutes.
	AuthRetry   time.Duration
	AuthBackoff BackoffStrategy
	// AuthPoll is how often Password is read during that wait, to try a
	// changed password at once. Default 10 s.
	AuthPoll time.Duration
	// Rand is the random source of the default strategies; nil uses the
	// runtime's.
	Rand rand.Source

	// Throttle tunes the back-off after ESME_RTHROTTLED or ESME_RMSGQFUL.
	Throttle ThrottleOptions
}

// ThrottleOptions tune how the pool slows down when the SMSC throttles it.
// The zero value takes the defaults.
type ThrottleOptions struct {
	// Pause is how long the whole pool stops submitting after the first
	// throttling answer of a storm (default 1 s, as Kannel does); a
	// further throttling of requests sent after the pause pauses again,
	// twice as long (up to MaxPause, default 30 s) while nothing sent
	// after the last pause was accepted, else for Pause.
	Pause, MaxPause time.Duration
	// Recovery is how long the rate takes to climb from zero back to its
	// target once throttling stops: it grows by a tenth of the target
	// every Recovery/10 (default 10 s, so from half rate in 5 s).
	Recovery time.Duration
}

const (
	defaultSessions        = 1
	defaultWindow          = 10
	defaultBindTimeout     = 10 * time.Second
	defaultBackoffMin      = time.Second
	defaultBackoffMax      = time.Minute
	defaultBusyBackoffMin  = 30 * time.Second
	defaultBusyBackoffMax  = 2 * time.Minute
	defaultThrottlePause   = time.Second
	defaultThrottleMax     = 30 * time.Second
	defaultThrottleRecover = 10 * time.Second
	defaultAuthRetry       = 5 * time.Minute
	defaultAuthPoll        = 10 * time.Second
)

// withDefaults checks o and fills in its zero fields.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.Dial == nil && o.Address == "" {
		errs = append(errs, errors.New("no SMSC address"))
	}
	switch o.Bind.Mode {
	case 0:
		o.Bind.Mode = smpp.Transceiver
	case smpp.Transceiver, smpp.Transmitter:
	default:
		errs = append(errs, fmt.Errorf("bind mode %s: the pool binds as transceiver or transmitter (with Receivers for receivers)", o.Bind.Mode))
	}
	if o.Receivers && o.Bind.Mode != smpp.Transmitter {
		errs = append(errs, fmt.Errorf("receivers beside %s binds: only transmitters need them", o.Bind.Mode))
	}
	if o.Sessions < 0 || o.Window < 0 || o.Throughput < 0 {
		errs = append(errs, fmt.Errorf("negative sessions (%d), window (%d) or throughput (%d)", o.Sessions, o.Window, o.Throughput))
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("bindpool: %w", errors.Join(errs...))
	}
	if o.Sessions == 0 {
		o.Sessions = defaultSessions
	}
	if o.Window == 0 {
		o.Window = defaultWindow
	}
	if o.BindTimeout <= 0 {
		o.BindTimeout = defaultBindTimeout
	}
	if o.Dial == nil {
		addr, cfg := o.Address, o.TLS
		o.Dial = func(ctx context.Context) (net.Conn, error) { return smpp.Dial(ctx, "tcp", addr, cfg) }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	// The two default strategies may share Rand: one lock for both.
	var src rand.Source
	if o.Rand != nil {
		src = &lockedSource{src: o.Rand}
	}
	if o.Backoff == nil {
		o.Backoff = NewFullJitter(defaultBackoffMin, defaultBackoffMax, src)
	}
	if o.BusyBackoff == nil {
		o.BusyBackoff = NewFullJitter(defaultBusyBackoffMin, defaultBusyBackoffMax, src)
	}
	if o.AuthRetry <= 0 {
		o.AuthRetry = defaultAuthRetry
	}
	if o.AuthBackoff == nil {
		o.AuthBackoff = NewFullJitter(o.AuthRetry/2, o.AuthRetry, src)
	}
	if o.AuthPoll <= 0 {
		o.AuthPoll = defaultAuthPoll
	}
	if o.Password == nil {
		password := o.Bind.Password
		o.Password = func() (string, error) { return password, nil }
	}
	t := &o.Throttle
	if t.Pause <= 0 {
		t.Pause = defaultThrottlePause
	}
	if t.MaxPause <= 0 {
		t.MaxPause = defaultThrottleMax
	}
	t.MaxPause = max(t.MaxPause, t.Pause)
	if t.Recovery <= 0 {
		t.Recovery = defaultThrottleRecover
	}
	return o, nil
}
