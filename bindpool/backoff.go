package bindpool

import (
	"math/rand/v2"
	"sync"
	"time"
)

// BackoffStrategy decides how long a slot waits before it connects again,
// in the shape of go-nsq's strategy: tests inject one that returns at once
// and records what it was asked.
type BackoffStrategy interface {
	// Calculate is the wait before the next attempt after attempt failures
	// in a row (1 after the first). It is called from every slot's
	// goroutine, so it must be safe for concurrent use.
	Calculate(attempt int) time.Duration
}

// FullJitter is capped exponential backoff with full jitter above a floor:
// the wait is uniform in [Min, min(Max, Min·2^attempt)). The floor keeps a
// dead SMSC from being dialled in a tight loop; the jitter spreads the
// reconnects of many slots (and many agents) that lost the link at the
// same moment, as in the AWS "full jitter" scheme.
type FullJitter struct {
	Min, Max time.Duration

	mu  sync.Mutex
	rng *rand.Rand // nil: the runtime's generator, which is safe as it is
}

var _ BackoffStrategy = (*FullJitter)(nil)

// NewFullJitter returns a FullJitter from lo up to hi drawing from src; a
// nil src uses the runtime's random source. hi below lo is raised to lo.
func NewFullJitter(lo, hi time.Duration, src rand.Source) *FullJitter {
	b := &FullJitter{Min: lo, Max: max(hi, lo)}
	if src != nil {
		b.rng = rand.New(src)
	}
	return b
}

// Calculate implements BackoffStrategy.
func (b *FullJitter) Calculate(attempt int) time.Duration {
	attempt = max(attempt, 1)
	ceiling := b.Max
	// Min·2^attempt without overflow: once the doubling passes Max the
	// cap decides.
	if d := b.Min; d > 0 {
		for i := 0; i < attempt && d < b.Max; i++ {
			d *= 2
		}
		ceiling = min(d, b.Max)
	}
	span := ceiling - b.Min
	if span <= 0 {
		return b.Min
	}
	return b.Min + time.Duration(b.uint64N(uint64(span)))
}

func (b *FullJitter) uint64N(n uint64) uint64 {
	if b.rng == nil {
		return rand.Uint64N(n)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rng.Uint64N(n)
}

// lockedSource makes a rand.Source safe for concurrent use.
type lockedSource struct {
	mu  sync.Mutex
	src rand.Source
}

func (s *lockedSource) Uint64() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.src.Uint64()
}
