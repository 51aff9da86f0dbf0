package soak_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/natstest"
)

// The cluster cases: agents as real processes, each with its own spool and
// database, sharing a queue on a JetStream cluster of three servers run in
// this process, and one SMSC account on the simulator (two binds each).
// Each case ends with the cluster's ledger: every message exactly one
// report, delivered, in the inbox/ of the node whose intake took it;
// nothing lost; duplicates within the bound.

// clusterTakeover is store.jetstream.takeover_after in these cases.
const clusterTakeover = 5 * time.Second

// clusterRig is a case's cluster: the NATS servers, the main rig (the
// simulator and the table's row) and its nodes.
type clusterRig struct {
	*rig
	nats  *natstest.Cluster
	nodes map[string]*rig
	// partitions counts the nodes cut off from the cluster; serverStops
	// the NATS servers stopped.
	partitions, serverStops int
}

func newClusterRig(t *testing.T, name string) *clusterRig {
	r := newRig(t, name, simOptions())
	return &clusterRig{rig: r, nats: natstest.Start(t, 3), nodes: map[string]*rig{}}
}

// node makes a node's folders and configuration; urls are the NATS
// addresses it connects to (the servers', or proxies in front of them).
func (c *clusterRig) node(name string, urls []string) *rig {
	c.t.Helper()
	dir := c.t.TempDir()
	r := &rig{t: c.t, sim: c.sim, dir: dir, cfgFile: filepath.Join(dir, "smsagent.yaml"),
		spool: filepath.Join(dir, "spool"), dbPath: filepath.Join(dir, "state", "outbox.db"),
		api: freeAddr(c.t), started: c.started, log: c.log, boundAtStop: -1}
	quoted := make([]string, len(urls))
	for i, u := range urls {
		quoted[i] = fmt.Sprintf("%q", u)
	}
	r.storeExtra = []string{"backend: jetstream", "jetstream:",
		"  urls: [" + strings.Join(quoted, ", ") + "]", "  prefix: soak", "  replicas: 3",
		"  node: " + name, fmt.Sprintf("  takeover_after: %s", clusterTakeover)}
	r.writeConfig(c.sim.Addr())
	if err := os.MkdirAll(filepath.Join(r.spool, "outgoing"), 0o750); err != nil {
		c.t.Fatal(err)
	}
	c.nodes[name] = r
	return r
}

// kills is the SIGKILLs of every node.
func (c *clusterRig) kills() int {
	n := 0
	for _, r := range c.nodes {
		n += r.kills
	}
	return n
}

// clusterStatus is the cluster section of a node's status.
type clusterStatus struct {
	Cluster struct {
		Ready    bool   `json:"ready"`
		Queued   int64  `json:"queued"`
		Held     int    `json:"held"`
		Taken    uint64 `json:"taken"`
		Released uint64 `json:"released"`
	} `json:"cluster"`
	Health []string `json:"health"`
}

func (r *rig) clusterStatus() (clusterStatus, error) {
	var st clusterStatus
	_, body, err := r.http("GET", "/api/v1/status", token, nil)
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal([]byte(body), &st)
}

// waitClusterReports waits until every node has n message reports in its
// inbox/.
func (c *clusterRig) waitReports(want map[*rig]int, within time.Duration) {
	c.t.Helper()
	end, dumped := time.Now().Add(within), false
	c.eventually(within, func() string {
		if !dumped && time.Now().Add(2*time.Second).After(end) {
			dumped = true
			c.dump()
		}
		var missing []string
		for r, n := range want {
			if got := r.messageReports(); got < n {
				missing = append(missing, fmt.Sprintf("%s has %d of %d reports", filepath.Base(filepath.Dir(r.spool)), got, n))
			}
		}
		if len(missing) > 0 {
			return strings.Join(missing, "; ") + fmt.Sprintf("; simulator %+v", c.sim.Stats())
		}
		return ""
	})
}

// dump logs, for a failing case, what each node still holds and the
// unmatched receipts it reported.
func (c *clusterRig) dump() {
	for name, r := range c.nodes {
		_, unmatched := r.reports()
		c.t.Logf("%s: %d unmatched receipts %+v", name, len(unmatched), unmatched[:min(len(unmatched), 3)])
		for _, state := range []string{"queued", "sending", "sent"} {
			out, _ := r.cli("queue", "list", "--config", r.cfgFile, "--state", state, "--limit", "5")
			c.t.Logf("%s: messages still %s: %.2000s", name, state, out)
		}
		st, _ := r.clusterStatus()
		c.t.Logf("%s: %+v", name, st)
	}
}

// ledger checks every node's messages: one report each, delivered, in the
// node's own inbox/, naming it; the SMSC got each; duplicates within the
// bound. The bound adds to the single machine's (3 × window per session
// lost, max_uncommitted per kill) the two kinds of work a node can have
// done and not told the cluster when a link or a server goes:
//   - its sends not yet answered or committed (sessions × window +
//     max_uncommitted: what a kill resends), and
//   - the accepted messages whose acknowledgement the server has not
//     confirmed: at most the same budget, since the dispatcher sends
//     nothing while there are more (cluster.Node.HoldConfirmed),
//
// so 2 × (sessions × window + max_uncommitted) per partition, per NATS
// server stopped that much per node (each node's acknowledgements and
// renewals in flight through it or its consumer leader), and per kill the
// acknowledgements not confirmed (sessions × window + max_uncommitted)
// beside the single machine's share.
func (c *clusterRig) ledger(ids map[string][]string) {
	c.t.Helper()
	seen := make(map[string]int)
	for _, s := range c.sim.Submits() {
		seen[s.Text]++
	}
	var lost, doubled, wrong, misplaced []string
	dups, total := 0, 0
	for name, list := range ids {
		r := c.nodes[name]
		byID, _ := r.reports()
		mine := map[string]bool{}
		for _, id := range list {
			mine[id] = true
			total++
			reps := byID[id]
			switch {
			case len(reps) == 0:
				lost = append(lost, id)
			case len(reps) > 1:
				doubled = append(doubled, id)
			case reps[0].Status != delivered || reps[0].Node != name:
				wrong = append(wrong, fmt.Sprintf("%s: %s on node %q", id, reps[0].Status, reps[0].Node))
			}
			dups += max(0, seen[text(id)]-1)
		}
		for id := range byID {
			if !mine[id] {
				misplaced = append(misplaced, name+": "+id)
			}
		}
	}
	st := c.sim.Stats()
	alive := sessions * len(c.nodes)
	losses := max(0, st.Binds-alive)
	unconfirmed := 2 * (sessions*window + uncommitted)
	bound := losses*3*window + c.kills()*(uncommitted+unconfirmed/2) + c.partitions*unconfirmed +
		c.serverStops*len(c.nodes)*unconfirmed
	c.row.lost += len(lost)
	c.row.dups += dups
	c.row.bound += bound
	for what, l := range map[string][]string{"without a report": lost, "reported twice": doubled,
		"with an unexpected status or node": wrong, "reported in another node's inbox/": misplaced} {
		if len(l) > 0 {
			c.t.Errorf("%d messages %s: %s", len(l), what, first(l, 10))
		}
	}
	if dups > bound {
		c.t.Errorf("the SMSC accepted %d messages more than once; the bound is %d (%d sessions lost, %d kills, %d partitions, %d NATS servers stopped)",
			dups, bound, losses, c.kills(), c.partitions, c.serverStops)
	}
	c.t.Logf("ledger: %d messages, %d lost, %d duplicates (bound %d), simulator %+v", total, len(lost), dups, bound, st)
}

// TestCluster_killNode: two nodes send under load; one is killed with
// SIGKILL, the other takes over what it held after takeover_after, and the
// killed node comes back to write its reports.
func TestCluster_killNode(t *testing.T) {
	c := newClusterRig(t, "cluster: SIGKILL a node")
	alpha, beta := c.node("alpha", c.nats.URLs()), c.node("beta", c.nats.URLs())
	n := scale(500, 3000)
	pa, _ := alpha.start(), beta.start()
	c.waitBound(30 * time.Second)
	ids := map[string][]string{"alpha": alpha.bulk("ka", n, 100), "beta": beta.bulk("kb", n, 100)}
	c.row.messages = 2 * n
	t0 := time.Now()
	c.waitAccepted(n / 4)
	// The kill comes while alpha holds messages it took: those are what
	// the takeover is about.
	var st clusterStatus
	c.eventually(60*time.Second, func() string {
		var err error
		if st, err = alpha.clusterStatus(); err != nil || st.Cluster.Held < window {
			return fmt.Sprintf("alpha holds %d messages (%v), waiting for %d", st.Cluster.Held, err, window)
		}
		return ""
	})
	c.t.Logf("alpha holds %d after %v", st.Cluster.Held, time.Since(t0))
	before := c.nats.Redeliveries("soak_QUEUE", "normal")
	pa.kill()
	killed := time.Now()
	c.fault("SIGKILL alpha after %d accepted, holding %d", c.sim.Stats().Accepted, st.Cluster.Held)
	// beta takes over what alpha held: the queue delivers it again. The
	// figure is read from the consumer's counts, which a quick
	// acknowledgement can hide; the ledger below is the proof, the time is
	// for the table.
	deadline := time.Now().Add(clusterTakeover + 20*time.Second)
	for {
		if got := c.nats.Redeliveries("soak_QUEUE", "normal"); got > before {
			takeover := time.Since(killed)
			c.t.Logf("takeover after %v (takeover_after %v)", takeover.Round(10*time.Millisecond), clusterTakeover)
			c.fault("takeover after %.1fs", takeover.Seconds())
			break
		}
		if time.Now().After(deadline) {
			c.fault("takeover not seen in the consumer's counts")
			break
		}
		<-time.After(20 * time.Millisecond) // polling the cluster with a deadline
	}
	// alpha returns: its files' reports are written into its inbox/.
	alpha.start()
	c.waitReports(map[*rig]int{alpha: n, beta: n}, 120*time.Second)
	c.t.Logf("all reports %v after the start", time.Since(t0))
	c.ledger(ids)
}

// TestCluster_leaderStopped: the NATS server that leads the queue's stream
// stops during the load and comes back; a new leader takes over.
func TestCluster_leaderStopped(t *testing.T) {
	c := newClusterRig(t, "cluster: stream leader stopped")
	alpha, beta := c.node("alpha", c.nats.URLs()), c.node("beta", c.nats.URLs())
	n := scale(500, 3000)
	alpha.start()
	beta.start()
	c.waitBound(30 * time.Second)
	ids := map[string][]string{"alpha": alpha.bulk("la", n, 100), "beta": beta.bulk("lb", n, 100)}
	c.row.messages = 2 * n
	c.waitAccepted(n / 2)
	leader := c.nats.StreamLeader("soak_QUEUE")
	if leader < 0 {
		t.Fatal("the queue's stream has no leader")
	}
	c.nats.Stop(leader)
	c.serverStops++
	stopped := time.Now()
	c.eventually(30*time.Second, func() string {
		if l := c.nats.StreamLeader("soak_QUEUE"); l < 0 || l == leader {
			return "no new leader of the queue's stream"
		}
		return ""
	})
	c.fault("stopped NATS server n%d (queue leader); new leader after %.1fs", leader+1, time.Since(stopped).Seconds())
	c.nats.Restart(leader)
	c.waitReports(map[*rig]int{alpha: n, beta: n}, 120*time.Second)
	c.ledger(ids)
}

// TestCluster_partition: one node is cut off from every NATS server while
// it sends (its SMSC link stays up): it stops sending what it holds within
// a second, gives it back, its intake waits with the files in place, and
// the other node takes over; when the link returns everything finishes.
func TestCluster_partition(t *testing.T) {
	c := newClusterRig(t, "cluster: partition a node")
	var proxies []*cutProxy
	var urls []string
	for _, u := range c.nats.URLs() {
		p := newCutProxy(t, strings.TrimPrefix(u, "nats://"))
		proxies = append(proxies, p)
		urls = append(urls, "nats://"+p.addr)
	}
	alpha, beta := c.node("alpha", urls), c.node("beta", c.nats.URLs())
	n := scale(500, 3000)
	alpha.start()
	beta.start()
	c.waitBound(30 * time.Second)
	ids := map[string][]string{"alpha": alpha.bulk("pa", n/2, 100), "beta": beta.bulk("pb", n, 100)}
	c.waitAccepted(n / 2)
	for _, p := range proxies {
		p.cut()
	}
	c.partitions++
	cutFor := time.Duration(scale(10, 30)) * time.Second
	c.fault("alpha cut off from NATS for %s", cutFor)
	c.eventually(10*time.Second, func() string {
		st, err := alpha.clusterStatus()
		if err != nil || st.Cluster.Ready {
			return fmt.Sprintf("alpha does not say it is cut off: %+v %v", st, err)
		}
		return ""
	})
	// Files dropped on alpha meanwhile wait in its spool.
	ids["alpha"] = append(ids["alpha"], alpha.bulk("pc", n/2, 100)...)
	c.row.messages = 2 * n
	// Polling the case's clock, not sleeping on a guess: the partition
	// lasts cutFor.
	end := time.Now().Add(cutFor)
	c.eventually(cutFor+5*time.Second, func() string {
		if time.Now().Before(end) {
			return "the partition lasts"
		}
		return ""
	})
	for _, p := range proxies {
		p.heal()
	}
	c.waitReports(map[*rig]int{alpha: n, beta: n}, 120*time.Second)
	c.ledger(ids)
}

// cutProxy forwards TCP to a NATS server until cut: then it closes every
// connection and refuses new ones (closes them at once) until healed.
type cutProxy struct {
	t      *testing.T
	addr   string
	target string
	ln     net.Listener
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{t: t, addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

func (p *cutProxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *cutProxy) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}
