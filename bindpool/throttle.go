package bindpool

import (
	"time"

	"golang.org/x/time/rate"
)

// minRate is the floor of the throttled rate: one submission a second
// still tells us when the SMSC is ready again.
const minRate rate.Limit = 1

// measureFloor keeps the send rate measured just after traffic started
// from reading a handful of messages as an enormous rate.
const measureFloor = 100 * time.Millisecond

// throttle is the pool's answer to ESME_RTHROTTLED and ESME_RMSGQFUL
// (SMPP 3.4 §5.1.3: the SMSC's "you are sending too fast", which
// pdu.ClassThrottle groups). The SMSC throttles the account, not one
// session or one message, so the whole pool slows down, and pausing all
// sending rather than delaying one message keeps the order (Jasmin#425).
//
// A storm begins with the first throttling answer: the pool stops
// submitting for Pause and halves its rate from what it was sending
// (multiplicative decrease). Answers to requests sent before that pause
// began are the same wave and change nothing. A throttling answer to a
// request sent after it halves the rate again and pauses once more: for
// twice as long (up to MaxPause) when nothing sent since the last pause
// was accepted, since the SMSC is still refusing everything; for Pause
// again when some was, since the lower rate passed and the SMSC has only
// found the new one too fast (an SMSC that throttles now and then, or
// sells a rate, must not make the pauses grow without end). Once a pause
// is over the rate climbs by a tenth of its target
// every Recovery/10 (additive increase). The target is the rate sent when
// the storm began, or the configured throughput if that is lower; reaching
// it ends the storm and lifts the cap back to the configured throughput.
//
// It is guarded by the Pool's mutex and told the time by its caller, so
// its arithmetic is tested without a clock.
type throttle struct {
	opts    ThrottleOptions
	ceiling rate.Limit // the configured throughput; rate.Inf for none
	limit   rate.Limit // the rate in force now

	storm     bool
	began     time.Time // the storm's first throttling answer
	throttles uint64    // throttling answers in this storm
	pause     time.Duration
	pausedAt  time.Time // the latest pause's start
	until     time.Time // no submission before this
	// passed: a request sent after the latest pause was accepted.
	passed  bool
	target  rate.Limit
	climbed time.Time // the last additive step

	// The rate actually sent, measured over windows of a second or more:
	// with no throughput configured it is the only base for a decrease.
	win      time.Time
	winSent  int
	lastRate float64
}

// stormEvent tells the Pool what a call changed, for its log lines.
type stormEvent struct {
	began, decreased, climbed, ended bool
}

func newThrottle(o ThrottleOptions, throughput int) throttle {
	ceiling := rate.Inf
	if throughput > 0 {
		ceiling = rate.Limit(throughput)
	}
	return throttle{opts: o, ceiling: ceiling, limit: ceiling}
}

// sent counts a submission for the rate measurement.
func (t *throttle) sent(now time.Time) {
	if t.win.IsZero() {
		t.win = now
	}
	if el := now.Sub(t.win); el >= time.Second {
		t.lastRate = float64(t.winSent) / el.Seconds()
		t.win, t.winSent = now, 0
	}
	t.winSent++
}

// measured is the recent send rate: the larger of the last full window's
// and the current window's, so a decrease starts from what the SMSC
// actually saw.
func (t *throttle) measured(now time.Time) rate.Limit {
	el := max(now.Sub(t.win), measureFloor)
	return rate.Limit(max(t.lastRate, float64(t.winSent)/el.Seconds()))
}

// throttled records a throttling answer to a request sent at sentAt.
func (t *throttle) throttled(now, sentAt time.Time) stormEvent {
	if t.storm {
		t.throttles++
		if sentAt.Before(t.pausedAt) {
			return stormEvent{}
		}
	}
	var ev stormEvent
	base := t.limit
	if !t.storm {
		measured := max(t.measured(now), minRate)
		t.storm, t.began, t.throttles = true, now, 1
		t.pause = t.opts.Pause
		t.target = min(t.ceiling, measured)
		base = min(base, measured)
		ev.began = true
	} else if t.passed {
		t.pause = t.opts.Pause
	} else {
		t.pause = min(2*t.pause, t.opts.MaxPause)
	}
	t.limit = max(minRate, base/2)
	t.passed = false
	t.pausedAt, t.until = now, now.Add(t.pause)
	t.climbed = t.until
	ev.decreased = true
	return ev
}

// accepted records an answer ESME_ROK to a request sent at sentAt.
func (t *throttle) accepted(sentAt time.Time) {
	if t.storm && !sentAt.Before(t.until) {
		t.passed = true
	}
}

// admit says how long a submission must wait for the pause to end, and
// moves the rate up the additive slope as time passes.
func (t *throttle) admit(now time.Time) (time.Duration, stormEvent) {
	if !t.storm {
		return 0, stormEvent{}
	}
	if now.Before(t.until) {
		return t.until.Sub(now), stormEvent{}
	}
	var ev stormEvent
	every := max(t.opts.Recovery/10, time.Nanosecond)
	if n := now.Sub(t.climbed) / every; n > 0 && t.limit < t.target {
		t.limit = min(t.target, t.limit+rate.Limit(n)*t.target/10)
		t.climbed = t.climbed.Add(n * every)
		ev.climbed = true
	}
	if t.limit < t.target {
		return 0, ev
	}
	t.storm, t.pause = false, 0
	t.limit = t.ceiling
	return 0, stormEvent{ended: true}
}

// paused reports whether submissions must wait now.
func (t *throttle) paused(now time.Time) bool { return t.storm && now.Before(t.until) }

// burst is the limiter's burst for a rate: 20 ms worth, at least one, so
// a high rate is not paced by a timer per message and a low one is not
// exceeded in any second.
func burst(r rate.Limit) int {
	if r == rate.Inf {
		return 1
	}
	return max(1, int(float64(r)/50))
}
