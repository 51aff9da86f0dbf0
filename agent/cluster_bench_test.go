//go:build unix

package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/natstest"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// clusterBenchN is the messages of BenchmarkCluster: 20,000, or
// SMSAGENT_CLUSTER_BENCH_N.
func clusterBenchN() int {
	if v, err := strconv.Atoi(os.Getenv("SMSAGENT_CLUSTER_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return 20_000
}

// cpuTime is the CPU this process used so far, user and system.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCluster sends the same load (messages with receipts, from
// files dropped evenly on every node) through one agent on bbolt and
// through 1, 2 and 3 agents sharing a queue on a JetStream cluster of
// three servers (replicas 3), at 0 ms and at a 20 ms round trip to the
// simulator. Each agent has 2 sessions with window 50. It reports messages
// accepted by the SMSC per second, reports written per second, and the CPU
// of the whole process per message: agents, NATS servers and simulator
// together, all on this machine, so the figures compare the setups with
// each other, not with a cluster of machines.
func BenchmarkCluster(b *testing.B) {
	n := clusterBenchN()
	for _, rtt := range []time.Duration{0, 20 * time.Millisecond} {
		for _, setup := range []struct {
			name  string
			nodes int
		}{{"bbolt", 0}, {"jetstream-1", 1}, {"jetstream-2", 2}, {"jetstream-3", 3}} {
			b.Run(fmt.Sprintf("rtt=%s/%s", rtt, setup.name), func(b *testing.B) {
				for range b.N {
					benchCluster(b, n, rtt, setup.nodes)
				}
			})
		}
	}
}

func benchCluster(b *testing.B, n int, rtt time.Duration, nodes int) {
	b.StopTimer()
	quiet := slog.New(slog.DiscardHandler)
	sim := simulator(b, smsc.Options{CountersOnly: true, Logger: quiet, MaxBinds: 12,
		Session: smpp.SessionOptions{Window: 64}})
	sim.SetFaults(smsc.Faults{Delay: rtt})
	var cfgs []*config.Config
	if nodes == 0 {
		cfgs = append(cfgs, testConfig(b, sim.Addr(), "smsc.window: 50", "smsc.response_timeout: 30s"))
	} else {
		nats := natstest.Start(b, 3)
		for i := range nodes {
			cfgs = append(cfgs, clusterConfig(b, fmt.Sprintf("n%d", i+1), sim.Addr(), nats.URLs(),
				"smsc.window: 50", "smsc.response_timeout: 30s"))
		}
	}
	var rs []*running
	for _, cfg := range cfgs {
		r := start(b, cfg, agent.Options{TunePool: fastPool, Logger: quiet, SweepInterval: time.Second})
		testutil.Eventually(b, 30*time.Second, "a bound session", func() bool { return r.a.Ready() == nil })
		rs = append(rs, r)
	}
	cpu0 := cpuTime(b)
	b.StartTimer()
	begun := time.Now()
	from := 0
	for i, r := range rs {
		share := n / len(rs)
		if i == 0 {
			share += n % len(rs)
		}
		writeNDJSONFrom(b, r.cfg, "bulk.ndjson", from, share, true)
		from += share
	}
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	defer cancel()
	if _, err := sim.WaitFor(ctx, func(s smsc.Stats) bool { return s.Accepted >= n }); err != nil {
		b.Fatalf("%v: SMSC %+v", err, sim.Stats())
	}
	sent := time.Since(begun)
	testutil.Eventually(b, benchWait, "every report written", func() bool {
		total := 0
		for _, r := range rs {
			total += written(b, r)
		}
		return total >= n
	})
	reported := time.Since(begun)
	b.StopTimer()
	cpu := cpuTime(b) - cpu0
	b.ReportMetric(float64(n)/sent.Seconds(), "msgs/s")
	b.ReportMetric(float64(n)/reported.Seconds(), "reports/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/msg")
	if st := sim.Stats(); st.Accepted < n {
		b.Errorf("the SMSC accepted %d, want %d", st.Accepted, n)
	}
	for _, r := range rs {
		if err := r.shutdown(); err != nil {
			b.Fatal(err)
		}
	}
}
