package agent

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent"
)

// sentTimesCap bounds the acceptance times kept for SubmitToReceipt.
// Receipts usually follow within seconds; parts whose receipt comes later
// than this many acceptances are simply not measured.
const sentTimesCap = 1 << 16

// sentTimes remembers when recent parts were accepted, by SMSC key, so that
// the applier can observe the time to their final receipt. It is a metric's
// helper: bounded (the oldest entries are forgotten) and not durable.
type sentTimes struct {
	mu   sync.Mutex
	at   map[string]time.Time
	ring []string // keys in insertion order; ring[next] is the oldest
	next int
}

func newSentTimes() *sentTimes {
	return &sentTimes{at: make(map[string]time.Time), ring: make([]string, sentTimesCap)}
}

func (s *sentTimes) put(key string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.ring[s.next]; old != "" {
		delete(s.at, old)
	}
	s.ring[s.next] = key
	s.next = (s.next + 1) % len(s.ring)
	s.at[key] = t
}

// take returns and forgets the acceptance time under the first of keys
// that has one.
func (s *sentTimes) take(keys []string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if t, ok := s.at[k]; ok {
			delete(s.at, k)
			return t, true
		}
	}
	return time.Time{}, false
}

// rateWindow is the span Status averages rates over.
const rateWindow = time.Minute

// rates counts files, submits and receipts, and keeps samples of the
// counters so that Status can give per-second averages over the last
// minute. Counters are bumped from anywhere; sample runs on the
// housekeeping goroutine; average from Status callers.
type rates struct {
	files, submits, receipts, mo atomic.Uint64

	mu      sync.Mutex
	samples []rateSample // oldest first, spanning at most rateWindow
	// history has a sample per seriesStep, oldest first, spanning at most
	// seriesSteps steps: the status page's charts. Its memory is fixed
	// (seriesSteps+1 samples of 40 bytes).
	history []rateSample
}

// The status page's charts cover the last hour in steps of ten seconds.
const (
	seriesStep  = 10 * time.Second
	seriesSteps = 360
)

type rateSample struct {
	at                           time.Time
	files, submits, receipts, mo uint64
}

func (r *rates) now(t time.Time) rateSample {
	return rateSample{at: t, files: r.files.Load(), submits: r.submits.Load(), receipts: r.receipts.Load(),
		mo: r.mo.Load()}
}

func (r *rates) sample(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.now(t)
	if n := len(r.history); n == 0 || t.Sub(r.history[n-1].at) >= seriesStep {
		if n == seriesSteps+1 {
			copy(r.history, r.history[1:])
			r.history = r.history[:n-1]
		}
		r.history = append(r.history, cur)
	}
	r.samples = append(r.samples, cur)
	// Keep one sample at least rateWindow old, so the average spans the
	// whole minute once the agent has run that long.
	for len(r.samples) > 2 && !r.samples[1].at.After(t.Add(-rateWindow)) {
		r.samples = r.samples[1:]
	}
}

// average is the rate per second since the oldest sample of the window.
func (r *rates) average(t time.Time) (files, submits, receipts float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) == 0 {
		return 0, 0, 0
	}
	old, cur := r.samples[0], r.now(t)
	secs := cur.at.Sub(old.at).Seconds()
	if secs <= 0 {
		return 0, 0, 0
	}
	return float64(cur.files-old.files) / secs, float64(cur.submits-old.submits) / secs,
		float64(cur.receipts-old.receipts) / secs
}

// series is the history as rates per second between consecutive samples,
// and from the last one to t (the step in progress).
func (r *rates) series(t time.Time) smsagent.Series {
	r.mu.Lock()
	h := append(slices.Clip(r.history), r.now(t))
	r.mu.Unlock()
	s := smsagent.Series{StepSeconds: int(seriesStep / time.Second)}
	n := max(len(h)-1, 0)
	s.Times = make([]time.Time, 0, n)
	s.Submits, s.Receipts = make([]float64, 0, n), make([]float64, 0, n)
	s.MO, s.Files = make([]float64, 0, n), make([]float64, 0, n)
	for i := 1; i < len(h); i++ {
		a, b := h[i-1], h[i]
		secs := b.at.Sub(a.at).Seconds()
		if secs <= 0 {
			continue
		}
		s.Times = append(s.Times, b.at.UTC())
		s.Submits = append(s.Submits, float64(b.submits-a.submits)/secs)
		s.Receipts = append(s.Receipts, float64(b.receipts-a.receipts)/secs)
		s.MO = append(s.MO, float64(b.mo-a.mo)/secs)
		s.Files = append(s.Files, float64(b.files-a.files)/secs)
	}
	return s
}

// Health lines by source; the snapshot lists the ones set.
const (
	healthDispatch = iota
	healthSettle
	healthInbound
	healthSweep
	healthCount
)

// health holds the conditions an operator must act on that the agent's own
// goroutines detect (the pool, intake and inbox report theirs through their
// own status). Each source sets and clears its own line.
type health struct {
	mu    sync.Mutex
	lines [healthCount]string
}

func (h *health) set(src int, line string) {
	h.mu.Lock()
	h.lines[src] = line
	h.mu.Unlock()
}

func (h *health) clear(src int) { h.set(src, "") }

func (h *health) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, l := range h.lines {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
