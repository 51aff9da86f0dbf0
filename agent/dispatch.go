package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// maxIdle caps the dispatcher's sleep when nothing is due, so that a missed
// wake-up (there should be none) costs at most this long.
const maxIdle = time.Minute

// dispatcher moves due messages from the outbox to the pool. One goroutine
// (run) owns it; it reserves every part in the budget it shares with the
// settler, which gives back what it has committed.
type dispatcher struct {
	store  *outbox.Store
	router *router
	clock  func() time.Time
	log    *slog.Logger
	health *health

	// results goes to the settler: the pool's done calls, and the parts the
	// dispatcher gives back unsent.
	results *mailbox[partResult]
	page    int // messages claimed at once
	// holdConfirmed, when set (store backend jetstream), says whether the
	// cluster confirmed this node's hold on its deliveries lately.
	holdConfirmed func() bool

	// wake is poked (capacity 1, never blocking) when there may be work:
	// intake stored messages, an operator retried some, the settler put
	// messages back in the queue.
	wake chan struct{}
}

// A stalled account took no message for stallAfter: its budget or every
// session's window stayed full, as when its SMSC takes submit_sm and
// answers none (or a throttling pause lasts). Its messages go back to the
// queue until a retry time instead of holding the page, so that the other
// accounts' messages behind them go out; at the retry time one message is
// tried (a probe), and the stall ends when a part of the account is
// answered again. The state lives in the account (stallSince, stallRetry,
// stallAnswered), written only by send.

// stallAfter is how long the dispatcher waits for an account to take the
// first part of a message before it takes the account for stalled: half
// its response_timeout, at least a second. A busy account frees places
// with every answer, and a slow one within its round trip, which must stay
// well below response_timeout anyway; only an SMSC that answers nothing
// for that long is passed over.
func stallAfter(ac *account) time.Duration {
	return max(ac.cfg.ResponseTimeout/2, time.Second)
}

// flight is one claimed message while its parts are out. The dispatcher
// creates it; after the hand-off through the mailbox only the settler
// touches it.
type flight struct {
	acct     *account // the parts' budget is this account's
	id       smsagent.MessageID
	total    int
	received time.Time
	report   bool
	// accepted is set once a part of the message was accepted by the SMSC
	// (now or in an earlier round): FileToSubmit is observed once.
	accepted bool
	// failover: a failover.on_status refusal may move the message to the
	// next account of its route.
	failover bool
}

// partCall is one submitted part. Its done method is the pool's callback.
type partCall struct {
	f       *flight
	seq     int
	results *mailbox[partResult]
	// pending is set by the settler when the response timed out, so that
	// the final result does not free the budget twice.
	pending bool
}

// done hands the session's result to the settler. It runs on a session
// goroutine and must not block: put never does.
func (c *partCall) done(res smpp.Result) {
	c.results.put(partResult{call: c, res: res})
}

// partResult is one result on its way to the settler.
type partResult struct {
	call *partCall
	res  smpp.Result
	// unsent marks a part the dispatcher gives back without having
	// submitted it (no bind, stopping): outcome released, no budget held.
	unsent bool
}

func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run dispatches until ctx ends. When it returns, every part it claimed was
// either handed to the pool or handed to the settler as released: nothing
// it claimed is left unaccounted for.
//
// Two goroutines: claimAhead claims and encodes the next page while run
// submits the current one, so the claim's commit is never on the path from
// a response to the next submit; a page waits in pages (one at most) until
// run takes it.
//
// Crash story: Claim commits the messages as sending. A crash after it and
// before their results are committed leaves them sending; outbox.Open puts
// them back in the queue at their old due time, and the parts that were
// submitted are sent again (the duplicate bound of the budget); parts
// accepted in an earlier, committed round keep their SMSC ids and are not
// resent. Claimed pages not yet submitted were never sent.
func (d *dispatcher) run(ctx context.Context) {
	pages := make(chan []prepared, 1)
	var claimer sync.WaitGroup
	claimer.Go(func() {
		defer close(pages)
		d.claimAhead(ctx, pages)
	})
	for page := range pages {
		if ctx.Err() != nil {
			d.release(page, 0)
			continue
		}
		d.send(ctx, page)
	}
	claimer.Wait()
}

// holdRecheck is how often a dispatcher held back by an unconfirmed hold
// looks again.
const holdRecheck = 100 * time.Millisecond

// claimAhead claims due messages page by page, encodes them and hands
// each page to run, until ctx ends.
func (d *dispatcher) claimAhead(ctx context.Context, pages chan<- []prepared) {
	for ctx.Err() == nil {
		// Never claim what cannot go out: messages stay queued (and in
		// order) while no account has a session bound. A bind is seen
		// within monitorInterval (the monitor's poke may come sooner).
		if !d.router.anyBound() {
			d.idle(ctx, d.clock().Add(monitorInterval))
			continue
		}
		// Nor while this node's hold on what it took from the cluster's
		// queue is unconfirmed (store backend jetstream): cut off from the
		// cluster, what it sends now could not be acknowledged, and
		// another node would send it again after the takeover.
		if d.holdConfirmed != nil && !d.holdConfirmed() {
			d.idle(ctx, d.clock().Add(holdRecheck))
			continue
		}
		now := d.clock()
		// Nor while every bound account is stalled: claiming would only
		// put the messages back (a commit each way).
		if ok, next := d.router.anyTakes(now); !ok {
			until := now.Add(monitorInterval)
			if !next.IsZero() && next.Before(until) {
				until = next
			}
			d.idle(ctx, until)
			continue
		}
		recs, err := d.store.Claim(ctx, now, d.page)
		if err != nil {
			if ctx.Err() == nil {
				d.health.set(healthDispatch, fmt.Sprintf("dispatcher: cannot claim messages: %v", err))
				d.log.Error("agent: claiming due messages failed; retrying", "err", err)
				d.idle(ctx, d.clock().Add(time.Second))
			}
			continue
		}
		d.health.clear(healthDispatch)
		if len(recs) == 0 {
			d.idle(ctx, d.nextDue(ctx))
			continue
		}
		page := make([]prepared, 0, len(recs))
		waits := map[time.Time][]smsagent.MessageID{}
		for i := range recs {
			r := &recs[i]
			rt := d.router.route(r, now)
			switch {
			case rt.fail != "":
				d.fail(ctx, r, rt.fail)
			case rt.wait:
				waits[rt.until] = append(waits[rt.until], r.ID)
				d.log.Debug("agent: message waits for an SMSC account", "id", r.ID, "until", rt.until, "reason", rt.reason)
			default:
				if until, stalled := rt.acct.stalledUntil(now); stalled {
					waits[until] = append(waits[until], r.ID)
					continue
				}
				if p, ok := d.prepare(ctx, r, rt.acct); ok {
					p.f.failover = rt.failover
					page = append(page, p)
				}
			}
		}
		d.wait(ctx, waits)
		if len(page) == 0 {
			continue
		}
		select {
		case pages <- page:
		case <-ctx.Done():
			d.release(page, 0)
			return
		}
	}
}

// wait puts messages that wait for an account back in the queue, due when
// the router looks at them again.
func (d *dispatcher) wait(ctx context.Context, waits map[time.Time][]smsagent.MessageID) {
	for until, ids := range waits {
		if err := d.store.Defer(ctx, ids, until); err != nil && ctx.Err() == nil {
			// They stay sending until the next start, which queues them.
			d.log.Error("agent: putting waiting messages back in the queue failed", "messages", len(ids), "err", err)
		}
	}
}

// nextDue is when the earliest queued message becomes due, capped at
// maxIdle from now.
func (d *dispatcher) nextDue(ctx context.Context) time.Time {
	now := d.clock()
	limit := now.Add(maxIdle)
	next, ok, err := d.store.NextDue(ctx)
	if err != nil || !ok || next.After(limit) {
		return limit
	}
	return next
}

// idle waits for a wake-up, until (zero: no timer) or the end of ctx.
func (d *dispatcher) idle(ctx context.Context, until time.Time) {
	var timer <-chan time.Time
	if !until.IsZero() {
		wait := until.Sub(d.clock())
		if wait <= 0 {
			return
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-d.wake:
	case <-timer:
	case <-ctx.Done():
	}
}

// prepared is a claimed message ready to go: its flight and one submit_sm
// per part still to send (nil for parts accepted in an earlier round,
// which are never sent twice).
type prepared struct {
	f   *flight
	sms []*pdu.SubmitSM
}

// toSend is the number of parts to submit.
func (p prepared) toSend() int {
	n := 0
	for _, sm := range p.sms {
		if sm != nil {
			n++
		}
	}
	return n
}

// send submits the parts of a page that are not accepted yet, in order,
// within their account's budget; the parts of one message go out on one
// session of its account (bindpool.Series). When ctx ends, the parts not
// submitted go back as released and send returns; when the account has no
// session or the session of a message's earlier parts ends, the rest of
// that message goes back (the router decides again) and the page goes on.
// A message whose account has stalled goes back to the queue
// before any of its parts is submitted, so that it holds up no other
// account's messages.
func (d *dispatcher) send(ctx context.Context, page []prepared) {
	stalled := map[time.Time][]smsagent.MessageID{}
	defer d.wait(ctx, stalled)
	for i, p := range page {
		if d.holdConfirmed != nil && !d.holdConfirmed() {
			// Cut off from the cluster since the claim: what is not
			// written yet goes back (see claimAhead).
			d.release(page[i:], 0)
			return
		}
		ac := p.f.acct
		pool, budget := ac.pool, ac.budget
		var series *bindpool.Series
		if p.toSend() > 1 {
			series = &bindpool.Series{}
		}
		first := true
		for j, sm := range p.sms {
			if sm == nil {
				continue
			}
			call := &partCall{f: p.f, seq: j + 1, results: d.results}
			// The first part of a message waits at most stallAfter for
			// a place in the account's budget and a session's window;
			// a later part takes the rest of its series' session, as
			// long as that takes.
			subCtx, cancel := ctx, context.CancelFunc(func() {})
			reserved := false
			if first {
				if until, ok := d.waitStalled(ac); ok {
					stalled[until] = append(stalled[until], p.f.id)
					break
				}
				subCtx, cancel = context.WithTimeout(ctx, stallAfter(ac))
				reserved = budget.reserve(subCtx)
			} else {
				reserved = budget.reserve(ctx)
			}
			var err error
			if reserved {
				if series != nil {
					err = pool.SubmitInSeries(subCtx, series, sm, call.done)
				} else {
					err = pool.Submit(subCtx, sm, call.done)
				}
			}
			cancel()
			if reserved && err == nil {
				first = false
				continue
			}
			if reserved {
				budget.unreserve()
			}
			if ctx.Err() != nil {
				d.release(page[i:], j)
				return
			}
			if first && (!reserved || errors.Is(err, context.DeadlineExceeded)) {
				// Nothing written: neither a place nor a window freed
				// for stallAfter.
				until := d.markStalled(ac)
				stalled[until] = append(stalled[until], p.f.id)
				break
			}
			if !errors.Is(err, bindpool.ErrSeriesBroken) {
				d.log.Info("agent: SMSC link down; message back to the queue", "smsc", ac.name, "id", p.f.id, "err", err)
			}
			d.release(page[i:i+1], j)
			break
		}
	}
}

// waitStalled reports whether ac is stalled and not due for a probe, and
// when its messages should be looked at again. It ends a stall that a part
// answered since.
func (d *dispatcher) waitStalled(ac *account) (time.Time, bool) {
	now := d.clock()
	since, stalled := ac.stalled()
	if !stalled {
		if n := ac.stallSince.Load(); n != 0 {
			d.log.Info("agent: SMSC account answers again; its messages go out", "smsc", ac.name,
				"waited", now.Sub(time.Unix(0, n)).Round(time.Second))
			ac.stallRetry.Store(0)
			ac.stallSince.Store(0)
		}
		return time.Time{}, false
	}
	if retry := time.Unix(0, ac.stallRetry.Load()); now.Before(retry) {
		return retry, true
	}
	// A probe: one message is tried; the others wait as long again.
	ac.stallRetry.Store(now.Add(stallWait(since, now)).UnixNano())
	return time.Time{}, false
}

// markStalled records that ac took no message for stallAfter and returns
// when its messages should be looked at again.
func (d *dispatcher) markStalled(ac *account) time.Time {
	now := d.clock()
	since, stalled := ac.stalled()
	if !stalled {
		since = now.Add(-stallAfter(ac))
		d.log.Warn("agent: SMSC account takes no message (window full, nothing answered); its messages wait, "+
			"the other accounts' go out", "smsc", ac.name, "for", stallAfter(ac), "outstanding", ac.budget.outstanding())
	}
	retry := now.Add(stallWait(since, now))
	ac.stallAnswered.Store(ac.budget.answered.Load())
	ac.stallRetry.Store(retry.UnixNano())
	ac.stallSince.Store(since.UnixNano()) // last: the status reads the others with it
	return retry
}

// stallWait is how long messages of a stalled account wait before they are
// looked at again: as for an account without a bound session, a quarter of
// the stall so far, from a second to a minute.
func stallWait(since, now time.Time) time.Duration {
	return min(max(now.Sub(since)/4, waitRecheck), maxDownWait)
}

// prepare encodes a claimed message and builds its PDUs. A message that
// cannot be sent is failed here, before any of its parts goes out.
func (d *dispatcher) prepare(ctx context.Context, r *smsagent.Record, ac *account) (prepared, bool) {
	enc, err := ac.enc.split(r)
	if err == nil && len(r.Parts) != 0 && len(r.Parts) != len(enc.parts) {
		err = fmt.Errorf("the text now makes %d parts where %d were sent before (smsc.split or the encoding "+
			"changed); retry the message to send all of it again", len(enc.parts), len(r.Parts))
	}
	p := prepared{sms: make([]*pdu.SubmitSM, len(enc.parts))}
	sending := 0
	for j := range enc.parts {
		if err != nil {
			break
		}
		if len(r.Parts) != 0 && r.Parts[j].State != smsagent.StateSending {
			continue
		}
		p.sms[j], err = ac.enc.submit(&r.Message, &enc, enc.parts[j])
		sending++
	}
	if err == nil && sending == 0 {
		// Claim returned a queued message whose parts were all accepted:
		// the outbox settles such a message as sent, so this is a broken
		// record; failing it shows it to a person instead of looping.
		err = errors.New("no part left to send")
	}
	if err != nil {
		d.fail(ctx, r, err.Error())
		return prepared{}, false
	}
	p.f = &flight{acct: ac, id: r.ID, total: len(enc.parts), received: r.ReceivedAt, report: r.Report,
		accepted: !r.Submitted.IsZero()}
	return p, true
}

// release gives back, unsent, part j of page[0] onwards and every part of
// the rest of the page, for the settler to record as released: the
// messages go back to the front of the queue without counting an attempt.
//
// Crash story: until the settler commits these results the messages stay
// sending, and a restart queues them again; nothing of them was sent, so
// nothing is doubled.
func (d *dispatcher) release(page []prepared, j int) {
	for i, p := range page {
		for k, sm := range p.sms {
			if sm == nil || (i == 0 && k < j) {
				continue
			}
			d.results.put(partResult{call: &partCall{f: p.f, seq: k + 1, results: d.results}, unsent: true})
		}
	}
}

// fail makes a message that cannot be sent final as failed, with the
// reason in its report.
//
// Crash story: Fail is one commit; a crash before it leaves the message
// sending, queued again at start, and it fails again here.
func (d *dispatcher) fail(ctx context.Context, r *smsagent.Record, reason string) {
	d.log.Warn("agent: message cannot be sent; failed", "id", r.ID, "file", r.File, "reason", reason)
	if err := d.store.Fail(ctx, r.ID, reason); err != nil && ctx.Err() == nil {
		d.log.Error("agent: recording a failed message", "id", r.ID, "err", err)
	}
}
