package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/smsagent/smsagent/outbox"
)

// housekeep runs the time-driven work until ctx ends: outbox.Sweep (receipt
// timeouts, unmatched receipts, incomplete incoming SMS, expiry, pruning),
// the rate samples, and the count of files intake refused.
//
// Crash story: Sweep's own; each of its transactions is whole, and what a
// crash interrupts is found again by the next sweep.
func (a *Agent) housekeep(ctx context.Context) {
	t := time.NewTicker(a.opts.SweepInterval)
	defer t.Stop()
	var rejected uint64
	for {
		a.sweep(ctx)
		now := a.clock()
		if r := a.intake.Stats().Rejected; r > rejected {
			for range r - rejected {
				a.obs.FileRejected()
			}
			a.rates.files.Add(r - rejected)
			rejected = r
		}
		a.rates.sample(now)
		if a.anyBound() {
			a.downSince.Store(nil)
		} else if a.downSince.Load() == nil {
			a.downSince.Store(&now)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func (a *Agent) sweep(ctx context.Context) {
	res, err := a.store.Sweep(ctx, a.clock())
	if err != nil {
		if ctx.Err() == nil {
			a.health.set(healthSweep, fmt.Sprintf("outbox: sweep failed: %v", err))
			a.log.Error("agent: sweeping the outbox failed", "err", err)
		}
		return
	}
	a.health.clear(healthSweep)
	if res != (outbox.SweepResult{}) {
		a.log.Debug("agent: swept", "unmatched", res.Unmatched, "incomplete_mo", res.IncompleteMO,
			"receipt_timeouts", res.ReceiptTimeouts, "expired", res.Expired, "pruned", res.Pruned)
	}
}
