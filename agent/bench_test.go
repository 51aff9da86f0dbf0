package agent_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// writeNDJSON writes n messages into outgoing/name the way a producer
// should: elsewhere, then renamed in.
func writeNDJSON(tb testing.TB, cfg *config.Config, name string, n int, report bool) {
	tb.Helper()
	writeNDJSONFrom(tb, cfg, name, 0, n, report)
}

// writeNDJSONFrom is writeNDJSON for messages from..from+n-1 (ids and
// numbers), so that files on several nodes hold different messages.
func writeNDJSONFrom(tb testing.TB, cfg *config.Config, name string, from, n int, report bool) {
	tb.Helper()
	tmp := filepath.Join(cfg.Spool.Dir, "outgoing", "."+name+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := from; i < from+n; i++ {
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

// benchN is the number of messages of the end-to-end benchmark: 100,000,
// or SMSAGENT_BENCH_N.
func benchN() int {
	if v, err := strconv.Atoi(os.Getenv("SMSAGENT_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return 100_000
}

// written is the number of files the inbox writer has made durable.
func written(tb testing.TB, r *running) int {
	st, err := r.a.Status(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return int(st.Inbox.Written)
}

// benchWait bounds each wait of the end-to-end benchmark, so that a stall
// fails with the counts instead of hanging.
var benchWait = 3 * time.Minute

// BenchmarkAgent_endToEnd sends 100,000 messages with receipts requested,
// from one NDJSON file, through the real bind pool (4 sessions, window 50)
// to the simulator on loopback, and reports messages accepted by the SMSC
// per second (from the file's drop) and report files written per second.
func BenchmarkAgent_endToEnd(b *testing.B) {
	n := benchN()
	for range b.N {
		b.StopTimer()
		// The simulator's window for deliver_sm is the agent's inbound
		// window (64 per session): a wider one only earns ESME_RTHROTTLED
		// answers, and the simulator gives a receipt up after three.
		sim := simulator(b, smsc.Options{CountersOnly: true, Logger: slog.New(slog.DiscardHandler),
			Session: smpp.SessionOptions{Window: 64}})
		cfg := testConfig(b, sim.Addr(), "smsc.sessions: 4", "smsc.window: 50", "smsc.response_timeout: 30s")
		r := start(b, cfg, agent.Options{TunePool: fastPool, Logger: slog.New(slog.DiscardHandler),
			SweepInterval: time.Second})
		testutil.Eventually(b, 10*time.Second, "a bound session", func() bool { return r.a.Ready() == nil })
		b.StartTimer()
		begun := time.Now()
		writeNDJSON(b, cfg, "bulk.ndjson", n, true)
		ctx, cancel := context.WithTimeout(context.Background(), benchWait)
		if _, err := sim.WaitFor(ctx, func(s smsc.Stats) bool { return s.Accepted >= n }); err != nil {
			st, _ := r.a.Status(context.Background())
			b.Fatalf("%v: SMSC %+v\nagent %+v", err, sim.Stats(), st)
		}
		cancel()
		sent := time.Since(begun)
		testutil.Eventually(b, benchWait, "every report written", func() bool { return written(b, r) >= n })
		reported := time.Since(begun)
		b.StopTimer()
		b.ReportMetric(float64(n)/sent.Seconds(), "msgs/s")
		b.ReportMetric(float64(n)/reported.Seconds(), "reports/s")
		st := sim.Stats()
		if st.Accepted != n || st.ReceiptsAcked < n {
			b.Errorf("the SMSC accepted %d and had %d receipts acknowledged, want %d", st.Accepted, st.ReceiptsAcked, n)
		}
		if err := r.shutdown(); err != nil {
			b.Fatal(err)
		}
	}
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
		testutil.Eventually(b, benchWait, "every message stored", func() bool {
			st, err := r.a.Status(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			return st.Intake.Messages >= n
		})
		stored := time.Since(begun)
		testutil.Eventually(b, benchWait, "every message sent", func() bool {
			st, err := r.a.Outbox().Stats(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			return st.ByState[smsagent.StateSent] == n
		})
		sent := time.Since(begun)
		testutil.Eventually(b, benchWait, "every report written", func() bool { return written(b, r) >= n })
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
