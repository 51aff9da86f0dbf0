package bindpool

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// sendSteady records n submissions spread evenly over d from start.
func sendSteady(th *throttle, start time.Time, n int, d time.Duration) {
	for i := range n {
		th.sent(start.Add(d * time.Duration(i) / time.Duration(n)))
	}
}

var testThrottle = ThrottleOptions{Pause: time.Second, MaxPause: 4 * time.Second, Recovery: 10 * time.Second}

// A storm without a configured throughput: the pause doubles on repeated
// throttling, the rate halves from what was sent, climbs back a tenth of
// the target per second, and the cap is lifted at the end.
func TestThrottle_unlimited(t *testing.T) {
	th := newThrottle(testThrottle, 0)
	if w, _ := th.admit(t0); w != 0 || th.limit != rate.Inf {
		t.Fatalf("before any throttling: wait %v, limit %v", w, th.limit)
	}
	// 200 per second for two seconds: the measured rate is 200/s.
	sendSteady(&th, t0, 400, 2*time.Second)
	now := at(2 * time.Second)
	ev := th.throttled(now, now.Add(-10*time.Millisecond))
	if !ev.began || !ev.decreased {
		t.Fatalf("first throttling: %+v, want a storm to begin", ev)
	}
	if th.limit != 100 || th.target != 200 {
		t.Fatalf("limit %v, target %v; want 100 (half of 200/s sent) and 200", th.limit, th.target)
	}
	if w, _ := th.admit(now.Add(300 * time.Millisecond)); w != 700*time.Millisecond {
		t.Fatalf("wait in the pause: %v, want 700ms", w)
	}
	// The rest of the wave: requests sent before the pause began.
	for i := range 30 {
		if ev := th.throttled(now.Add(time.Duration(i)*time.Millisecond), now.Add(-time.Millisecond)); ev != (stormEvent{}) {
			t.Fatalf("same wave: %+v, want no change", ev)
		}
	}
	if th.limit != 100 || th.pause != time.Second || th.throttles != 31 {
		t.Fatalf("after the wave: limit %v, pause %v, throttles %d", th.limit, th.pause, th.throttles)
	}
	// A request sent after the pause is throttled too: twice the pause,
	// half the rate, same storm.
	now = at(3500 * time.Millisecond)
	ev = th.throttled(now, at(3200*time.Millisecond))
	if ev.began || !ev.decreased || th.pause != 2*time.Second || th.limit != 50 {
		t.Fatalf("repeated: %+v, pause %v, limit %v; want 2s and 50", ev, th.pause, th.limit)
	}
	// ... and again, up to MaxPause.
	for i, want := range []time.Duration{4 * time.Second, 4 * time.Second} {
		now = now.Add(10 * time.Second)
		th.throttled(now, now.Add(-time.Millisecond))
		if th.pause != want {
			t.Fatalf("repeat %d: pause %v, want %v", i, th.pause, want)
		}
	}
	if th.limit != 12.5 {
		t.Fatalf("limit %v after four halvings, want 12.5", th.limit)
	}
	// Recovery: +20/s (a tenth of 200) each second once the pause ended.
	end := th.until
	if w, ev := th.admit(end.Add(999 * time.Millisecond)); w != 0 || ev.climbed || th.limit != 12.5 {
		t.Fatalf("within the first step: wait %v, %+v, limit %v", w, ev, th.limit)
	}
	if _, ev := th.admit(end.Add(3 * time.Second)); !ev.climbed || th.limit != 72.5 {
		t.Fatalf("three steps in: %+v, limit %v, want 72.5", ev, th.limit)
	}
	if _, ev := th.admit(end.Add(9 * time.Second)); ev.ended || th.limit != 192.5 {
		t.Fatalf("nine steps in: %+v, limit %v, want 192.5", ev, th.limit)
	}
	_, ev = th.admit(end.Add(10 * time.Second))
	if !ev.ended || th.storm || th.limit != rate.Inf {
		t.Fatalf("back at the target: %+v, storm %v, limit %v; want the storm over, no cap", ev, th.storm, th.limit)
	}
	// The next storm starts afresh: a one-second pause.
	sendSteady(&th, end.Add(10*time.Second), 100, time.Second)
	now = end.Add(11 * time.Second)
	if ev := th.throttled(now, now); !ev.began || th.pause != time.Second {
		t.Fatalf("next storm: %+v, pause %v", ev, th.pause)
	}
}

// An SMSC that throttles now and then, or sells a rate: when requests
// sent after a pause were accepted before the next throttling answer, the
// pause starts again from Pause instead of doubling (it would otherwise
// reach MaxPause and stay there, a few messages a minute), while the rate
// still halves. A throttling answer with nothing accepted since the pause
// doubles it as before.
func TestThrottle_passedResetsPause(t *testing.T) {
	th := newThrottle(testThrottle, 0)
	sendSteady(&th, t0, 400, 2*time.Second)
	now := at(2 * time.Second)
	th.throttled(now, now)
	// Accepted, but sent before the pause ended: the same wave's.
	th.accepted(now.Add(500 * time.Millisecond))
	now = at(3500 * time.Millisecond)
	th.throttled(now, at(3200*time.Millisecond))
	if th.pause != 2*time.Second || th.limit != 50 {
		t.Fatalf("throttled again, nothing passed: pause %v, limit %v; want 2s and 50", th.pause, th.limit)
	}
	// After that pause some pass, then one is throttled.
	th.accepted(th.until.Add(100 * time.Millisecond))
	now = th.until.Add(time.Second)
	ev := th.throttled(now, now.Add(-time.Millisecond))
	if ev.began || !ev.decreased || th.pause != time.Second || th.limit != 25 {
		t.Fatalf("throttled after some passed: %+v, pause %v, limit %v; want 1s and 25", ev, th.pause, th.limit)
	}
	// Nothing passed since: doubling again.
	now = th.until.Add(time.Second)
	th.throttled(now, now.Add(-time.Millisecond))
	if th.pause != 2*time.Second {
		t.Fatalf("throttled again, nothing passed: pause %v, want 2s", th.pause)
	}
	// Outside a storm an accepted answer changes nothing.
	calm := newThrottle(testThrottle, 0)
	calm.accepted(t0)
	if calm.passed || calm.storm {
		t.Fatal("accepted outside a storm changed the throttle")
	}
}

// With a throughput configured the rate halves from the lower of the cap
// and what was sent, and the end of the storm restores the cap.
func TestThrottle_ceiling(t *testing.T) {
	th := newThrottle(testThrottle, 500)
	// Demand of 80/s, well under the cap of 500/s.
	sendSteady(&th, t0, 160, 2*time.Second)
	now := at(2 * time.Second)
	th.throttled(now, now)
	if th.limit != 40 || th.target != 80 {
		t.Fatalf("limit %v, target %v; want 40 and 80", th.limit, th.target)
	}
	if _, ev := th.admit(th.until.Add(5 * time.Second)); !ev.ended || th.limit != 500 {
		t.Fatalf("%+v, limit %v; want the storm over and the cap of 500 back", ev, th.limit)
	}

	// At the cap: the target is the cap.
	th = newThrottle(testThrottle, 100)
	sendSteady(&th, t0, 1000, 2*time.Second) // the limiter would not allow this; the cap still wins
	th.throttled(at(2*time.Second), at(2*time.Second))
	if th.limit != 50 || th.target != 100 {
		t.Fatalf("limit %v, target %v; want 50 and 100", th.limit, th.target)
	}
}

// The rate never drops below one a second, and a throttling answer before
// any measured traffic still starts a storm.
func TestThrottle_floor(t *testing.T) {
	th := newThrottle(testThrottle, 0)
	th.throttled(t0, t0)
	if th.limit != minRate || th.target != minRate {
		t.Fatalf("limit %v, target %v; want the 1/s floor", th.limit, th.target)
	}
	for i := range 5 {
		now := at(time.Duration(i+1) * time.Minute)
		th.throttled(now, now)
	}
	if th.limit != minRate {
		t.Fatalf("limit %v after repeated halving, want the floor", th.limit)
	}
	if !th.paused(at(5*time.Minute+time.Second)) || th.paused(at(5*time.Minute+4*time.Second)) {
		t.Fatal("paused: want true within the 4 s pause and false after it")
	}
}

// A few messages right after an idle spell are not read as a huge rate.
func TestThrottle_measuredFloor(t *testing.T) {
	th := newThrottle(testThrottle, 0)
	sendSteady(&th, t0, 10, 5*time.Millisecond)
	if got := th.measured(at(5 * time.Millisecond)); got != 100 {
		t.Fatalf("10 sent in 5 ms: measured %v/s, want 100 (10 over the 100 ms floor)", got)
	}
}

func TestBurst(t *testing.T) {
	for _, tc := range []struct {
		r    rate.Limit
		want int
	}{{rate.Inf, 1}, {1, 1}, {49, 1}, {100, 2}, {5000, 100}} {
		if got := burst(tc.r); got != tc.want {
			t.Errorf("burst(%v) = %d, want %d", tc.r, got, tc.want)
		}
	}
}
