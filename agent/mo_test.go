package agent_test

import (
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/metrics"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// testClock is the agent's clock in a test: it moves only when told.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// moRig is an agent on a test clock with real metrics against the
// simulator.
type moRig struct {
	t   *testing.T
	sim *smsc.Server
	clk *testClock
	m   *metrics.Metrics
	log *testutil.Buffer
}

func newMORig(t *testing.T, o smsc.Options, extra ...string) (*moRig, *running) {
	t.Helper()
	o.RetryDelay = 10 * time.Millisecond
	sim := simulator(t, o)
	cfg := e2eConfig(t, sim.Addr(), extra...)
	r := &moRig{t: t, sim: sim, clk: &testClock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)},
		m: metrics.New(nil), log: &testutil.Buffer{}}
	logger := slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	run := start(t, cfg, agent.Options{TunePool: fastPool, Clock: r.clk.Now, Observer: r.m, Logger: logger})
	return r, run
}

// inject sends text from a handset and waits until the agent acknowledged
// every part.
func (r *moRig) inject(from, text string, o smsc.MOOptions) *smsc.MO {
	r.t.Helper()
	mo, err := r.sim.InjectMO("agent", from, "12345", text, o)
	if err != nil {
		r.t.Fatal(err)
	}
	if acked, err := mo.Wait(ctxT(r.t, 20*time.Second)); err != nil || !acked {
		r.t.Fatalf("MO %q: acked %t, %v (responses %v)", text, acked, err, mo.Responses())
	}
	return mo
}

// mos reads the incoming SMS files in inbox/, oldest first.
func mos(t testing.TB, run *running) []smsagent.MO {
	t.Helper()
	var out []smsagent.MO
	files := inboxFiles(t, run.cfg, ".mo.json")
	slices.Sort(files) // names start with the event's time and sequence
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m smsagent.MO
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// waitMOs waits until inbox/ holds n incoming SMS files, then lets the
// agent settle briefly and checks there are no more.
func waitMOs(t testing.TB, run *running, n int) []smsagent.MO {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "incoming SMS files in inbox/", func() bool { return len(inboxFiles(t, run.cfg, ".mo.json")) >= n })
	// The inbox writer writes what is committed; every deliver_sm was
	// acknowledged after its commit, so a count that reached n and an
	// empty backlog mean nothing more is coming.
	testutil.Eventually(t, 10*time.Second, "the inbox backlog to drain", func() bool {
		st, err := run.a.Status(ctxT(t, time.Second))
		return err == nil && st.Inbox.Backlog == 0
	})
	got := mos(t, run)
	if len(got) != n {
		t.Fatalf("%d incoming SMS files, want %d: %+v", len(got), n, got)
	}
	return got
}

// duplicates reads smsagent_mo_duplicates_total by reason.
func (r *moRig) duplicates() map[string]float64 {
	r.t.Helper()
	mfs, err := r.m.Registry().Gather()
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "smsagent_mo_duplicates_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && m.GetCounter().GetValue() > 0 {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// TestAgent_e2e_moSameTextTwice: a person who answers "OK" twice is heard
// twice, unless the second deliver_sm could be the SMSC's redelivery of the
// first: identical and within mo.duplicate_window (5 min) of its answer.
// An SMSC that numbers its incoming messages tells the two apart at once.
func TestAgent_e2e_moSameTextTwice(t *testing.T) {
	const from = "358401234567"
	t.Run("10 minutes apart", func(t *testing.T) {
		r, run := newMORig(t, smsc.Options{})
		r.inject(from, "OK", smsc.MOOptions{})
		r.clk.Add(10 * time.Minute)
		r.inject(from, "OK", smsc.MOOptions{})
		got := waitMOs(t, run, 2)
		if got[0].Text != "OK" || got[1].Text != "OK" || !got[1].Received.Equal(got[0].Received.Add(10*time.Minute)) {
			t.Errorf("%+v", got)
		}
		if d := r.duplicates(); len(d) != 0 {
			t.Errorf("duplicates counted: %v", d)
		}
	})
	t.Run("1 second apart, SMSC ids, duplicates smsc_id", func(t *testing.T) {
		r, run := newMORig(t, smsc.Options{MOIDTag: 0x1403}, "mo.duplicates: smsc_id", "mo.smsc_id_tag: 0x1403")
		r.inject(from, "OK", smsc.MOOptions{})
		r.clk.Add(time.Second)
		r.inject(from, "OK", smsc.MOOptions{})
		waitMOs(t, run, 2)
		if d := r.duplicates(); len(d) != 0 {
			t.Errorf("duplicates counted: %v", d)
		}
	})
	t.Run("1 second apart, SMSC ids, duplicates window", func(t *testing.T) {
		// The id is part of the whole deliver_sm, so the window rule
		// tells the two apart too.
		r, run := newMORig(t, smsc.Options{MOIDTag: 0x1403})
		r.inject(from, "OK", smsc.MOOptions{})
		r.clk.Add(time.Second)
		r.inject(from, "OK", smsc.MOOptions{})
		waitMOs(t, run, 2)
	})
	t.Run("1 second apart, no ids: the window's price", func(t *testing.T) {
		// Nothing tells this apart from a redelivery after a lost answer:
		// the documented cost of the window.
		r, run := newMORig(t, smsc.Options{})
		r.inject(from, "OK", smsc.MOOptions{})
		r.clk.Add(time.Second)
		r.inject(from, "OK", smsc.MOOptions{})
		waitMOs(t, run, 1)
		if d := r.duplicates(); d["window"] != 1 {
			t.Errorf("duplicates %v, want window 1", d)
		}
	})
	t.Run("duplicates off", func(t *testing.T) {
		r, run := newMORig(t, smsc.Options{}, "mo.duplicates: off")
		r.inject(from, "OK", smsc.MOOptions{})
		r.clk.Add(time.Second)
		r.inject(from, "OK", smsc.MOOptions{})
		waitMOs(t, run, 2)
	})
}

// TestAgent_e2e_moRedelivery: the SMSC sends a deliver_sm again because the
// agent's answer was lost with the connection (the agent had stored and
// answered it). The copy is dropped, counted in
// smsagent_mo_duplicates_total and logged at info, without the number or
// the text.
func TestAgent_e2e_moRedelivery(t *testing.T) {
	const from, text = "358401234567", "Meet at 5 by the station"
	r, run := newMORig(t, smsc.Options{})
	r.sim.SetFaults(smsc.Faults{LoseMOResponses: 1})
	mo := r.inject(from, text, smsc.MOOptions{})
	if mo.Lost() < 1 {
		t.Fatalf("no answer was lost (responses %v)", mo.Responses())
	}
	got := waitMOs(t, run, 1)
	if got[0].Text != text || got[0].From != "+"+from {
		t.Errorf("%+v", got[0])
	}
	// The copy comes on the next session, after the reconnect: the file of
	// the first may be written before it arrives.
	testutil.Eventually(t, 10*time.Second, "the redelivery counted and logged", func() bool {
		return len(r.duplicates()) > 0 && len(r.log.Lines("redelivery")) > 0
	})
	if d := r.duplicates(); d["window"] != 1 || len(d) != 1 {
		t.Errorf("duplicates %v, want window 1", d)
	}
	if got := mos(t, run); len(got) != 1 {
		t.Errorf("%d incoming SMS files after the redelivery, want 1", len(got))
	}
	lines := r.log.Lines("redelivery")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], "reason=window") ||
		!strings.Contains(lines[0], "part=1/1") {
		t.Errorf("log lines about the redelivery: %q", lines)
	}
	for _, l := range lines {
		if strings.Contains(l, from[3:]) || strings.Contains(l, "station") {
			t.Errorf("the log line shows the number or the text: %q", l)
		}
	}
}

// TestAgent_e2e_moReusedReference: a handset reuses the reference and part
// count of a multi-part message whose last part never came. The new
// message is not merged into the old set: it completes on its own, and the
// old set is written as incomplete when its 30 minutes are up.
func TestAgent_e2e_moReusedReference(t *testing.T) {
	const from = "358401234567"
	r, run := newMORig(t, smsc.Options{})
	first := strings.Repeat("First message, its third part is lost. ", 9)
	second := strings.Repeat("Second message with the same reference! ", 9)
	a := r.inject(from, first, smsc.MOOptions{Ref: 77, Lose: []int{3}})
	r.clk.Add(time.Minute)
	b := r.inject(from, second, smsc.MOOptions{Ref: 77})
	if a.Parts != 3 || b.Parts != 3 {
		t.Fatalf("parts %d and %d, want 3 each", a.Parts, b.Parts)
	}
	got := waitMOs(t, run, 1)
	if got[0].Text != second || got[0].Incomplete || got[0].Parts != 3 {
		t.Fatalf("the second message: %+v", got[0])
	}
	if len(r.log.Lines("starts a new set")) != 1 {
		t.Errorf("log lines about the new set: %q", r.log.Lines("starts a new set"))
	}
	r.clk.Add(30 * time.Minute) // the sweep runs every 50 ms
	got = waitMOs(t, run, 2)
	// The incomplete message is dated by its first part, so its file
	// sorts first.
	if old := got[0]; !old.Incomplete || old.Parts != 3 || !strings.HasPrefix(first, old.Text) ||
		len(old.Text) < len(first)/2 {
		t.Fatalf("the first message: %+v", old)
	}
	if d := r.duplicates(); len(d) != 0 {
		t.Errorf("duplicates counted: %v", d)
	}
}
