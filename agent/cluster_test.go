package agent_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/natstest"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// clusterConfig is a node of a cluster on the NATS servers urls: the
// test's folders, an SMSC account at smscAddr, and the store backend
// jetstream with a short takeover.
func clusterConfig(t testing.TB, node, smscAddr string, urls []string, extra ...string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	quoted := make([]string, len(urls))
	for i, u := range urls {
		quoted[i] = fmt.Sprintf("%q", u)
	}
	doc := fmt.Sprintf(`smsc:
  address: %q
  system_id: agent
  password: secret
  sessions: 2
  window: 10
  response_timeout: 1s
  bind_timeout: 1s
  enquire_link: 5s
`, smscAddr) + testFolders(dir)
	doc = strings.Replace(doc, "store:\n", fmt.Sprintf(`store:
  backend: jetstream
  jetstream:
    urls: [%s]
    prefix: e2e
    replicas: 3
    node: %s
    takeover_after: 2s
`, strings.Join(quoted, ", "), node), 1)
	cfg, err := config.Parse([]byte(mergeYAML(doc, extra...)))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, doc)
	}
	return cfg
}

// deadAddress is a loopback address where nothing listens.
func deadAddress(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestAgent_e2e_cluster runs three agents on one JetStream cluster of three
// servers. alpha has no SMSC it can reach: it only takes files, and every
// message of its files is sent by beta or gamma, yet its reports are
// written into alpha's inbox/. beta and gamma share the SMSC account (two
// binds each); the simulator sends each receipt to any receiver of the
// account, so receipts of messages one node sent arrive on the other's
// binds and must be routed to the sender. Every message ends with exactly
// one report, delivered, in the inbox/ of the node whose intake took it,
// and the SMSC got each once.
func TestAgent_e2e_cluster(t *testing.T) {
	nats := natstest.Start(t, 3)
	sim := simulator(t, smsc.Options{ReceiptDelay: 50 * time.Millisecond})
	alpha := startReal(t, clusterConfig(t, "alpha", deadAddress(t), nats.URLs()))
	beta := startReal(t, clusterConfig(t, "beta", sim.Addr(), nats.URLs()))
	gamma := startReal(t, clusterConfig(t, "gamma", sim.Addr(), nats.URLs()))

	const perNode = 60
	file := func(prefix string, n int) string {
		var lines []string
		for i := range n {
			lines = append(lines, fmt.Sprintf(`{"id":"%s-%d","to":"+3584%06d","text":"cluster %s %d"}`, prefix, i, len(prefix)*100000+i, prefix, i))
		}
		return strings.Join(lines, "\n")
	}
	drop(t, alpha.cfg, "a.ndjson", file("a", perNode))
	drop(t, beta.cfg, "b.ndjson", file("bb", perNode))

	for _, tc := range []struct {
		r      *running
		prefix string
	}{{alpha, "a"}, {beta, "bb"}} {
		reps := waitReports(t, tc.r.cfg, perNode, 60*time.Second)
		for id, rep := range reps {
			if !strings.HasPrefix(id, tc.prefix+"-") {
				t.Errorf("%s's inbox/ has the report of %s", tc.r.cfg.Store.JetStream.Node, id)
			}
			if rep.Status != "delivered" || rep.Node != tc.r.cfg.Store.JetStream.Node {
				t.Errorf("%s: status %s, node %q", id, rep.Status, rep.Node)
			}
		}
	}
	if got := inboxFiles(t, gamma.cfg, ".report.json"); len(got) != 0 {
		t.Errorf("gamma's intake took nothing, yet its inbox/ has %d reports", len(got))
	}
	seen := map[string]int{}
	for _, m := range sim.Messages() {
		seen[m.To]++
	}
	if len(seen) != 2*perNode {
		t.Errorf("the SMSC got %d distinct messages, want %d", len(seen), 2*perNode)
	}
	for to, n := range seen {
		if n != 1 {
			t.Errorf("the SMSC got the message to %s %d times", to, n)
		}
	}
	ctx := context.Background()
	var taken, rOut, rIn, eOut, eIn uint64
	for _, r := range []*running{alpha, beta, gamma} {
		st, err := r.a.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Cluster == nil || !st.Cluster.Ready {
			t.Fatalf("%s: cluster status %+v, health %v", r.cfg.Store.JetStream.Node, st.Cluster, st.Health)
		}
		t.Logf("%s: %+v", st.Cluster.Node, *st.Cluster)
		taken += st.Cluster.Taken
		rOut, rIn, eOut, eIn = rOut+st.Cluster.ReceiptsOut, rIn+st.Cluster.ReceiptsIn, eOut+st.Cluster.EventsOut, eIn+st.Cluster.EventsIn
		if r == alpha && st.Cluster.Taken != 0 {
			t.Errorf("alpha cannot send, yet took %d messages", st.Cluster.Taken)
		}
	}
	if taken != 2*perNode {
		t.Errorf("the nodes took %d messages, want %d", taken, 2*perNode)
	}
	// alpha's 60 reports all came from beta or gamma; some of beta's were
	// made by gamma. Receipts landed on the binds of both.
	if eOut < perNode || eOut != eIn {
		t.Errorf("events sent to other nodes %d, received %d; want at least %d, and equal", eOut, eIn, perNode)
	}
	if rOut == 0 || rOut != rIn {
		t.Errorf("receipts routed to other nodes %d, applied there %d; want some, and equal", rOut, rIn)
	}
	t.Logf("events crossed %d, receipts crossed %d", eOut, rOut)
	testutil.Eventually(t, 10*time.Second, "the shared queue to be empty", func() bool {
		st, err := beta.a.Status(ctx)
		return err == nil && st.Cluster.Queued == 0
	})
}

// TestAgent_e2e_clusterUnreachable: an agent whose cluster is down starts
// all the same, says why it is not ready, keeps a dropped file in its
// spool (neither taken nor refused), and sends it by itself once the
// cluster is back.
func TestAgent_e2e_clusterUnreachable(t *testing.T) {
	nats := natstest.Start(t, 3)
	sim := simulator(t, smsc.Options{})
	for i := range 3 {
		nats.Stop(i)
	}
	r := startReal(t, clusterConfig(t, "alpha", sim.Addr(), nats.URLs()))
	drop(t, r.cfg, "wait.json", `{"id":"w1","to":"+358401234","text":"waits for the cluster"}`)
	testutil.Eventually(t, 10*time.Second, "the agent to say the cluster is unavailable", func() bool {
		err := r.a.Ready()
		return err != nil && strings.Contains(err.Error(), "cluster: unavailable")
	})
	st, err := r.a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Cluster == nil || st.Cluster.Ready || !slicesContainsPrefix(st.Health, "cluster: unavailable") {
		t.Fatalf("status while the cluster is down: %+v, health %v", st.Cluster, st.Health)
	}
	if len(inboxFiles(t, r.cfg, "")) != 0 || len(failedFiles(t, r.cfg)) != 0 {
		t.Fatal("the file was refused or reported while the cluster was down")
	}
	for i := range 3 {
		nats.Restart(i)
	}
	reps := waitReports(t, r.cfg, 1, 60*time.Second)
	if rep := reps["w1"]; rep.Status != "delivered" || rep.Node != "alpha" {
		t.Fatalf("report %+v", rep)
	}
	testutil.Eventually(t, 10*time.Second, "the agent to be ready", func() bool { return r.a.Ready() == nil })
}

func slicesContainsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// failedFiles lists failed/.
func failedFiles(t *testing.T, cfg *config.Config) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(cfg.Spool.Dir, "failed"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
