package bindpool_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

func TestNew_invalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    bindpool.Options
		want string
	}{
		{"no address", bindpool.Options{}, "no SMSC address"},
		{"receiver mode", bindpool.Options{Address: "127.0.0.1:1", Bind: smpp.BindRequest{Mode: smpp.Receiver}}, "bind mode receiver"},
		{"receivers beside transceivers", bindpool.Options{Address: "127.0.0.1:1", Receivers: true}, "receivers beside transceiver"},
		{"negative", bindpool.Options{Address: "127.0.0.1:1", Sessions: -1}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bindpool.New(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// Submissions are spread over the bound sessions, every answer reaches
// its caller, and the counters add up.
func TestPool_Submit(t *testing.T) {
	checkNoLeak(t)
	srv := testutil.Simulator(t, smsc.Options{CountersOnly: true})
	p := startPool(t, options(srv))
	waitReady(t, p)
	testutil.Eventually(t, waitLimit, "both slots bound", func() bool { return allBound(p) })
	if got := p.Capacity(); got != 20 {
		t.Errorf("Capacity %d with two idle sessions of window 10, want 20", got)
	}

	r := newResults()
	const n = 200
	for range n {
		if err := p.Submit(context.Background(), sm("4915100000001"), r.done); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		res := r.next(t)
		if res.Err != nil || res.Header.Status != pdu.StatusOK {
			t.Fatalf("result %+v", res)
		}
		if resp, ok := res.Resp.(*pdu.SubmitSMResp); !ok || resp.MessageID == "" {
			t.Fatalf("response %#v without a message id", res.Resp)
		}
	}
	if st := srv.Stats(); st.Accepted != n {
		t.Errorf("simulator accepted %d, want %d", st.Accepted, n)
	}
	var total uint64
	for _, s := range p.Status() {
		if s.Mode != "transceiver" || s.Submitted == 0 || s.Outstanding != 0 {
			t.Errorf("slot %+v: want a transceiver that took a share and has nothing outstanding", s)
		}
		total += s.Submitted
	}
	if total != n {
		t.Errorf("slots submitted %d in all, want %d", total, n)
	}
	if st := p.Stats(); st.Submitted != n || st.Bound != 2 || st.BoundTX != 2 || st.Rate != 0 || st.Throttling {
		t.Errorf("Stats %+v", st)
	}
}

// Submit picks the session with the fewest requests outstanding, and
// under a light load takes turns, so every bind stays in use.
func TestPool_Submit_leastOutstanding(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	o := options(srv)
	o.Sessions = 3
	p := startPool(t, o)
	testutil.Eventually(t, waitLimit, "all slots bound", func() bool { return allBound(p) })

	// One at a time, each answered before the next: turns.
	for range 6 {
		submit(t, p, "4915100000001")
	}
	for _, s := range p.Status() {
		if s.Submitted != 2 {
			t.Errorf("slot %d submitted %d of 6 sent one at a time, want 2: %+v", s.Slot, s.Submitted, p.Status())
		}
	}
	// Unanswered: each submission goes where the fewest wait.
	srv.SetFaults(smsc.Faults{DropEvery: 1})
	r := newResults()
	for i := range 7 {
		if err := p.Submit(context.Background(), sm("4915100000001"), r.done); err != nil {
			t.Fatal(err)
		}
		lo, hi := 100, 0
		for _, s := range p.Status() {
			lo, hi = min(lo, s.Outstanding), max(hi, s.Outstanding)
		}
		if hi-lo > 1 || hi != (i+3)/3 {
			t.Fatalf("after %d unanswered: outstanding from %d to %d, want an even spread: %+v", i+1, lo, hi, p.Status())
		}
	}
	if got := p.Capacity(); got != 3*10-7 {
		t.Errorf("Capacity %d, want %d", got, 3*10-7)
	}
	// Answered again, once the simulator has dropped all seven: the slot
	// holding three unanswered requests is passed over while the others
	// hold two.
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if st, err := srv.WaitFor(ctx, func(st smsc.Stats) bool { return st.Dropped == 7 }); err != nil {
		t.Fatalf("simulator: %+v: %v", st, err)
	}
	srv.SetFaults(smsc.Faults{})
	busy := -1
	for _, s := range p.Status() {
		if s.Outstanding == 3 {
			busy = s.Slot
		}
	}
	before := p.Status()[busy].Submitted
	for range 6 {
		submit(t, p, "4915100000001")
	}
	if after := p.Status()[busy].Submitted; after != before {
		t.Errorf("slot %d with 3 outstanding took %d of 6 while the others had 2", busy, after-before)
	}
}

// Submit blocks while every window is full and goes on when a slot frees,
// here when the response timeout passes (the SMSC never answers).
func TestPool_Submit_windowFull(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	o := options(srv)
	o.Sessions, o.Window = 1, 2
	o.ResponseTimeout = 300 * time.Millisecond
	p := startPool(t, o)
	waitReady(t, p)
	srv.SetFaults(smsc.Faults{DropEvery: 1})

	r := newResults()
	start := time.Now()
	for range 2 {
		if err := p.Submit(context.Background(), sm("4915100000001"), r.done); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.Capacity(); got != 0 {
		t.Errorf("Capacity %d with the window full, want 0", got)
	}
	if s := p.Status()[0]; s.Outstanding != 2 {
		t.Errorf("Outstanding %d, want 2", s.Outstanding)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := p.Submit(ctx, sm("4915100000001"), r.done)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Submit with a full window: %v, want it to block until its context ended", err)
	}
	// The response timeout frees the slots (Pending), and Submit goes on.
	ctx, cancel = context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := p.Submit(ctx, sm("4915100000001"), r.done); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 270*time.Millisecond {
		t.Errorf("Submit went on after %v, before the 300ms response timeout freed a slot", el)
	}
	// The pool frees the window just before the caller hears Pending.
	testutil.Eventually(t, waitLimit, "the callers to hear Pending", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.pending == 2
	})
}

// Before Start, and with no session bound, Submit fails at once.
func TestPool_Submit_notStarted(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	p := newPool(t, options(srv))
	if err := p.Submit(context.Background(), sm("4915100000001"), func(smpp.Result) { t.Error("done called") }); !errors.Is(err, bindpool.ErrNotBound) {
		t.Fatalf("Submit before Start: %v, want ErrNotBound", err)
	}
	select {
	case <-p.Ready():
		t.Fatal("Ready closed before Start")
	default:
	}
	if err := p.Submit(context.Background(), nil, func(smpp.Result) {}); err == nil {
		t.Fatal("Submit(nil) succeeded")
	}
}

// After Close, Submit says so, every session has unbound, and the slots
// report closed.
func TestPool_Close(t *testing.T) {
	checkNoLeak(t)
	simLog := &testutil.Buffer{}
	srv := testutil.Simulator(t, smsc.Options{Logger: logger(simLog)})
	p, err := bindpool.New(options(srv))
	if err != nil {
		t.Fatal(err)
	}
	p.Start(context.Background())
	testutil.Eventually(t, waitLimit, "both slots bound", func() bool { return allBound(p) })
	if res := submit(t, p, "4915100000001"); res.Header.Status != pdu.StatusOK {
		t.Fatalf("result %+v", res)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Submit(context.Background(), sm("4915100000001"), func(smpp.Result) {}); !errors.Is(err, bindpool.ErrClosed) {
		t.Errorf("Submit after Close: %v, want ErrClosed", err)
	}
	for _, s := range p.Status() {
		if s.State != "closed" {
			t.Errorf("slot %d: %s after Close, want closed", s.Slot, s.State)
		}
	}
	// The simulator saw unbinds, not dropped connections.
	testutil.Eventually(t, waitLimit, "the simulator's sessions to end", func() bool { return srv.Sessions() == 0 })
	if n := simLog.Count(smpp.ErrUnbound.Error()); n != 2 {
		t.Errorf("the simulator saw %d sessions end with an unbind, want 2", n)
	}
	if err := p.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	p.Start(context.Background()) // after Close: does nothing
	if s := p.Status()[0]; s.State != "closed" {
		t.Errorf("Start after Close moved slot 0 to %s", s.State)
	}
}

// Close interrupts slots waiting out a long backoff.
func TestPool_Close_duringBackoff(t *testing.T) {
	checkNoLeak(t)
	o := bindpool.Options{
		Address:  closedPort(t),
		Sessions: 2,
		Backoff:  &recorder{delay: time.Hour},
	}
	p, err := bindpool.New(o)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(context.Background())
	testutil.Eventually(t, waitLimit, "both slots in backoff", func() bool {
		for _, s := range p.Status() {
			if s.State != "backoff" {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// When the context given to Start ends, the slots unbind and stop.
func TestPool_Start_contextEnds(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	p := newPool(t, options(srv))
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx)
	testutil.Eventually(t, waitLimit, "both slots bound", func() bool { return allBound(p) })
	cancel()
	testutil.Eventually(t, waitLimit, "both slots closed", func() bool {
		for _, s := range p.Status() {
			if s.State != "closed" {
				return false
			}
		}
		return true
	})
	if err := p.Submit(context.Background(), sm("4915100000001"), func(smpp.Result) {}); !errors.Is(err, bindpool.ErrNotBound) {
		t.Errorf("Submit after the slots stopped: %v, want ErrNotBound", err)
	}
	testutil.Eventually(t, waitLimit, "the simulator's sessions to end", func() bool { return srv.Sessions() == 0 })
}

// TestPool_SubmitInSeries: a series stays on the session of its first part
// even when others have room, waits for that session's window, and says
// ErrSeriesBroken, without sending, once that session has ended.
func TestPool_SubmitInSeries(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	o := options(srv)
	o.Sessions, o.Window = 3, 2
	p := startPool(t, o)
	testutil.Eventually(t, waitLimit, "every slot bound", func() bool { return allBound(p) })
	res := newResults()
	var s bindpool.Series
	for i := range 8 {
		if err := p.SubmitInSeries(context.Background(), &s, sm(fmt.Sprintf("49151000000%d", i)), res.done); err != nil {
			t.Fatal(err)
		}
	}
	for range 8 {
		res.next(t)
	}
	conns := map[uint64]bool{}
	for _, sub := range srv.Submits() {
		conns[sub.Conn] = true
	}
	if len(conns) != 1 {
		t.Errorf("a series went out on %d connections", len(conns))
	}
	binds := srv.Stats().Binds
	srv.Drop("", false)
	testutil.Eventually(t, waitLimit, "every slot bound again", func() bool {
		return srv.Stats().Binds >= binds+3 && allBound(p)
	})
	if err := p.SubmitInSeries(context.Background(), &s, sm("4915100000099"), res.done); !errors.Is(err, bindpool.ErrSeriesBroken) {
		t.Errorf("after the session ended: %v, want ErrSeriesBroken", err)
	}
}
