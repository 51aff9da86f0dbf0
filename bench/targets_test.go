package bench_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/bench"
)

// TestEvaluate: each target reads its own workload's result (and another's
// where it compares two); a target whose workload did not run says so and
// misses; the summary counts.
func TestEvaluate(t *testing.T) {
	targets := bench.Standard()
	bulk, quiet := targets[0].Workload, targets[3].Base
	if quiet != targets[4].Workload {
		t.Fatal("the receipts-off workload is not both the base of the fourth target and the fifth's")
	}
	r := &bench.Result{Workload: bulk, Messages: 100_000, Parts: 100_000, Sent: 100_000, Reports: 100_000,
		Elapsed: 4 * time.Second, ReportsElapsed: 20 * time.Second, RawPerSec: 40_000,
		FileLoopPerSec: 6_000, FileLoopCPU: 100 * time.Microsecond, CPU: 15 * time.Second}
	q := &bench.Result{Workload: quiet, Messages: 100_000, Sent: 100_000, Elapsed: 4 * time.Second, CPU: 6 * time.Second}
	out := bench.Evaluate(targets, map[bench.Workload]*bench.Result{bulk: r, quiet: q})
	want := []struct {
		measured string
		pass     bool
	}{
		{"25,000 msgs/s", true},
		{"62% of 40,000 msgs/s", true},
		// 5,000/s is under 10,000 but over 80% of the loop's 6,000.
		{"5,000 reports/s (loop 6,000 files/s)", true},
		{"90 µs (loop 100 µs)", true},
		{"60 µs", true},
		{"not run", false},
		{"not run", false},
		{"not run", false},
		{"not run", false},
		{"not run", false},
	}
	if len(out) != len(want) {
		t.Fatalf("%d outcomes, want %d", len(out), len(want))
	}
	for i, w := range want {
		if out[i].Measured != w.measured || out[i].Pass != w.pass {
			t.Errorf("%s: %q pass %t, want %q pass %t", out[i].Target, out[i].Measured, out[i].Pass, w.measured, w.pass)
		}
	}
	var b strings.Builder
	if err := bench.WriteSummary(&b, out, "0.10 0.20 0.30"); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, line := range []string{"load average at start 0.10 0.20 0.30", "25,000 msgs/s", "pass\n", "MISS\n", "5 of 10 met\n"} {
		if !strings.Contains(s, line) {
			t.Errorf("summary lacks %q:\n%s", line, s)
		}
	}
}

// TestWorkloads: a run of the standard set measures every workload a
// target reads, its base included, once each.
func TestWorkloads(t *testing.T) {
	targets := bench.Standard()
	ws := bench.Workloads(targets)
	for _, tg := range targets {
		for _, w := range []bench.Workload{tg.Workload, tg.Base} {
			if w != (bench.Workload{}) && !slices.Contains(ws, w) {
				t.Errorf("%s: workload %+v not run", tg.Name, w)
			}
		}
	}
	for i, w := range ws {
		if slices.Contains(ws[i+1:], w) {
			t.Errorf("workload %+v run twice", w)
		}
	}
}
