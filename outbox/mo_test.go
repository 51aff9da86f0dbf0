package outbox_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

func mopart(key string, seq, total int, data string) smsagent.MOPart {
	return smsagent.MOPart{From: "358401", To: "12345", Key: key, Seq: seq, Total: total, DataCoding: 0,
		Data: []byte(data), Fingerprint: key + "/" + data, Received: t0}
}

// at is p as received at t.
func at(p smsagent.MOPart, t time.Time) smsagent.MOPart {
	p.Received = t
	return p
}

// upper stands in for the agent's SMS decoder and shows that parts are
// joined as bytes before decoding.
func upper(dc byte, data []byte) (string, string) {
	out := make([]byte, len(data))
	for i, c := range data {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return string(out), "gsm7"
}

func (e *env) mos() []*smsagent.MO {
	var out []*smsagent.MO
	for _, ev := range e.drainEvents() {
		if ev.Kind == smsagent.EventMO {
			out = append(out, ev.MO)
		}
	}
	return out
}

// addMO stores parts in one call and returns their outcomes.
func (e *env) addMO(ps ...smsagent.MOPart) []smsagent.MOOutcome {
	e.t.Helper()
	out, err := e.s.AddMOParts(e.ctx, ps)
	if err != nil {
		e.t.Fatalf("AddMOParts: %v", err)
	}
	return out
}

// wantOutcomes fails unless got equals want.
func wantOutcomes(t *testing.T, what string, got []smsagent.MOOutcome, want ...smsagent.MOOutcome) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: outcomes %v, want %v", what, got, want)
	}
}

func TestStore_AddMOParts_Single(t *testing.T) {
	e := newEnv(t)
	p := mopart("", 1, 1, "cafe")
	wantOutcomes(t, "first", e.addMO(p), smsagent.MOStored)
	mos := e.mos()
	if len(mos) != 1 || mos[0].Text != "63616665" || mos[0].Encoding != "binary" || mos[0].Parts != 1 ||
		mos[0].From != "358401" || !mos[0].Received.Equal(t0) {
		t.Fatalf("default decoder: %+v", mos)
	}
	// The SMSC sends it again half a minute later: its response timer ran
	// out before our deliver_sm_resp came, or the link broke.
	wantOutcomes(t, "redelivery", e.addMO(at(p, e.clock.Add(30*time.Second))), smsagent.MORedelivered)
	if mos := e.mos(); len(mos) != 0 {
		t.Fatalf("redelivery made %d events", len(mos))
	}
}

// TestStore_AddMOParts_SameTextLater: a person who answers "OK" twice
// sends two deliver_sm identical to the octet. The second is a redelivery
// only within MODedupWindow (5 min by default) of the first one's answer;
// later it is a message of its own, whether or not Sweep has run.
func TestStore_AddMOParts_SameTextLater(t *testing.T) {
	for _, tt := range []struct {
		after time.Duration
		want  smsagent.MOOutcome
	}{
		{time.Second, smsagent.MORedelivered},
		{5 * time.Minute, smsagent.MORedelivered},
		{5*time.Minute + time.Millisecond, smsagent.MOStored},
		{10 * time.Minute, smsagent.MOStored},
		{2 * time.Hour, smsagent.MOStored},
	} {
		t.Run(tt.after.String(), func(t *testing.T) {
			e := newEnv(t)
			ok := mopart("", 1, 1, "OK")
			wantOutcomes(t, "first", e.addMO(ok), smsagent.MOStored)
			wantOutcomes(t, "second", e.addMO(at(ok, e.clock.Add(tt.after))), tt.want)
			want := 1
			if tt.want == smsagent.MOStored {
				want = 2
			}
			if mos := e.mos(); len(mos) != want {
				t.Fatalf("%d MO events, want %d", len(mos), want)
			}
		})
	}
}

// TestStore_AddMOParts_BeforeAnswer: an identical part that arrived before
// the first was answered cannot be the SMSC's second try when the first was
// answered within a second (no SMSC gives up on an answer that fast), so it
// is another message; when the first waited longer for its commit, it may
// be one, and the window decides.
func TestStore_AddMOParts_BeforeAnswer(t *testing.T) {
	t.Run("prompt answer", func(t *testing.T) {
		e := newEnv(t)
		ok := mopart("", 1, 1, "OK")
		e.clock.Add(10 * time.Millisecond) // the first is committed 10 ms after it arrived
		wantOutcomes(t, "first", e.addMO(ok), smsagent.MOStored)
		e.clock.Add(10 * time.Millisecond)
		wantOutcomes(t, "second", e.addMO(at(ok, t0.Add(5*time.Millisecond))), smsagent.MOStored)
		if mos := e.mos(); len(mos) != 2 {
			t.Fatalf("%d MO events, want 2", len(mos))
		}
	})
	t.Run("one batch", func(t *testing.T) {
		// Both waited in the same batch: neither was answered when the
		// other arrived.
		e := newEnv(t)
		ok := mopart("", 1, 1, "OK")
		e.clock.Add(20 * time.Millisecond)
		wantOutcomes(t, "both", e.addMO(ok, at(ok, t0.Add(time.Millisecond))), smsagent.MOStored, smsagent.MOStored)
		if mos := e.mos(); len(mos) != 2 {
			t.Fatalf("%d MO events, want 2", len(mos))
		}
	})
	t.Run("slow answer", func(t *testing.T) {
		e := newEnv(t)
		ok := mopart("", 1, 1, "OK")
		e.clock.Add(3 * time.Second) // a commit that took 3 s
		wantOutcomes(t, "first", e.addMO(ok), smsagent.MOStored)
		wantOutcomes(t, "second", e.addMO(at(ok, t0.Add(2*time.Second))), smsagent.MORedelivered)
		if mos := e.mos(); len(mos) != 1 {
			t.Fatalf("%d MO events, want 1", len(mos))
		}
	})
}

// TestStore_AddMOParts_AnswerLost: when the answer to a stored part could
// not be sent, the SMSC owes its redelivery, and the next copy is dropped
// however late it comes (up to MOAnswerLostHold); the copy after that is
// under the window again.
func TestStore_AddMOParts_AnswerLost(t *testing.T) {
	e := newEnv(t)
	ok := mopart("", 1, 1, "OK")
	wantOutcomes(t, "first", e.addMO(ok), smsagent.MOStored)
	if err := e.s.MOAnswersLost(e.ctx, []string{ok.Fingerprint, "never seen"}); err != nil {
		t.Fatal(err)
	}
	// The link stayed down for three hours; Sweep ran meanwhile.
	e.sweep(e.clock.Add(3 * time.Hour))
	wantOutcomes(t, "redelivery", e.addMO(at(ok, e.clock.Now())), smsagent.MORedeliveredLost)
	wantOutcomes(t, "ten minutes on", e.addMO(at(ok, e.clock.Add(10*time.Minute))), smsagent.MOStored)
	if mos := e.mos(); len(mos) != 2 {
		t.Fatalf("%d MO events, want 2", len(mos))
	}

	// A part whose session had already ended when it was stored, with its
	// redelivery in the same batch (the SMSC sent it on another session).
	lost := mopart("", 1, 1, "yes")
	lost.AnswerLost = true
	wantOutcomes(t, "lost and its redelivery", e.addMO(lost, mopart("", 1, 1, "yes")),
		smsagent.MOStored, smsagent.MORedeliveredLost)

	// Past the hold, the memory is gone.
	third := mopart("", 1, 1, "third")
	wantOutcomes(t, "third", e.addMO(at(third, e.clock.Now())), smsagent.MOStored)
	if err := e.s.MOAnswersLost(e.ctx, []string{third.Fingerprint}); err != nil {
		t.Fatal(err)
	}
	if res := e.sweep(e.clock.Add(outbox.DefaultMOAnswerLost - time.Minute)); res.PrintsPruned != 2 {
		t.Fatalf("before the hold: %+v (the two entries past the window only)", res)
	}
	if res := e.sweep(e.clock.Add(time.Minute)); res.PrintsPruned != 1 {
		t.Fatalf("at the hold: %+v", res)
	}
	wantOutcomes(t, "after the hold", e.addMO(at(third, e.clock.Now())), smsagent.MOStored)
	if mos := e.mos(); len(mos) != 3 {
		t.Fatalf("%d MO events, want 3", len(mos))
	}

	// The hold counts without Sweep too.
	fourth := mopart("", 1, 1, "fourth")
	wantOutcomes(t, "fourth", e.addMO(at(fourth, e.clock.Now())), smsagent.MOStored)
	if err := e.s.MOAnswersLost(e.ctx, []string{fourth.Fingerprint}); err != nil {
		t.Fatal(err)
	}
	wantOutcomes(t, "past the hold, not swept", e.addMO(at(fourth, e.clock.Add(outbox.DefaultMOAnswerLost+time.Second))),
		smsagent.MOStored)
}

func TestStore_AddMOParts_Reassembly(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.DecodeMO = upper })
	// Out of order, with a redelivered part 2 in between.
	wantOutcomes(t, "parts", e.addMO(mopart("k1", 3, 3, "ld")), smsagent.MOStored)
	wantOutcomes(t, "parts", e.addMO(mopart("k1", 2, 3, "o wor")), smsagent.MOStored)
	wantOutcomes(t, "redelivered part", e.addMO(mopart("k1", 2, 3, "o wor")), smsagent.MORedelivered)
	if mos := e.mos(); len(mos) != 0 {
		t.Fatalf("incomplete set written: %+v", mos)
	}
	last := mopart("k1", 1, 3, "hell")
	last.Received = t0.Add(time.Second)
	e.clock.Add(time.Second)
	wantOutcomes(t, "last", e.addMO(last), smsagent.MOStored)
	mos := e.mos()
	if len(mos) != 1 {
		t.Fatalf("%d MO events", len(mos))
	}
	if m := mos[0]; m.Text != "HELLO WORLD" || m.Encoding != "gsm7" || m.Parts != 3 || m.Incomplete ||
		!m.Received.Equal(t0.Add(time.Second)) {
		t.Fatalf("%+v", m)
	}
	// A late copy of a part of the completed set is still recognised.
	wantOutcomes(t, "late copy", e.addMO(at(mopart("k1", 2, 3, "o wor"), e.clock.Now())), smsagent.MORedelivered)
	if mos := e.mos(); len(mos) != 0 {
		t.Fatalf("redelivered part started a new set: %+v", mos)
	}
}

// TestStore_AddMOParts_ReusedReference: a new message that reuses the
// reference and part count of an incomplete earlier one is not merged
// into it. Its first part contradicts the waiting set (a part number the
// set holds with other content, or another data_coding), so it starts a
// set of its own, which completes by itself; the earlier set keeps
// waiting and is written as incomplete after MOTimeout.
func TestStore_AddMOParts_ReusedReference(t *testing.T) {
	for _, tt := range []struct {
		name  string
		first smsagent.MOPart // the new message's first part to arrive
	}{
		{"part held with other content", mopart("k", 1, 3, "xxx")},
		{"other data_coding", func() smsagent.MOPart {
			p := mopart("k", 3, 3, "zzz")
			p.DataCoding = 8
			return p
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(o *outbox.Options) { o.DecodeMO = upper })
			wantOutcomes(t, "old set", e.addMO(mopart("k", 1, 3, "aaa"), mopart("k", 2, 3, "bbb")),
				smsagent.MOStored, smsagent.MOStored)
			e.clock.Add(time.Minute)
			rest := []smsagent.MOPart{mopart("k", 1, 3, "xxx"), mopart("k", 2, 3, "yyy"), mopart("k", 3, 3, "zzz")}
			for i := range rest {
				rest[i].DataCoding = tt.first.DataCoding
				rest[i].Received = e.clock.Now()
			}
			first := at(tt.first, e.clock.Now())
			wantOutcomes(t, "new message's first part", e.addMO(first), smsagent.MONewSet)
			for _, p := range rest {
				if p.Seq == first.Seq {
					continue
				}
				wantOutcomes(t, "new message's other parts", e.addMO(p), smsagent.MOStored)
			}
			mos := e.mos()
			if len(mos) != 1 || mos[0].Text != "XXXYYYZZZ" || mos[0].Incomplete || mos[0].Parts != 3 {
				t.Fatalf("new message: %+v", mos)
			}
			if res := e.sweep(t0.Add(29 * time.Minute)); res.IncompleteMO != 0 {
				t.Fatalf("%+v", res)
			}
			if res := e.sweep(t0.Add(30 * time.Minute)); res.IncompleteMO != 1 {
				t.Fatalf("the old set was not written at its timeout: %+v", res)
			}
			mos = e.mos()
			if len(mos) != 1 || mos[0].Text != "AAABBB" || !mos[0].Incomplete || mos[0].Parts != 3 ||
				!mos[0].Received.Equal(t0) {
				t.Fatalf("old set: %+v", mos)
			}
		})
	}
}

// TestStore_AddMOParts_PartAgain: the same part number with the same
// content is the SMSC's redelivery within the window and is dropped; past
// the window it is another message reusing the reference, and starts a
// new set.
func TestStore_AddMOParts_PartAgain(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.DecodeMO = upper })
	wantOutcomes(t, "part 1", e.addMO(mopart("k", 1, 2, "aa")), smsagent.MOStored)
	wantOutcomes(t, "again at once", e.addMO(at(mopart("k", 1, 2, "aa"), e.clock.Add(time.Minute))), smsagent.MORedelivered)
	wantOutcomes(t, "again later", e.addMO(at(mopart("k", 1, 2, "aa"), e.clock.Add(10*time.Minute))), smsagent.MONewSet)
	wantOutcomes(t, "part 2", e.addMO(at(mopart("k", 2, 2, "bb"), e.clock.Now())), smsagent.MOStored)
	mos := e.mos()
	if len(mos) != 1 || mos[0].Text != "AABB" || mos[0].Incomplete {
		t.Fatalf("%+v", mos)
	}
	if res := e.sweep(t0.Add(30 * time.Minute)); res.IncompleteMO != 1 {
		t.Fatalf("%+v", res)
	}
	if mos := e.mos(); len(mos) != 1 || mos[0].Text != "AA" || !mos[0].Incomplete {
		t.Fatalf("%+v", mos)
	}
}

func TestStore_Sweep_IncompleteMO(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.MOTimeout = 30 * time.Minute; o.DecodeMO = upper })
	e.addMO(mopart("k2", 1, 3, "part one "), mopart("k2", 3, 3, "three"))
	if res := e.sweep(t0.Add(29 * time.Minute)); res.IncompleteMO != 0 {
		t.Fatalf("%+v", res)
	}
	if res := e.sweep(t0.Add(30 * time.Minute)); res.IncompleteMO != 1 {
		t.Fatalf("%+v", res)
	}
	mos := e.mos()
	if len(mos) != 1 || mos[0].Text != "PART ONE THREE" || !mos[0].Incomplete || mos[0].Parts != 3 {
		t.Fatalf("%+v", mos)
	}
	// The missing part arriving now (with a new fingerprint) starts a new
	// set rather than reviving the flushed one.
	e.addMO(mopart("k2", 2, 3, "two "))
	if mos := e.mos(); len(mos) != 0 {
		t.Fatalf("%+v", mos)
	}
}

func TestStore_Sweep_PrunesFingerprints(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.MODedupWindow = time.Hour })
	p := mopart("", 1, 1, "x")
	e.addMO(p)
	e.drainEvents()
	if res := e.sweep(t0.Add(time.Hour)); res.PrintsPruned != 1 {
		t.Fatalf("%+v", res)
	}
	// Past the window the same fingerprint is a new message.
	wantOutcomes(t, "after the window", e.addMO(at(p, t0.Add(time.Hour))), smsagent.MOStored)
	if mos := e.mos(); len(mos) != 1 {
		t.Fatalf("%d", len(mos))
	}
}

func TestStore_AddMOParts_Invalid(t *testing.T) {
	e := newEnv(t)
	for _, p := range []smsagent.MOPart{mopart("k", 0, 2, "x"), mopart("k", 3, 2, "x"), mopart("", 1, 2, "x"), mopart("k", 1, 300, "x")} {
		if _, err := e.s.AddMOParts(e.ctx, []smsagent.MOPart{mopart("", 1, 1, "ok"), p}); !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if err := e.s.MOAnswersLost(e.ctx, []string{string(make([]byte, 600))}); !errors.Is(err, outbox.ErrInvalid) {
		t.Errorf("a fingerprint of 600 octets: %v", err)
	}
	if n := len(e.drainEvents()); n != 0 {
		t.Fatalf("invalid calls stored %d events", n)
	}
}
