package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/cluster"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/outbox"
)

// clusterWork is the agent's side of the store backend jetstream: the node,
// and the goroutines that take from the shared queue, apply receipts
// routed here, look up unrouted receipts and import events for this
// node's inbox/. They run through the whole graceful stop (they end after
// the last results are recorded), so what was accepted during the drain
// is acknowledged and nothing held is left to a takeover.
type clusterWork struct {
	node *cluster.Node
	stop context.CancelFunc
	done sync.WaitGroup

	// unindexed are SMSC index keys whose publication failed, tried again
	// with the next commit; bounded by maxUnindexed.
	mu        sync.Mutex
	unindexed []string
	indexWake chan struct{}

	// nodes are the cluster's nodes as the announcer read them last.
	nodes atomic.Pointer[[]smsagent.ClusterNode]
}

// maxUnindexed bounds the keys kept for another try while the cluster is
// unreachable: beyond it their receipts, if they arrive on another node,
// are reported there as unmatched.
const maxUnindexed = 100_000

// connectCluster connects to the cluster of the configuration, and gives
// back what this node's outbox held from before a stop or crash and no
// SMSC accepted: the queue gives those deliveries again.
func (a *Agent) connectCluster() error {
	o, err := ClusterOptions(a.cfg)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	o.Logger, o.Clock = a.log.With("node", o.Node), a.clock
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	node, err := cluster.Connect(ctx, o)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	released, err := a.store.ReleaseQueued(ctx)
	if err != nil {
		_ = node.Close(ctx)
		return fmt.Errorf("agent: %w", err)
	}
	if len(released) > 0 {
		a.log.Info("agent: messages this node held before its start given back to the cluster's queue",
			"count", len(released))
	}
	// The SMSC ids of what this node sent and still waits receipts for go
	// into the index again: a crash may have come between a commit and its
	// publication, and their receipts arriving on other nodes must find
	// this one.
	awaiting, err := a.store.AwaitingKeys(ctx)
	if err != nil {
		_ = node.Close(ctx)
		return fmt.Errorf("agent: %w", err)
	}
	if len(awaiting) > maxUnindexed {
		a.log.Warn("agent: more messages wait for receipts than are indexed again at start; receipts of the oldest arriving on other nodes may be reported unmatched there",
			"waiting", len(awaiting), "indexed", maxUnindexed)
		awaiting = awaiting[len(awaiting)-maxUnindexed:]
	}
	a.cluster = &clusterWork{node: node, indexWake: make(chan struct{}, 1), unindexed: awaiting}
	a.queue = node
	return nil
}

// ClusterOptions maps the configuration onto cluster.Options (the running
// agent and the cluster commands connect alike); it reads the password
// file. Logger and Clock are left to the caller.
func ClusterOptions(cfg *config.Config) (cluster.Options, error) {
	j := &cfg.Store.JetStream
	password, err := j.ReadPassword()
	if err != nil {
		return cluster.Options{}, err
	}
	return cluster.Options{
		URLs: j.URLs, User: j.User, Password: password, PasswordFile: j.ReadPassword, CredsFile: j.CredsFile,
		TLS: j.TLS, TLSInsecure: j.TLSInsecure, TLSServerName: j.TLSServerName,
		Prefix: j.Prefix, Replicas: j.Replicas, Node: j.Node, TakeoverAfter: j.TakeoverAfter,
		IncomingNode: j.IncomingNode, Retention: cfg.Store.Retention,
		IndexTTL: cfg.Retry.ReceiptTimeout + time.Hour,
	}, nil
}

// clustered reports whether the store backend is jetstream.
func clustered(cfg *config.Config) bool { return cfg.Store.Backend == config.BackendJetStream }

// startCluster starts the cluster's goroutines on life.
func (a *Agent) startCluster(life context.Context) {
	c := a.cluster
	ctx, stop := context.WithCancel(life)
	c.stop = stop
	held, budget := 0, 0
	for _, ac := range a.accounts {
		held += max(ac.cfg.Sessions, 1) * max(ac.cfg.Window, 1)
		budget += int(ac.budget.limit)
	}
	c.done.Go(func() {
		c.node.RunTaker(ctx, cluster.TakerOptions{
			Local:          a.store,
			CanTake:        func() bool { return !a.stopping.Load() && a.anyBound() },
			Max:            max(4*held, 256),
			Imported:       a.dispatcher.poke,
			MaxUnconfirmed: budget,
		})
	})
	c.done.Go(func() {
		c.node.RunReceipts(ctx, func(ctx context.Context, rs []smsagent.Receipt) error {
			_, err := a.store.ApplyReceipts(ctx, rs)
			if err == nil {
				a.rates.receipts.Add(uint64(len(rs)))
			}
			return err
		})
	})
	c.done.Go(func() { c.node.RunUnrouted(ctx) })
	c.done.Go(func() { c.node.RunEvents(ctx, a.store) })
	c.done.Go(func() { a.announce(ctx) })
	c.done.Go(func() { c.index(ctx, a.log) })
}

// announce tells the cluster about this node every cluster.AnnounceEvery
// and reads what the others said, for Status.
func (a *Agent) announce(ctx context.Context) {
	c := a.cluster
	t := time.NewTicker(cluster.AnnounceEvery)
	defer t.Stop()
	for {
		info := smsagent.ClusterNode{Version: a.opts.Version, Seen: a.clock(), Binds: []smsagent.BindStatus{},
			Outbox: map[string]int{}}
		ts := c.node.TakerStats()
		info.Held, info.Taken, info.Released = ts.Held, ts.Taken, ts.Released
		for _, ac := range a.accounts {
			info.Sessions += max(ac.cfg.Sessions, 1)
			for _, b := range ac.pool.Status() {
				b.SMSC = ac.name
				if b.State == "bound" {
					info.Bound++
				}
				info.Binds = append(info.Binds, b)
			}
		}
		if stats, err := a.store.Stats(ctx); err == nil {
			for s, n := range stats.ByState {
				info.Outbox[s.String()] = n
			}
		}
		if err := c.node.Announce(ctx, info); err == nil {
			if nodes, err := c.node.Nodes(ctx); err == nil {
				c.nodes.Store(&nodes)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stopCluster ends the cluster's goroutines (the taker acknowledges what
// was accepted and gives back the rest) and closes the connection.
func (a *Agent) stopCluster(ctx context.Context) {
	c := a.cluster
	if c == nil {
		return
	}
	if c.stop != nil {
		c.stop()
		c.done.Wait()
	}
	if err := c.node.Close(ctx); err != nil {
		a.log.Warn("agent: closing the cluster connection", "err", err)
	}
}

// committed follows each commit of submit results: the accepted parts'
// SMSC ids go to the indexer (the settler does not wait for the cluster),
// and the taker acknowledges their messages.
func (c *clusterWork) committed(batch []outbox.PartResult) {
	var accepted []uint64
	c.mu.Lock()
	for i := range batch {
		if batch[i].Outcome == outbox.OutcomeAccepted {
			accepted = append(accepted, uint64(batch[i].ID))
			if batch[i].SMSCKey != "" {
				c.unindexed = append(c.unindexed, batch[i].SMSCKey)
			}
		}
	}
	if over := len(c.unindexed) - maxUnindexed; over > 0 {
		c.unindexed = c.unindexed[over:]
	}
	c.mu.Unlock()
	select {
	case c.indexWake <- struct{}{}:
	default:
	}
	c.node.Accepted(accepted)
}

// index publishes the SMSC ids of accepted parts into the cluster's index
// as they come, and those whose publication failed again every second, so
// that a receipt for them arriving on another node finds this one. A
// receipt that comes before its id is published waits among the unrouted
// ones until it is.
func (c *clusterWork) index(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.indexWake:
			if failing {
				continue // retried on the ticker, not at every commit
			}
		case <-t.C:
		}
		c.mu.Lock()
		keys := c.unindexed
		c.unindexed = nil
		c.mu.Unlock()
		if len(keys) == 0 {
			continue
		}
		if err := c.node.Index(ctx, keys); err != nil {
			if !failing {
				log.Warn("agent: accepted parts not indexed in the cluster yet; tried again every second",
					"parts", len(keys), "err", err)
			}
			failing = true
			c.mu.Lock()
			c.unindexed = append(keys, c.unindexed...)
			if over := len(c.unindexed) - maxUnindexed; over > 0 {
				c.unindexed = c.unindexed[over:]
			}
			c.mu.Unlock()
			continue // the next try waits for the ticker
		}
		failing = false
	}
}

// route sends receipts of messages other nodes hold to them; a receipt
// whose exact SMSC id is in this node's outbox stays without asking.
func (c *clusterWork) route(ctx context.Context, store *outbox.Store, rs []smsagent.Receipt) ([]int, error) {
	first := make([]string, len(rs))
	for i := range rs {
		if len(rs[i].Keys) > 0 {
			first[i] = rs[i].Keys[0]
		}
	}
	here, err := store.Indexed(ctx, first)
	if err != nil {
		return nil, err
	}
	return c.node.RouteReceipts(ctx, rs, here)
}

// forward sends the events that belong in other nodes' inbox/ there and
// forgets them here; it returns the events for this node's inbox/.
//
// Crash story: the events are forgotten (EventsWritten) only after the
// cluster acknowledged their publication. A crash between the two
// publishes them again with the same ids (stored once within the stream's
// duplicate window), and the origin imports each delivery once by its
// claim, and each message's report once.
func (c *clusterWork) forward(ctx context.Context, store *outbox.Store, evs []smsagent.Event) ([]smsagent.Event, error) {
	var away []smsagent.Event
	for i := range evs {
		if c.node.EventTarget(&evs[i]) != "" {
			away = append(away, evs[i])
		}
	}
	if len(away) == 0 {
		return evs, nil
	}
	if err := c.node.ForwardEvents(ctx, away); err != nil {
		return nil, err
	}
	seqs := make([]uint64, len(away))
	for i := range away {
		seqs[i] = away[i].Seq
	}
	if err := store.EventsWritten(ctx, seqs); err != nil {
		return nil, err
	}
	here := evs[:0:0]
	for i := range evs {
		if c.node.EventTarget(&evs[i]) == "" {
			here = append(here, evs[i])
		}
	}
	return here, nil
}

// status is this node's part of the cluster, and why it cannot work when
// it cannot.
func (c *clusterWork) status(ctx context.Context) (smsagent.ClusterStatus, error) {
	ts := c.node.TakerStats()
	cs := smsagent.ClusterStatus{Node: c.node.Name(), Held: ts.Held, Taken: ts.Taken, Released: ts.Released,
		LastRenew: ts.LastRenew, Queued: -1, Nodes: []smsagent.ClusterNode{}}
	x := c.node.Crossings()
	cs.ReceiptsOut, cs.ReceiptsIn, cs.EventsOut, cs.EventsIn = x.ReceiptsOut, x.ReceiptsIn, x.EventsOut, x.EventsIn
	if nodes := c.nodes.Load(); nodes != nil {
		cs.Nodes = *nodes
	}
	err := c.node.Ready()
	cs.Ready = err == nil
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if n, qerr := c.node.Queued(ctx); qerr == nil {
			cs.Queued = int64(n)
		}
	}
	return cs, err
}
