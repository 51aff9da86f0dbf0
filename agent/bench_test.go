package agent_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/config"
)

// writeNDJSON writes n messages into outgoing/name the way a producer
// should: elsewhere, then renamed in.
func writeNDJSON(tb testing.TB, cfg *config.Config, name string, n int, report bool) {
	tb.Helper()
	tmp := filepath.Join(cfg.Spool.Dir, "outgoing", "."+name+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, `{"id":"m%d","to":"+3584%08d","text":"Message number %d from the benchmark","report":%t}`+"\n",
			i, i, i, report)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(cfg.Spool.Dir, "outgoing", name)); err != nil {
		tb.Fatal(err)
	}
}

// countReports counts the report files in inbox/ without reading them.
func countReports(tb testing.TB, cfg *config.Config) int {
	return len(inboxFiles(tb, cfg, ".report.json"))
}

// BenchmarkAgent_fakePool measures the agent's own path (intake, outbox,
// dispatcher, settler, inbox writer) with a pool that answers every submit
// at once: what the agent costs per message apart from SMPP.
func BenchmarkAgent_fakePool(b *testing.B) {
	const n = 100_000
	for range b.N {
		b.StopTimer()
		cfg := testConfig(b, "127.0.0.1:1", "smsc.sessions: 4", "smsc.window: 50")
		p := newFakePool(200, accept)
		p.setUp(true)
		r := start(b, cfg, agent.Options{NewPool: p.newPool, Logger: testLogger(b)})
		b.StartTimer()
		begun := time.Now()
		writeNDJSON(b, cfg, "bulk.ndjson", n, false)
		for {
			st, err := r.a.Status(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if st.Intake.Messages >= n {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		stored := time.Since(begun)
		for {
			st, err := r.a.Outbox().Stats(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if st.ByState[smsagent.StateSent] == n {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		sent := time.Since(begun)
		for countReports(b, cfg) < n {
			time.Sleep(50 * time.Millisecond)
		}
		reported := time.Since(begun)
		b.StopTimer()
		b.ReportMetric(stored.Seconds(), "s-to-store")
		b.ReportMetric(float64(n)/sent.Seconds(), "msgs/s")
		b.ReportMetric(float64(n)/reported.Seconds(), "reports/s")
		if err := r.shutdown(); err != nil {
			b.Fatal(err)
		}
	}
}
