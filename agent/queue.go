package agent

import (
	"context"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

// Queue is the outbox for operator commands (the admin API): a retry wakes
// the dispatcher, so the message goes out at once rather than at its next
// scheduled look at the queue.
func (a *Agent) Queue() Queue { return Queue{Store: a.store, wake: a.dispatcher.poke} }

// Queue is the outbox as operator commands use it.
type Queue struct {
	*outbox.Store
	wake func()
}

// Retry makes a message due now (see outbox.Store.Retry) and wakes the
// dispatcher.
func (q Queue) Retry(ctx context.Context, id smsagent.MessageID) error {
	err := q.Store.Retry(ctx, id)
	if err == nil {
		q.wake()
	}
	return err
}

// RetryFailed queues every failed message again (see
// outbox.Store.RetryFailed) and wakes the dispatcher.
func (q Queue) RetryFailed(ctx context.Context) (int, error) {
	n, err := q.Store.RetryFailed(ctx)
	if n > 0 {
		q.wake()
	}
	return n, err
}
