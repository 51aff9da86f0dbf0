package coding_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp/coding"
)

// fakeClock is a settable time source.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)} }

func seg(from string, kind coding.RefKind, ref uint16, total, seq int, data string) coding.Segment {
	return coding.Segment{
		From: from, To: "12345",
		Concat: coding.Concat{Kind: kind, Ref: ref, Total: total, Seq: seq},
		Data:   []byte(data),
	}
}

func TestReassembler_Add(t *testing.T) {
	r := coding.NewReassembler(coding.ReassemblerOptions{})
	if out, dup := r.Add(seg("a", coding.Ref8, 1, 3, 3, "!")); len(out) != 0 || dup {
		t.Fatalf("part 3: %+v, %v", out, dup)
	}
	if out, dup := r.Add(seg("a", coding.Ref8, 1, 3, 1, "Hello ")); len(out) != 0 || dup {
		t.Fatalf("part 1: %+v, %v", out, dup)
	}
	// The caller reuses its buffer: Add must have copied.
	buf := []byte("world")
	s := seg("a", coding.Ref8, 1, 3, 2, "")
	s.Data = buf
	out, dup := r.Add(s)
	copy(buf, "XXXXX")
	want := []coding.Reassembled{{From: "a", To: "12345", Text: "Hello world!", Encoding: "gsm7", Parts: 3}}
	if dup || !reflect.DeepEqual(out, want) {
		t.Fatalf("Add = %+v, %v; want %+v", out, dup, want)
	}
	if sets, bytes := r.Pending(); sets != 0 || bytes != 0 {
		t.Errorf("Pending = %d sets, %d bytes after completion", sets, bytes)
	}
}

func TestReassembler_duplicatesAndKeys(t *testing.T) {
	r := coding.NewReassembler(coding.ReassemblerOptions{})
	add := func(s coding.Segment) ([]coding.Reassembled, bool) {
		t.Helper()
		return r.Add(s)
	}
	add(seg("a", coding.Ref8, 5, 2, 1, "A1"))
	if _, dup := add(seg("a", coding.Ref8, 5, 2, 1, "A1 again")); !dup {
		t.Error("second part 1 not reported as duplicate")
	}
	// Same reference from another sender, or as a 16-bit or SAR reference,
	// or with another total, is another message.
	add(seg("b", coding.Ref8, 5, 2, 2, "B2"))
	add(seg("a", coding.Ref16, 5, 2, 2, "W2"))
	add(seg("a", coding.RefSAR, 5, 2, 2, "S2"))
	add(seg("a", coding.Ref8, 5, 3, 2, "T2"))
	if sets, _ := r.Pending(); sets != 5 {
		t.Fatalf("%d sets pending, want 5", sets)
	}
	out, _ := add(seg("a", coding.Ref8, 5, 2, 2, "A2"))
	if len(out) != 1 || out[0].Text != "A1A2" || out[0].From != "a" {
		t.Errorf("completed = %+v", out)
	}
}

func TestReassembler_singleAndInvalid(t *testing.T) {
	r := coding.NewReassembler(coding.ReassemblerOptions{})
	for _, s := range []coding.Segment{
		{From: "a", To: "b", Data: []byte("plain")}, // no concatenation
		{From: "a", To: "b", Concat: coding.Concat{Kind: coding.Ref8, Total: 1, Seq: 1}, Data: []byte("one of one")},
		{From: "a", To: "b", Concat: coding.Concat{Kind: coding.Ref8, Total: 2, Seq: 0}, Data: []byte("seq zero")},
		{From: "a", To: "b", Concat: coding.Concat{Kind: coding.Ref8, Total: 2, Seq: 3}, Data: []byte("seq beyond")},
		{From: "a", To: "b", Concat: coding.Concat{Kind: coding.Ref8, Total: 0, Seq: 0}, Data: []byte("total zero")},
		{From: "a", To: "b", Concat: coding.Concat{Total: 2, Seq: 1}, Data: []byte("no kind")},
	} {
		out, dup := r.Add(s)
		if dup || len(out) != 1 || out[0].Text != string(s.Data) || out[0].Parts != 1 || out[0].Incomplete {
			t.Errorf("Add(%+v) = %+v, %v", s.Concat, out, dup)
		}
	}
	if sets, _ := r.Pending(); sets != 0 {
		t.Errorf("%d sets pending", sets)
	}
}

func TestReassembler_joinsRawOctets(t *testing.T) {
	r := coding.NewReassembler(coding.ReassemblerOptions{})
	// The euro sign's escape ends part 1, its code starts part 2.
	p1 := coding.Segment{From: "a", Concat: coding.Concat{Kind: coding.Ref16, Ref: 300, Total: 2, Seq: 1}, Data: []byte{'5', 0x1B}}
	p2 := coding.Segment{From: "a", Concat: coding.Concat{Kind: coding.Ref16, Ref: 300, Total: 2, Seq: 2}, Data: []byte{0x65}}
	r.Add(p2)
	out, _ := r.Add(p1)
	if len(out) != 1 || out[0].Text != "5€" {
		t.Fatalf("got %+v", out)
	}
	// And a surrogate pair cut in two, in UCS-2.
	u1 := coding.Segment{From: "a", DataCoding: 0x08, Concat: coding.Concat{Kind: coding.Ref8, Ref: 1, Total: 2, Seq: 1}, Data: []byte{0xD8, 0x3D}}
	u2 := coding.Segment{From: "a", DataCoding: 0x08, Concat: coding.Concat{Kind: coding.Ref8, Ref: 1, Total: 2, Seq: 2}, Data: []byte{0xDE, 0x00}}
	r.Add(u1)
	out, _ = r.Add(u2)
	if len(out) != 1 || out[0].Text != "😀" || out[0].Encoding != "ucs2" || out[0].DataCoding != 0x08 {
		t.Fatalf("got %+v", out)
	}
}

func TestReassembler_timeout(t *testing.T) {
	clock := newClock()
	r := coding.NewReassembler(coding.ReassemblerOptions{Clock: clock.Now, Timeout: 10 * time.Minute})
	r.Add(seg("a", coding.Ref8, 1, 3, 1, "one "))
	clock.Advance(5 * time.Minute)
	r.Add(seg("a", coding.Ref8, 1, 3, 3, "three"))
	r.Add(seg("b", coding.Ref8, 1, 2, 1, "b one"))
	if d, ok := r.NextDeadline(); !ok || !d.Equal(clock.now.Add(5*time.Minute)) {
		t.Errorf("NextDeadline = %v, %v", d, ok)
	}
	clock.Advance(5*time.Minute - time.Nanosecond)
	if out := r.Expire(); len(out) != 0 {
		t.Fatalf("expired early: %+v", out)
	}
	clock.Advance(time.Nanosecond)
	out := r.Expire()
	want := []coding.Reassembled{{From: "a", To: "12345", Text: "one three", Encoding: "gsm7", Parts: 3, Incomplete: true, Missing: []int{2}}}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("Expire = %+v\nwant %+v", out, want)
	}
	// Add delivers what timed out in the meantime too.
	clock.Advance(5 * time.Minute)
	got, _ := r.Add(seg("c", coding.Ref8, 9, 2, 2, "c two"))
	if len(got) != 1 || got[0].From != "b" || !reflect.DeepEqual(got[0].Missing, []int{2}) {
		t.Fatalf("Add = %+v", got)
	}
	if sets, _ := r.Pending(); sets != 1 {
		t.Errorf("%d sets pending, want only c", sets)
	}
	// A late part of a delivered set starts a new set; it does not vanish.
	r.Add(seg("a", coding.Ref8, 1, 3, 2, "two "))
	if sets, _ := r.Pending(); sets != 2 {
		t.Errorf("%d sets pending, want 2", sets)
	}
	if _, ok := coding.NewReassembler(coding.ReassemblerOptions{}).NextDeadline(); ok {
		t.Error("NextDeadline of an empty reassembler")
	}
}

func TestReassembler_bounds(t *testing.T) {
	t.Run("max sets evicts the oldest", func(t *testing.T) {
		r := coding.NewReassembler(coding.ReassemblerOptions{MaxSets: 2})
		r.Add(seg("a", coding.Ref8, 1, 2, 1, "a1"))
		r.Add(seg("b", coding.Ref8, 1, 2, 1, "b1"))
		r.Add(seg("a", coding.Ref8, 1, 2, 1, "a1")) // duplicate: no new set
		out, _ := r.Add(seg("c", coding.Ref8, 1, 2, 2, "c2"))
		if len(out) != 1 || out[0].From != "a" || out[0].Text != "a1" || !out[0].Incomplete {
			t.Fatalf("evicted %+v", out)
		}
		if sets, _ := r.Pending(); sets != 2 {
			t.Errorf("%d sets pending", sets)
		}
	})
	t.Run("max bytes evicts the oldest", func(t *testing.T) {
		r := coding.NewReassembler(coding.ReassemblerOptions{MaxBytes: 10})
		r.Add(seg("a", coding.Ref8, 1, 2, 1, "aaaa"))
		r.Add(seg("b", coding.Ref8, 1, 2, 1, "bbbb"))
		out, _ := r.Add(seg("b", coding.Ref8, 1, 3, 1, "cccc"))
		if len(out) != 1 || out[0].From != "a" {
			t.Fatalf("evicted %+v", out)
		}
		if sets, bytes := r.Pending(); sets != 2 || bytes != 8 {
			t.Errorf("Pending = %d sets, %d bytes", sets, bytes)
		}
	})
	t.Run("a part larger than the bound is delivered at once", func(t *testing.T) {
		r := coding.NewReassembler(coding.ReassemblerOptions{MaxBytes: 10})
		r.Add(seg("a", coding.Ref8, 1, 2, 1, "aaaa"))
		out, _ := r.Add(seg("b", coding.Ref8, 1, 3, 2, strings.Repeat("x", 11)))
		if len(out) != 1 || out[0].From != "b" || !reflect.DeepEqual(out[0].Missing, []int{1, 3}) {
			t.Fatalf("got %+v", out)
		}
		if sets, bytes := r.Pending(); sets != 1 || bytes != 4 {
			t.Errorf("Pending = %d sets, %d bytes", sets, bytes)
		}
		// One that belongs to a waiting set takes that set's parts along.
		out, _ = r.Add(seg("a", coding.Ref8, 1, 2, 2, strings.Repeat("y", 11)))
		if len(out) != 1 || out[0].Text != "aaaa"+strings.Repeat("y", 11) || out[0].Incomplete {
			t.Fatalf("got %+v", out)
		}
		if sets, bytes := r.Pending(); sets != 0 || bytes != 0 {
			t.Errorf("Pending = %d sets, %d bytes", sets, bytes)
		}
	})
}

func TestConcatKey(t *testing.T) {
	keys := map[string]bool{}
	for _, k := range []string{
		coding.ConcatKey("a", "b", coding.Ref8, 1, 2),
		coding.ConcatKey("a", "b", coding.Ref16, 1, 2),
		coding.ConcatKey("a", "b", coding.RefSAR, 1, 2),
		coding.ConcatKey("a", "b", coding.Ref8, 2, 2),
		coding.ConcatKey("a", "b", coding.Ref8, 1, 3),
		coding.ConcatKey("b", "a", coding.Ref8, 1, 2),
		// Addresses that would run together without the length prefix.
		coding.ConcatKey("a1", "b", coding.Ref8, 1, 2),
		coding.ConcatKey("a", "1b", coding.Ref8, 1, 2),
	} {
		if keys[k] {
			t.Errorf("key %q repeats", k)
		}
		keys[k] = true
	}
	if a, b := coding.ConcatKey("x", "y", coding.Ref8, 7, 3), coding.ConcatKey("x", "y", coding.Ref8, 7, 3); a != b {
		t.Errorf("key not stable: %q %q", a, b)
	}
}
