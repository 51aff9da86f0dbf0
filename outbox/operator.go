package outbox

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/smsagent/smsagent"
	bolt "go.etcd.io/bbolt"
)

// Get returns the stored message with id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id smsagent.MessageID) (smsagent.Record, error) {
	var out smsagent.Record
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktMessages).Get(idKey(id))
		if v == nil {
			return ErrNotFound
		}
		r, err := decodeRecord(v)
		if err != nil {
			return err
		}
		r.adopt(s.opts.LegacyAccount)
		out = r.Record
		return nil
	})
	if err != nil {
		return smsagent.Record{}, fmt.Errorf("outbox: get %s: %w", id, err)
	}
	return out, nil
}

// ListQuery selects a page of messages in id order.
type ListQuery struct {
	// State filters by state; StateUnknown lists every state.
	State smsagent.State
	// After is the last id of the previous page (0 for the first).
	After smsagent.MessageID
	// Limit is the page size: default 100, at most MaxListLimit.
	Limit int
	// Newest lists the newest first: ids below After (every id when 0),
	// descending. The status page shows the latest failures this way.
	Newest bool
}

// MaxListLimit caps ListQuery.Limit so a page never loads the whole queue.
const MaxListLimit = 10000

// List returns one page of messages with ids greater than q.After (or,
// with q.Newest, smaller, newest first). Only the records of the page are
// decoded; a state filter skips the others by their header.
func (s *Store) List(ctx context.Context, q ListQuery) ([]smsagent.Record, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxListLimit)
	var out []smsagent.Record
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktMessages).Cursor()
		var k, v []byte
		next := c.Next
		switch {
		case !q.Newest:
			k, v = c.Seek(idKey(q.After + 1))
		case q.After == 0:
			k, v = c.Last()
		default:
			// The largest id below After: before the first at or above
			// it, or the last when there is none.
			if k, _ = c.Seek(idKey(q.After)); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		if q.Newest {
			next = c.Prev
		}
		for ; k != nil && len(out) < limit; k, v = next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if q.State != smsagent.StateUnknown {
				if _, st, ok := peekState(v); ok && st != q.State {
					continue
				}
			}
			r, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("message %s: %w", keyID(k), err)
			}
			r.adopt(s.opts.LegacyAccount)
			if q.State == smsagent.StateUnknown || r.State == q.State {
				out = append(out, r.Record)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: list: %w", err)
	}
	return out, nil
}

// Stats counts messages by state from counters kept in the same
// transactions as the records: O(1) however long the queue.
func (s *Store) Stats(ctx context.Context) (smsagent.Stats, error) {
	var c counters
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		c, err = readCounters(tx)
		return err
	})
	if err != nil {
		return smsagent.Stats{}, fmt.Errorf("outbox: stats: %w", err)
	}
	st := smsagent.Stats{ByState: make(map[smsagent.State]int), Awaiting: int(c.Awaiting), Events: int(c.Events)}
	for i, n := range c.ByState {
		if n != 0 {
			st.ByState[smsagent.State(i)] = int(n)
		}
	}
	return st, nil
}

// Retry makes a queued message due now, or puts a message that ended as
// failed, rejected, expired or undeliverable back in the queue with its
// attempts reset, a new concatenation reference and its parts forgotten
// (all are sent again; receipts for the old parts no longer match). Such a
// message gets a second report when it ends again, under the same message
// id with a later time.
func (s *Store) Retry(ctx context.Context, id smsagent.MessageID) error {
	if err := s.do(ctx, &retryOp{id: id}); err != nil {
		return fmt.Errorf("outbox: retry %s: %w", id, err)
	}
	return nil
}

type retryOp struct{ id smsagent.MessageID }

func (o *retryOp) apply(w *wtx) error {
	r, err := w.get(o.id)
	if err != nil {
		return err
	}
	if r == nil {
		return ErrNotFound
	}
	if !retryable(r.State) && r.State != smsagent.StateQueued {
		return &StateError{Op: "retry", ID: o.id, State: r.State}
	}
	return w.requeue(r)
}

// retryable lists the final states an operator may send again.
func retryable(st smsagent.State) bool {
	switch st {
	case smsagent.StateFailed, smsagent.StateRejected, smsagent.StateExpired, smsagent.StateUndeliverable:
		return true
	}
	return false
}

func (w *wtx) requeue(r *record) error {
	old := w.modify(r)
	r.Due = w.now
	if r.State != smsagent.StateQueued {
		if err := w.unbindKeys(r); err != nil {
			return err
		}
		w.c.ConcatRef++
		r.ConcatRef = w.c.ConcatRef
		r.State = smsagent.StateQueued
		r.Final = false
		r.Attempts = 0
		r.Parts, r.Keys = nil, nil
		r.Submitted, r.Done, r.Deadline = time.Time{}, time.Time{}, time.Time{}
		r.RoundTemp = false
		// The age limit counts again from now: the operator asked for
		// another try.
		r.Expires = expiresAt(&smsagent.Message{ReceivedAt: w.now, Validity: r.Validity}, w.s.opts.Retry.MaxAge)
	}
	return w.save(r, old)
}

// RetryFailed puts every message that ended as failed, rejected, expired or
// undeliverable back in the queue, as Retry does, and returns how many. It
// walks the done index in transactions of MaxOpsPerTx messages.
func (s *Store) RetryFailed(ctx context.Context) (int, error) {
	var total int
	var from []byte
	for {
		o := &retryFailedOp{from: from, n: s.opts.MaxOpsPerTx}
		if err := s.do(ctx, o); err != nil {
			return total, fmt.Errorf("outbox: retry failed: %w", err)
		}
		total += o.retried
		if o.next == nil {
			return total, nil
		}
		from = o.next
	}
}

type retryFailedOp struct {
	from    []byte // done-index key to resume after; nil for the start
	n       int
	retried int
	next    []byte
}

func (o *retryFailedOp) apply(w *wtx) error {
	o.retried, o.next = 0, nil
	var rs []*record
	var visited int
	var last []byte
	c := w.done.Cursor()
	k, _ := c.First()
	if o.from != nil {
		k, _ = c.Seek(o.from)
		if k != nil && bytes.Equal(k, o.from) {
			k, _ = c.Next()
		}
	}
	for ; k != nil && visited < o.n; k, _ = c.Next() {
		visited++
		last = bytes.Clone(k)
		r, err := w.get(keyID(k[8:]))
		if err != nil {
			return err
		}
		if r == nil {
			return corruptf("done index entry for missing message %s", keyID(k[8:]))
		}
		if retryable(r.State) {
			rs = append(rs, r)
		}
	}
	for _, r := range rs {
		if err := w.requeue(r); err != nil {
			return err
		}
	}
	o.retried = len(rs)
	if visited == o.n {
		o.next = last
	}
	return nil
}

// Cancel makes a message that is not final canceled, with a "canceled"
// report. Parts in flight may still be accepted by the SMSC: their late
// results and receipts are recorded on the part and change nothing else.
func (s *Store) Cancel(ctx context.Context, id smsagent.MessageID) error {
	if err := s.do(ctx, &cancelOp{id: id}); err != nil {
		return fmt.Errorf("outbox: cancel %s: %w", id, err)
	}
	return nil
}

type cancelOp struct{ id smsagent.MessageID }

func (o *cancelOp) apply(w *wtx) error {
	r, err := w.get(o.id)
	if err != nil {
		return err
	}
	if r == nil {
		return ErrNotFound
	}
	if r.Final {
		return &StateError{Op: "cancel", ID: o.id, State: r.State}
	}
	old := w.modify(r)
	markUnsent(r, smsagent.StateCanceled, "")
	if err := w.finish(r, smsagent.StateCanceled, 0, "canceled by the operator"); err != nil {
		return err
	}
	return w.save(r, old)
}
