package agent

import (
	"context"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/spool"
)

// intakeStore is where intake stores (the outbox, or the cluster's queue
// with the store backend jetstream) as spool intake sees it: a stored
// batch also wakes the dispatcher and counts for the metrics.
type intakeStore struct {
	spool.Store
	obs   Observer
	rates *rates
	wake  func() // the dispatcher's poke
}

// Enqueue stores a batch (see outbox.Store.Enqueue, cluster.Node.Enqueue).
func (s intakeStore) Enqueue(ctx context.Context, b smsagent.Batch) (smsagent.BatchResult, error) {
	res, err := s.Store.Enqueue(ctx, b)
	if err != nil || res.AlreadyTaken {
		return res, err
	}
	n := 0
	for _, id := range res.IDs {
		if id != 0 {
			n++
		}
	}
	s.obs.FileAccepted(n)
	s.rates.files.Add(1)
	if n > 0 {
		s.wake()
	}
	return res, nil
}

var _ spool.Store = intakeStore{}
