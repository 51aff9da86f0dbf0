package bindpool_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/smsagent/smsagent/bindpool"
)

func TestFullJitter_Calculate(t *testing.T) {
	b := bindpool.NewFullJitter(time.Second, time.Minute, rand.NewPCG(1, 2))
	for attempt := -1; attempt <= 40; attempt++ {
		// Attempts below 1 count as the first.
		ceiling := min(time.Second<<min(max(attempt, 1), 6), time.Minute) // 2^6 s is past the cap
		seen := map[time.Duration]bool{}
		for range 50 {
			d := b.Calculate(attempt)
			if d < time.Second || d >= ceiling {
				t.Fatalf("attempt %d: %v outside [1s, %v)", attempt, d, ceiling)
			}
			seen[d] = true
		}
		// Full jitter: the waits of slots that failed together differ.
		if len(seen) < 40 {
			t.Fatalf("attempt %d: only %d distinct waits in 50", attempt, len(seen))
		}
	}
	// The cap is reached and held: late attempts spread over the whole
	// range up to Max.
	var top time.Duration
	for range 1000 {
		top = max(top, b.Calculate(30))
	}
	if top < 55*time.Second {
		t.Errorf("attempt 30: longest of 1000 waits %v, want close to the 60 s cap", top)
	}
}

func TestFullJitter_Calculate_degenerate(t *testing.T) {
	if d := bindpool.NewFullJitter(5*time.Second, time.Second, nil).Calculate(3); d != 5*time.Second {
		t.Errorf("max below min: %v, want the floor 5s", d)
	}
	if d := bindpool.NewFullJitter(0, 0, nil).Calculate(3); d != 0 {
		t.Errorf("zero strategy: %v, want 0", d)
	}
	// The zero value draws from the runtime's source.
	var z bindpool.FullJitter
	z.Min, z.Max = time.Millisecond, time.Second
	if d := z.Calculate(2); d < time.Millisecond || d >= 4*time.Millisecond {
		t.Errorf("zero value: %v outside [1ms, 4ms)", d)
	}
}

// The defaults: 1 s to 60 s after a lost link, 30 s to 2 min after
// ESME_RALYBND, both drawing from Options.Rand.
func TestNew_defaultBackoff(t *testing.T) {
	o, err := bindpool.WithDefaults(bindpool.Options{Address: "127.0.0.1:1", Rand: rand.NewPCG(3, 4)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		s        bindpool.BackoffStrategy
		min, max time.Duration
	}{
		{"Backoff", o.Backoff, time.Second, time.Minute},
		{"BusyBackoff", o.BusyBackoff, 30 * time.Second, 2 * time.Minute},
	} {
		fj, ok := tc.s.(*bindpool.FullJitter)
		if !ok {
			t.Fatalf("%s: %T, want *FullJitter", tc.name, tc.s)
		}
		if fj.Min != tc.min || fj.Max != tc.max {
			t.Errorf("%s: %v..%v, want %v..%v", tc.name, fj.Min, fj.Max, tc.min, tc.max)
		}
		if d := tc.s.Calculate(1); d < tc.min {
			t.Errorf("%s: first wait %v below %v", tc.name, d, tc.min)
		}
	}
}
