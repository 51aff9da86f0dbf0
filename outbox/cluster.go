package outbox

import (
	"context"
	"fmt"

	"github.com/smsagent/smsagent"
	bolt "go.etcd.io/bbolt"
)

// The operations of this file serve the store backend jetstream: there the
// queue shared by the nodes is a JetStream stream, and each node's outbox
// holds only what the node took from it (Import) until it is accepted by
// an SMSC or final, plus the reports other nodes made for messages this
// node's intake took (ImportEvents). The ids are the cluster's (the
// stream's sequence numbers), never the outbox's own counter.

// Holding says what a node's outbox holds of a message taken from the
// shared queue.
type Holding struct {
	// Stored is false when the outbox has no record of the id.
	Stored bool
	// Accepted: an SMSC accepted a part (the record has Submitted). From
	// then on the message is finished by this node, never sent by another.
	Accepted bool
	// Final: the message has its final state and report.
	Final bool
}

// Import stores messages taken from the shared queue, each under the id it
// carries (non-zero, unique in the cluster), queued and due at its send_at
// or now. A message whose id is already stored is left as it is: the
// queue delivered it again, and its Holding says what became of it. The
// client id index is not used: the cluster deduplicates at intake.
//
// Crash story: the node holds the queue's delivery of each message until
// it is accepted or final; a crash before this commit leaves the delivery
// unanswered and the queue gives it again (to this or another node) after
// the takeover time; after it, ReleaseQueued at the next start removes
// what was not accepted, since the queue gives those again too.
func (s *Store) Import(ctx context.Context, ms []smsagent.Message) ([]Holding, error) {
	for i := range ms {
		m := &ms[i]
		if m.ID == 0 {
			return nil, invalidf("imported message %d has no id", i+1)
		}
		if err := m.Validate(); err != nil {
			return nil, invalidf("imported message %s: %v", m.ID, err)
		}
		if m.Priority > smsagent.PriorityHigh {
			return nil, invalidf("imported message %s: unknown priority %d", m.ID, m.Priority)
		}
	}
	o := &importOp{ms: ms}
	if err := s.do(ctx, o); err != nil {
		return nil, fmt.Errorf("outbox: import: %w", err)
	}
	return o.out, nil
}

type importOp struct {
	ms  []smsagent.Message
	out []Holding
}

func (o *importOp) apply(w *wtx) error {
	o.out = make([]Holding, len(o.ms))
	maxAge := w.s.opts.Retry.MaxAge
	for i := range o.ms {
		m := o.ms[i]
		r, err := w.get(m.ID)
		if err != nil {
			return err
		}
		if r != nil {
			o.out[i] = holdingOf(r)
			continue
		}
		// The id counter stays above every stored id (Check's rule): a
		// message this outbox numbers itself later (after a migration
		// back to bbolt) never takes a cluster's id.
		w.c.NextID = max(w.c.NextID, uint64(m.ID))
		// Due now: the cluster gave it when it was due.
		if err := w.insertQueued(&m, w.now, maxAge); err != nil {
			return err
		}
		o.out[i] = Holding{}
	}
	return nil
}

func holdingOf(r *record) Holding {
	return Holding{Stored: true, Accepted: !r.Submitted.IsZero(), Final: r.Final}
}

// Holdings says, for each id, what the outbox holds of it.
func (s *Store) Holdings(ctx context.Context, ids []smsagent.MessageID) ([]Holding, error) {
	out := make([]Holding, len(ids))
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktMessages)
		for i, id := range ids {
			v := b.Get(idKey(id))
			if v == nil {
				continue
			}
			r, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("message %s: %w", id, err)
			}
			out[i] = holdingOf(r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: holdings: %w", err)
	}
	return out, nil
}

// Release removes messages taken from the shared queue that are queued and
// were never accepted by an SMSC: the node gives them up because its hold
// on the queue's delivery lapsed, so another node may send them. Messages
// being sent, accepted or final stay. It returns the ids removed; no
// report is made for them (the node that sends them makes it).
func (s *Store) Release(ctx context.Context, ids []smsagent.MessageID) ([]smsagent.MessageID, error) {
	o := &releaseOp{ids: ids, imported: true}
	if err := s.do(ctx, o); err != nil {
		return nil, fmt.Errorf("outbox: release: %w", err)
	}
	return o.out, nil
}

// ReleaseQueued releases every queued message taken from the shared queue
// that no SMSC accepted: at a node's start, when the deliveries it held
// before are the queue's to give again.
func (s *Store) ReleaseQueued(ctx context.Context) ([]smsagent.MessageID, error) {
	var ids []smsagent.MessageID
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bktDue).ForEach(func(k, _ []byte) error {
			ids = append(ids, keyID(k[9:]))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: release queued: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return s.Release(ctx, ids)
}

// Migrated removes queued messages no SMSC accepted, whatever their
// origin: `smsagent migrate --to jetstream` moved them into the cluster's
// queue. It returns the ids removed.
func (s *Store) Migrated(ctx context.Context, ids []smsagent.MessageID) ([]smsagent.MessageID, error) {
	o := &releaseOp{ids: ids}
	if err := s.do(ctx, o); err != nil {
		return nil, fmt.Errorf("outbox: migrated: %w", err)
	}
	return o.out, nil
}

// AwaitingKeys lists the SMSC index keys of the accepted parts of messages
// waiting for receipts: a node moving into a cluster indexes them there,
// so their receipts find it from any node's binds.
func (s *Store) AwaitingKeys(ctx context.Context) ([]string, error) {
	var keys []string
	err := s.view(func(tx *bolt.Tx) error {
		msgs := tx.Bucket(bktMessages)
		return tx.Bucket(bktAwaiting).ForEach(func(k, _ []byte) error {
			id := keyID(k[8:])
			v := msgs.Get(idKey(id))
			if v == nil {
				return corruptf("awaiting index entry for message %s without a record", id)
			}
			r, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("message %s: %w", id, err)
			}
			for _, key := range r.Keys {
				if key != "" {
					keys = append(keys, key)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: awaiting keys: %w", err)
	}
	return keys, nil
}

type releaseOp struct {
	ids []smsagent.MessageID
	out []smsagent.MessageID
	// imported: only messages taken from a cluster's queue (Origin set).
	imported bool
}

func (o *releaseOp) apply(w *wtx) error {
	o.out = o.out[:0]
	for _, id := range o.ids {
		r, err := w.get(id)
		if err != nil {
			return err
		}
		if r == nil || (o.imported && r.Origin == "") || r.State != smsagent.StateQueued || r.Final || !r.Submitted.IsZero() {
			continue
		}
		if err := w.remove(r); err != nil {
			return err
		}
		o.out = append(o.out, id)
	}
	return nil
}

// ClaimedEvent is an event another node made for this node's inbox/,
// with the claim that names its delivery.
type ClaimedEvent struct {
	Claim string
	Event smsagent.Event
}

// ImportEvents stores events other nodes made for this node's inbox/
// (reports of messages this node's intake took), each once: an event
// whose claim was stored before is skipped (the cluster delivered it
// again). The node that made them owed their callbacks and webhook calls
// already, so none are made here.
//
// Crash story: the delivery is acknowledged after this commit; a crash
// before it brings the event again, and its claim finds it stored.
func (s *Store) ImportEvents(ctx context.Context, evs []ClaimedEvent) error {
	for _, e := range evs {
		if e.Claim == "" || len(e.Claim) > maxClaimLen {
			return invalidf("events claim must have 1 to %d bytes, has %d", maxClaimLen, len(e.Claim))
		}
	}
	if err := s.do(ctx, &importEventsOp{evs: evs}); err != nil {
		return fmt.Errorf("outbox: import events: %w", err)
	}
	return nil
}

type importEventsOp struct {
	evs []ClaimedEvent
}

func (o *importEventsOp) apply(w *wtx) error {
	for i := range o.evs {
		claim := []byte(o.evs[i].Claim)
		if w.value(w.taken, claim) != nil {
			continue
		}
		if rep := o.evs[i].Event.Report; rep != nil && rep.MessageID != 0 {
			first, err := w.firstReport(rep.MessageID)
			if err != nil {
				return err
			}
			if !first {
				// The message's report is written already: another node
				// (or this one) sent it too and reported first.
				if err := w.takeClaim(o.evs[i].Claim); err != nil {
					return err
				}
				continue
			}
		}
		ev := o.evs[i].Event // a copy: storeEvent gives it this outbox's sequence
		if err := w.storeEvent(&ev); err != nil {
			return err
		}
		if err := w.takeClaim(o.evs[i].Claim); err != nil {
			return err
		}
	}
	return nil
}

// takeClaim records a claim as taken, pruned after the retention.
func (w *wtx) takeClaim(claim string) error {
	if err := w.put(w.taken, []byte(claim), be64(nil, timeKey(w.now))); err != nil {
		return err
	}
	return w.put(w.takenAge, timeNameKey(w.now, claim), empty)
}

// firstReport records that message id's report is made here, and says
// whether it is the first: a message of a cluster's queue may be finished
// by two nodes (sent twice after a takeover), and its origin writes one
// report.
func (w *wtx) firstReport(id smsagent.MessageID) (bool, error) {
	claim := "report-" + id.String()
	if w.value(w.taken, []byte(claim)) != nil {
		return false, nil
	}
	return true, w.takeClaim(claim)
}

// Indexed says, for each SMSC index key, whether a part of this outbox is
// stored under it: a receipt whose exact key is here is applied here
// without asking the cluster.
func (s *Store) Indexed(ctx context.Context, keys []string) ([]bool, error) {
	out := make([]bool, len(keys))
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSMSC)
		for i, k := range keys {
			out[i] = k != "" && b.Get([]byte(k)) != nil
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: indexed: %w", err)
	}
	return out, nil
}
