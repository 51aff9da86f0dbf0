package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts durations in log-linear buckets: 32 sub-buckets for
// every power of two of nanoseconds, so a percentile read from it is
// within about 3% of the true value. Record is lock-free and allocation
// free: it runs on the agent's and the simulator's hot paths.
type histogram struct {
	counts [64 * subBuckets]atomic.Uint64
	max    atomic.Int64
	n      atomic.Uint64
}

const subBits = 5
const subBuckets = 1 << subBits

// bucket maps a duration in nanoseconds to its bucket: values below
// subBuckets have one bucket each; above, the power of two picks a row and
// the next subBits bits the column.
func bucket(ns int64) int {
	if ns < subBuckets {
		return int(max(ns, 0))
	}
	exp := bits.Len64(uint64(ns)) - 1 // ≥ subBits
	sub := int(ns>>(exp-subBits)) & (subBuckets - 1)
	return (exp-subBits+1)*subBuckets + sub
}

// lowest is the smallest duration of bucket b, the inverse of bucket.
func lowest(b int) int64 {
	if b < subBuckets {
		return int64(b)
	}
	exp := b/subBuckets + subBits - 1
	sub := int64(b % subBuckets)
	return (subBuckets + sub) << (exp - subBits)
}

func (h *histogram) Record(d time.Duration) {
	ns := int64(d)
	h.counts[bucket(ns)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if ns <= m || h.max.CompareAndSwap(m, ns) {
			return
		}
	}
}

// Latency is a summary of a histogram.
type Latency struct {
	Count uint64        `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

// summary reads the percentiles; each is the middle of its bucket, capped
// by the maximum seen.
func (h *histogram) summary() Latency {
	l := Latency{Count: h.n.Load(), Max: time.Duration(h.max.Load())}
	if l.Count == 0 {
		return l
	}
	at := func(q float64) time.Duration {
		rank := uint64(q*float64(l.Count-1)) + 1
		var seen uint64
		for b := range h.counts {
			seen += h.counts[b].Load()
			if seen >= rank {
				mid := (lowest(b) + lowest(b+1)) / 2
				return min(time.Duration(mid), l.Max)
			}
		}
		return l.Max
	}
	l.P50, l.P90, l.P99 = at(0.50), at(0.90), at(0.99)
	return l
}
