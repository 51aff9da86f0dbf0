package bench

import (
	"math"
	"testing"
	"time"
)

// TestHistogram_summary: percentiles of a known distribution come back
// within the buckets' 3% and the maximum exactly.
func TestHistogram_summary(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	s := h.summary()
	near := func(name string, got, want time.Duration) {
		t.Helper()
		if diff := float64(got-want) / float64(want); diff < -0.03 || diff > 0.03 {
			t.Errorf("%s = %v, want %v within 3%%", name, got, want)
		}
	}
	near("p50", s.P50, 500*time.Millisecond)
	near("p90", s.P90, 900*time.Millisecond)
	near("p99", s.P99, 990*time.Millisecond)
	if s.Max != time.Second || s.Count != 1000 {
		t.Errorf("max %v count %d, want 1s and 1000", s.Max, s.Count)
	}
}

// TestBucket_lowest: every bucket's lowest value maps back to it and
// buckets are in order, so a percentile never lands in the wrong one.
func TestBucket_lowest(t *testing.T) {
	// The last bucket holds the largest int64; its successor would overflow.
	last := bucket(math.MaxInt64)
	for b := 0; b < last; b++ {
		if got := bucket(lowest(b)); got != b {
			t.Fatalf("bucket(lowest(%d)=%d) = %d", b, lowest(b), got)
		}
		if lowest(b+1) <= lowest(b) {
			t.Fatalf("lowest(%d) = %d is not above lowest(%d) = %d", b+1, lowest(b+1), b, lowest(b))
		}
	}
}
