package bindpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	smsagent "github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// Errors Submit returns at once. With either, nothing was written and done
// is never called: the caller puts the message back at the front of its
// queue.
var (
	// ErrNotBound: no transmitting session is bound now. Wait on Ready.
	// After bad credentials it is joined with the AuthFailed error.
	ErrNotBound = errors.New("bindpool: no transmitting session bound")
	// ErrClosed: Close was called.
	ErrClosed = errors.New("bindpool: pool closed")
)

// Pool keeps SMPP sessions bound to one SMSC account and routes
// submissions over them. Its methods are safe for concurrent use.
type Pool struct {
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	lim   *rate.Limiter
	slots []*slot
	tx    []*slot // the slots that may submit, in slot order

	quit chan struct{} // closed by Close: waits give up
	wg   sync.WaitGroup

	mu        sync.Mutex
	started   bool
	closed    bool
	cancel    context.CancelFunc
	closeCtx  context.Context // Close's, for the unbinds
	closeErrs []error
	ready     chan struct{} // closed while txBound > 0
	txBound   int
	// changed is made when a submitter has to wait and closed by the next
	// event that may let it go on: a window slot freed, a session bound
	// or lost, Close. Nil while nobody waits.
	changed chan struct{}
	next    int // where the next least-outstanding search starts
	// auth is the SMSC's refusal of the account's credentials while it
	// lasts (nil once a bind succeeds again), probed by one slot;
	// authCleared is closed when it ends, authRefusals counts refusals.
	auth         *AuthError
	prober       *slot
	authCleared  chan struct{}
	authRefusals uint64
	// lastPassword is the password Options.Password last gave, used while
	// it fails (a password file unreadable for a moment during a
	// rotation); passwordErr is its last error, logged once.
	lastPassword string
	passwordErr  string
	thr          throttle
	throttled    uint64 // throttling answers, the pool's whole life
}

// New checks opts and returns a pool; Start connects it.
func New(opts Options) (*Pool, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Pool{
		opts:         o,
		log:          o.Logger,
		now:          o.Clock,
		quit:         make(chan struct{}),
		ready:        make(chan struct{}),
		lastPassword: o.Bind.Password,
		thr:          newThrottle(o.Throttle, o.Throughput),
	}
	p.lim = rate.NewLimiter(p.thr.limit, burst(p.thr.limit))
	add := func(mode smpp.BindMode) {
		for range o.Sessions {
			sl := &slot{index: len(p.slots), mode: mode, kick: make(chan *smpp.Session, 1), state: stateConnecting}
			p.slots = append(p.slots, sl)
			if mode != smpp.Receiver {
				p.tx = append(p.tx, sl)
			}
		}
	}
	add(o.Bind.Mode)
	if o.Receivers {
		add(smpp.Receiver)
	}
	return p, nil
}

// password is what the next bind sends: what Options.Password gives now,
// or, while it fails, the password it last gave (the log says so once per
// error): a password file that cannot be read for a moment must not keep
// the pool from binding with the password that works.
func (p *Pool) password() string {
	pw, err := p.opts.Password()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if msg := err.Error(); msg != p.passwordErr {
			p.passwordErr = msg
			p.log.Error("cannot read the SMSC password; binding with the one read before", "error", msg)
		}
		return p.lastPassword
	}
	if p.passwordErr != "" {
		p.passwordErr = ""
		p.log.Info("the SMSC password can be read again")
	}
	p.lastPassword = pw
	return pw
}

// Start connects every slot in the background and returns at once: the
// agent takes files and queues them while the SMSC is out of reach. The
// slots stop when ctx ends or Close is called. Calls after the first, or
// after Close, do nothing.
func (p *Pool) Start(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.closed {
		return
	}
	p.started = true
	now := p.now()
	ctx, p.cancel = context.WithCancel(ctx)
	for _, sl := range p.slots {
		sl.since = now
		p.wg.Add(1)
		go p.run(ctx, sl)
	}
}

// Submit sends sm on the bound transmitting session with the fewest
// requests outstanding. It first waits out a throttling pause and takes a
// token from the throughput limiter; it blocks while every bound session's
// window is full, and returns once the PDU is queued for the wire (sm is
// encoded by then and may be reused).
//
// It returns ErrNotBound at once when no transmitting session is bound,
// ErrClosed after Close, or ctx's error; then nothing was written and done
// is never called. Otherwise done is called as smpp.Session.Send describes:
// once with the final Result, or first with Result{Pending: true} when the
// response is late. The pool reads each answer's status before done sees
// it, to slow down on ESME_RTHROTTLED and ESME_RMSGQFUL. done runs on a
// session goroutine: it must not block, nor call Submit or Close.
func (p *Pool) Submit(ctx context.Context, sm *pdu.SubmitSM, done func(smpp.Result)) error {
	return p.submit(ctx, nil, sm, done)
}

// Series keeps the parts of one message on one session, in the order they
// are submitted: some SMSCs reassemble concatenated parts per connection,
// and parts spread over binds, or part 2 accepted before part 1, confuse
// them. The zero value is ready; use one per message, from one goroutine.
type Series struct {
	sl   *slot
	sess *smpp.Session
}

// ErrSeriesBroken is SubmitInSeries's error when the session that took the
// earlier parts of the series has ended: nothing was written. The caller
// gives the rest of the message back, to be sent again in order on one
// session.
var ErrSeriesBroken = errors.New("bindpool: the session of the message's earlier parts has ended")

// SubmitInSeries is Submit on the session that took the series' first
// part (any session for the first): it waits for that session's window
// rather than use another's, so the parts go out on one connection in
// order, each pipelined behind the previous one within the window.
func (p *Pool) SubmitInSeries(ctx context.Context, s *Series, sm *pdu.SubmitSM, done func(smpp.Result)) error {
	if s == nil {
		return errors.New("bindpool: submit: nil series")
	}
	return p.submit(ctx, s, sm, done)
}

func (p *Pool) submit(ctx context.Context, s *Series, sm *pdu.SubmitSM, done func(smpp.Result)) error {
	if sm == nil || done == nil {
		return errors.New("bindpool: submit: nil submit_sm or done")
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return ErrClosed
		}
		if p.txBound == 0 {
			err := p.notBoundLocked()
			p.mu.Unlock()
			return err
		}
		if wait := p.admitLocked(p.now()); wait > 0 {
			// Also woken by a change, so a pool that loses every
			// session during the pause says ErrNotBound at once.
			changed := p.waitLocked()
			p.mu.Unlock()
			if err := p.sleep(ctx, wait, changed); err != nil {
				return err
			}
			continue
		}
		var sl *slot
		switch {
		case s == nil || s.sl == nil:
			sl = p.pickLocked()
		case s.sl.sess != s.sess:
			p.mu.Unlock()
			return ErrSeriesBroken
		case s.sl.outstanding < p.opts.Window:
			sl = s.sl
		}
		if sl == nil {
			changed := p.waitLocked()
			p.mu.Unlock()
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return fmt.Errorf("bindpool: submit: %w", ctx.Err())
			}
		}
		// The slot is reserved from here: the session frees its own
		// window slot before it calls done, so Send will not block.
		sl.outstanding++
		sess := sl.sess
		limited := p.thr.limit != rate.Inf
		p.mu.Unlock()

		if limited {
			if err := p.lim.Wait(ctx); err != nil {
				p.release(sl)
				return fmt.Errorf("bindpool: submit: %w", err)
			}
			// A throttling answer may have come while we waited for
			// the token: its pause holds for this submission too.
			p.mu.Lock()
			paused := p.thr.paused(p.now())
			p.mu.Unlock()
			if paused {
				p.release(sl)
				continue
			}
		}
		sentAt := p.now()
		err := sess.Send(ctx, sm, p.callback(sl, sess, sentAt, done))
		if err == nil {
			p.mu.Lock()
			sl.submitted++
			p.thr.sent(sentAt)
			p.mu.Unlock()
			if s != nil && s.sl == nil {
				s.sl, s.sess = sl, sess
			}
			return nil
		}
		p.release(sl)
		if ctx.Err() != nil {
			return fmt.Errorf("bindpool: submit: %w", err)
		}
		if sess.Err() != nil || errors.Is(err, smpp.ErrClosed) || errors.Is(err, smpp.ErrNotBound) {
			// The session ended between the choice and the send; its
			// slot's goroutine has not noticed yet. Try another.
			p.mu.Lock()
			p.detachLocked(sl, sess)
			p.mu.Unlock()
			if s != nil && s.sl != nil {
				return ErrSeriesBroken
			}
			continue
		}
		// The PDU itself was refused (it does not encode): another
		// session would refuse it too.
		return fmt.Errorf("bindpool: submit: %w", err)
	}
}

// notBoundLocked is Submit's error without a bound transmitter.
func (p *Pool) notBoundLocked() error {
	if p.auth != nil {
		return errors.Join(ErrNotBound, p.auth)
	}
	return ErrNotBound
}

// pickLocked is the bound transmitting slot with a free window slot and
// the fewest outstanding requests; ties go round, so a light load still
// keeps every session in use. Nil when every window is full.
func (p *Pool) pickLocked() *slot {
	var best *slot
	n := len(p.tx)
	for i := range n {
		sl := p.tx[(p.next+i)%n]
		if sl.sess == nil || sl.outstanding >= p.opts.Window {
			continue
		}
		if best == nil || sl.outstanding < best.outstanding {
			best = sl
		}
	}
	p.next = (p.next + 1) % n
	return best
}

// release gives back a reservation that was not sent.
func (p *Pool) release(sl *slot) {
	p.mu.Lock()
	sl.outstanding--
	p.broadcastLocked()
	p.mu.Unlock()
}

// waitLocked returns a channel closed at the next change a waiting
// submitter cares about.
func (p *Pool) waitLocked() <-chan struct{} {
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	return p.changed
}

func (p *Pool) broadcastLocked() {
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
}

// sleep waits d, or until changed is closed, unless ctx ends or the pool
// closes first.
func (p *Pool) sleep(ctx context.Context, d time.Duration, changed <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-changed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bindpool: submit: %w", ctx.Err())
	case <-p.quit:
		return ErrClosed
	}
}

// callback wraps the caller's done: it frees the reservation when the
// window slot frees (the answer, or the Pending of a late one) and feeds
// the answer's status to the throttle before the caller sees it.
func (p *Pool) callback(sl *slot, sess *smpp.Session, sentAt time.Time, done func(smpp.Result)) func(smpp.Result) {
	// The session serialises the calls of one request's done (Pending,
	// then final), so this flag needs no lock of its own.
	timedOut := false
	return func(r smpp.Result) {
		freed := !timedOut
		if r.Pending {
			timedOut = true
		}
		answered := !r.Pending && r.Header.ID != 0
		class := pdu.ClassOK
		if answered {
			class = r.Header.Status.Class()
		}
		accepted := answered && class == pdu.ClassOK && r.Header.ID != pdu.GenericNackID
		if freed || class == pdu.ClassThrottle || class == pdu.ClassRebind {
			p.settle(sl, sess, sentAt, freed, accepted, class, r.Header.Status)
		}
		done(r)
	}
}

// settle is the pool's part of a result: window accounting, throttling,
// and a rebind when the SMSC says the session is not bound.
func (p *Pool) settle(sl *slot, sess *smpp.Session, sentAt time.Time, freed, accepted bool, class pdu.Class, status pdu.Status) {
	p.mu.Lock()
	if freed {
		sl.outstanding--
		p.broadcastLocked()
	}
	if accepted {
		p.thr.accepted(sentAt)
	}
	var ev stormEvent
	var pause time.Duration
	var limit rate.Limit
	switch class {
	case pdu.ClassThrottle:
		sl.throttled++
		p.throttled++
		ev = p.thr.throttled(p.now(), sentAt)
		pause, limit = p.thr.pause, p.thr.limit
		p.applyLimitLocked()
	case pdu.ClassRebind:
		select {
		case sl.kick <- sess:
		default:
		}
	}
	p.mu.Unlock()

	switch {
	case ev.began:
		p.log.Warn("smsc is throttling: pausing every submission", "status", status.String(),
			"pause", pause, "rate", rateAttr(limit))
	case ev.decreased:
		p.log.Debug("smsc still throttling: longer pause, lower rate", "status", status.String(),
			"pause", pause, "rate", rateAttr(limit))
	}
	if class == pdu.ClassRebind {
		p.log.Warn("smsc says the session is not bound: binding again", "slot", sl.index, "status", status.String())
	}
}

// admitLocked asks the throttle how long submissions must wait and keeps
// the limiter at the rate it allows.
func (p *Pool) admitLocked(now time.Time) time.Duration {
	wait, ev := p.thr.admit(now)
	if ev.ended {
		p.applyLimitLocked()
		p.log.Info("smsc throttling over", "lasted", now.Sub(p.thr.began).Round(time.Millisecond),
			"throttled", p.thr.throttles, "rate", rateAttr(p.thr.limit))
		return 0
	}
	if ev.climbed {
		p.applyLimitLocked()
	}
	return wait
}

func (p *Pool) applyLimitLocked() {
	now := time.Now() // the limiter's own clock
	p.lim.SetLimitAt(now, p.thr.limit)
	p.lim.SetBurstAt(now, burst(p.thr.limit))
}

func rateAttr(r rate.Limit) string {
	if r == rate.Inf {
		return "unlimited"
	}
	return fmt.Sprintf("%.1f/s", float64(r))
}

// Ready is closed once a transmitting session is bound. When all are lost,
// later calls return a new channel, closed at the next bind.
func (p *Pool) Ready() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready
}

// Capacity is the number of free window slots across the bound
// transmitting sessions now: how many submissions would not block. A
// throttling pause does not lower it; Submit waits the pause out.
func (p *Pool) Capacity() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, sl := range p.tx {
		if sl.sess != nil {
			n += max(0, p.opts.Window-sl.outstanding)
		}
	}
	return n
}

// AuthFailed is a *AuthError while the SMSC refuses the account's
// credentials (ESME_RINVPASWD, ESME_RINVSYSID, ESME_RINVSYSTYP), nil
// otherwise. Meanwhile one slot tries again every Options.AuthRetry (with
// jitter) and as soon as the password changes; the others wait for it, so
// a wrong password costs the account one bind per retry, not one per slot
// per reconnect (SMSCs block accounts that hammer them).
func (p *Pool) AuthFailed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.auth == nil {
		return nil
	}
	// A copy: the probing slot updates the pool's own under p.mu while
	// the caller reads this one.
	ae := *p.auth
	return &ae
}

// Status describes every slot: transmitters (or transceivers) first, then
// receivers.
func (p *Pool) Status() []smsagent.BindStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]smsagent.BindStatus, len(p.slots))
	for i, sl := range p.slots {
		out[i] = smsagent.BindStatus{
			Slot:        sl.index,
			Mode:        sl.mode.String(),
			State:       sl.state,
			Since:       sl.since,
			LastError:   sl.lastErr,
			Outstanding: sl.outstanding,
			Submitted:   sl.submitted,
			Reconnects:  sl.reconnects,
			Throttled:   sl.throttled,
		}
	}
	return out
}

// Stats is the pool as a whole, for the status command and the metrics.
type Stats struct {
	// Bound is the number of slots bound now, BoundTX those that may
	// submit.
	Bound, BoundTX int
	// Submitted, Reconnects and Throttled sum the slots' counters.
	Submitted, Reconnects, Throttled uint64
	// Throttling is true from the SMSC's first throttling answer until the
	// rate has climbed back; PausedUntil is when the current pause ends
	// (zero when none).
	Throttling  bool
	PausedUntil time.Time
	// Rate is the submissions per second allowed now; 0 means no limit.
	Rate float64
	// AuthError is AuthFailed's text, "" while the credentials stand;
	// AuthRefusals counts the binds refused for credentials, ever.
	AuthError    string
	AuthRefusals uint64
}

// Stats returns the pool's counters and throttling state now.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.admitLocked(now)
	st := Stats{Throttled: p.throttled, BoundTX: p.txBound, Throttling: p.thr.storm}
	for _, sl := range p.slots {
		if sl.sess != nil {
			st.Bound++
		}
		st.Submitted += sl.submitted
		st.Reconnects += sl.reconnects
	}
	if p.thr.paused(now) {
		st.PausedUntil = p.thr.until
	}
	if p.thr.limit != rate.Inf {
		st.Rate = float64(p.thr.limit)
	}
	if p.auth != nil {
		st.AuthError = p.auth.Error()
	}
	st.AuthRefusals = p.authRefusals
	return st
}

// Close stops the pool: Submit returns ErrClosed from now on, every bound
// session unbinds (waiting for its unbind_resp up to ctx, so answers in
// flight still reach their done), reconnect loops stop, and Close waits for
// all of it up to ctx. It returns the unbinds' errors, or ctx's when the
// wait was cut short. It must not be called from a done or the Handler.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.closeCtx = ctx
		close(p.quit)
		p.broadcastLocked()
	}
	cancel := p.cancel
	p.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	stopped := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		return fmt.Errorf("bindpool: close: %w", ctx.Err())
	}
	p.mu.Lock()
	errs := p.closeErrs
	p.closeErrs = nil
	p.mu.Unlock()
	return errors.Join(errs...)
}
