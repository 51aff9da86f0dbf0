package outbox

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smsagent/smsagent"
	bolt "go.etcd.io/bbolt"
)

// Enqueue stores every message of b, the taken-record of b.Claim and, when
// some client ids were already stored, one duplicate event for the file
// (none for a batch without File: a request's caller is answered), in one
// transaction. A message whose idempotency key (client id and
// recipient) is in the outbox, or earlier in the same batch, is not stored:
// its IDs entry is zero and it is listed in Duplicates. If b.Claim is
// already recorded, nothing is stored and AlreadyTaken is set.
//
// Crash story: the spool removes the claimed file only after Enqueue
// returns. A crash before the commit leaves no trace and the file is
// processed again; after it, Taken(claim) is true and the file is finished
// without a second enqueue.
func (s *Store) Enqueue(ctx context.Context, b smsagent.Batch) (smsagent.BatchResult, error) {
	if err := validateBatch(&b); err != nil {
		return smsagent.BatchResult{}, err
	}
	o := &enqueueOp{b: b}
	if err := s.do(ctx, o); err != nil {
		return smsagent.BatchResult{}, fmt.Errorf("outbox: enqueue %s: %w", b.Claim, err)
	}
	return o.res, nil
}

func validateBatch(b *smsagent.Batch) error {
	if b.Claim == "" || len(b.Claim) > maxClaimLen {
		return invalidf("batch claim must have 1 to %d bytes, has %d", maxClaimLen, len(b.Claim))
	}
	for i := range b.Messages {
		m := &b.Messages[i]
		if err := m.Validate(); err != nil {
			return invalidf("message %d of %s: %v", i+1, b.File, err)
		}
		if m.Priority > smsagent.PriorityHigh {
			return invalidf("message %d of %s: unknown priority %d", i+1, b.File, m.Priority)
		}
	}
	return nil
}

type enqueueOp struct {
	b   smsagent.Batch
	res smsagent.BatchResult
}

func (o *enqueueOp) apply(w *wtx) error {
	o.res = smsagent.BatchResult{}
	claim := []byte(o.b.Claim)
	if w.value(w.taken, claim) != nil {
		o.res.AlreadyTaken = true
		return nil
	}
	o.res.IDs = make([]smsagent.MessageID, len(o.b.Messages))
	maxAge := w.s.opts.Retry.MaxAge
	// Client keys are inserted after the loop in key order: bbolt splits
	// nodes only at commit, so a large batch of keys in random order would
	// shift one huge in-memory node on every insert.
	var keys []clientKey
	var batchKeys map[string]smsagent.MessageID
	for i := range o.b.Messages {
		m := o.b.Messages[i] // a copy: the caller's batch is not changed
		key := m.IdempotencyKey()
		if key != "" {
			prev, ok := batchKeys[key]
			if !ok {
				if v := w.value(w.client, []byte(key)); v != nil {
					prev, ok = keyID(v), true
				}
			}
			if ok {
				o.res.Duplicates = append(o.res.Duplicates, smsagent.DuplicateEntry{
					ID: m.ClientID, MessageID: prev, To: m.To.String(),
				})
				continue
			}
		}
		w.c.NextID++
		m.ID = smsagent.MessageID(w.c.NextID)
		if m.File == "" {
			m.File = o.b.File
		}
		if err := w.insertQueued(&m, time.Time{}, maxAge); err != nil {
			return err
		}
		if key != "" {
			if batchKeys == nil {
				batchKeys = make(map[string]smsagent.MessageID)
			}
			batchKeys[key] = m.ID
			keys = append(keys, clientKey{key, m.ID})
		}
		o.res.IDs[i] = m.ID
	}
	slices.SortFunc(keys, func(a, b clientKey) int { return strings.Compare(a.key, b.key) })
	for _, k := range keys {
		if err := w.put(w.client, []byte(k.key), idKey(k.id)); err != nil {
			return err
		}
	}
	// A batch from a request (no file) answers its duplicates to the
	// caller: a notice in inbox/ would have no file to name.
	if len(o.res.Duplicates) > 0 && o.b.File != "" {
		err := w.addEvent(&smsagent.Event{
			Kind: smsagent.EventDuplicate,
			Time: w.now,
			Duplicate: &smsagent.Duplicate{
				Type: "duplicate", File: o.b.File, Messages: o.res.Duplicates, Time: w.now,
			},
		})
		if err != nil {
			return err
		}
	}
	if err := w.put(w.taken, claim, be64(nil, timeKey(w.now))); err != nil {
		return err
	}
	return w.put(w.takenAge, timeNameKey(w.now, o.b.Claim), empty)
}

// insertQueued stores m as a new queued record, due at due (zero: when
// it was received) or its send_at if later, with the defaults a stored
// message has. m is updated to what is stored.
func (w *wtx) insertQueued(m *smsagent.Message, due time.Time, maxAge time.Duration) error {
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = w.now
	}
	m.ReceivedAt = m.ReceivedAt.Round(0)
	if m.Encoding == "" {
		m.Encoding = smsagent.EncodingAuto
	}
	if len(m.UDH) == 0 {
		m.UDH = nil
	}
	if due.IsZero() {
		due = m.ReceivedAt
	}
	w.c.ConcatRef++
	r := &record{Record: smsagent.Record{
		Message:   *m,
		State:     smsagent.StateQueued,
		Due:       due,
		ConcatRef: w.c.ConcatRef,
	}}
	if m.SendAt.After(r.Due) {
		r.Due = m.SendAt.Round(0)
	}
	r.Expires = expiresAt(m, maxAge)
	return w.insert(r)
}

type clientKey struct {
	key string
	id  smsagent.MessageID
}

// Taken reports whether a batch with this claim was stored (and not yet
// pruned after the retention period).
func (s *Store) Taken(ctx context.Context, claim string) (bool, error) {
	var ok bool
	err := s.view(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bktTaken).Get([]byte(claim)) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("outbox: taken %s: %w", claim, err)
	}
	return ok, nil
}
