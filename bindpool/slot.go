package bindpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// The states a slot reports (smsagent.BindStatus.State).
const (
	stateConnecting = "connecting"
	stateBound      = "bound"
	stateBackoff    = "backoff"
	stateAuthFailed = "auth-failed"
	stateClosed     = "closed"
)

// stableAfter is how long a session must have stayed bound for its loss to
// restart the backoff from the first step. A session that lasted this long
// proved the link and the credentials; one that dies sooner (an SMSC that
// hangs up right after the bind) keeps climbing the backoff instead of
// being redialled at the floor rate forever.
const stableAfter = 30 * time.Second

// errRebind ends a session the SMSC answered with ESME_RINVBNDSTS.
var errRebind = errors.New("bindpool: smsc says the session is not bound")

// slot is one bind the pool keeps up. Its goroutine (run) owns the
// connection's life; the fields below index are guarded by Pool.mu.
type slot struct {
	index int
	mode  smpp.BindMode
	// kick asks the goroutine to close the session it names and bind
	// again; a kick for an earlier session is ignored.
	kick chan *smpp.Session

	sess        *smpp.Session // non-nil while bound and usable
	state       string
	since       time.Time
	lastErr     string
	outstanding int // reserved or sent, window slot not yet freed
	submitted   uint64
	reconnects  uint64
	throttled   uint64
	everBound   bool
}

// run keeps the slot bound until ctx ends: connect, serve until the
// session ends, back off, again (SMPP 3.4 §2.2: a session binds once;
// after a refusal or a loss we dial again).
func (p *Pool) run(ctx context.Context, sl *slot) {
	defer p.wg.Done()
	failures := 0
	var delay time.Duration
	for first := true; ; first = false {
		// Every slot makes its first attempt; later ones first wait out
		// their backoff, and while the SMSC refuses the credentials every
		// slot but the one probing them waits until a bind succeeds.
		if !first && !p.backoff(ctx, sl, delay) {
			return
		}
		delay = 0
		sess, password, err := p.connect(ctx, sl)
		if err != nil {
			if ctx.Err() != nil {
				p.stop(sl, stateClosed)
				return
			}
			strategy := p.opts.Backoff
			var be *smpp.BindError
			if errors.As(err, &be) {
				switch be.Status.Class() {
				case pdu.ClassBadCredentials:
					if !p.refused(ctx, sl, err, password) {
						return
					}
					failures = 0
					continue
				case pdu.ClassBindBusy:
					strategy = p.opts.BusyBackoff
				}
			}
			failures++
			delay = p.failed(sl, err, failures, strategy)
			continue
		}
		boundAt := p.now()
		p.attach(sl, sess)
		cause := p.serve(ctx, sl, sess)
		if ctx.Err() != nil {
			p.stop(sl, stateClosed)
			return
		}
		lasted := p.now().Sub(boundAt)
		if lasted >= stableAfter {
			failures = 0
		}
		failures++
		delay = p.lost(sl, cause, lasted, failures)
	}
}

// connect dials and binds with the password Options.Password gives now,
// and returns that password (for refused to compare a later one with). A
// failed bind closes its session; connect waits for it to end, so no
// goroutine outlives the attempt.
func (p *Pool) connect(ctx context.Context, sl *slot) (*smpp.Session, string, error) {
	p.setState(sl, stateConnecting, "")
	req := p.opts.Bind
	req.Mode = sl.mode
	password := p.password()
	req.Password = password
	dctx, cancel := context.WithTimeout(ctx, p.opts.BindTimeout)
	conn, err := p.opts.Dial(dctx)
	cancel()
	if err != nil {
		return nil, password, err
	}
	sess := smpp.NewSession(conn, p.sessionOptions(sl))
	if err := sess.Bind(ctx, req); err != nil {
		<-sess.Done()
		return nil, password, err
	}
	return sess, password, nil
}

func (p *Pool) sessionOptions(sl *slot) smpp.SessionOptions {
	o := smpp.SessionOptions{
		Window:          p.opts.Window,
		ResponseTimeout: p.opts.ResponseTimeout,
		BindTimeout:     p.opts.BindTimeout,
		EnquireLink:     p.opts.EnquireLink,
		Logger:          p.log.With("slot", sl.index),
	}
	// A transmitter is never offered deliver_sm (§2.3), so it needs no
	// Handler goroutine.
	if sl.mode != smpp.Transmitter {
		o.Handler = p.opts.Handler
	}
	return o
}

// serve waits for the session's end, the pool's, or a rebind request, and
// says why the session ended.
func (p *Pool) serve(ctx context.Context, sl *slot, sess *smpp.Session) error {
	for {
		select {
		case <-sess.Done():
			p.detach(sl, sess)
			return sess.Err()
		case <-ctx.Done():
			// Out of Submit's reach first, then unbind: answers in
			// flight still reach their done while Close reads on.
			p.detach(sl, sess)
			if err := sess.Close(p.closeContext()); err != nil {
				p.mu.Lock()
				p.closeErrs = append(p.closeErrs, fmt.Errorf("bindpool: slot %d: %w", sl.index, err))
				p.mu.Unlock()
			}
			return smpp.ErrClosed
		case k := <-sl.kick:
			if k != sess {
				continue
			}
			p.detach(sl, sess)
			_ = sess.Close(ctx)
			return errRebind
		}
	}
}

// closeContext bounds the unbinds: Close's context, or, when the pool
// stops because Start's context ended, none beyond the sessions' own
// ResponseTimeout.
func (p *Pool) closeContext() context.Context {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closeCtx != nil {
		return p.closeCtx
	}
	return context.Background()
}

// backoff waits delay before the next attempt, then, while the SMSC
// refuses the credentials and another slot probes them, until a bind
// succeeds. It reports false, with the slot's final state set, when the
// pool closes.
func (p *Pool) backoff(ctx context.Context, sl *slot, delay time.Duration) bool {
	if delay > 0 {
		p.setState(sl, stateBackoff, "")
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			p.stop(sl, stateClosed)
			return false
		}
	}
	return p.awaitCredentials(ctx, sl)
}

// awaitCredentials parks sl while the SMSC refuses the account's
// credentials and another slot probes them.
func (p *Pool) awaitCredentials(ctx context.Context, sl *slot) bool {
	for {
		p.mu.Lock()
		waiting := p.auth != nil && p.prober != sl
		cleared := p.authCleared
		if waiting {
			p.setStateLocked(sl, stateAuthFailed, "")
		}
		p.mu.Unlock()
		if !waiting {
			return true
		}
		select {
		case <-cleared:
		case <-ctx.Done():
			p.stop(sl, stateClosed)
			return false
		}
	}
}

// setState moves the slot to state; a non-empty lastErr replaces the
// slot's last error.
func (p *Pool) setState(sl *slot, state, lastErr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setStateLocked(sl, state, lastErr)
}

func (p *Pool) setStateLocked(sl *slot, state, lastErr string) {
	if sl.state != state {
		sl.state, sl.since = state, p.now()
	}
	if lastErr != "" {
		sl.lastErr = lastErr
	}
}

func (p *Pool) stop(sl *slot, state string) { p.setState(sl, state, "") }

// attach makes a freshly bound session the slot's.
func (p *Pool) attach(sl *slot, sess *smpp.Session) {
	p.mu.Lock()
	sl.sess = sess
	p.setStateLocked(sl, stateBound, "")
	if sl.everBound {
		sl.reconnects++
	}
	sl.everBound = true
	accepted := p.auth != nil
	if accepted {
		p.auth, p.prober = nil, nil
		close(p.authCleared)
	}
	if sl.mode != smpp.Receiver {
		p.txBound++
		if p.txBound == 1 {
			close(p.ready)
		}
	}
	p.broadcastLocked()
	reconnects := sl.reconnects
	p.mu.Unlock()
	if accepted {
		p.log.Info("smsc accepts the credentials again", "system_id", p.opts.Bind.SystemID)
	}
	p.log.Info("smsc bound", "slot", sl.index, "mode", sl.mode.String(), "smsc", sess.PeerSystemID(),
		"reconnects", reconnects)
}

func (p *Pool) detach(sl *slot, sess *smpp.Session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.detachLocked(sl, sess)
}

// detachLocked takes sess out of Submit's reach, once.
func (p *Pool) detachLocked(sl *slot, sess *smpp.Session) {
	if sl.sess != sess {
		return
	}
	sl.sess = nil
	if sl.mode != smpp.Receiver {
		p.txBound--
		if p.txBound == 0 {
			p.ready = make(chan struct{})
		}
	}
	p.broadcastLocked()
}

// failed records a failed attempt and returns the wait before the next.
// The log says it at warn level when it is news (the first in a row, or a
// different error) and at debug level while the same failure repeats, so
// a site offline for a day does not drown its log.
func (p *Pool) failed(sl *slot, err error, failures int, strategy BackoffStrategy) time.Duration {
	msg := err.Error()
	p.mu.Lock()
	news := failures == 1 || msg != sl.lastErr
	p.setStateLocked(sl, stateBackoff, msg)
	p.mu.Unlock()
	delay := strategy.Calculate(failures)
	level := slog.LevelDebug
	if news {
		level = slog.LevelWarn
	}
	p.log.Log(context.Background(), level, "smsc connection failed", "slot", sl.index, "mode", sl.mode.String(),
		"error", msg, "failures", failures, "retry_in", delay.Round(time.Millisecond))
	return delay
}

// lost records the end of a bound session and returns the wait before
// binding again.
func (p *Pool) lost(sl *slot, cause error, lasted time.Duration, failures int) time.Duration {
	msg := "session ended"
	if cause != nil {
		msg = cause.Error()
	}
	p.setState(sl, stateBackoff, msg)
	delay := p.opts.Backoff.Calculate(failures)
	p.log.Warn("smsc session lost", "slot", sl.index, "mode", sl.mode.String(), "error", msg,
		"bound_for", lasted.Round(time.Millisecond), "retry_in", delay.Round(time.Millisecond))
	return delay
}

// refused records a refusal of the account's credentials and waits before
// sl may bind again; false when the pool closed meanwhile. The first slot
// refused probes: it tries again after Options.AuthBackoff (minutes, with
// jitter) or as soon as Options.Password gives another password (a
// rotated password file), checking every Options.AuthPoll. Every other
// slot waits until a bind succeeds. Retrying at the reconnect pace would
// get the account blocked by SMSCs that count failed logins; never
// retrying would stop a site until someone restarts it (a password rotated
// at the SMSC a minute late, a short authentication outage there).
func (p *Pool) refused(ctx context.Context, sl *slot, err error, password string) bool {
	now := p.now()
	p.mu.Lock()
	first := p.auth == nil
	if first {
		p.auth = &AuthError{SystemID: p.opts.Bind.SystemID, Since: now, Retry: p.opts.AuthRetry, Err: err}
		p.prober = sl
		p.authCleared = make(chan struct{})
	}
	p.authRefusals++
	p.auth.Refusals++
	p.auth.Err = err
	probing := p.prober == sl
	probes := p.auth.Refusals
	cleared := p.authCleared
	p.setStateLocked(sl, stateAuthFailed, err.Error())
	p.mu.Unlock()
	if first {
		p.log.Error("smsc refuses the credentials; trying again every few minutes and when the password changes",
			"system_id", p.opts.Bind.SystemID, "error", err.Error(), "retry", p.opts.AuthRetry)
	}
	if !probing {
		return p.awaitCredentials(ctx, sl)
	}
	wait := p.opts.AuthBackoff.Calculate(int(min(probes, 64)))
	p.log.Debug("smsc credentials: next try", "slot", sl.index, "in", wait.Round(time.Second))
	timer := time.NewTimer(wait)
	defer timer.Stop()
	poll := time.NewTicker(p.opts.AuthPoll)
	defer poll.Stop()
	for {
		select {
		case <-timer.C:
			return true
		case <-cleared:
			// Another slot bound (its attempt was under way when this
			// one was refused): the credentials work after all.
			return true
		case <-poll.C:
			if pw, err := p.opts.Password(); err == nil && pw != password {
				p.log.Info("smsc password changed; binding with it now", "system_id", p.opts.Bind.SystemID)
				return true
			}
		case <-ctx.Done():
			p.stop(sl, stateClosed)
			return false
		}
	}
}

// AuthError says that the SMSC refuses the account's credentials, since
// when, and how often the pool tries again. AuthFailed returns it.
type AuthError struct {
	SystemID string
	Since    time.Time
	Retry    time.Duration // Options.AuthRetry
	Refusals uint64        // binds refused since Since
	Err      error         // the last refusal
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("bindpool: smsc refuses the credentials of system_id %q (since %s, %d refused binds); "+
		"trying again about every %s and as soon as the password changes: %v",
		e.SystemID, e.Since.UTC().Format(time.RFC3339), e.Refusals, e.Retry, e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }
