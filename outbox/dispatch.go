package outbox

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/smsagent/smsagent"
	bolt "go.etcd.io/bbolt"
)

// Outcome is what became of one part submitted to the SMSC.
type Outcome uint8

const (
	// OutcomeAccepted: submit_sm_resp with command_status 0; SMSCID holds
	// the SMSC's message_id.
	OutcomeAccepted Outcome = iota + 1
	// OutcomeThrottled: the SMSC asked us to slow down (ESME_RTHROTTLED,
	// ESME_RMSGQFUL). The part goes back to the front of the queue and no
	// attempt is counted.
	OutcomeThrottled
	// OutcomeReleased: the part was never written to the wire (shutdown,
	// no bind). Treated like OutcomeThrottled.
	OutcomeReleased
	// OutcomeTemporary: a failure worth retrying later (a temporary
	// command_status, the session lost with the part in flight). Counts as
	// an attempt; the message is retried after a backoff.
	OutcomeTemporary
	// OutcomePermanent: the SMSC refused the part for good (e.g.
	// ESME_RINVDSTADR). The message is rejected.
	OutcomePermanent
	// OutcomeFailover: the account refused the part with a status of
	// failover.on_status. While no part of the message is accepted, the
	// message goes back to the queue at once, no attempt counted, with
	// the account in its Avoid list; once one is, it is OutcomeTemporary
	// (a message never changes account after an acceptance).
	OutcomeFailover
)

func (o Outcome) String() string {
	switch o {
	case OutcomeAccepted:
		return "accepted"
	case OutcomeThrottled:
		return "throttled"
	case OutcomeReleased:
		return "released"
	case OutcomeTemporary:
		return "temporary"
	case OutcomePermanent:
		return "permanent"
	case OutcomeFailover:
		return "failover"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// PartResult is the dispatcher's report on one submitted part.
type PartResult struct {
	ID      smsagent.MessageID
	Seq     int // 1-based
	Total   int // parts of the message; the same on every round
	Outcome Outcome
	// SMSCID is the message_id of the submit_sm_resp (accepted only).
	SMSCID string
	// SMSCKey is the index key receipts will look the part up by, made
	// from SMSCID by the same function that makes Receipt.Keys. Empty
	// when the SMSC gave no id: the part cannot be matched by a receipt.
	SMSCKey string
	// SMSC is the account the part was submitted to.
	SMSC string
	// Status is the submit_sm_resp command_status when not 0.
	Status uint32
	// Error is the readable reason of a failure, e.g.
	// "ESME_RINVDSTADR (0x0000000B): invalid destination address".
	Error string
	At    time.Time // when the response arrived
}

// Claim moves up to max due messages (due no later than now) from queued to
// sending and returns them: high priority first, then by due time. The
// dispatcher sends, for each, the parts that are not yet accepted (Part
// state queued or sending; accepted parts keep their SMSC ids and are never
// resent), with the record's ConcatRef, and reports every part it sent with
// RecordParts. Messages found past max_age or validity are made expired
// with a report instead of being returned.
//
// Ordering by due time is what keeps retries from starving new messages: a
// retry's due time is at or after the failure that caused it, so it queues
// behind everything that became due before it.
func (s *Store) Claim(ctx context.Context, now time.Time, max int) ([]smsagent.Record, error) {
	if max <= 0 {
		return nil, nil
	}
	o := &claimOp{now: now.Round(0), max: max}
	if err := s.do(ctx, o); err != nil {
		return nil, fmt.Errorf("outbox: claim: %w", err)
	}
	return o.out, nil
}

type claimOp struct {
	now time.Time
	max int
	out []smsagent.Record
}

func (o *claimOp) apply(w *wtx) error {
	defer func(t time.Time) { w.now = t }(w.now)
	w.now = o.now
	o.out = make([]smsagent.Record, 0, min(o.max, 1024))
	budget := o.max // expiries handled per call, so one Claim stays bounded
	for len(o.out) < o.max {
		ids := dueIDs(w.due, o.now, o.max-len(o.out)+budget)
		if len(ids) == 0 {
			return nil
		}
		for _, id := range ids {
			if len(o.out) == o.max {
				return nil
			}
			r, err := w.get(id)
			if err != nil {
				return err
			}
			if r == nil || r.State != smsagent.StateQueued {
				return corruptf("due index entry for message %s without a queued record", id)
			}
			if !r.Expires.IsZero() && !o.now.Before(r.Expires) {
				if budget == 0 {
					return nil
				}
				budget--
				if err := w.expire(r, w.modify(r)); err != nil {
					return err
				}
				continue
			}
			old := w.modify(r)
			r.State = smsagent.StateSending
			r.RoundTemp = false
			for i := range r.Parts {
				if r.Parts[i].State == smsagent.StateQueued {
					r.Parts[i].State = smsagent.StateSending
				}
			}
			if err := w.save(r, old); err != nil {
				return err
			}
			o.out = append(o.out, r.export())
		}
	}
	return nil
}

// dueIDs lists up to n ids from the due index with due time <= now, high
// priority first. Collected before any change: deleting under a cursor can
// skip keys.
func dueIDs(due *bolt.Bucket, now time.Time, n int) []smsagent.MessageID {
	limit := timeKey(now)
	ids := make([]smsagent.MessageID, 0, min(n, 4096))
	c := due.Cursor()
	for _, p := range duePrefixes {
		for k, _ := c.Seek([]byte{p}); k != nil && k[0] == p && len(ids) < n; k, _ = c.Next() {
			if binary.BigEndian.Uint64(k[1:9]) > limit {
				break
			}
			ids = append(ids, keyID(k[9:]))
		}
	}
	return ids
}

// export copies the domain record for a caller.
func (r *record) export() smsagent.Record {
	out := r.Record
	out.Parts = slices.Clone(r.Parts)
	return out
}

// expire makes a queued or sending message expired with a report.
func (w *wtx) expire(r *record, old slot) error {
	reason := expiryReason(r, w.s.opts.Retry.MaxAge)
	markUnsent(r, smsagent.StateExpired, "")
	if err := w.finish(r, smsagent.StateExpired, 0, reason); err != nil {
		return err
	}
	return w.save(r, old)
}

// NextDue returns the earliest due time of any queued message, false when
// none is queued. The dispatcher sleeps until then (or until new messages
// arrive).
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next uint64
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktDue).Cursor()
		for _, p := range duePrefixes {
			k, _ := c.Seek([]byte{p})
			if k == nil || k[0] != p {
				continue
			}
			if t := binary.BigEndian.Uint64(k[1:9]); !found || t < next {
				next, found = t, true
			}
		}
		return nil
	})
	if err != nil || !found {
		return time.Time{}, false, err
	}
	return fromUnixNano(int64(next)), true, nil
}

// RecordParts records the outcome of submitted parts. When no part of a
// message's round is outstanding any more the message settles: every part
// accepted → sent (final with a "sent" report when no receipt was asked
// for, else waiting for receipts); any part refused permanently → rejected;
// otherwise a temporary failure → queued again after the backoff (or
// expired past its age limit), and only throttled or released parts → queued
// again at its old due time, at the front of the queue, without counting an
// attempt. Binding an accepted part's SMSC key applies at once any receipt
// parked for that key. A result for a message that is not in state sending
// (canceled meanwhile, or unknown) is recorded on its part, if any, and
// changes nothing else.
//
// Crash story: until this commit, a part in flight is in state sending; a
// crash puts it back in the queue and it is sent again (at-least-once).
func (s *Store) RecordParts(ctx context.Context, results []PartResult) error {
	for i := range results {
		if err := validateResult(&results[i]); err != nil {
			return err
		}
	}
	if len(results) == 0 {
		return nil
	}
	if err := s.do(ctx, &partsOp{results: results}); err != nil {
		return fmt.Errorf("outbox: record parts: %w", err)
	}
	return nil
}

func validateResult(pr *PartResult) error {
	switch {
	case pr.Total < 1 || pr.Total > maxParts:
		return invalidf("message %s: part total %d outside 1..%d", pr.ID, pr.Total, maxParts)
	case pr.Seq < 1 || pr.Seq > pr.Total:
		return invalidf("message %s: part %d outside 1..%d", pr.ID, pr.Seq, pr.Total)
	case pr.Outcome < OutcomeAccepted || pr.Outcome > OutcomeFailover:
		return invalidf("message %s: unknown outcome %d", pr.ID, pr.Outcome)
	case len(pr.SMSCKey) > maxKeyLen:
		return invalidf("message %s: SMSC key of %d bytes", pr.ID, len(pr.SMSCKey))
	}
	return nil
}

type partsOp struct{ results []PartResult }

func (o *partsOp) apply(w *wtx) error {
	for i := range o.results {
		pr := &o.results[i]
		r, err := w.get(pr.ID)
		if err != nil {
			return err
		}
		if r == nil {
			w.s.log.Info("outbox: result for a message no longer stored", "id", pr.ID, "outcome", pr.Outcome)
			continue
		}
		if len(r.Parts) != 0 && len(r.Parts) != pr.Total {
			w.s.log.Error("outbox: result with a part total that differs from the stored one",
				"id", pr.ID, "total", pr.Total, "stored", len(r.Parts))
			continue
		}
		if err := w.recordPart(r, pr); err != nil {
			return err
		}
	}
	return nil
}

func (w *wtx) recordPart(r *record, pr *PartResult) error {
	sending := r.State == smsagent.StateSending
	old := w.modify(r)
	if r.Parts == nil {
		// First result of the first round: the dispatcher split the text
		// into Total parts and sent them all.
		st := smsagent.StateSending
		if !sending {
			st = r.State
			if !st.Final() {
				st = smsagent.StateQueued
			}
		}
		r.Parts = make([]smsagent.Part, pr.Total)
		r.Keys = make([]string, pr.Total)
		for i := range r.Parts {
			r.Parts[i].State = st
		}
	}
	p := &r.Parts[pr.Seq-1]
	if pr.Outcome == OutcomeAccepted && accepted(p.State) {
		w.s.log.Warn("outbox: second acceptance of a part ignored", "id", r.ID, "seq", pr.Seq, "smsc_id", pr.SMSCID)
		return w.save(r, old)
	}
	if !sending || p.State != smsagent.StateSending {
		// Late: the message was canceled, failed or is back in the queue.
		// Only an acceptance is worth keeping: that part must not be sent
		// again and its receipts must find it.
		if pr.Outcome == OutcomeAccepted {
			w.acceptPart(r, pr)
		} else if pr.Outcome == OutcomeTemporary || pr.Outcome == OutcomePermanent || pr.Outcome == OutcomeFailover {
			p.Status, p.Error = pr.Status, pr.Error
		}
		if err := w.save(r, old); err != nil {
			return err
		}
		return w.bindAccepted(r, pr)
	}
	switch pr.Outcome {
	case OutcomeAccepted:
		w.acceptPart(r, pr)
	case OutcomeThrottled, OutcomeReleased:
		p.State = smsagent.StateQueued
	case OutcomeTemporary:
		p.State = smsagent.StateQueued
		p.Status, p.Error, p.SMSC = pr.Status, pr.Error, pr.SMSC
		r.RoundTemp = true
	case OutcomeFailover:
		p.State = smsagent.StateQueued
		p.Status, p.Error, p.SMSC = pr.Status, pr.Error, pr.SMSC
		r.RoundTemp, r.RoundFailover = true, true
	case OutcomePermanent:
		p.SMSC = pr.SMSC
		p.State = smsagent.StateRejected
		p.Status, p.Error = pr.Status, pr.Error
		p.Done = w.now
	}
	if !slices.ContainsFunc(r.Parts, func(p smsagent.Part) bool { return p.State == smsagent.StateSending }) {
		if err := w.settle(r, pr.Seq); err != nil {
			return err
		}
	}
	if err := w.save(r, old); err != nil {
		return err
	}
	if pr.Outcome == OutcomeAccepted && pr.Seq == 1 {
		// Kannel reports the SMSC's acceptance once a message, for its
		// first part.
		if err := w.intermediateCallback(r, kannelSMSCAck, "ACK/", pr.Seq); err != nil {
			return err
		}
	}
	return w.bindAccepted(r, pr)
}

// accepted reports whether a part was taken by the SMSC: sent, or final by
// a receipt.
func accepted(st smsagent.State) bool {
	return st == smsagent.StateSent || (st.Final() && st != smsagent.StateRejected && st != smsagent.StateCanceled)
}

func (w *wtx) acceptPart(r *record, pr *PartResult) {
	p := &r.Parts[pr.Seq-1]
	p.State = smsagent.StateSent
	p.SMSCID = pr.SMSCID
	p.SMSC = pr.SMSC
	p.Status, p.Error = 0, ""
	p.Submitted = pr.At.Round(0)
	if p.Submitted.IsZero() {
		p.Submitted = w.now
	}
	r.Keys[pr.Seq-1] = pr.SMSCKey
	if r.Submitted.IsZero() || p.Submitted.Before(r.Submitted) {
		r.Submitted = p.Submitted
	}
}

// bindAccepted indexes an accepted part under its SMSC key and applies the
// receipts parked for that key. A key that names other parts already (the
// SMSC reused the id) keeps those still waiting for a receipt behind the
// new one, up to maxBindings, so a late receipt can still find its part.
func (w *wtx) bindAccepted(r *record, pr *PartResult) error {
	if pr.Outcome != OutcomeAccepted || pr.SMSCKey == "" || r.Keys[pr.Seq-1] != pr.SMSCKey {
		return nil
	}
	key := []byte(pr.SMSCKey)
	bs := []binding{{r.ID, pr.Seq}}
	var buf [maxBindings]binding
	old, _ := parseSMSCValue(w.value(w.smsc, key), buf[:0])
	for _, b := range old {
		if b == bs[0] || len(bs) == maxBindings {
			continue
		}
		waiting, err := w.awaitsReceipt(pr.SMSCKey, b)
		if err != nil {
			return err
		}
		if waiting {
			bs = append(bs, b)
		}
	}
	if len(old) > 0 && old[0] != bs[0] {
		w.s.log.Warn("outbox: SMSC id bound again", "smsc_key", pr.SMSCKey, "old_id", old[0].id, "old_seq", old[0].seq,
			"id", r.ID, "seq", pr.Seq, "still_waiting", len(bs)-1)
	}
	if err := w.put(w.smsc, key, smscValue(bs)); err != nil {
		return err
	}
	return w.applyParked(pr.SMSCKey, r, pr.Seq)
}

// awaitsReceipt reports whether part b carries key and is not final yet.
func (w *wtx) awaitsReceipt(key string, b binding) (bool, error) {
	r, err := w.get(b.id)
	if err != nil || r == nil || b.seq < 1 || b.seq > len(r.Parts) {
		return false, err
	}
	return r.Keys[b.seq-1] == key && !r.Parts[b.seq-1].State.Final(), nil
}

// unbindKeys removes r's parts from the SMSC index (the message is sent
// again or deleted); parts of other messages under the same keys stay.
func (w *wtx) unbindKeys(r *record) error {
	for i, k := range r.Keys {
		if k == "" {
			continue
		}
		bs, ok := parseSMSCValue(w.value(w.smsc, []byte(k)), nil)
		if !ok {
			continue
		}
		rest := slices.DeleteFunc(bs, func(b binding) bool { return b == binding{r.ID, i + 1} })
		var err error
		if len(rest) == 0 {
			err = w.del(w.smsc, []byte(k))
		} else {
			err = w.put(w.smsc, []byte(k), smscValue(rest))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// settle decides a message whose round has no part outstanding; last is the
// part whose result completed the round.
func (w *wtx) settle(r *record, last int) error {
	var rejected int
	all := true
	for i, p := range r.Parts {
		if p.State == smsagent.StateRejected && rejected == 0 {
			rejected = i + 1
		}
		if !accepted(p.State) {
			all = false
		}
	}
	opts := &w.s.opts
	failover := r.RoundFailover
	r.RoundFailover = false
	switch {
	case rejected > 0:
		return w.finish(r, smsagent.StateRejected, rejected, "")
	case failover && !slices.ContainsFunc(r.Parts, func(p smsagent.Part) bool { return accepted(p.State) }):
		// Nothing is accepted anywhere: the next account of the route
		// may take it now. The dispatcher fails a message that every
		// account of its route refused.
		if a := refusedBy(r); a != "" && !slices.Contains(r.Avoid, a) && len(r.Avoid) < maxAvoid {
			r.Avoid = append(r.Avoid, a)
		}
		r.State = smsagent.StateQueued
		r.RoundTemp = false
		r.LastError = lastError(r)
		r.Due = w.now
		return nil
	case all:
		r.State = smsagent.StateSent
		r.RoundTemp = false
		if !r.Report {
			return w.finish(r, smsagent.StateSent, last, "")
		}
		r.Deadline = w.now.Add(opts.ReceiptTimeout)
		return w.completeIfFinal(r, last)
	case r.RoundTemp:
		r.Attempts++
		cause := lastError(r)
		if !r.Expires.IsZero() && !w.now.Before(r.Expires) {
			markUnsent(r, smsagent.StateExpired, "")
			return w.finish(r, smsagent.StateExpired, last, expiryReason(r, opts.Retry.MaxAge)+"; last error: "+cause)
		}
		r.State = smsagent.StateQueued
		r.RoundTemp = false
		r.LastError = cause
		r.Due = w.now.Add(opts.Retry.Delay(r.Attempts, w.s.rnd))
		return nil
	default: // throttled or released only: back to the front, no attempt
		r.State = smsagent.StateQueued
		return nil
	}
}

// refusedBy is the account that refused a part of the round: every part
// of a round goes to one account.
func refusedBy(r *record) string {
	for _, p := range r.Parts {
		if p.State == smsagent.StateQueued && p.Status != 0 && p.SMSC != "" {
			return p.SMSC
		}
	}
	return ""
}

// markUnsent gives the parts not accepted yet (queued, or sending when
// their result will come late) the final state of their message.
func markUnsent(r *record, st smsagent.State, reason string) {
	for i := range r.Parts {
		p := &r.Parts[i]
		if p.State == smsagent.StateQueued || p.State == smsagent.StateSending {
			p.State = st
			if reason != "" {
				p.Error = reason
			}
		}
	}
}

// lastError is the most telling part error of a failed round.
func lastError(r *record) string {
	for _, p := range r.Parts {
		if p.State == smsagent.StateQueued && p.Error != "" {
			return p.Error
		}
	}
	return "temporary failure"
}

// Fail makes a message that cannot be sent final as failed with reason in
// its report: the dispatcher calls it for a text that cannot be encoded or
// split, for example. The message must be queued or sending.
func (s *Store) Fail(ctx context.Context, id smsagent.MessageID, reason string) error {
	if err := s.do(ctx, &failOp{id: id, reason: reason}); err != nil {
		return fmt.Errorf("outbox: fail %s: %w", id, err)
	}
	return nil
}

type failOp struct {
	id     smsagent.MessageID
	reason string
}

func (o *failOp) apply(w *wtx) error {
	r, err := w.get(o.id)
	if err != nil {
		return err
	}
	if r == nil {
		return ErrNotFound
	}
	if r.State != smsagent.StateQueued && r.State != smsagent.StateSending {
		return &StateError{Op: "fail", ID: o.id, State: r.State}
	}
	old := w.modify(r)
	markUnsent(r, smsagent.StateFailed, o.reason)
	reason := o.reason
	if reason == "" {
		reason = "failed"
	}
	if err := w.finish(r, smsagent.StateFailed, 0, reason); err != nil {
		return err
	}
	return w.save(r, old)
}

// recover runs at Open: every message left in state sending by a crash goes
// back to the queue at its previous due time, so it is sent first. Its
// parts in flight become queued and are sent again (at-least-once); parts
// already accepted keep their SMSC ids and are not resent. Only the sending
// index is visited.
func (s *Store) recover() error {
	var n int
	err := s.db.Update(func(tx *bolt.Tx) error {
		w, err := s.newWtx(tx)
		if err != nil {
			return err
		}
		var ids []smsagent.MessageID
		if err := w.sending.ForEach(func(k, _ []byte) error {
			ids = append(ids, keyID(k))
			return nil
		}); err != nil {
			return err
		}
		for _, id := range ids {
			r, err := w.get(id)
			if err != nil {
				return err
			}
			if r == nil {
				return corruptf("sending index entry for missing message %s", id)
			}
			old := w.modify(r)
			r.State = smsagent.StateQueued
			for i := range r.Parts {
				if r.Parts[i].State == smsagent.StateSending {
					r.Parts[i].State = smsagent.StateQueued
				}
			}
			if err := w.save(r, old); err != nil {
				return err
			}
		}
		n = len(ids)
		return w.flush()
	})
	if err != nil {
		return fmt.Errorf("recover messages in flight: %w", err)
	}
	if n > 0 {
		s.log.Info("outbox: messages in flight at the last stop are queued again", "count", n)
	}
	return nil
}

// Defer puts claimed messages back in the queue, due at until, without
// counting an attempt: the dispatcher's answer for messages whose accounts
// cannot take them now (their account is not bound, or every account of
// their route is down). Parts sent in an earlier round keep their state.
// A message that is no longer sending is left alone.
//
// Crash story: one commit; before it the messages stay sending and a
// restart queues them at their old due time, which is what Defer would
// have done sooner.
func (s *Store) Defer(ctx context.Context, ids []smsagent.MessageID, until time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.do(ctx, &deferOp{ids: ids, until: until.Round(0)}); err != nil {
		return fmt.Errorf("outbox: defer: %w", err)
	}
	return nil
}

type deferOp struct {
	ids   []smsagent.MessageID
	until time.Time
}

func (o *deferOp) apply(w *wtx) error {
	for _, id := range o.ids {
		r, err := w.get(id)
		if err != nil {
			return err
		}
		if r == nil || r.State != smsagent.StateSending {
			continue
		}
		old := w.modify(r)
		for i := range r.Parts {
			if r.Parts[i].State == smsagent.StateSending {
				r.Parts[i].State = smsagent.StateQueued
			}
		}
		r.State = smsagent.StateQueued
		r.Due = o.until
		if err := w.save(r, old); err != nil {
			return err
		}
	}
	return nil
}
