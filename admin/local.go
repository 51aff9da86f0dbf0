package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

// Queue is what the admin API needs of the outbox. *outbox.Store satisfies
// it.
type Queue interface {
	Get(ctx context.Context, id smsagent.MessageID) (smsagent.Record, error)
	List(ctx context.Context, q outbox.ListQuery) ([]smsagent.Record, error)
	Retry(ctx context.Context, id smsagent.MessageID) error
	RetryFailed(ctx context.Context) (int, error)
	Cancel(ctx context.Context, id smsagent.MessageID) error
	Stats(ctx context.Context) (smsagent.Stats, error)
}

var _ Queue = (*outbox.Store)(nil)

// StatusSource gives the running agent's snapshot; the agent satisfies it.
type StatusSource interface {
	Status(ctx context.Context) (smsagent.Status, error)
}

// SeriesSource gives the last hour's activity; the agent satisfies it.
type SeriesSource interface {
	Series() smsagent.Series
}

// Page sizes of List.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// ListParams select a page of the queue.
type ListParams struct {
	// State filters by state; StateUnknown lists all.
	State smsagent.State
	// After is the last message id of the previous page; 0 starts at the
	// beginning.
	After smsagent.MessageID
	// Limit is the page size: 0 means DefaultListLimit, at most
	// MaxListLimit.
	Limit int
	// Newest lists newest first, ids below After (order=newest).
	Newest bool
}

// Error is a queue command's failure in the terms of the API: an HTTP status
// code and a sentence for a person. The server sends it as {"error": ...};
// the Client turns such an answer back into an *Error. It matches
// outbox.ErrNotFound (404) and outbox.ErrState (409) with errors.Is, on
// either side of the wire.
type Error struct {
	Status  int
	Message string
	err     error // the cause, when local
}

func (e *Error) Error() string { return e.Message }

// Unwrap gives the local cause, nil for an answer from the API.
func (e *Error) Unwrap() error { return e.err }

// Is lets errors.Is recognise the outbox's sentinels by status code.
func (e *Error) Is(target error) bool {
	switch e.Status {
	case http.StatusNotFound:
		return target == outbox.ErrNotFound
	case http.StatusConflict:
		return target == outbox.ErrState
	}
	return false
}

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// Local runs the queue commands on a store in this process. The server
// answers with it, and the CLI uses it directly while the agent is stopped,
// so both give the same JSON and the same errors.
type Local struct {
	Queue Queue
}

// List returns one page of messages in id order.
func (l Local) List(ctx context.Context, p ListParams) (Page, error) {
	limit := p.Limit
	if limit == 0 {
		limit = DefaultListLimit
	}
	if limit < 1 || limit > MaxListLimit {
		return Page{}, badRequest("limit must be between 1 and %d, got %d", MaxListLimit, p.Limit)
	}
	rs, err := l.Queue.List(ctx, outbox.ListQuery{State: p.State, After: p.After, Limit: limit, Newest: p.Newest})
	if err != nil {
		return Page{}, queueError(err, 0)
	}
	page := Page{Messages: make([]Message, len(rs))}
	for i, r := range rs {
		page.Messages[i] = NewMessage(r)
	}
	if len(rs) == limit {
		page.NextAfter = rs[len(rs)-1].ID
	}
	return page, nil
}

// Message returns one message.
func (l Local) Message(ctx context.Context, id smsagent.MessageID) (Message, error) {
	r, err := l.Queue.Get(ctx, id)
	if err != nil {
		return Message{}, queueError(err, id)
	}
	return NewMessage(r), nil
}

// Retry makes a queued message due now or sends a failed one again (see
// outbox.Store.Retry) and returns the message as it is afterwards.
func (l Local) Retry(ctx context.Context, id smsagent.MessageID) (Message, error) {
	if err := l.Queue.Retry(ctx, id); err != nil {
		return Message{}, queueError(err, id)
	}
	return l.Message(ctx, id)
}

// RetryFailed sends every failed, rejected, expired and undeliverable
// message again and returns how many.
func (l Local) RetryFailed(ctx context.Context) (int, error) {
	n, err := l.Queue.RetryFailed(ctx)
	if err != nil {
		return n, queueError(err, 0)
	}
	return n, nil
}

// Cancel cancels a message that is not final and returns it as it is
// afterwards.
func (l Local) Cancel(ctx context.Context, id smsagent.MessageID) (Message, error) {
	if err := l.Queue.Cancel(ctx, id); err != nil {
		return Message{}, queueError(err, id)
	}
	return l.Message(ctx, id)
}

// Stats counts the messages by state.
func (l Local) Stats(ctx context.Context) (Stats, error) {
	st, err := l.Queue.Stats(ctx)
	if err != nil {
		return Stats{}, queueError(err, 0)
	}
	return NewStats(st), nil
}

// queueError puts an outbox error in the API's terms. Only the sentinels a
// caller can act on get their own status; the rest are server errors whose
// text is the outbox's own (it names paths and ids, never a secret).
func queueError(err error, id smsagent.MessageID) error {
	var se *outbox.StateError
	switch {
	case errors.Is(err, outbox.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("message %s not found", id), err: err}
	case errors.As(err, &se):
		return &Error{Status: http.StatusConflict, err: err,
			Message: fmt.Sprintf("cannot %s message %s: it is %s", se.Op, se.ID, se.State)}
	case errors.Is(err, outbox.ErrReadOnly):
		return &Error{Status: http.StatusConflict, Message: "the queue is open read-only", err: err}
	case errors.Is(err, outbox.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Message: err.Error(), err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Message: err.Error(), err: err}
}
