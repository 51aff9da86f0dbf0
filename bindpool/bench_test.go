package bindpool_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// BenchmarkPool_Submit is one submitter (the agent's dispatcher) keeping
// four sessions of window 10 full against the simulator on loopback, with
// no throughput cap. It reports submissions answered per second.
func BenchmarkPool_Submit(b *testing.B) {
	srv := testutil.Simulator(b, smsc.Options{CountersOnly: true})
	o := options(srv)
	o.Sessions = 4
	o.Window = 10
	p := startPool(b, o)
	testutil.Eventually(b, waitLimit, "all slots bound", func() bool { return allBound(p) })
	msg := sm("4915100000001")
	var wg sync.WaitGroup
	done := func(r smpp.Result) {
		if !r.Pending {
			if r.Err != nil {
				b.Errorf("result: %v", r.Err)
			}
			wg.Done()
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		wg.Add(1)
		if err := p.Submit(ctx, msg, done); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "submits/s")
}
