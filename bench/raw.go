package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// rawCeiling submits n short messages over bare smpp sessions (the
// workload's sessions and window, transceivers acknowledging every
// deliver_sm at once) and returns submit_sm acknowledged per second: what
// the SMPP engine, the SMSC and the machine allow without storage.
func rawCeiling(ctx context.Context, remote Remote, w Workload, n int) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	sessions := make([]*smpp.Session, 0, w.Sessions)
	defer func() {
		var wg sync.WaitGroup
		for _, s := range sessions {
			wg.Go(func() {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = s.Close(cctx)
			})
		}
		wg.Wait()
	}()
	for range w.Sessions {
		conn, err := smpp.Dial(ctx, "tcp", remote.Address, nil)
		if err != nil {
			return 0, err
		}
		s := smpp.NewSession(conn, smpp.SessionOptions{Window: w.Window, ResponseTimeout: 30 * time.Second,
			InboundWindow: 1000, Handler: func(r smpp.Request) { _ = r.Ack(pdu.StatusOK) }})
		sessions = append(sessions, s)
		if err := s.Bind(ctx, smpp.BindRequest{Mode: smpp.Transceiver, SystemID: remote.SystemID,
			Password: remote.Password}); err != nil {
			return 0, err
		}
	}
	sm := &pdu.SubmitSM{
		Source:       pdu.Address{TON: pdu.TONAlphanumeric, Addr: "BENCH"},
		Dest:         pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "358400000000"},
		ShortMessage: []byte("Your code is 123456. It expires in ten minutes."),
	}
	if w.Receipts {
		sm.RegisteredDelivery = pdu.RegDeliveryFinal
	}
	var (
		next, left, failed atomic.Int64
		finished           = make(chan struct{})
	)
	left.Store(int64(n))
	done := func(r smpp.Result) {
		if r.Pending {
			return
		}
		if r.Err != nil || r.Header.Status != pdu.StatusOK {
			failed.Add(1)
		}
		if left.Add(-1) == 0 {
			close(finished)
		}
	}
	begun := time.Now()
	errs := make(chan error, len(sessions))
	for _, s := range sessions {
		go func() {
			for next.Add(1) <= int64(n) {
				if err := s.Send(ctx, sm, done); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	select {
	case <-finished:
	case err := <-errs:
		return 0, err
	case <-ctx.Done():
		return 0, fmt.Errorf("%d of %d submits unanswered: %w", left.Load(), n, ctx.Err())
	}
	elapsed := time.Since(begun)
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d of %d submits failed", f, n)
	}
	return float64(n) / elapsed.Seconds(), nil
}
