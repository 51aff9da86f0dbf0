package outbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/smsagent/smsagent"
)

// The benchmarks print their figures with b.ReportMetric. Targets on the
// 2-core development machine: one 100,000-message batch >= 50,000 msgs/s;
// 16 concurrent single-message callers >= 3,000 msgs/s (group commit: see
// ops/commit); a claim → accepted → delivered cycle >= 20,000 msgs/s; heap
// in use < 100 MiB while claiming from 1,000,000 queued messages.

// The cpu-µs/msg figure is the processor time (user and system, all
// threads) the process spent per message. On a shared machine the
// wall-clock rates swing with the neighbours' CPU and disk load; this one
// measures our own cost. processCPU lives in rusage_*_test.go.

type cpuMeter struct {
	start, spent float64
}

func (m *cpuMeter) resume() { m.start = processCPU() }
func (m *cpuMeter) pause()  { m.spent += processCPU() - m.start }

func (m *cpuMeter) report(b *testing.B, msgs int) {
	if m.spent > 0 {
		b.ReportMetric(m.spent/float64(msgs)*1e6, "cpu-µs/msg")
	}
}

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func benchBatch(claim string, n int, report bool) smsagent.Batch {
	b := smsagent.Batch{Claim: claim, File: claim + ".json", Messages: make([]smsagent.Message, n)}
	for i := range b.Messages {
		b.Messages[i] = smsagent.Message{
			To:       smsagent.Address{Value: fmt.Sprintf("3584%08d", i), Kind: smsagent.AddrInternational},
			Text:     "Your appointment is confirmed for tomorrow at 10:00. Reply STOP to opt out.",
			ClientID: fmt.Sprintf("%s-%d", claim, i),
			Report:   report,
		}
	}
	return b
}

func BenchmarkEnqueue_Batch100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	var total int
	var cpu cpuMeter
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := benchStore(b)
		batch := benchBatch("big", n, false)
		b.StartTimer()
		cpu.resume()
		if _, err := s.Enqueue(ctx, batch); err != nil {
			b.Fatal(err)
		}
		cpu.pause()
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "msgs/s")
	cpu.report(b, total)
}

func BenchmarkEnqueue_Concurrent16(b *testing.B) {
	const callers, n = 16, 10_000
	ctx := context.Background()
	var total int
	var commits, ops uint64
	var cpu cpuMeter
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := benchStore(b)
		batches := make([]smsagent.Batch, n)
		for j := range batches {
			batches[j] = benchBatch(fmt.Sprintf("f%d", j), 1, false)
		}
		next := make(chan smsagent.Batch, n)
		for _, bt := range batches {
			next <- bt
		}
		close(next)
		b.StartTimer()
		cpu.resume()
		var wg sync.WaitGroup
		for c := 0; c < callers; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for bt := range next {
					if _, err := s.Enqueue(ctx, bt); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		cpu.pause()
		total += n
		commits += s.commits.Load()
		ops += s.committed.Load()
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(ops)/float64(commits), "ops/commit")
	cpu.report(b, total)
}

func BenchmarkCycle_100k(b *testing.B) {
	const n, page = 100_000, 1000
	ctx := context.Background()
	var total int
	var cpu cpuMeter
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := benchStore(b)
		if _, err := s.Enqueue(ctx, benchBatch("cycle", n, true)); err != nil {
			b.Fatal(err)
		}
		now := s.now()
		b.StartTimer()
		cpu.resume()
		for done := 0; done < n; {
			rs, err := s.Claim(ctx, now, page)
			if err != nil {
				b.Fatal(err)
			}
			results := make([]PartResult, len(rs))
			receipts := make([]smsagent.Receipt, len(rs))
			for j, r := range rs {
				id := fmt.Sprintf("%x", uint64(r.ID))
				results[j] = PartResult{ID: r.ID, Seq: 1, Total: 1, Outcome: OutcomeAccepted, SMSCID: id, SMSCKey: id, At: now}
				receipts[j] = smsagent.Receipt{SMSCID: id, Keys: []string{id}, State: smsagent.StateDelivered,
					Stat: "DELIVRD", Err: "000", Received: now}
			}
			if err := s.RecordParts(ctx, results); err != nil {
				b.Fatal(err)
			}
			out, err := s.ApplyReceipts(ctx, receipts)
			if err != nil {
				b.Fatal(err)
			}
			for _, o := range out {
				if o != smsagent.ReceiptMatched {
					b.Fatalf("receipt %v", o)
				}
			}
			done += len(rs)
		}
		cpu.pause()
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "msgs/s")
	cpu.report(b, total)
}

// BenchmarkClaim_MillionQueued fills 1,000,000 queued messages once (the
// setup takes tens of seconds) and measures claiming a page of 1,000 from
// it, with the heap in use reported after the claims.
func BenchmarkClaim_MillionQueued(b *testing.B) {
	const n, batch, page = 1_000_000, 100_000, 1000
	ctx := context.Background()
	s := benchStore(b)
	for i := 0; i < n/batch; i++ {
		if _, err := s.Enqueue(ctx, benchBatch(fmt.Sprintf("m%d", i), batch, false)); err != nil {
			b.Fatal(err)
		}
	}
	now := s.now()
	runtime.GC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rs, err := s.Claim(ctx, now, page)
		if err != nil || len(rs) != page {
			b.Fatalf("claimed %d: %v", len(rs), err)
		}
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "live-heap-MiB")
	st, err := s.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.ByState[smsagent.StateQueued]), "queued")
	if fi, err := os.Stat(s.path); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
	}
}
