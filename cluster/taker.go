package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

// Local is what the taker needs of the node's outbox.
type Local interface {
	Import(ctx context.Context, ms []smsagent.Message) ([]outbox.Holding, error)
	Holdings(ctx context.Context, ids []smsagent.MessageID) ([]outbox.Holding, error)
	Release(ctx context.Context, ids []smsagent.MessageID) ([]smsagent.MessageID, error)
}

// TakerOptions configure RunTaker.
type TakerOptions struct {
	Local Local
	// CanTake says whether this node can send now (an account is up with a
	// bound session). A node that cannot for a quarter of the takeover
	// time gives back what it holds.
	CanTake func() bool
	// Max is how many deliveries the node holds at most: what its windows
	// send in a second or two. It bounds what a partition can send twice.
	Max int
	// Imported is called after messages were imported (wake the
	// dispatcher).
	Imported func()
	// MaxUnconfirmed is how many acknowledgements may wait for the
	// server's confirmation before HoldConfirmed turns false: the node's
	// submit budget (sessions × window + max_uncommitted). It bounds what a
	// node cut off from the cluster has accepted and not told it.
	MaxUnconfirmed int
}

// TakerStats are the taker's figures for the status.
type TakerStats struct {
	Held      int       // deliveries held (imported, not yet accepted or final)
	Taken     uint64    // messages imported
	Released  uint64    // given back: a lapsed hold, no session, or the stop
	LastRenew time.Time // the last renewal the cluster confirmed
}

// taker is RunTaker's state; one goroutine owns it.
type taker struct {
	n         *Node
	o         TakerOptions
	held      map[smsagent.MessageID]jetstream.Msg
	lastRenew time.Time
	cannot    time.Time // since when CanTake is false; zero while it is true
	lastScan  time.Time // the last acknowledge run by check
	settle    chan struct{}
}

// RunTaker takes due messages from the shared queue into the node's
// outbox and holds their deliveries until each is accepted or final, until
// ctx ends; then it gives back what no SMSC accepted (released from the
// outbox, redelivered at once to the other nodes). Settled wakes it to
// acknowledge at once what was accepted.
func (n *Node) RunTaker(ctx context.Context, o TakerOptions) {
	if o.Max <= 0 {
		o.Max = 256
	}
	if o.MaxUnconfirmed <= 0 {
		o.MaxUnconfirmed = o.Max
	}
	n.maxUnconfirmed.Store(int64(o.MaxUnconfirmed))
	t := &taker{n: n, o: o, held: make(map[smsagent.MessageID]jetstream.Msg), settle: n.settled}
	t.lastRenew = n.opts.Clock()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	renewEvery := n.opts.TakeoverAfter / 4
	for {
		now := n.opts.Clock()
		if now.Sub(t.lastRenew) >= renewEvery || len(t.held) == 0 {
			t.renew(now)
		} else {
			t.confirm(now)
		}
		t.check(ctx, now)
		if room := o.Max - len(t.held); room > 0 && t.cannot.IsZero() && n.Ready() == nil && ctx.Err() == nil {
			if t.take(ctx, room) {
				continue
			}
		}
		select {
		case <-ctx.Done():
			t.giveBack(context.WithoutCancel(ctx), "the agent stops", true)
			return
		case <-tick.C:
		case <-t.settle:
			t.acknowledge(ctx)
		}
	}
}

// Accepted tells the taker that these messages were accepted or became
// final: until it has acknowledged them they count as unconfirmed
// (HoldConfirmed).
func (n *Node) Accepted(ids []uint64) {
	n.acceptedMu.Lock()
	if n.accepted == nil {
		n.accepted = make(map[uint64]struct{})
	}
	for _, id := range ids {
		n.accepted[id] = struct{}{}
	}
	n.nAccepted.Store(int64(len(n.accepted)))
	n.acceptedMu.Unlock()
	n.Settled()
}

// acknowledged forgets accepted messages the taker acknowledged, or that
// it never held (not taken from the queue).
func (n *Node) acknowledged(held func(uint64) bool) {
	n.acceptedMu.Lock()
	for id := range n.accepted {
		if !held(id) {
			delete(n.accepted, id)
		}
	}
	n.nAccepted.Store(int64(len(n.accepted)))
	n.acceptedMu.Unlock()
}

// Settled tells the taker that messages were accepted or became final.
func (n *Node) Settled() {
	select {
	case n.settled <- struct{}{}:
	default:
	}
}

// TakerStats returns the taker's figures.
func (n *Node) TakerStats() TakerStats {
	n.statsMu.Lock()
	defer n.statsMu.Unlock()
	return n.stats
}

func (t *taker) publishStats() {
	t.n.statsMu.Lock()
	t.n.stats.Held = len(t.held)
	t.n.stats.LastRenew = t.lastRenew
	t.n.statsMu.Unlock()
}

// take fetches up to room messages, high priority first, and imports them.
func (t *taker) take(ctx context.Context, room int) bool {
	// No waiting fetch: the loop must answer Settled at once, since an
	// acknowledgement held back is a message another node would send
	// again if this one were cut off now.
	var msgs []jetstream.Msg
	for _, c := range []jetstream.Consumer{t.n.high, t.n.normal} {
		batch, err := c.FetchNoWait(room)
		if err != nil {
			t.n.log.Debug("cluster: fetch", "err", err)
			continue
		}
		if msgs = collect(batch); len(msgs) > 0 {
			break
		}
	}
	if len(msgs) == 0 {
		return false
	}
	now := t.n.opts.Clock()
	ms := make([]smsagent.Message, 0, len(msgs))
	keep := make([]jetstream.Msg, 0, len(msgs))
	for _, msg := range msgs {
		m, err := decodeMessage(msg)
		if err != nil {
			// A message no node can read cannot be sent: it is taken out
			// of the queue, loudly, rather than offered for ever.
			t.n.log.Error("cluster: unreadable message in the queue; removed", "err", err)
			_ = msg.Term()
			continue
		}
		if wait := m.SendAt.Sub(now); wait > t.n.opts.TakeoverAfter/2 {
			// Not due for a while: the queue keeps it, and gives it again
			// when it is.
			_ = msg.NakWithDelay(wait)
			continue
		}
		ms = append(ms, m)
		keep = append(keep, msg)
	}
	if len(ms) == 0 {
		return true
	}
	hs, err := t.o.Local.Import(ctx, ms)
	if err != nil {
		t.n.log.Error("cluster: cannot import messages from the queue; given back", "count", len(ms), "err", err)
		for _, msg := range keep {
			_ = msg.NakWithDelay(time.Second)
		}
		return false
	}
	imported := 0
	for i, h := range hs {
		if h.Accepted || h.Final {
			// Delivered again after this node sent it: done here.
			_ = keep[i].Ack()
			continue
		}
		t.held[ms[i].ID] = keep[i]
		imported++
	}
	t.n.statsMu.Lock()
	t.n.stats.Taken += uint64(imported)
	t.n.statsMu.Unlock()
	t.publishStats()
	if imported > 0 && t.o.Imported != nil {
		t.o.Imported()
	}
	return true
}

func collect(b jetstream.MessageBatch) []jetstream.Msg {
	var out []jetstream.Msg
	for m := range b.Messages() {
		out = append(out, m)
	}
	return out
}

func decodeMessage(msg jetstream.Msg) (smsagent.Message, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return smsagent.Message{}, err
	}
	var w wireMessage
	if err := json.Unmarshal(msg.Data(), &w); err != nil {
		return smsagent.Message{}, fmt.Errorf("message %d: %w", meta.Sequence.Stream, err)
	}
	if w.V < 1 || w.V > wireVersion {
		return smsagent.Message{}, fmt.Errorf("message %d: version %d is newer than this release reads", meta.Sequence.Stream, w.V)
	}
	m := w.M
	if string(m.Meta) == "null" {
		m.Meta = nil // encoding/json's form of an absent meta
	}
	if m.ID == 0 {
		m.ID = smsagent.MessageID(meta.Sequence.Stream)
	}
	return m, nil
}

// check looks at the node's state: a node that cannot send gives back what
// it holds; a hold not renewed for half the takeover time has lapsed.
func (t *taker) check(ctx context.Context, now time.Time) {
	if t.o.CanTake == nil || t.o.CanTake() {
		t.cannot = time.Time{}
	} else if t.cannot.IsZero() {
		t.cannot = now
	}
	switch {
	case len(t.held) == 0:
	case now.Sub(t.lastRenew) > t.n.opts.TakeoverAfter/2:
		// No Nak: the deliveries may be another node's by now, and a late
		// Nak would make the queue give them a third time.
		t.giveBack(ctx, "the cluster did not confirm this node's hold for half of takeover_after", false)
	case !t.cannot.IsZero() && now.Sub(t.cannot) > t.n.opts.TakeoverAfter/4:
		t.giveBack(ctx, "no SMSC session of this node can send", true)
	case now.Sub(t.lastScan) >= pollEvery:
		// Messages made final without an acceptance (failed, expired,
		// canceled) wake nobody: a scan per pollEvery finds them. The
		// accepted ones come through Accepted's wake-up at once, so the
		// loop's every turn need not read the whole hold again.
		t.lastScan = now
		t.acknowledge(ctx)
	}
}

// acknowledge acks the deliveries of messages accepted or final.
func (t *taker) acknowledge(ctx context.Context) {
	if len(t.held) == 0 {
		t.n.acknowledged(func(uint64) bool { return false })
		return
	}
	ids := make([]smsagent.MessageID, 0, len(t.held))
	for id := range t.held {
		ids = append(ids, id)
	}
	hs, err := t.o.Local.Holdings(ctx, ids)
	if err != nil {
		t.n.log.Warn("cluster: cannot read what the outbox holds", "err", err)
		return
	}
	acked := 0
	for i, h := range hs {
		if !h.Stored || h.Accepted || h.Final {
			// Not stored: removed by an operator (cancel, then pruned)
			// meanwhile; nothing is left to send here either.
			_ = t.held[ids[i]].Ack()
			t.n.unconfirmed.Add(1)
			delete(t.held, ids[i])
			acked++
		}
	}
	t.n.acknowledged(func(id uint64) bool { _, ok := t.held[smsagent.MessageID(id)]; return ok })
	if acked > 0 {
		// At once: until the server has them, these messages are the ones
		// a partition would have sent twice.
		t.confirm(t.n.opts.Clock())
	}
	t.publishStats()
}

// The taker confirms that the cluster hears this node (a flush) at every
// turn of its loop, at least every pollEvery; HoldConfirmed turns false
// after holdFresh without one.
const (
	holdFresh = time.Second
	// pollEvery is how often an idle taker looks for due messages.
	pollEvery = 100 * time.Millisecond
)

// confirm flushes what was sent (acks, progress) and records the time the
// server answered.
func (t *taker) confirm(now time.Time) bool {
	// Acknowledgements sent before the flush are confirmed by it: only
	// this goroutine sends them.
	sent := t.n.unconfirmed.Load()
	if err := t.n.nc.FlushTimeout(holdFresh); err != nil {
		return false
	}
	t.n.unconfirmed.Add(-sent)
	t.n.confirmed.Store(now.UnixNano())
	return true
}

// HoldConfirmed reports whether the cluster heard this node within the
// last second and has confirmed all but MaxUnconfirmed of its
// acknowledgements: only then may it send what it holds, since what it
// sends while cut off could not be acknowledged and another node would
// send it again after the takeover. So a partition costs at most the
// node's submit budget in flight plus MaxUnconfirmed accepted messages
// the cluster was not told of.
func (n *Node) HoldConfirmed() bool {
	if !n.nc.IsConnected() || n.unconfirmed.Load()+n.nAccepted.Load() > n.maxUnconfirmed.Load() {
		return false
	}
	return n.opts.Clock().Sub(time.Unix(0, n.confirmed.Load())) < holdFresh
}

// renew extends every held delivery by the takeover time, and records the
// time when the cluster confirms it (a flush: the server has read them).
func (t *taker) renew(now time.Time) {
	for _, msg := range t.held {
		_ = msg.InProgress()
	}
	if !t.confirm(now) {
		return
	}
	t.lastRenew = now
	t.publishStats()
}

// giveBack releases what no SMSC accepted and returns those deliveries to
// the queue for another node. What is being sent stays held.
func (t *taker) giveBack(ctx context.Context, why string, nak bool) {
	t.acknowledge(ctx)
	if len(t.held) == 0 {
		return
	}
	ids := make([]smsagent.MessageID, 0, len(t.held))
	for id := range t.held {
		ids = append(ids, id)
	}
	released, err := t.o.Local.Release(ctx, ids)
	if err != nil {
		t.n.log.Error("cluster: cannot give messages back", "err", err)
		return
	}
	for _, id := range released {
		if nak {
			_ = t.held[id].Nak()
		}
		delete(t.held, id)
	}
	if len(released) > 0 {
		t.n.log.Warn("cluster: messages given back to the queue for another node", "count", len(released), "why", why)
	}
	t.n.statsMu.Lock()
	t.n.stats.Released += uint64(len(released))
	t.n.statsMu.Unlock()
	t.publishStats()
}
