// Package cluster is the store backend jetstream: several agents (nodes)
// sharing one queue in a NATS JetStream cluster, so that one machine's
// failure does not stop sending and the queue survives a disk.
//
// Each node keeps its own bbolt outbox (package outbox) for the work in its
// hands; the cluster holds what is shared:
//
//   - the queue: stream <prefix>_QUEUE, subjects <prefix>.queue.high and
//     <prefix>.queue.normal, work-queue retention. Intake publishes each
//     message of a file there (Node.Enqueue, the spool's Store) and the
//     file is removed only after every publish is acknowledged. The
//     stream's sequence number is the message's id in the whole cluster.
//   - the takers: every node with a bound SMSC session pulls from the
//     queue's consumers (high first) into its outbox (outbox.Import) and
//     holds each delivery, renewing it (AckProgress) until the message is
//     accepted by an SMSC or final; then it acknowledges it. A node that
//     stops renewing (dead, partitioned) loses its deliveries after
//     takeover_after (the consumers' AckWait) and another node takes them;
//     the silent node gives up (outbox.Release) what it has not sent once
//     half that time passed without renewing, so only messages already in
//     a submit_sm window can go out twice: the same bound as a crash of
//     one machine.
//   - the SMSC-id index: bucket <prefix>_sids maps each accepted part's
//     index key to the node that holds its message, so a receipt arriving
//     on any node's bind is sent (stream <prefix>_ROUTE, subject
//     <prefix>.receipts.<node>) to the node that can match it. A receipt
//     whose key is not indexed yet waits in <prefix>.unrouted and is looked
//     up again, then applied where it arrived (parked, then unmatched).
//   - the events: a report is written into the inbox/ of the node whose
//     intake took the message (Message.Origin): the node that made it
//     publishes it to <prefix>.events.<origin> (stream <prefix>_EVENTS),
//     where it waits while that node is down; the origin imports it into
//     its outbox (outbox.ImportEvents) and its inbox writer writes it.
//     Incoming SMS go the same way to store.jetstream.incoming_node.
//   - client ids (bucket <prefix>_ids) and taken claims (<prefix>_claims),
//     so duplicate suppression and crash recovery of intake hold across
//     the cluster.
//
// Every publish carries a Nats-Msg-Id derived from what it stands for (a
// claim and the message's place in it, an event's node and sequence), so
// a repeat after a crash or a lost acknowledgement is stored once within
// the streams' duplicate window (DuplicateWindow). See
// ../shared/reference/jetstream-queue.md for the JetStream behaviour this
// relies on, and docs/DESIGN.md "Several agents" for the crash stories.
package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DuplicateWindow is how long the streams remember a Nats-Msg-Id: a
// publish repeated within it (a node restarted after a crash between its
// publishes and their record) is stored once.
const DuplicateWindow = 10 * time.Minute

// Options configure a Node. URLs, Prefix and Node are required.
type Options struct {
	URLs     []string
	User     string
	Password string
	// PasswordFile, when set, gives User's password at every connect
	// (a rotated file needs no restart); Password is used while it fails.
	PasswordFile  func() (string, error)
	CredsFile     string
	TLS           bool
	TLSInsecure   bool
	TLSServerName string
	// Prefix names the streams and buckets: several clusters can share a
	// NATS system with different prefixes.
	Prefix   string
	Replicas int
	// Node is this agent's name in the cluster, unique.
	Node string
	// TakeoverAfter is the consumers' AckWait: how long a node may be
	// silent before its deliveries go to another node.
	TakeoverAfter time.Duration
	// IncomingNode is the node whose inbox/ gets incoming SMS; "" keeps
	// them where they arrive.
	IncomingNode string
	// Retention is how long client ids and taken claims are remembered
	// (store.retention).
	Retention time.Duration
	// IndexTTL is how long an accepted part's SMSC id stays in the index:
	// the receipt timeout and some.
	IndexTTL time.Duration
	Logger   *slog.Logger
	Clock    func() time.Time
}

// Defaults of Options.
const (
	DefaultTakeoverAfter = 30 * time.Second
	DefaultRetention     = 7 * 24 * time.Hour
	DefaultIndexTTL      = 72 * time.Hour
)

// Error kinds, for errors.Is.
var (
	// ErrUnavailable: the cluster cannot be reached or has no leader for
	// the stream; the operation can be tried again.
	ErrUnavailable = errors.New("cluster: unavailable")
)

// Node is this agent's connection to the cluster. Its methods are safe for
// concurrent use; Close ends it.
type Node struct {
	opts Options
	log  *slog.Logger
	nc   *nats.Conn
	js   jetstream.JetStream

	subjHigh, subjNormal string
	settled              chan struct{} // Settled's wake-up of the taker

	statsMu sync.Mutex
	stats   TakerStats

	pwMu sync.Mutex // guards opts.Password, the last password read

	// Counters of what crossed between nodes, for the status.
	receiptsOut, receiptsIn, eventsOut, eventsIn atomic.Uint64
	closing                                      atomic.Bool
	// confirmed is when (Unix ns, by Options.Clock) the server last
	// answered the taker's flush.
	confirmed atomic.Int64
	// unconfirmed counts acknowledgements sent and not yet confirmed by a
	// flush; maxUnconfirmed is TakerOptions.MaxUnconfirmed.
	unconfirmed, maxUnconfirmed atomic.Int64
	// accepted are messages the settler recorded accepted (or final) and
	// the taker has not acknowledged yet; they count against
	// maxUnconfirmed too.
	acceptedMu sync.Mutex
	accepted   map[uint64]struct{}
	nAccepted  atomic.Int64

	mu       sync.Mutex
	ready    bool // streams, buckets and consumers exist
	lastErr  error
	queue    jetstream.Stream
	high     jetstream.Consumer
	normal   jetstream.Consumer
	events   jetstream.Consumer // this node's events
	receipts jetstream.Consumer // receipts for this node
	unrouted jetstream.Consumer
	ids      jetstream.KeyValue
	claims   jetstream.KeyValue
	sids     jetstream.KeyValue
	nodes    jetstream.KeyValue
}

// Connect connects to the cluster. An unreachable cluster is not an error:
// the connection keeps trying, and every operation returns ErrUnavailable
// until the streams are there (Node.Ready says why).
func Connect(ctx context.Context, o Options) (*Node, error) {
	if len(o.URLs) == 0 || o.Prefix == "" || o.Node == "" {
		return nil, errors.New("cluster: urls, prefix and node are required")
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.TakeoverAfter <= 0 {
		o.TakeoverAfter = DefaultTakeoverAfter
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.IndexTTL <= 0 {
		o.IndexTTL = DefaultIndexTTL
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	n := &Node{opts: o, log: o.Logger, subjHigh: o.Prefix + ".queue.high", subjNormal: o.Prefix + ".queue.normal",
		settled: make(chan struct{}, 1)}
	nopts := []nats.Option{
		nats.Name("smsagent " + o.Node),
		nats.RetryOnFailedConnect(true),
		// The configured addresses only: a node reaches the servers the
		// operator named, not the addresses the servers advertise.
		nats.IgnoreDiscoveredServers(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.Timeout(5 * time.Second),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if !n.closing.Load() {
				n.log.Warn("cluster: disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			n.log.Info("cluster: connected to NATS again", "server", c.ConnectedUrlRedacted())
		}),
	}
	if o.CredsFile != "" {
		nopts = append(nopts, nats.UserCredentials(o.CredsFile))
	}
	if o.User != "" {
		nopts = append(nopts, nats.UserInfoHandler(n.userInfo))
	}
	if o.TLS {
		nopts = append(nopts, nats.Secure(&tls.Config{ServerName: o.TLSServerName,
			InsecureSkipVerify: o.TLSInsecure, MinVersion: tls.VersionTLS12})) //nolint:gosec // the user's choice, warned at load
	}
	nc, err := nats.Connect(strings.Join(o.URLs, ","), nopts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect: %w", err)
	}
	n.nc = nc
	if n.js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := n.ensure(ctx); err != nil {
		n.log.Warn("cluster: not ready yet; intake waits and sending resumes when it is", "err", err)
	}
	return n, nil
}

// userInfo gives the user and password at each connect: the password
// file read again, or the last password that could be read.
func (n *Node) userInfo() (string, string) {
	if n.opts.PasswordFile != nil {
		pw, err := n.opts.PasswordFile()
		n.pwMu.Lock() // not mu: a reconnect must not wait for the set-up, which waits for it
		defer n.pwMu.Unlock()
		if err != nil {
			n.log.Warn("cluster: password file unreadable; connecting with the last password read", "err", err)
			return n.opts.User, n.opts.Password
		}
		n.opts.Password = pw
		return n.opts.User, pw
	}
	return n.opts.User, n.opts.Password
}

// Name is this node's name.
func (n *Node) Name() string { return n.opts.Node }

// TakeoverAfter is the time after which a silent node's deliveries go to
// another node.
func (n *Node) TakeoverAfter() time.Duration { return n.opts.TakeoverAfter }

// Close closes the connection after sending what is buffered (acks,
// progress). Deliveries still held go to another node after the takeover
// time.
func (n *Node) Close(ctx context.Context) error {
	n.closing.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.nc.Drain()
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	n.nc.Close()
	return nil
}

// Crossings counts what crossed between this node and the others since
// it started.
type Crossings struct {
	ReceiptsOut uint64 // receipts that arrived here for messages other nodes hold
	ReceiptsIn  uint64 // receipts other nodes routed here, applied
	EventsOut   uint64 // reports and incoming SMS sent to other nodes' inbox/
	EventsIn    uint64 // from other nodes into this node's inbox/
}

// Crossings returns the counters.
func (n *Node) Crossings() Crossings {
	return Crossings{ReceiptsOut: n.receiptsOut.Load(), ReceiptsIn: n.receiptsIn.Load(),
		EventsOut: n.eventsOut.Load(), EventsIn: n.eventsIn.Load()}
}

// Ready returns nil when the cluster can take and give messages, else why
// not.
func (n *Node) Ready() error {
	if !n.nc.IsConnected() {
		return fmt.Errorf("%w: not connected to NATS (%s)", ErrUnavailable, strings.Join(n.opts.URLs, ", "))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.ready {
		if n.lastErr != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, n.lastErr)
		}
		return fmt.Errorf("%w: streams not set up yet", ErrUnavailable)
	}
	return nil
}

// Queued is the number of messages in the shared queue that no node
// acknowledged yet (held ones included).
func (n *Node) Queued(ctx context.Context) (uint64, error) {
	if err := n.ensure(ctx); err != nil {
		return 0, err
	}
	info, err := n.queue.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("cluster: queue: %w", unavailable(err))
	}
	return info.State.Msgs, nil
}

// setupTimeout bounds the creation of the streams, buckets and consumers:
// each is a replicated group whose leader is elected first.
const setupTimeout = time.Minute

// ensure creates (or updates to this configuration) the streams, buckets
// and consumers, once; it is called again by every operation until it
// succeeded.
func (n *Node) ensure(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ready {
		return nil
	}
	if !n.nc.IsConnected() {
		n.lastErr = errors.New("not connected to NATS")
		return fmt.Errorf("%w: %v", ErrUnavailable, n.lastErr)
	}
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	began := time.Now()
	err := n.setup(ctx)
	n.log.Info("cluster: streams and buckets", "took", time.Since(began).Round(time.Millisecond), "err", err)
	n.lastErr = err
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	n.ready = true
	return nil
}

func (n *Node) setup(ctx context.Context) error {
	o := n.opts
	p := o.Prefix
	var err error
	// Each is looked up first and created only when missing: nodes that
	// start together would otherwise update the same replicated group at
	// once, which can hang until the request times out.
	stream := func(name string, subjects ...string) (jetstream.Stream, error) {
		cfg := jetstream.StreamConfig{
			Name: p + "_" + name, Subjects: subjects, Retention: jetstream.WorkQueuePolicy,
			Storage: jetstream.FileStorage, Replicas: o.Replicas, Duplicates: DuplicateWindow,
		}
		var s jetstream.Stream
		err := attempts(ctx, func(ctx context.Context) (err error) {
			s, err = n.js.Stream(ctx, cfg.Name)
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				s, err = n.js.CreateStream(ctx, cfg)
				if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
					s, err = n.js.Stream(ctx, cfg.Name)
				}
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
		return s, nil
	}
	consumer := func(s jetstream.Stream, durable, filter string, ackWait time.Duration) (jetstream.Consumer, error) {
		var c jetstream.Consumer
		err := attempts(ctx, func(ctx context.Context) (err error) {
			c, err = s.Consumer(ctx, durable)
			if errors.Is(err, jetstream.ErrConsumerNotFound) {
				c, err = s.CreateConsumer(ctx, jetstream.ConsumerConfig{
					Durable: durable, FilterSubject: filter, AckPolicy: jetstream.AckExplicitPolicy,
					AckWait: ackWait, MaxAckPending: -1, MaxDeliver: -1, Replicas: o.Replicas,
				})
				if errors.Is(err, jetstream.ErrConsumerExists) {
					c, err = s.Consumer(ctx, durable)
				}
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("consumer %s: %w", durable, err)
		}
		return c, nil
	}
	if n.queue, err = stream("QUEUE", n.subjHigh, n.subjNormal); err != nil {
		return err
	}
	if n.high, err = consumer(n.queue, "high", n.subjHigh, o.TakeoverAfter); err != nil {
		return err
	}
	if n.normal, err = consumer(n.queue, "normal", n.subjNormal, o.TakeoverAfter); err != nil {
		return err
	}
	evs, err := stream("EVENTS", p+".events.*")
	if err != nil {
		return err
	}
	if n.events, err = consumer(evs, "events-"+o.Node, n.eventSubject(o.Node), 30*time.Second); err != nil {
		return err
	}
	route, err := stream("ROUTE", p+".receipts.*", p+".unrouted")
	if err != nil {
		return err
	}
	if n.receipts, err = consumer(route, "receipts-"+o.Node, n.receiptSubject(o.Node), 30*time.Second); err != nil {
		return err
	}
	if n.unrouted, err = consumer(route, "unrouted", p+".unrouted", 30*time.Second); err != nil {
		return err
	}
	bucket := func(name string, ttl time.Duration) (jetstream.KeyValue, error) {
		var kv jetstream.KeyValue
		err := attempts(ctx, func(ctx context.Context) (err error) {
			kv, err = n.js.KeyValue(ctx, p+"_"+name)
			if errors.Is(err, jetstream.ErrBucketNotFound) {
				kv, err = n.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
					Bucket: p + "_" + name, TTL: ttl, Replicas: o.Replicas, Storage: jetstream.FileStorage,
				})
				if errors.Is(err, jetstream.ErrBucketExists) {
					kv, err = n.js.KeyValue(ctx, p+"_"+name)
				}
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("bucket %s_%s: %w", p, name, err)
		}
		return kv, nil
	}
	if n.ids, err = bucket("ids", o.Retention); err != nil {
		return err
	}
	if n.claims, err = bucket("claims", o.Retention); err != nil {
		return err
	}
	if n.sids, err = bucket("sids", o.IndexTTL); err != nil {
		return err
	}
	if n.nodes, err = bucket("nodes", 0); err != nil {
		return err
	}
	return nil
}

// attemptTimeout bounds one request of the set-up: a request whose answer
// is lost (a leader changing, several nodes creating one group at once)
// is asked again rather than waited for until the whole set-up times out.
const attemptTimeout = 5 * time.Second

// attempts runs f with attemptTimeout until it succeeds with something
// other than a timeout, or ctx ends.
func attempts(ctx context.Context, f func(context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := f(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(unavailable(err), ErrUnavailable) {
			return err
		}
	}
}

func (n *Node) eventSubject(node string) string   { return n.opts.Prefix + ".events." + node }
func (n *Node) receiptSubject(node string) string { return n.opts.Prefix + ".receipts." + node }

// hashKey is a fixed-length key for bucket keys and message ids made of
// arbitrary bytes (claims, client ids, SMSC index keys).
func hashKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// unavailable marks errors of the connection or the cluster's leadership
// as ErrUnavailable: what a retry later can cure.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	switch {
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrNoHeartbeat), errors.Is(err, nats.ErrConnectionReconnecting):
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.Code == 503 {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}
