package smpp

import (
	"time"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// keep is the session's one timer. Every request has the same response
// timeout, so the waiting list is in deadline order and expiring means
// looking at its front: no timer per request. It also sends enquire_link
// and watches the link:
//
//   - Once bound, an enquire_link goes out whenever nothing has been
//     received for EnquireLink (idle-based: under traffic the responses
//     prove the link, and a quiet link is still probed at that rhythm,
//     which also keeps NAT and firewall state alive). Its response must
//     come within EnquireLinkTimeout, else ErrLinkDead. A half-open
//     connection therefore ends within EnquireLink + EnquireLinkTimeout.
//   - Nothing at all received for IdleTimeout ends the session with
//     ErrIdle, bound or not (a peer that connects and never binds).
//   - MaxUnanswered timed-out requests end it with ErrUnanswered, and so
//     does one left unanswered for MaxPendingAge after its timeout:
//     the outcome of a request cannot stay open for as long as the link
//     lives (the caller resends only once the session has ended).
func (s *Session) keep() {
	defer s.aux.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var expired []*request
	for {
		expired = expired[:0]
		// cbMu before mu: from the moment a request is marked timed out
		// until its Pending call returns, a late response must wait.
		s.cbMu.Lock()
		s.mu.Lock()
		now := s.now()
		next := now + int64(time.Hour)
		for r := s.head; r != nil && r.deadline <= now; r = s.head {
			s.unlinkLocked(r)
			r.timedOut = true
			s.unanswered++
			expired = append(expired, r)
			if s.opts.MaxPendingAge > 0 {
				s.late = append(s.late, lateEntry{r.seq, now})
			}
		}
		if s.head != nil {
			next = min(next, s.head.deadline)
		}
		var cause error
		// Reaching the limit ends it, so that at most Window in flight plus
		// MaxUnanswered timed out have an open outcome when it ends: the
		// duplicate bound of docs/DESIGN.md is exactly 3 × Window.
		if s.unanswered >= s.opts.MaxUnanswered {
			cause = ErrUnanswered
		}
		for len(s.late) > 0 {
			if r := s.pending[s.late[0].seq]; r != nil && r.timedOut {
				break
			}
			s.late = s.late[1:] // answered late: no longer counts
		}
		if len(s.late) > 0 {
			if due := s.late[0].since + int64(s.opts.MaxPendingAge); now >= due {
				cause = ErrUnanswered
			} else {
				next = min(next, due)
			}
		}
		sentEL := false
		if s.state == stateBound && s.opts.EnquireLink > 0 {
			switch due := s.lastRecv.Load() + int64(s.opts.EnquireLink); {
			case s.elSeq != 0:
				if now >= s.elDeadline {
					cause = ErrLinkDead
				} else {
					next = min(next, s.elDeadline)
				}
			case now >= due:
				r := s.newRequestLocked(pdu.EnquireLinkID, kindEnquireLink)
				if s.appendRequestLocked(r, &pdu.EnquireLink{}) == nil {
					s.elSeq = r.seq
					s.elDeadline = now + int64(s.opts.EnquireLinkTimeout)
					next = min(next, s.elDeadline)
					sentEL = true
				}
			default:
				next = min(next, due)
			}
		}
		if s.opts.IdleTimeout > 0 && s.state != stateEnded {
			if due := s.lastRecv.Load() + int64(s.opts.IdleTimeout); now >= due {
				cause = ErrIdle
			} else {
				next = min(next, due)
			}
		}
		s.mu.Unlock()
		for _, r := range expired {
			<-s.sem
			r.done(Result{Seq: r.seq, Pending: true})
		}
		s.cbMu.Unlock()
		clear(expired)
		if sentEL {
			s.wakeWriter()
		}
		if cause != nil {
			s.fail(cause, false)
			return
		}
		timer.Reset(time.Duration(next - now))
		select {
		case <-timer.C:
		case <-s.kick:
		case <-s.quit:
			return
		}
	}
}
