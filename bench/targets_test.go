package bench_test

import (
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/bench"
)

// TestEvaluate: each target reads its own workload's result; a target
// whose workload did not run says so and misses; the summary counts.
func TestEvaluate(t *testing.T) {
	targets := bench.Standard()
	bulk := targets[0].Workload
	r := &bench.Result{Workload: bulk, Messages: 100_000, Parts: 100_000, Sent: 100_000, Reports: 100_000,
		Elapsed: 4 * time.Second, ReportsElapsed: 20 * time.Second, RawPerSec: 40_000}
	out := bench.Evaluate(targets, map[bench.Workload]*bench.Result{bulk: r})
	want := []struct {
		measured string
		pass     bool
	}{
		{"25,000 msgs/s", true},
		{"62% of 40,000 msgs/s", true},
		{"5,000 reports/s", false},
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
	for _, line := range []string{"load average at start 0.10 0.20 0.30", "25,000 msgs/s", "pass\n", "MISS\n", "2 of 5 met\n"} {
		if !strings.Contains(s, line) {
			t.Errorf("summary lacks %q:\n%s", line, s)
		}
	}
}
