package bindpool_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// submitN sends n messages and waits for their final results.
func submitN(t testing.TB, p *bindpool.Pool, n int) []smpp.Result {
	t.Helper()
	r := newResults()
	for range n {
		if err := p.Submit(context.Background(), sm("4915100000001"), r.done); err != nil {
			t.Fatalf("submit: %v", err)
		}
	}
	out := make([]smpp.Result, n)
	for i := range out {
		out[i] = r.next(t)
	}
	return out
}

// The SMSC throttles: the caller gets the throttled answers, the whole
// pool pauses, the log says so once, and the pool recovers by itself to
// no cap at all.
func TestPool_Submit_throttle(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	o := options(srv)
	o.Throttle = bindpool.ThrottleOptions{Pause: 200 * time.Millisecond, MaxPause: 400 * time.Millisecond, Recovery: 300 * time.Millisecond}
	logs := &testutil.Buffer{}
	o.Logger = logger(logs)
	p := startPool(t, o)
	testutil.Eventually(t, waitLimit, "both slots bound", func() bool { return allBound(p) })
	submitN(t, p, 50) // traffic before the storm: a rate to halve

	srv.SetFaults(smsc.Faults{ThrottleEvery: 1})
	var mu sync.Mutex
	var firstThrottle time.Time
	throttled := make(chan smpp.Result, 3)
	for range 3 {
		err := p.Submit(context.Background(), sm("4915100000001"), func(r smpp.Result) {
			mu.Lock()
			if firstThrottle.IsZero() {
				firstThrottle = time.Now()
			}
			mu.Unlock()
			throttled <- r
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if r := <-throttled; r.Header.Status != pdu.StatusThrottled {
			t.Fatalf("result %+v, want ESME_RTHROTTLED passed to the caller", r)
		}
	}
	st := p.Stats()
	if !st.Throttling || st.Rate <= 0 || st.Throttled != 3 {
		t.Fatalf("Stats %+v: want a storm on, a rate cap, 3 throttled answers", st)
	}
	var perSlot uint64
	for _, s := range p.Status() {
		perSlot += s.Throttled
	}
	if perSlot != 3 {
		t.Errorf("slots counted %d throttled answers, want 3", perSlot)
	}

	srv.SetFaults(smsc.Faults{})
	if res := submit(t, p, "4915100000001"); res.Header.Status != pdu.StatusOK {
		t.Fatalf("after the storm: %+v", res)
	}
	mu.Lock()
	paused := time.Since(firstThrottle)
	mu.Unlock()
	if paused < 180*time.Millisecond {
		t.Errorf("the next submission went out %v after the first throttling answer, within the 200ms pause", paused)
	}

	testutil.Eventually(t, waitLimit, "the rate to recover", func() bool {
		submitN(t, p, 5)
		st := p.Stats()
		return !st.Throttling && st.Rate == 0
	})
	if n := logs.Count("smsc is throttling"); n != 1 {
		t.Errorf("storm start logged %d times, want once", n)
	}
	if n := logs.Count("smsc throttling over"); n != 1 {
		t.Errorf("storm end logged %d times, want once", n)
	}
}

// An SMSC that throttles now and then (every third submission here):
// each throttling answer pauses the pool for Pause again, since messages
// passed between them; doubling would reach MaxPause and leave the pool
// sending a few messages a minute.
func TestPool_Submit_sporadicThrottle(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	o := options(srv)
	o.Throttle = bindpool.ThrottleOptions{Pause: 100 * time.Millisecond, MaxPause: 10 * time.Second, Recovery: time.Second}
	p := startPool(t, o)
	testutil.Eventually(t, waitLimit, "both slots bound", func() bool { return allBound(p) })
	submitN(t, p, 20)
	srv.SetFaults(smsc.Faults{ThrottleEvery: 3})
	throttles := 0
	for throttles < 4 {
		res := submit(t, p, "4915100000001")
		if res.Header.Status != pdu.StatusThrottled {
			continue
		}
		throttles++
		if left := time.Until(p.Stats().PausedUntil); left > 100*time.Millisecond {
			t.Fatalf("throttling answer %d: paused for %v more, want at most the 100ms Pause", throttles, left)
		}
	}
}

// With a throughput configured, a throttling answer halves the rate the
// limiter allows; sending is measurably slower, and the rate climbs back
// to the configured cap.
func TestPool_Submit_throttleHalvesRate(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	o := options(srv)
	o.Throughput = 100
	o.Throttle = bindpool.ThrottleOptions{Pause: 100 * time.Millisecond, Recovery: 2 * time.Second}
	p := startPool(t, o)
	testutil.Eventually(t, waitLimit, "both slots bound", func() bool { return allBound(p) })
	submitN(t, p, 50) // half a second at the cap: the measured rate is about 100/s

	srv.SetFaults(smsc.Faults{ThrottleEvery: 1})
	if res := submit(t, p, "4915100000001"); res.Header.Status != pdu.StatusThrottled {
		t.Fatalf("result %+v", res)
	}
	srv.SetFaults(smsc.Faults{})
	// Half the measured rate; lower when a busy machine sent slower than
	// the cap (the halving itself is TestThrottle_ceiling's).
	if st := p.Stats(); st.Rate <= 0 || st.Rate > 60 {
		t.Fatalf("rate %.1f/s after throttling at about 100/s, want about half", st.Rate)
	}
	// 30 messages: 0.3 s at the cap of 100/s; at 50/s climbing 25/s each
	// second, close to 0.5 s.
	start := time.Now()
	submitN(t, p, 30)
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Errorf("30 messages took %v after the throttle: no slower than the 100/s cap allows", el)
	}
	testutil.Eventually(t, waitLimit, "the rate to climb back to 100/s", func() bool {
		st := p.Stats()
		return !st.Throttling && st.Rate == 100
	})
}

// The throughput cap holds across sessions: N messages take at least
// (N - burst) / rate.
func TestPool_Submit_throughput(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{CountersOnly: true})
	o := options(srv)
	o.Sessions = 4
	o.Throughput = 200
	p := startPool(t, o)
	testutil.Eventually(t, waitLimit, "all slots bound", func() bool { return allBound(p) })
	const n = 100
	start := time.Now()
	submitN(t, p, n)
	el := time.Since(start)
	// Burst of 4 (20 ms at 200/s); 10% tolerance for timer slack.
	if want := time.Duration(float64(n-4) / 200 * float64(time.Second) * 0.9); el < want {
		t.Errorf("%d messages in %v at a cap of 200/s: faster than the cap (want at least %v)", n, el, want)
	}
	if el > 5*time.Second {
		t.Errorf("%d messages took %v at a cap of 200/s: the limiter holds back far too much", n, el)
	}
	t.Logf("%d messages in %v: %.0f/s against a cap of 200/s", n, el, n/el.Seconds())
	if st := srv.Stats(); st.Accepted != n {
		t.Errorf("simulator accepted %d, want %d", st.Accepted, n)
	}
}

// A submitter waiting out a throttling pause hears at once when every
// session is lost, instead of at the end of the pause.
func TestPool_Submit_pauseThenLost(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	o := options(srv)
	o.Sessions = 1
	o.Throttle = bindpool.ThrottleOptions{Pause: time.Hour}
	gate := make(chan time.Duration)
	o.Backoff = gateBackoff(gate)
	p := startPool(t, o)
	t.Cleanup(func() { close(gate) }) // before the pool's Close: let the slot go on
	waitReady(t, p)

	srv.SetFaults(smsc.Faults{ThrottleEvery: 1})
	if res := submit(t, p, "4915100000001"); res.Header.Status != pdu.StatusThrottled {
		t.Fatalf("result %+v", res)
	}
	errc := make(chan error, 1)
	go func() {
		errc <- p.Submit(context.Background(), sm("4915100000001"), func(smpp.Result) { t.Error("done called") })
	}()
	srv.Drop("", false)
	select {
	case err := <-errc:
		if !errors.Is(err, bindpool.ErrNotBound) {
			t.Fatalf("Submit: %v, want ErrNotBound", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Submit still waiting out the one-hour pause after every session was lost")
	}
}
