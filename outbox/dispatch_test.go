package outbox_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

func TestStore_ClaimOrder(t *testing.T) {
	e := newEnv(t)
	n1 := e.enqueueOne(msg("+358401", "first normal"))
	e.clock.Add(time.Second)
	later := msg("+358402", "held until send_at")
	later.SendAt = t0.Add(time.Hour)
	held := e.enqueueOne(later)
	e.clock.Add(time.Second)
	high := msg("+358403", "urgent")
	high.Priority = smsagent.PriorityHigh
	h1 := e.enqueueOne(high)
	e.clock.Add(time.Second)
	n2 := e.enqueueOne(msg("+358404", "second normal"))

	got := ids(e.claim(10))
	if want := []smsagent.MessageID{h1, n1, n2}; !slices.Equal(got, want) {
		t.Fatalf("Claim order = %v, want %v (high first, then by due; send_at held back)", got, want)
	}
	next, ok, err := e.s.NextDue(e.ctx)
	if err != nil || !ok || !next.Equal(later.SendAt) {
		t.Fatalf("NextDue = %v, %t, %v; want %v", next, ok, err, later.SendAt)
	}
	e.clock.Add(time.Hour)
	if got := ids(e.claim(10)); !slices.Equal(got, []smsagent.MessageID{held}) {
		t.Fatalf("Claim after send_at = %v, want [%d]", got, held)
	}
	if _, ok, _ := e.s.NextDue(e.ctx); ok {
		t.Fatal("NextDue reports a due message with none queued")
	}
}

func TestStore_ClaimPages(t *testing.T) {
	e := newEnv(t)
	var all []smsagent.MessageID
	for i := 0; i < 25; i++ {
		all = append(all, e.enqueueOne(msg("+3584000", "page")))
	}
	var got []smsagent.MessageID
	for {
		page := e.claim(10)
		if len(page) == 0 {
			break
		}
		if len(page) > 10 {
			t.Fatalf("page of %d, max 10", len(page))
		}
		for _, r := range page {
			if r.State != smsagent.StateSending {
				t.Fatalf("claimed record in state %s", r.State)
			}
		}
		got = append(got, ids(page)...)
	}
	if !slices.Equal(got, all) {
		t.Fatalf("claimed %v, want %v", got, all)
	}
	if st := e.stats(); st.ByState[smsagent.StateSending] != 25 || st.ByState[smsagent.StateQueued] != 0 {
		t.Fatalf("stats %v", st.ByState)
	}
}

// A message whose parts all were accepted and which asked for no receipt is
// final as sent, with a report.
func TestStore_RecordParts_SentWithoutReceipt(t *testing.T) {
	e := newEnv(t)
	m := msg("+358401234567", "hello")
	m.ClientID = "c1"
	m.Meta = []byte(`{"order":7}`)
	id := e.enqueueOne(m)
	e.claim(1)
	e.clock.Add(2 * time.Second)
	e.record(accept(id, 1, 2))
	if r := e.get(id); r.State != smsagent.StateSending {
		t.Fatalf("state after one of two parts = %s, want sending", r.State)
	}
	e.record(accept(id, 2, 2))
	r := e.get(id)
	if r.State != smsagent.StateSent || !r.Final || r.Parts[1].SMSCID != "s1-2" {
		t.Fatalf("record %+v", r)
	}
	rep := e.reports()[id.String()]
	if rep == nil {
		t.Fatal("no report")
	}
	if rep.Status != "sent" || rep.ID != "c1" || rep.To != "+358401234567" || rep.File != "f.json" ||
		string(rep.Meta) != `{"order":7}` || rep.Submitted == nil || !rep.Submitted.Equal(t0) ||
		!rep.Done.Equal(t0.Add(2*time.Second)) || rep.Parts == nil || rep.Parts.Count != 2 ||
		rep.Parts.Items[1].SMSCID != "s1-2" || rep.Parts.Items[1].Status != "sent" {
		t.Fatalf("report %+v parts %+v", rep, rep.Parts)
	}
}

func TestStore_RecordParts_Rejected(t *testing.T) {
	e := newEnv(t)
	id := e.enqueueOne(msg("+358401", "x"))
	e.claim(1)
	const why = "ESME_RINVDSTADR (0x0000000B): invalid destination address"
	e.record(accept(id, 1, 2), result(id, 2, 2, outbox.OutcomePermanent, 0x0b, why))
	r := e.get(id)
	if r.State != smsagent.StateRejected || !r.Final || r.Parts[0].State != smsagent.StateSent {
		t.Fatalf("record %+v", r)
	}
	rep := e.reports()[id.String()]
	if rep.Status != "rejected" || rep.Error != why || rep.Parts.Items[1].Status != "rejected" {
		t.Fatalf("report %+v", rep)
	}
}

// Temporary failures back off exponentially with full jitter: with the
// jitter at its maximum the delay is exactly min(max, initial·2^(n-1)).
func TestStore_RecordParts_TemporaryBackoff(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) {
		o.Retry.Initial = 10 * time.Second
		o.Retry.Max = time.Minute
		o.Retry.MaxAge = -1
	})
	id := e.enqueueOne(msg("+358401", "x"))
	wants := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute}
	for i, want := range wants {
		rs := e.claim(1)
		if len(rs) != 1 {
			t.Fatalf("round %d: claimed %d", i+1, len(rs))
		}
		e.record(result(id, 1, 1, outbox.OutcomeTemporary, 0x58, "ESME_RTHROTTLED"))
		r := e.get(id)
		if r.State != smsagent.StateQueued || r.Attempts != i+1 {
			t.Fatalf("round %d: state %s attempts %d", i+1, r.State, r.Attempts)
		}
		if got := r.Due.Sub(e.clock.Now()); got != want {
			t.Fatalf("round %d: backoff %s, want %s", i+1, got, want)
		}
		if r.LastError != "ESME_RTHROTTLED" {
			t.Fatalf("LastError %q", r.LastError)
		}
		if got := e.claim(1); len(got) != 0 {
			t.Fatalf("round %d: claimed before due", i+1)
		}
		e.clock.Add(want)
	}
}

func TestRetryPolicy_Delay(t *testing.T) {
	p := outbox.RetryPolicy{Initial: 10 * time.Second, Max: 10 * time.Minute}
	r := rand.New(rand.NewPCG(1, 2))
	for attempt := 1; attempt <= 40; attempt++ {
		limit := min(p.Max, p.Initial<<min(attempt-1, 20))
		var sawLow bool
		for i := 0; i < 200; i++ {
			d := p.Delay(attempt, r)
			if d < 0 || d > limit {
				t.Fatalf("attempt %d: delay %s outside [0, %s]", attempt, d, limit)
			}
			sawLow = sawLow || d < limit/2
		}
		if !sawLow {
			t.Fatalf("attempt %d: no delay below half the cap in 200 draws: not full jitter", attempt)
		}
	}
	if d := p.Delay(1000, rand.New(maxSource{})); d != p.Max {
		t.Fatalf("cap: %s", d)
	}
}

// Throttled and released parts return the message to the front of the
// queue without counting an attempt.
func TestStore_RecordParts_ThrottledKeepsPlace(t *testing.T) {
	for _, o := range []outbox.Outcome{outbox.OutcomeThrottled, outbox.OutcomeReleased} {
		t.Run(o.String(), func(t *testing.T) {
			e := newEnv(t)
			first := e.enqueueOne(msg("+358401", "a"))
			e.clock.Add(time.Second)
			second := e.enqueueOne(msg("+358402", "b"))
			e.claim(1)
			e.clock.Add(time.Minute)
			e.record(result(first, 1, 1, o, 0x58, ""))
			r := e.get(first)
			if r.State != smsagent.StateQueued || r.Attempts != 0 || !r.Due.Equal(t0) {
				t.Fatalf("record %+v", r)
			}
			if got := ids(e.claim(1)); !slices.Equal(got, []smsagent.MessageID{first}) {
				t.Fatalf("next claim %v, want the throttled one (%d) before %d", got, first, second)
			}
		})
	}
}

// A round with one temporary failure and one throttled part counts as an
// attempt; the accepted part keeps its id and is not offered again.
func TestStore_RecordParts_MixedRound(t *testing.T) {
	e := newEnv(t)
	id := e.enqueueOne(msg("+358401", "long"))
	e.claim(1)
	e.record(accept(id, 1, 3), result(id, 2, 3, outbox.OutcomeThrottled, 0x58, ""),
		result(id, 3, 3, outbox.OutcomeTemporary, 0x14, "ESME_RMSGQFUL"))
	r := e.get(id)
	if r.State != smsagent.StateQueued || r.Attempts != 1 {
		t.Fatalf("state %s attempts %d", r.State, r.Attempts)
	}
	e.clock.Add(time.Hour)
	rs := e.claim(1)
	if len(rs) != 1 {
		t.Fatal("not claimed again")
	}
	p := rs[0].Parts
	if p[0].State != smsagent.StateSent || p[0].SMSCID != "s1-1" || p[1].State != smsagent.StateSending || p[2].State != smsagent.StateSending {
		t.Fatalf("parts of round 2: %+v", p)
	}
	if rs[0].ConcatRef == 0 {
		t.Fatal("no concatenation reference")
	}
	e.record(accept(id, 2, 3), accept(id, 3, 3))
	if r := e.get(id); r.State != smsagent.StateSent || r.Attempts != 1 {
		t.Fatalf("after round 2: %s", r.State)
	}
}

func TestStore_Claim_ExpiresByMaxAgeAndValidity(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.Retry.MaxAge = 2 * time.Hour })
	old := e.enqueueOne(msg("+358401", "max age"))
	v := msg("+358402", "validity")
	v.Validity = 30 * time.Minute
	short := e.enqueueOne(v)
	fresh := msg("+358403", "fresh")
	e.clock.Add(time.Hour)
	f := e.enqueueOne(fresh)

	// At +1h only the validity has passed.
	got := e.claim(10)
	if !slices.Equal(ids(got), []smsagent.MessageID{old, f}) {
		t.Fatalf("claimed %v", ids(got))
	}
	if r := e.get(short); r.State != smsagent.StateExpired || !r.Final {
		t.Fatalf("validity: %s", r.State)
	}
	// The first one fails temporarily past its max_age: expired, not queued.
	e.clock.Add(90 * time.Minute)
	e.record(result(old, 1, 1, outbox.OutcomeTemporary, 0x14, "ESME_RMSGQFUL"))
	if r := e.get(old); r.State != smsagent.StateExpired {
		t.Fatalf("max_age: %s", r.State)
	}
	reps := e.reports()
	if rep := reps[short.String()]; rep == nil || rep.Status != "expired" || rep.Error != "not sent within its validity of 30m0s" {
		t.Fatalf("validity report %+v", rep)
	}
	if rep := reps[old.String()]; rep == nil || rep.Error != "not sent within max_age 2h0m0s; last error: ESME_RMSGQFUL" {
		t.Fatalf("max_age report %+v", rep)
	}
}

// New messages are not starved by retries: a retry is due only after its
// failure, so anything that became due earlier is claimed first, even when
// the retry's backoff is zero.
func TestStore_Claim_NewNotStarvedByRetries(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.Retry.Rand = rand.NewPCG(3, 4); o.Retry.Initial = time.Millisecond })
	for i := 0; i < 50; i++ {
		e.enqueueOne(msg("+358401", "fails"))
	}
	var fresh smsagent.MessageID
	for round := 0; round < 20; round++ {
		if round == 3 {
			fresh = e.enqueueOne(msg("+358409", "new"))
		}
		e.clock.Add(time.Second)
		page := e.claim(10)
		for _, r := range page {
			if r.ID == fresh {
				if round > 3+50/10+1 {
					t.Fatalf("new message claimed only in round %d", round)
				}
				return
			}
			e.record(result(r.ID, 1, 1, outbox.OutcomeTemporary, 0x14, "busy"))
		}
	}
	t.Fatal("new message never claimed while retries cycled")
}

func TestStore_Fail(t *testing.T) {
	e := newEnv(t)
	id := e.enqueueOne(msg("+358401", "x"))
	e.claim(1)
	if err := e.s.Fail(e.ctx, id, "text cannot be encoded in gsm7"); err != nil {
		t.Fatal(err)
	}
	if r := e.get(id); r.State != smsagent.StateFailed || r.LastError != "text cannot be encoded in gsm7" {
		t.Fatalf("%+v", r)
	}
	if rep := e.reports()[id.String()]; rep.Status != "failed" || rep.Error != "text cannot be encoded in gsm7" {
		t.Fatalf("report %+v", rep)
	}
	if err := e.s.Fail(e.ctx, id, "again"); !errors.Is(err, outbox.ErrState) {
		t.Fatalf("Fail of a final message: %v", err)
	}
	if err := e.s.Fail(e.ctx, 999, "x"); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("Fail of unknown: %v", err)
	}
}

// After a crash, messages in sending go back to the queue at their old due
// time; parts already accepted keep their ids.
func TestStore_RecoverSending(t *testing.T) {
	e := newEnv(t)
	a := e.enqueueOne(msg("+358401", "a"))
	b := e.enqueueOne(msg("+358402", "b"))
	e.claim(2)
	e.record(accept(a, 1, 2))
	e.reopen()
	if st := e.stats(); st.ByState[smsagent.StateQueued] != 2 || st.ByState[smsagent.StateSending] != 0 {
		t.Fatalf("stats after recovery %v", st.ByState)
	}
	ra := e.get(a)
	if !ra.Due.Equal(t0) || ra.Parts[0].State != smsagent.StateSent || ra.Parts[0].SMSCID != "s1-1" ||
		ra.Parts[1].State != smsagent.StateQueued {
		t.Fatalf("recovered %+v", ra)
	}
	rs := e.claim(5)
	if !slices.Equal(ids(rs), []smsagent.MessageID{a, b}) {
		t.Fatalf("claimed %v", ids(rs))
	}
	e.record(accept(a, 2, 2), accept(b, 1, 1))
	if r := e.get(a); r.State != smsagent.StateSent {
		t.Fatalf("%s", r.State)
	}
}

func TestStore_RecordParts_Invalid(t *testing.T) {
	e := newEnv(t)
	id := e.enqueueOne(msg("+358401", "x"))
	e.claim(1)
	for _, pr := range []outbox.PartResult{
		{ID: id, Seq: 0, Total: 1, Outcome: outbox.OutcomeAccepted},
		{ID: id, Seq: 2, Total: 1, Outcome: outbox.OutcomeAccepted},
		{ID: id, Seq: 1, Total: 1},
		{ID: id, Seq: 1, Total: 256, Outcome: outbox.OutcomeAccepted},
	} {
		if err := e.s.RecordParts(e.ctx, []outbox.PartResult{accept(id, 1, 1), pr}); !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("%+v: err %v", pr, err)
		}
	}
	if r := e.get(id); r.State != smsagent.StateSending {
		t.Fatalf("an invalid call stored something: %s", r.State)
	}
	// A result for an unknown message is ignored; a total that differs
	// from the stored one too. The valid result in the same call counts.
	e.record(accept(id, 1, 2))
	e.record(accept(777, 1, 1), accept(id, 2, 3), accept(id, 2, 2))
	if r := e.get(id); r.State != smsagent.StateSent || len(r.Parts) != 2 {
		t.Fatalf("%+v", r)
	}
}
