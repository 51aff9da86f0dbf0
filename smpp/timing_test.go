package smpp_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// These tests run in a synctest bubble: the clock only moves when every
// goroutine is blocked, so deadlines are checked to the nanosecond and
// nothing sleeps for real.

// A response timeout is an unknown outcome, not a failure: done hears
// Pending, the window slot is free again, and the late response is still
// delivered as the final result (jsmpp#63).
func TestSession_ResponseTimeout_lateResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p := boundInBubble(t, smpp.SessionOptions{Window: 1, ResponseTimeout: 10 * time.Second, EnquireLink: -1, IdleTimeout: -1}, smpp.Transmitter)
		res := patientResults(4)
		start := time.Now()
		if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
			t.Fatal(err)
		}
		late, _ := p.expect(pdu.SubmitSMID)
		r := res.next(t)
		if !r.Pending || r.Seq != late.Sequence || r.Err != nil {
			t.Fatalf("first call %+v, want Pending", r)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Errorf("Pending after %v, want 10s", d)
		}
		// The slot is free: a window of 1 takes the next request at once.
		if err := s.Send(context.Background(), submit("2"), res.done); err != nil {
			t.Fatal(err)
		}
		next, _ := p.expect(pdu.SubmitSMID)
		time.Sleep(5 * time.Second) // fake time: the response is 15 s late
		p.write(&pdu.SubmitSMResp{MessageID: "late"}, pdu.StatusOK, late.Sequence)
		r = res.next(t)
		if r.Pending || r.Seq != late.Sequence || r.Resp.(*pdu.SubmitSMResp).MessageID != "late" || r.RTT != 15*time.Second {
			t.Fatalf("final call %+v, want the late response after 15s", r)
		}
		p.write(&pdu.SubmitSMResp{MessageID: "on time"}, pdu.StatusOK, next.Sequence)
		if r := res.next(t); r.Pending || r.Seq != next.Sequence {
			t.Fatalf("second request: %+v", r)
		}
		res.none(t)
	})
}

// Pending, then the session ends: the final call carries the end's cause.
func TestSession_ResponseTimeout_sessionEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p := boundInBubble(t, smpp.SessionOptions{ResponseTimeout: 5 * time.Second, EnquireLink: -1, IdleTimeout: -1}, smpp.Transmitter)
		res := patientResults(4)
		if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
			t.Fatal(err)
		}
		p.expect(pdu.SubmitSMID)
		if r := res.next(t); !r.Pending {
			t.Fatalf("first call %+v", r)
		}
		p.writeRaw(mustHex(t, "00000010 00000006 00000000 00000001")) // unbind
		p.expect(pdu.UnbindRespID)
		if r := res.next(t); r.Pending || !errors.Is(r.Err, smpp.ErrUnbound) {
			t.Fatalf("final call %+v", r)
		}
		res.none(t)
	})
}

// MaxUnanswered timed-out requests while the link is up: the peer has
// stopped answering, and the session ends rather than pile up unknown
// outcomes; the one that reaches the limit ends it, so no more than
// MaxUnanswered outcomes were ever open after a timeout.
func TestSession_ResponseTimeout_unanswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p := boundInBubble(t, smpp.SessionOptions{Window: 2, MaxUnanswered: 3, ResponseTimeout: time.Second, EnquireLink: -1, IdleTimeout: -1}, smpp.Transmitter)
		res := patientResults(8)
		for i := range 3 {
			if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
			p.expect(pdu.SubmitSMID)
		}
		err := waitDoneWithin(t, s, patience)
		if !errors.Is(err, smpp.ErrUnanswered) {
			t.Fatalf("Err = %v", err)
		}
		var pending, final int
		for range 6 {
			if r := res.next(t); r.Pending {
				pending++
			} else if errors.Is(r.Err, smpp.ErrUnanswered) {
				final++
			}
		}
		if pending != 3 || final != 3 {
			t.Errorf("%d Pending and %d final calls, want 3 and 3", pending, final)
		}
	})
}

// A half-open connection: the peer reads but never answers. The
// enquire_link goes out after EnquireLink of silence and the session ends
// with ErrLinkDead exactly EnquireLinkTimeout later.
func TestSession_EnquireLink_linkDead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p := boundInBubble(t, smpp.SessionOptions{EnquireLink: 30 * time.Second, EnquireLinkTimeout: 10 * time.Second}, smpp.Transceiver)
		bound := time.Now()
		p.expectBytes("00000010 00000015 00000000 00000002")
		if d := time.Since(bound); d != 30*time.Second {
			t.Errorf("enquire_link after %v, want 30s", d)
		}
		if err := waitDoneWithin(t, s, patience); !errors.Is(err, smpp.ErrLinkDead) {
			t.Fatalf("Err = %v", err)
		}
		if d := time.Since(bound); d != 40*time.Second {
			t.Errorf("link declared dead after %v, want 40s", d)
		}
	})
}

// enquire_link is sent only when the link is quiet: while PDUs arrive,
// none goes out; an answered one keeps the session alive.
func TestSession_EnquireLink_idleOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p := boundInBubble(t, smpp.SessionOptions{EnquireLink: 30 * time.Second, EnquireLinkTimeout: 10 * time.Second}, smpp.Transceiver)
		for i := range 5 {
			time.Sleep(20 * time.Second)
			p.writeRaw(mustHex(t, "00000010 00000015 00000000 0000010"+string(rune('0'+i))))
			if h, _ := p.read(); h.ID != pdu.EnquireLinkRespID {
				t.Fatalf("the session sent %s while traffic flowed", h)
			}
		}
		h, _ := p.expect(pdu.EnquireLinkID)
		p.write(&pdu.EnquireLinkResp{}, pdu.StatusOK, h.Sequence)
		time.Sleep(25 * time.Second)
		select {
		case <-s.Done():
			t.Fatalf("session ended: %v", s.Err())
		default:
		}
	})
}

// Nothing received at all for IdleTimeout ends the session with ErrIdle,
// even unbound and with enquire_link disabled.
func TestSession_IdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		s, _ := pipeSession(t, smpp.SessionOptions{EnquireLink: -1, IdleTimeout: time.Minute})
		if err := waitDoneWithin(t, s, patience); !errors.Is(err, smpp.ErrIdle) {
			t.Fatalf("Err = %v", err)
		}
		if d := time.Since(start); d != time.Minute {
			t.Errorf("idle after %v", d)
		}
	})
}

// Regression (soak, "responses never sent"): a peer that loses a few
// responses and answers everything else, enquire_link included, kept those
// outcomes open for as long as the link lived, so the messages stayed
// "sending" for good. One timed-out request left unanswered for
// MaxPendingAge ends the session with ErrUnanswered, and the caller then
// resends it.
func TestSession_ResponseTimeout_maxPendingAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p := boundInBubble(t, smpp.SessionOptions{Window: 4, ResponseTimeout: time.Second, MaxPendingAge: 20 * time.Second,
			EnquireLink: -1, IdleTimeout: -1}, smpp.Transmitter)
		res := patientResults(4)
		start := time.Now()
		if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
			t.Fatal(err)
		}
		p.expect(pdu.SubmitSMID)
		if r := res.next(t); !r.Pending {
			t.Fatalf("first call %+v", r)
		}
		err := waitDoneWithin(t, s, time.Minute)
		if !errors.Is(err, smpp.ErrUnanswered) {
			t.Fatalf("Err = %v", err)
		}
		if d := time.Since(start); d != 21*time.Second {
			t.Errorf("session ended %v after the send, want 21s (timeout 1s + MaxPendingAge 20s)", d)
		}
		if r := res.next(t); r.Pending || !errors.Is(r.Err, smpp.ErrUnanswered) {
			t.Fatalf("final call %+v", r)
		}
	})
}

// boundInBubble starts a session in a synctest bubble and binds it as
// mode. Its peer waits with patience: the session's own timers must fire
// first, and fake time makes the longest wait free.
func boundInBubble(t *testing.T, opts smpp.SessionOptions, mode smpp.BindMode) (*smpp.Session, *peer) {
	t.Helper()
	s, p := pipeSession(t, opts)
	p.wait = patience
	p.bind(s, mode)
	return s, p
}

// patientResults collects up to n results of Send in a synctest bubble,
// waiting with patience for the same reason as boundInBubble's peer.
func patientResults(n int) *results {
	res := newResults(n)
	res.wait = patience
	return res
}
