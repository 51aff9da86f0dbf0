package bench_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/bench"
)

// TestRunRetention: three rounds of 300 messages, each pruned; the file
// stays flat after the first round and compaction shrinks it.
func TestRunRetention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := bench.RunRetention(ctx, bench.Retention{Cycles: 3, PerCycle: 300, Sessions: 2, Window: 20},
		bench.Options{Dir: t.TempDir(), Stall: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sizes) != 3 || !r.Flat() {
		t.Errorf("sizes %v: want three, flat after the first", r.Sizes)
	}
	out := bench.EvaluateRetention(r)
	if !out[0].Pass || !out[1].Pass {
		t.Errorf("outcomes %+v: want both met (compacted %d bytes)", out, r.Compacted)
	}
	var table strings.Builder
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^retention +3 rounds of 300 messages, each pruned: database ([\d.]+ [KM]iB, ){2}[\d.]+ [KM]iB$`).MatchString(table.String()) {
		t.Errorf("table:\n%s", table.String())
	}
}

// TestRetentionResult_Flat: growth past 10% of the first round is not flat.
func TestRetentionResult_Flat(t *testing.T) {
	for _, tc := range []struct {
		sizes []int64
		flat  bool
	}{
		{[]int64{100, 105, 110}, true},
		{[]int64{100, 105, 111}, false},
		{[]int64{100}, false},
	} {
		if got := (&bench.RetentionResult{Sizes: tc.sizes}).Flat(); got != tc.flat {
			t.Errorf("Flat(%v) = %t, want %t", tc.sizes, got, tc.flat)
		}
	}
}
