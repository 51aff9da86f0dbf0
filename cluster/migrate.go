package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

// MigrateResult says what a migration moved.
type MigrateResult struct {
	// Messages moved from one queue to the other.
	Messages int
	// Indexed is the accepted parts whose SMSC ids were indexed in the
	// cluster (to jetstream): their messages stay in the node's outbox,
	// and their receipts find it from any node.
	Indexed int
	// Events are reports for this node's inbox/ moved out of the cluster
	// (to bbolt).
	Events int
}

// migratePage is how many messages one step of a migration moves.
const migratePage = 500

// MigrateIn moves the queued messages of a bbolt outbox that no SMSC
// accepted into the cluster's queue, under this node's name (their reports
// come back to its inbox/), and indexes the SMSC ids of the messages
// waiting for receipts. The agent must be stopped (the store is opened
// for writing). The messages get the cluster's ids: their reports carry
// new message ids, with the same client ids.
//
// Crash story: each page is published (ids "migrate-<node>-<old id>"),
// then removed from the outbox. A crash between the two leaves the page in
// the outbox; running the migration again within DuplicateWindow publishes
// it again under the same ids, which the stream stores once.
func (n *Node) MigrateIn(ctx context.Context, store *outbox.Store) (MigrateResult, error) {
	var res MigrateResult
	if err := n.ensure(ctx); err != nil {
		return res, fmt.Errorf("cluster: migrate: %w", err)
	}
	keys, err := store.AwaitingKeys(ctx)
	if err != nil {
		return res, fmt.Errorf("cluster: migrate: %w", err)
	}
	if err := n.Index(ctx, keys); err != nil {
		return res, fmt.Errorf("cluster: migrate: %w", err)
	}
	res.Indexed = len(keys)
	var after smsagent.MessageID
	for {
		page, err := store.List(ctx, outbox.ListQuery{State: smsagent.StateQueued, After: after, Limit: migratePage})
		if err != nil {
			return res, fmt.Errorf("cluster: migrate: %w", err)
		}
		if len(page) == 0 {
			return res, nil
		}
		after = page[len(page)-1].ID
		var ids []smsagent.MessageID
		var futures []jetstream.PubAckFuture
		var clientKeys []string
		for i := range page {
			r := &page[i]
			if !r.Submitted.IsZero() {
				continue // a part is accepted: the message is finished here
			}
			m := r.Message
			msgID := "migrate-" + n.opts.Node + "-" + strconv.FormatUint(uint64(m.ID), 10)
			m.ID, m.Origin = 0, n.opts.Node
			data, err := json.Marshal(wireMessage{V: wireVersion, M: m})
			if err != nil {
				return res, fmt.Errorf("cluster: migrate: %w", err)
			}
			subj := n.subjNormal
			if m.Priority == smsagent.PriorityHigh {
				subj = n.subjHigh
			}
			f, err := n.js.PublishMsgAsync(&nats.Msg{Subject: subj, Data: data}, jetstream.WithMsgID(msgID))
			if err != nil {
				return res, fmt.Errorf("cluster: migrate: %w", unavailable(err))
			}
			ids = append(ids, r.ID)
			futures = append(futures, f)
			clientKeys = append(clientKeys, m.IdempotencyKey())
		}
		seqs := make([]uint64, len(futures))
		wait, cancel := context.WithTimeout(ctx, publishTimeout)
		for i, f := range futures {
			select {
			case ack := <-f.Ok():
				seqs[i] = ack.Sequence
			case err := <-f.Err():
				cancel()
				return res, fmt.Errorf("cluster: migrate: %w", unavailable(err))
			case <-wait.Done():
				cancel()
				return res, fmt.Errorf("cluster: migrate: %w", unavailable(wait.Err()))
			}
		}
		cancel()
		// Client ids go along: a file with one of them dropped on any
		// node later is a duplicate, as it was here.
		for i, key := range clientKeys {
			if key == "" {
				continue
			}
			v := "migrate-" + n.opts.Node + "-" + strconv.FormatUint(uint64(ids[i]), 10) + " " + strconv.FormatUint(seqs[i], 10)
			if _, err := n.ids.Put(ctx, hashKey(key), []byte(v)); err != nil {
				return res, fmt.Errorf("cluster: migrate: %w", unavailable(err))
			}
		}
		removed, err := store.Migrated(ctx, ids)
		if err != nil {
			return res, fmt.Errorf("cluster: migrate: %w", err)
		}
		res.Messages += len(removed)
	}
}

// MigrateOut moves every message of the cluster's queue into a bbolt
// outbox (new ids there, origin cleared), and the reports waiting for this
// node's inbox/. Every agent of the cluster must be stopped: a running
// one would take messages meanwhile. Messages the nodes hold or sent stay
// in their outboxes.
//
// Crash story: each message is stored under the claim
// "migrate-<stream sequence>" and then acknowledged; a crash between the
// two delivers it again, and its claim is found taken.
func (n *Node) MigrateOut(ctx context.Context, store *outbox.Store) (MigrateResult, error) {
	var res MigrateResult
	if err := n.ensure(ctx); err != nil {
		return res, fmt.Errorf("cluster: migrate: %w", err)
	}
	for _, c := range []jetstream.Consumer{n.high, n.normal} {
		for {
			batch, err := c.Fetch(migratePage, jetstream.FetchMaxWait(time.Second))
			if err != nil {
				return res, fmt.Errorf("cluster: migrate: %w", unavailable(err))
			}
			msgs := collect(batch)
			if len(msgs) == 0 {
				break
			}
			for _, msg := range msgs {
				m, err := decodeMessage(msg)
				if err != nil {
					return res, fmt.Errorf("cluster: migrate: %w", err)
				}
				claim := "migrate-" + strconv.FormatUint(uint64(m.ID), 10)
				m.ID, m.Origin = 0, ""
				br, err := store.Enqueue(ctx, smsagent.Batch{Claim: claim, Messages: []smsagent.Message{m}})
				if err != nil {
					return res, fmt.Errorf("cluster: migrate: %w", err)
				}
				if err := msg.DoubleAck(ctx); err != nil {
					return res, fmt.Errorf("cluster: migrate: %w", unavailable(err))
				}
				if !br.AlreadyTaken {
					res.Messages++
				}
			}
		}
	}
	for {
		batch, err := n.events.Fetch(migratePage, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return res, fmt.Errorf("cluster: migrate: %w", unavailable(err))
		}
		msgs := collect(batch)
		if len(msgs) == 0 {
			return res, nil
		}
		var evs []outbox.ClaimedEvent
		for _, m := range msgs {
			var w wireEvent
			if err := json.Unmarshal(m.Data(), &w); err != nil || w.V < 1 || w.V > wireVersion {
				return res, errors.Join(errors.New("cluster: migrate: unreadable event"), err)
			}
			evs = append(evs, outbox.ClaimedEvent{Claim: eventClaim(m), Event: w.E})
		}
		if err := store.ImportEvents(ctx, evs); err != nil {
			return res, fmt.Errorf("cluster: migrate: %w", err)
		}
		for _, m := range msgs {
			if err := m.DoubleAck(ctx); err != nil {
				return res, fmt.Errorf("cluster: migrate: %w", unavailable(err))
			}
		}
		res.Events += len(msgs)
	}
}

// eventClaim names an event's delivery for outbox.ImportEvents: its
// Nats-Msg-Id, which every publish of an event carries.
func eventClaim(m jetstream.Msg) string {
	if id := m.Headers().Get(jetstream.MsgIDHeader); id != "" {
		return "cluster-event-" + id
	}
	md, err := m.Metadata()
	if err != nil {
		return "cluster-event-unknown"
	}
	return "cluster-event-seq-" + strconv.FormatUint(md.Sequence.Stream, 10)
}
