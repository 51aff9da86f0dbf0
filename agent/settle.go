package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/dlr"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// settler records the results of submitted parts in the outbox. One
// goroutine (run) owns it: it takes every result queued since its last
// commit and records them with one outbox.RecordParts, so under load one
// fsync covers a window's worth of responses.
type settler struct {
	store   *outbox.Store
	results *mailbox[partResult] // from the pool's done calls and the dispatcher
	// failover tells the statuses of failover.on_status.
	failover func(pdu.Status) bool
	// requeued wakes the dispatcher: a commit may have put messages back
	// in the queue.
	requeued func()
	obs      Observer
	clock    func() time.Time
	log      *slog.Logger
	health   *health
	sent     *sentTimes // acceptance times, for SubmitToReceipt
	rates    *rates
	// committed, when set, follows each commit (store backend jetstream:
	// the SMSC ids into the cluster's index).
	committed func(ctx context.Context, batch []outbox.PartResult)

	// group is the count of results committed without waiting out
	// commitLinger: half the budget, so the dispatcher never waits.
	group int

	batch []outbox.PartResult // reused between commits
	from  []source            // batch[i] came from from[i]
}

// commitLinger is how long the settler and the applier wait after the
// first result or request of a group for more to commit with it. Under
// load groups fill before it passes; when the SMSC sets a slow pace it
// cuts the commits (and the CPU they cost per message) several times over
// for a few milliseconds of delay in recording what happened, which
// nothing waits for.
const commitLinger = 5 * time.Millisecond

// source is where a part result came from.
type source struct {
	call *partCall
	// submitted is false for a part the dispatcher gave back unsent: it
	// holds no budget.
	submitted bool
}

// run records results until quit is closed, then records what is still
// queued and returns. ctx bounds each commit: when it ends, results not yet
// committed are dropped and their messages stay sending, which a restart
// queues again (the crash story of the dispatcher).
func (s *settler) run(ctx context.Context, quit <-chan struct{}) {
	for {
		select {
		case <-s.results.ready:
			s.results.gather(ctx, quit, s.group, commitLinger)
			s.settle(ctx, s.results.take())
		case <-quit:
			s.settle(ctx, s.results.take())
			return
		case <-ctx.Done():
			return
		}
	}
}

// settle turns results into part results, commits them and then frees the
// budget they held.
//
// Crash story: until RecordParts commits, the parts are sending in the
// outbox; a crash queues their messages again and the parts that reached
// the SMSC are sent a second time (at-least-once, bounded by the budget).
// After the commit an accepted part has its SMSC id and is never resent.
func (s *settler) settle(ctx context.Context, results []partResult) {
	s.batch, s.from = s.batch[:0], s.from[:0]
	for _, r := range results {
		c := r.call
		if r.unsent {
			s.add(c, false, outbox.PartResult{Outcome: outbox.OutcomeReleased, At: s.clock()})
			continue
		}
		if r.res.Pending {
			// The outcome is unknown and the session still lives: the
			// SMSC may have the message, so it is not resent; the late
			// response or the session's end will settle it.
			s.obs.SubmitTimedOut()
			s.log.Warn("agent: no submit_sm_resp within smsc.response_timeout; waiting for it (not resending)",
				"id", c.f.id, "seq", c.seq)
			c.pending = true
			c.f.acct.budget.timedOut()
			continue
		}
		pr := s.classify(c, r.res)
		s.rates.submits.Add(1)
		s.add(c, true, pr)
	}
	if len(s.batch) == 0 {
		return
	}
	if !s.commit(ctx) {
		return
	}
	for i, src := range s.from {
		c, pr := src.call, &s.batch[i]
		if pr.Outcome == outbox.OutcomeAccepted {
			if !c.f.accepted {
				c.f.accepted = true
				s.obs.FileToSubmit(pr.At.Sub(c.f.received))
			}
			if c.f.report && pr.SMSCKey != "" {
				s.sent.put(pr.SMSCKey, pr.At)
			}
		}
	}
	s.requeued()
}

// add queues one result for the commit.
func (s *settler) add(c *partCall, submitted bool, pr outbox.PartResult) {
	pr.ID, pr.Seq, pr.Total = c.f.id, c.seq, c.f.total
	s.batch = append(s.batch, pr)
	s.from = append(s.from, source{call: c, submitted: submitted})
}

// commit records the batch, retrying with backoff while the outbox fails
// (a full disk may be freed). Only after it returns true is the budget of
// the batch's parts freed, which is what bounds the parts a crash resends.
func (s *settler) commit(ctx context.Context) bool {
	delay := 100 * time.Millisecond
	for {
		err := s.store.RecordParts(ctx, s.batch)
		if err == nil {
			if s.committed != nil {
				s.committed(ctx, s.batch)
			}
			s.health.clear(healthSettle)
			s.release()
			return true
		}
		if ctx.Err() != nil || errors.Is(err, outbox.ErrClosed) || errors.Is(err, outbox.ErrInvalid) {
			s.log.Error("agent: submit results not recorded; their messages are sent again at the next start",
				"parts", len(s.batch), "err", err)
			s.release()
			return false
		}
		s.health.set(healthSettle, fmt.Sprintf("outbox: cannot record submit results: %v", err))
		s.log.Error("agent: recording submit results failed; retrying", "parts", len(s.batch), "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// release gives back the budget the batch's submitted parts held, to
// their accounts.
func (s *settler) release() {
	var b *budget
	var inflight, open int64
	for _, src := range s.from {
		if !src.submitted {
			continue
		}
		if ab := src.call.f.acct.budget; ab != b {
			if b != nil {
				b.settled(inflight, open)
			}
			b, inflight, open = ab, 0, 0
		}
		open++
		if !src.call.pending {
			inflight++
		}
	}
	if b != nil {
		b.settled(inflight, open)
	}
}

// classify maps a final result onto an outbox outcome (SMPP 3.4 §4.4.2,
// §5.1.3 command_status classes):
//
//	ESME_ROK                               accepted, SMSC id keyed by dlr.Key
//	                                       (with the account's key prefix)
//	failover.on_status, not pinned         failover: the next account
//	throttle class (0x58, 0x14)            throttled: front of the queue, no attempt
//	temporary class (0x08, 0x64), 0x04     temporary: retry after backoff
//	never written (smpp.ErrNotSent)        released
//	the session ended before the response  temporary (the SMSC may have it:
//	                                       this is where duplicates come from)
//	anything else                          permanent, "NAME (0x...): text"
func (s *settler) classify(c *partCall, res smpp.Result) outbox.PartResult {
	at := s.clock()
	pr := outbox.PartResult{At: at, SMSC: c.f.acct.name}
	var de *pdu.DecodeError
	switch {
	case res.Err == nil, errors.As(res.Err, &de):
		st := res.Header.Status
		s.obs.SubmitDone(c.f.acct.name, st.String(), res.RTT)
		switch {
		case st == pdu.StatusOK && res.Header.ID == pdu.GenericNackID:
			pr.Outcome, pr.Error = outbox.OutcomeTemporary, "generic_nack without a command_status"
		case st == pdu.StatusOK:
			pr.Outcome = outbox.OutcomeAccepted
			if resp, ok := res.Resp.(*pdu.SubmitSMResp); ok {
				pr.SMSCID = resp.MessageID
			}
			if pr.SMSCID == "" {
				// Counted as accepted: the SMSC has the message, and
				// sending it again would double it. Its receipts cannot
				// be matched; the receipt timeout ends its wait.
				s.log.Warn("agent: submit_sm_resp without a usable message_id; receipts cannot be matched",
					"id", c.f.id, "seq", c.seq, "err", res.Err)
			} else {
				pr.SMSCKey = c.f.acct.key(dlr.Key(pr.SMSCID))
			}
		case c.f.failover && s.failover(st):
			// failover.on_status: the next account of the route may
			// take it (the outbox decides: not once a part is accepted).
			pr.Outcome, pr.Status, pr.Error = outbox.OutcomeFailover, uint32(st), statusText(st)
		default:
			pr.Outcome, pr.Status, pr.Error = outcomeOf(st), uint32(st), statusText(st)
		}
	case errors.Is(res.Err, smpp.ErrNotSent):
		pr.Outcome = outbox.OutcomeReleased
	case c.pending:
		pr.Outcome = outbox.OutcomeTemporary
		pr.Error = fmt.Sprintf("no response within the response timeout, then the session ended (%v); "+
			"sent again, the SMSC may have had it", res.Err)
	default:
		pr.Outcome = outbox.OutcomeTemporary
		pr.Error = fmt.Sprintf("the connection ended before the response (%v)", res.Err)
	}
	return pr
}

// outcomeOf is the outcome of a refusal by its command_status class.
func outcomeOf(st pdu.Status) outbox.Outcome {
	switch st.Class() {
	case pdu.ClassThrottle:
		return outbox.OutcomeThrottled
	case pdu.ClassPermanent:
		return outbox.OutcomePermanent
	}
	// Temporary errors, and answers about the session rather than the
	// message (not bound, bind busy): the message itself is fine.
	return outbox.OutcomeTemporary
}

// statusText is the readable form reports carry:
// "ESME_RINVDSTADR (0x0000000B): invalid destination address".
func statusText(st pdu.Status) string {
	name, text := st.String(), st.Error()
	if rest, ok := strings.CutPrefix(text, name+": "); ok {
		return fmt.Sprintf("%s (0x%08X): %s", name, uint32(st), rest)
	}
	return text
}
