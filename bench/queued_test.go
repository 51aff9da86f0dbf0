package bench_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/bench"
)

// TestRunBacklog restarts an agent on 3,000 queued messages: it submits,
// the sample settles, and the table and the target lines are filled in.
func TestRunBacklog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := bench.Backlog{Queued: 3000, Sample: 500, Sessions: 2, Window: 20}
	r, err := bench.RunBacklog(ctx, b, bench.Options{Dir: t.TempDir(), Stall: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent < b.Sample || r.FirstSubmit <= 0 || r.FirstSubmit > r.Elapsed+time.Minute || r.DBSize <= 0 || r.MaxRSS <= 0 {
		t.Errorf("result %+v: want the sample sent, a first submit, a database and a resident set", r)
	}
	var table strings.Builder
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{
		`(?m)^backlog +3000 queued messages \(built in .*\), 2 sessions × window 20, load `,
		`(?m)^restart +first submit [\d.]+m?s after start, max RSS [\d.]+ MiB while sending$`,
		`(?m)^drain +[\d,]+ msgs/s over the first \d+ messages$`,
	} {
		if !regexp.MustCompile(row).MatchString(table.String()) {
			t.Errorf("no row matching %s in\n%s", row, table.String())
		}
	}
	empty := &bench.Result{Messages: 100, Sent: 100, Elapsed: time.Duration(float64(time.Second) * 100 / r.MessagesPerSec() * 0.9)}
	out := bench.EvaluateBacklog(r, empty)
	if len(out) != 3 || !strings.HasPrefix(out[0].Target, "3,000 queued") || !out[2].Pass {
		t.Errorf("outcomes %+v: want three, the drain within 20%% of an empty run 10%% faster", out)
	}
	if out := bench.EvaluateBacklog(r, nil); out[2].Pass || out[2].Measured != "no empty-queue run" {
		t.Errorf("without an empty-queue run: %+v", out[2])
	}
}

// TestRunBacklog_invalid: a sample larger than the queue is refused.
func TestRunBacklog_invalid(t *testing.T) {
	_, err := bench.RunBacklog(context.Background(), bench.Backlog{Queued: 10, Sample: 20, Sessions: 1, Window: 1}, bench.Options{})
	if err == nil || !strings.Contains(err.Error(), "sample <= queued") {
		t.Errorf("err %v, want the sample refused", err)
	}
}
