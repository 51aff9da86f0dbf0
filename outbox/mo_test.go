package outbox_test

import (
	"errors"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

func mopart(key string, seq, total int, data string) smsagent.MOPart {
	return smsagent.MOPart{From: "358401", To: "12345", Key: key, Seq: seq, Total: total, DataCoding: 0,
		Data: []byte(data), Fingerprint: key + "/" + data, Received: t0}
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

func TestStore_AddMOParts_Single(t *testing.T) {
	e := newEnv(t)
	p := mopart("", 1, 1, "cafe")
	if err := e.s.AddMOParts(e.ctx, []smsagent.MOPart{p}); err != nil {
		t.Fatal(err)
	}
	mos := e.mos()
	if len(mos) != 1 || mos[0].Text != "63616665" || mos[0].Encoding != "binary" || mos[0].Parts != 1 ||
		mos[0].From != "358401" || !mos[0].Received.Equal(t0) {
		t.Fatalf("default decoder: %+v", mos)
	}
	// The SMSC redelivers it (our deliver_sm_resp was lost).
	if err := e.s.AddMOParts(e.ctx, []smsagent.MOPart{p}); err != nil {
		t.Fatal(err)
	}
	if mos := e.mos(); len(mos) != 0 {
		t.Fatalf("redelivery made %d events", len(mos))
	}
}

func TestStore_AddMOParts_Reassembly(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.DecodeMO = upper })
	// Out of order, with a redelivered part 2 in between.
	for _, p := range []smsagent.MOPart{mopart("k1", 3, 3, "ld"), mopart("k1", 2, 3, "o wor"), mopart("k1", 2, 3, "o wor")} {
		if err := e.s.AddMOParts(e.ctx, []smsagent.MOPart{p}); err != nil {
			t.Fatal(err)
		}
	}
	if mos := e.mos(); len(mos) != 0 {
		t.Fatalf("incomplete set written: %+v", mos)
	}
	// Same seq, different fingerprint: a duplicate by part number.
	dup := mopart("k1", 3, 3, "XX")
	last := mopart("k1", 1, 3, "hell")
	last.Received = t0.Add(time.Second)
	if err := e.s.AddMOParts(e.ctx, []smsagent.MOPart{dup, last}); err != nil {
		t.Fatal(err)
	}
	mos := e.mos()
	if len(mos) != 1 {
		t.Fatalf("%d MO events", len(mos))
	}
	if m := mos[0]; m.Text != "HELLO WORLD" || m.Encoding != "gsm7" || m.Parts != 3 || m.Incomplete ||
		!m.Received.Equal(t0.Add(time.Second)) {
		t.Fatalf("%+v", m)
	}
	// A late copy of a part of the completed set is still recognised.
	if err := e.s.AddMOParts(e.ctx, []smsagent.MOPart{mopart("k1", 2, 3, "o wor")}); err != nil {
		t.Fatal(err)
	}
	if mos := e.mos(); len(mos) != 0 {
		t.Fatalf("redelivered part started a new set: %+v", mos)
	}
}

func TestStore_Sweep_IncompleteMO(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.MOTimeout = 30 * time.Minute; o.DecodeMO = upper })
	if err := e.s.AddMOParts(e.ctx, []smsagent.MOPart{mopart("k2", 1, 3, "part one "), mopart("k2", 3, 3, "three")}); err != nil {
		t.Fatal(err)
	}
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
	if err := e.s.AddMOParts(e.ctx, []smsagent.MOPart{mopart("k2", 2, 3, "two ")}); err != nil {
		t.Fatal(err)
	}
	if mos := e.mos(); len(mos) != 0 {
		t.Fatalf("%+v", mos)
	}
}

func TestStore_Sweep_PrunesFingerprints(t *testing.T) {
	e := newEnv(t, func(o *outbox.Options) { o.MODedupWindow = time.Hour })
	p := mopart("", 1, 1, "x")
	if err := e.s.AddMOParts(e.ctx, []smsagent.MOPart{p}); err != nil {
		t.Fatal(err)
	}
	e.drainEvents()
	if res := e.sweep(t0.Add(time.Hour)); res.PrintsPruned != 1 {
		t.Fatalf("%+v", res)
	}
	// Past the window the same fingerprint is a new message.
	if err := e.s.AddMOParts(e.ctx, []smsagent.MOPart{p}); err != nil {
		t.Fatal(err)
	}
	if mos := e.mos(); len(mos) != 1 {
		t.Fatalf("%d", len(mos))
	}
}

func TestStore_AddMOParts_Invalid(t *testing.T) {
	e := newEnv(t)
	for _, p := range []smsagent.MOPart{mopart("k", 0, 2, "x"), mopart("k", 3, 2, "x"), mopart("", 1, 2, "x"), mopart("k", 1, 300, "x")} {
		if err := e.s.AddMOParts(e.ctx, []smsagent.MOPart{mopart("", 1, 1, "ok"), p}); !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if n := len(e.drainEvents()); n != 0 {
		t.Fatalf("invalid calls stored %d events", n)
	}
}
