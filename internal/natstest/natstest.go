// Package natstest runs a NATS JetStream cluster inside a test process, on
// loopback: the servers of nats-server/v2, each with its own store folder,
// on ports chosen at start and kept across a restart, so that clients
// (agents in child processes) reconnect to the same addresses. Only tests
// import it.
package natstest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is n JetStream servers routed to each other.
type Cluster struct {
	t       testing.TB
	mu      sync.Mutex
	servers []*server.Server
	opts    []*server.Options
}

// Start runs a cluster of size servers (1 runs a single server without
// routes) and waits until JetStream has a leader. They stop at the end of
// the test.
func Start(t testing.TB, size int) *Cluster {
	t.Helper()
	return StartWith(t, size, nil)
}

// StartWith is Start with each server's options changed by tune (users,
// for example) before it starts.
func StartWith(t testing.TB, size int, tune func(*server.Options)) *Cluster {
	t.Helper()
	c := &Cluster{t: t, servers: make([]*server.Server, size), opts: make([]*server.Options, size)}
	client, route := freePorts(t, size), freePorts(t, size)
	var routes []string
	for _, p := range route {
		routes = append(routes, "nats://127.0.0.1:"+strconv.Itoa(p))
	}
	for i := range size {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       client[i],
			JetStream:  true,
			StoreDir:   t.TempDir(),
			NoLog:      true,
			NoSigs:     true,
		}
		if size > 1 {
			o.Cluster = server.ClusterOpts{Name: "smsagent-test", Host: "127.0.0.1", Port: route[i]}
			o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		}
		if tune != nil {
			tune(o)
		}
		c.opts[i] = o
	}
	for i := range size {
		c.start(i)
	}
	t.Cleanup(c.Shutdown)
	c.WaitReady(30 * time.Second)
	return c
}

func (c *Cluster) start(i int) {
	c.t.Helper()
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		c.t.Fatalf("natstest: server %d: %v", i+1, err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		c.t.Fatalf("natstest: server %d not ready", i+1)
	}
	c.mu.Lock()
	c.servers[i] = s
	c.mu.Unlock()
}

// URLs are the client addresses of every server.
func (c *Cluster) URLs() []string {
	out := make([]string, len(c.opts))
	for i, o := range c.opts {
		out[i] = "nats://127.0.0.1:" + strconv.Itoa(o.Port)
	}
	return out
}

// Stop shuts server i (0-based) down; Restart brings it back with its
// store.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.servers[i] = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// Restart starts server i again on the same ports and store.
func (c *Cluster) Restart(i int) { c.start(i) }

// Shutdown stops every server.
func (c *Cluster) Shutdown() {
	for i := range c.servers {
		c.Stop(i)
	}
}

// StreamLeader is the index of the server leading the stream, -1 when
// none does.
func (c *Cluster) StreamLeader(stream string) int {
	c.t.Helper()
	js, done, err := c.client()
	if err != nil {
		return -1
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return -1
	}
	info, err := s.Info(ctx)
	if err != nil || info.Cluster == nil {
		return -1
	}
	for i, o := range c.opts {
		if o.ServerName == info.Cluster.Leader {
			return i
		}
	}
	return -1
}

// WaitReady waits until JetStream answers through the cluster (a meta
// leader is elected).
func (c *Cluster) WaitReady(within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		nc, err := nats.Connect(strings.Join(c.URLs(), ","), c.auth(), nats.Timeout(time.Second))
		if err == nil {
			js, _ := jetstream.New(nc)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err = js.AccountInfo(ctx)
			cancel()
			nc.Close()
			if err == nil {
				return
			}
		}
		last = err
		// Polling the cluster's election, not sleeping on a guess.
		<-time.After(100 * time.Millisecond)
	}
	c.t.Fatalf("natstest: JetStream not ready within %v: %v", within, last)
}

func freePorts(t testing.TB, n int) []int {
	t.Helper()
	out := make([]int, n)
	ls := make([]net.Listener, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls[i] = l
		out[i] = l.Addr().(*net.TCPAddr).Port
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return out
}

// Redeliveries is how many deliveries of the consumer were repeats
// (taken over or given back) so far: its delivery count beyond the last
// stream sequence it delivered, which is exact for a consumer of a stream
// whose messages all match its filter. -1 when the cluster does not answer.
func (c *Cluster) Redeliveries(stream, consumer string) int {
	js, done, err := c.client()
	if err != nil {
		return -1
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, stream, consumer)
	if err != nil {
		return -1
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return -1
	}
	return int(info.Delivered.Consumer) - int(info.Delivered.Stream)
}

// client connects to the cluster for one look; done closes it.
func (c *Cluster) client() (js jetstream.JetStream, done func(), err error) {
	nc, err := nats.Connect(strings.Join(c.URLs(), ","), c.auth(), nats.Timeout(time.Second))
	if err != nil {
		return nil, nil, err
	}
	if js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return js, nc.Close, nil
}

// auth is the servers' user, if they have one.
func (c *Cluster) auth() nats.Option {
	return nats.UserInfo(c.opts[0].Username, c.opts[0].Password)
}
