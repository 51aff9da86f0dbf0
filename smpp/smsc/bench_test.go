package smsc_test

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

// BenchmarkServer_Receipts measures how fast the simulator delivers
// receipts: b.N receipts are queued while no receiver is bound, then one
// receiver session binds and acknowledges them as they come (window 100).
// The target is 20,000 receipts/s on loopback; the ESME side is in the
// figures, the submissions are not.
func BenchmarkServer_Receipts(b *testing.B) {
	srv := smsc.New(smsc.Options{CountersOnly: true, Session: smpp.SessionOptions{Window: 100}})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = srv.Close(context.Background()) }()
	ctx := context.Background()
	tx := benchBind(b, srv, smpp.Transmitter, smpp.SessionOptions{Window: 100})
	p := sm("358401234567", "Your code is 123456.")
	var wg sync.WaitGroup
	for range b.N {
		wg.Add(1)
		if err := tx.Send(ctx, p, func(smpp.Result) { wg.Done() }); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	if _, err := srv.WaitFor(ctx, func(st smsc.Stats) bool { return st.ReceiptsQueued == b.N }); err != nil {
		b.Fatal(err)
	}

	var acked atomic.Int64
	all := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	benchBind(b, srv, smpp.Receiver, smpp.SessionOptions{InboundWindow: 200, Handler: func(r smpp.Request) {
		_ = r.Ack(pdu.StatusOK)
		if acked.Add(1) == int64(b.N) {
			close(all)
		}
	}})
	<-all
	if _, err := srv.WaitFor(ctx, func(st smsc.Stats) bool { return st.ReceiptsAcked == b.N }); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "receipts/s")
}

func benchBind(b *testing.B, srv *smsc.Server, mode smpp.BindMode, o smpp.SessionOptions) *smpp.Session {
	ctx := context.Background()
	conn, err := smpp.Dial(ctx, "tcp", srv.Addr(), nil)
	if err != nil {
		b.Fatal(err)
	}
	s := smpp.NewSession(conn, o)
	b.Cleanup(func() { _ = s.Close(ctx) })
	if err := s.Bind(ctx, smpp.BindRequest{Mode: mode, SystemID: "bench"}); err != nil {
		b.Fatal(err)
	}
	return s
}
