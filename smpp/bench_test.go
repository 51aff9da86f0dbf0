package smpp_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// BenchmarkSession_Submit measures one loopback session with a window of
// 100 against the simulator: submit_sm acknowledged per second (the
// target is 50,000/s on two cores) and what each costs the ESME side.
// The simulator runs in the same process, so its work is in the figures.
func BenchmarkSession_Submit(b *testing.B) {
	srv := smsc.New(smsc.Options{CountersOnly: true})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = srv.Close(context.Background()) }()
	ctx := context.Background()
	conn, err := smpp.Dial(ctx, "tcp", srv.Addr(), nil)
	if err != nil {
		b.Fatal(err)
	}
	s := smpp.NewSession(conn, smpp.SessionOptions{Window: 100})
	defer func() { _ = s.Close(ctx) }()
	if err := s.Bind(ctx, smpp.BindRequest{Mode: smpp.Transmitter, SystemID: "bench"}); err != nil {
		b.Fatal(err)
	}
	sm := &pdu.SubmitSM{
		Source:       pdu.Address{TON: pdu.TONAlphanumeric, Addr: "ACME"},
		Dest:         pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "358401234567"},
		ShortMessage: []byte("Your code is 123456. It expires in ten minutes."),
	}
	var wg sync.WaitGroup
	var failed atomic.Int64
	done := func(r smpp.Result) {
		if r.Pending {
			return
		}
		if r.Err != nil || r.Header.Status != pdu.StatusOK {
			failed.Add(1)
		}
		wg.Done()
	}
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		wg.Add(1)
		if err := s.Send(ctx, sm, done); err != nil {
			b.Fatal(err)
		}
		n++
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d submits failed", f, n)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
}
