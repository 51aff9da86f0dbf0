package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

// UnroutedWait is how long a receipt whose SMSC id nobody indexed yet is
// looked up again (its submit_sm_resp may still be on its way to the
// index) before it is applied where it arrived, and so parked and then
// reported as unmatched there.
const UnroutedWait = time.Minute

type wireReceipt struct {
	V int              `json:"v"`
	R smsagent.Receipt `json:"r"`
	// Arrived is the node whose bind the receipt came on, Since when.
	Arrived string    `json:"arrived"`
	Since   time.Time `json:"since"`
}

type wireEvent struct {
	V int            `json:"v"`
	E smsagent.Event `json:"e"`
}

// Index records that this node holds the messages of these accepted parts'
// SMSC index keys, so receipts arriving on other nodes come here.
func (n *Node) Index(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := n.ensure(ctx); err != nil {
		return fmt.Errorf("cluster: index: %w", err)
	}
	futures := make([]jetstream.PubAckFuture, 0, len(keys))
	for _, k := range keys {
		subj := "$KV." + n.opts.Prefix + "_sids." + hashKey(k)
		f, err := n.js.PublishMsgAsync(&nats.Msg{Subject: subj, Data: []byte(n.opts.Node)})
		if err != nil {
			return fmt.Errorf("cluster: index: %w", unavailable(err))
		}
		futures = append(futures, f)
	}
	return n.awaitAll(ctx, futures, "index")
}

func (n *Node) awaitAll(ctx context.Context, fs []jetstream.PubAckFuture, what string) error {
	wait, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	for _, f := range fs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("cluster: %s: %w", what, unavailable(err))
		case <-wait.Done():
			return fmt.Errorf("cluster: %s: %w", what, unavailable(wait.Err()))
		}
	}
	return nil
}

// owner is the node that indexed one of the keys, "" when none did.
func (n *Node) owner(ctx context.Context, keys []string) (string, error) {
	for _, k := range keys {
		e, err := n.sids.Get(ctx, hashKey(k))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return "", unavailable(err)
		}
		return string(e.Value()), nil
	}
	return "", nil
}

// RouteReceipts sends each receipt to the node that holds its message and
// returns the indexes of those to apply here: indexed here (here[i], from
// the node's own outbox), indexed by this node in the cluster, or without
// a key (they can only become unmatched reports). A receipt whose key
// nobody indexed yet goes to the cluster's unrouted receipts. The caller
// acknowledges the deliver_sm once this returns without error: the
// receipts forwarded are stored in the cluster.
func (n *Node) RouteReceipts(ctx context.Context, rs []smsagent.Receipt, here []bool) (local []int, err error) {
	if err := n.ensure(ctx); err != nil {
		return nil, fmt.Errorf("cluster: route receipts: %w", err)
	}
	owners := make([]string, len(rs))
	var ask []int
	for i := range rs {
		switch {
		case len(rs[i].Keys) == 0 || (i < len(here) && here[i]):
			owners[i] = n.opts.Node
		default:
			ask = append(ask, i)
		}
	}
	// The exact id only: a converted one (hex read as decimal) may name
	// another message whose id looks alike, while this one's
	// submit_sm_resp is still on its way to the index.
	if err := n.lookupOwners(ctx, rs, ask, owners); err != nil {
		return nil, fmt.Errorf("cluster: route receipts: %w", err)
	}
	var futures []jetstream.PubAckFuture
	now := n.opts.Clock()
	for i := range rs {
		if owners[i] == n.opts.Node {
			local = append(local, i)
			continue
		}
		subj := n.opts.Prefix + ".unrouted"
		if owners[i] != "" {
			subj = n.receiptSubject(owners[i])
		}
		f, err := n.publishReceipt(subj, wireReceipt{V: wireVersion, R: rs[i], Arrived: n.opts.Node, Since: now})
		if err != nil {
			return nil, fmt.Errorf("cluster: route receipts: %w", unavailable(err))
		}
		futures = append(futures, f)
	}
	if err := n.awaitAll(ctx, futures, "route receipts"); err != nil {
		return nil, err
	}
	n.receiptsOut.Add(uint64(len(futures)))
	return local, nil
}

// lookers bounds the index lookups of one batch of receipts in flight.
const lookers = 16

// lookupOwners fills owners[i] for each i of ask from the index (exact
// key), lookers at a time.
func (n *Node) lookupOwners(ctx context.Context, rs []smsagent.Receipt, ask []int, owners []string) error {
	if len(ask) == 0 {
		return nil
	}
	work := make(chan int)
	errs := make(chan error, lookers)
	var wg sync.WaitGroup
	for range min(lookers, len(ask)) {
		wg.Go(func() {
			for i := range work {
				o, err := n.owner(ctx, rs[i].Keys[:1])
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				owners[i] = o
			}
		})
	}
	for _, i := range ask {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func (n *Node) publishReceipt(subj string, w wireReceipt) (jetstream.PubAckFuture, error) {
	data, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	// The same receipt delivered again by the SMSC (its answer was lost)
	// is stored once; the outbox would find it repeated anyway.
	id := hashKey("receipt", w.Arrived, subj, string(data))
	return n.js.PublishMsgAsync(&nats.Msg{Subject: subj, Data: data}, jetstream.WithMsgID(id))
}

// RunReceipts applies the receipts other nodes routed here, until ctx
// ends. apply stores them (outbox.ApplyReceipts); each delivery is
// acknowledged after that commit.
func (n *Node) RunReceipts(ctx context.Context, apply func(context.Context, []smsagent.Receipt) error) {
	n.consume(ctx, func() jetstream.Consumer { return n.receipts }, func(msgs []jetstream.Msg) {
		rs := make([]smsagent.Receipt, 0, len(msgs))
		keep := make([]jetstream.Msg, 0, len(msgs))
		for _, m := range msgs {
			var w wireReceipt
			if err := json.Unmarshal(m.Data(), &w); err != nil || w.V < 1 || w.V > wireVersion {
				n.log.Error("cluster: unreadable receipt from another node; dropped", "err", err, "version", w.V)
				_ = m.Term()
				continue
			}
			rs = append(rs, w.R)
			keep = append(keep, m)
		}
		n.settleBatch(keep, apply(ctx, rs), "receipts", &n.receiptsIn)
	})
}

// settleBatch answers the deliveries of a batch stored (err nil: ack,
// counted in stored) or not (nak: offered again in a second).
func (n *Node) settleBatch(keep []jetstream.Msg, err error, what string, stored *atomic.Uint64) {
	if err != nil {
		n.log.Error("cluster: "+what+" from other nodes not stored; offered again", "count", len(keep), "err", err)
		for _, m := range keep {
			_ = m.NakWithDelay(time.Second)
		}
		return
	}
	for _, m := range keep {
		_ = m.Ack()
	}
	stored.Add(uint64(len(keep)))
}

// RunUnrouted looks up again the receipts nobody had indexed, until ctx
// ends: found, they go to their node; after UnroutedWait, to the node they
// arrived on.
func (n *Node) RunUnrouted(ctx context.Context) {
	n.consume(ctx, func() jetstream.Consumer { return n.unrouted }, func(msgs []jetstream.Msg) {
		for _, m := range msgs {
			var w wireReceipt
			if err := json.Unmarshal(m.Data(), &w); err != nil || w.V < 1 || w.V > wireVersion {
				n.log.Error("cluster: unreadable unrouted receipt; dropped", "err", err)
				_ = m.Term()
				continue
			}
			// Converted ids (an SMSC that writes receipts in another base)
			// count only after half the wait, when the exact one had its
			// time to be indexed.
			keys := w.R.Keys[:1]
			if n.opts.Clock().Sub(w.Since) >= UnroutedWait/2 {
				keys = w.R.Keys
			}
			node, err := n.owner(ctx, keys)
			if err != nil {
				_ = m.NakWithDelay(time.Second)
				continue
			}
			if node == "" && n.opts.Clock().Sub(w.Since) < UnroutedWait {
				delay := 250 * time.Millisecond
				if md, err := m.Metadata(); err == nil {
					delay = min(delay<<min(md.NumDelivered, 5), 5*time.Second)
				}
				_ = m.NakWithDelay(delay)
				continue
			}
			if node == "" {
				node = w.Arrived
			}
			f, err := n.publishReceipt(n.receiptSubject(node), w)
			if err == nil {
				err = n.awaitAll(ctx, []jetstream.PubAckFuture{f}, "route receipt")
			}
			if err != nil {
				_ = m.NakWithDelay(time.Second)
				continue
			}
			_ = m.Ack()
		}
	})
}

// EventTarget is the node whose inbox/ an event belongs in: a report's
// origin, incoming SMS's incoming_node; "" for this node.
func (n *Node) EventTarget(ev *smsagent.Event) string {
	target := ""
	switch {
	case ev.Kind == smsagent.EventReport && ev.Report != nil:
		target = ev.Report.Node
	case ev.Kind == smsagent.EventMO:
		target = n.opts.IncomingNode
	}
	if target == n.opts.Node {
		return ""
	}
	return target
}

// ForwardEvents publishes events to the nodes whose inbox/ they belong in
// (EventTarget), durably: the caller forgets them after this returns.
func (n *Node) ForwardEvents(ctx context.Context, evs []smsagent.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := n.ensure(ctx); err != nil {
		return fmt.Errorf("cluster: forward events: %w", err)
	}
	futures := make([]jetstream.PubAckFuture, 0, len(evs))
	for i := range evs {
		ev := &evs[i]
		data, err := json.Marshal(wireEvent{V: wireVersion, E: *ev})
		if err != nil {
			return fmt.Errorf("cluster: forward events: %w", err)
		}
		// The event's sequence is this node's: a repeat after a crash
		// before EventsWritten has the same id.
		id := hashKey("event", n.opts.Node, strconv.FormatUint(ev.Seq, 10), ev.Subject)
		f, err := n.js.PublishMsgAsync(&nats.Msg{Subject: n.eventSubject(n.EventTarget(ev)), Data: data}, jetstream.WithMsgID(id))
		if err != nil {
			return fmt.Errorf("cluster: forward events: %w", unavailable(err))
		}
		futures = append(futures, f)
	}
	if err := n.awaitAll(ctx, futures, "forward events"); err != nil {
		return err
	}
	n.eventsOut.Add(uint64(len(futures)))
	return nil
}

// publishEvent publishes one event to a node's events, with id.
func (n *Node) publishEvent(ctx context.Context, node, id string, ev *smsagent.Event) error {
	data, err := json.Marshal(wireEvent{V: wireVersion, E: *ev})
	if err != nil {
		return err
	}
	f, err := n.js.PublishMsgAsync(&nats.Msg{Subject: n.eventSubject(node), Data: data}, jetstream.WithMsgID(id))
	if err != nil {
		return err
	}
	return n.awaitAll(ctx, []jetstream.PubAckFuture{f}, "event")
}

// EventImporter is what RunEvents needs of the outbox.
type EventImporter interface {
	ImportEvents(ctx context.Context, evs []outbox.ClaimedEvent) error
}

// RunEvents imports the events other nodes made for this node's inbox/
// into its outbox, until ctx ends; each delivery is acknowledged after the
// commit.
func (n *Node) RunEvents(ctx context.Context, local EventImporter) {
	n.consume(ctx, func() jetstream.Consumer { return n.events }, func(msgs []jetstream.Msg) {
		evs := make([]outbox.ClaimedEvent, 0, len(msgs))
		keep := make([]jetstream.Msg, 0, len(msgs))
		for _, m := range msgs {
			var w wireEvent
			if err := json.Unmarshal(m.Data(), &w); err != nil || w.V < 1 || w.V > wireVersion {
				n.log.Error("cluster: unreadable event from another node; dropped", "err", err)
				_ = m.Term()
				continue
			}
			evs = append(evs, outbox.ClaimedEvent{Claim: eventClaim(m), Event: w.E})
			keep = append(keep, m)
		}
		n.settleBatch(keep, local.ImportEvents(ctx, evs), "events", &n.eventsIn)
	})
}

// consume fetches from a consumer in batches and hands them to handle,
// until ctx ends. The consumer is read through get: it exists once the
// node is ready.
func (n *Node) consume(ctx context.Context, get func() jetstream.Consumer, handle func([]jetstream.Msg)) {
	for ctx.Err() == nil {
		if err := n.ensure(ctx); err != nil {
			sleep(ctx, time.Second)
			continue
		}
		n.mu.Lock()
		c := get()
		n.mu.Unlock()
		batch, err := c.Fetch(256, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			sleep(ctx, 250*time.Millisecond)
			continue
		}
		if msgs := collect(batch); len(msgs) > 0 {
			handle(msgs)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
