package cluster_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/cluster"
	"github.com/smsagent/smsagent/internal/natstest"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/outbox"
)

func connect(t *testing.T, c *natstest.Cluster, node string, takeover time.Duration) *cluster.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := cluster.Connect(ctx, cluster.Options{URLs: c.URLs(), Prefix: "t", Replicas: 3, Node: node,
		TakeoverAfter: takeover, Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	testutil.Eventually(t, 20*time.Second, node+" ready", func() bool { return n.Ready() == nil })
	return n
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func msg(clientID, to string) smsagent.Message {
	return smsagent.Message{ClientID: clientID, To: smsagent.Address{Kind: smsagent.AddrInternational, Value: to}, Text: "hi", Report: true}
}

func openOutbox(t *testing.T) *outbox.Store {
	t.Helper()
	s, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// TestNode_enqueue: ids are the stream's, a claim is taken once, a claim
// published again after its record is lost gets the same ids (the
// stream's deduplication), and a client id taken on one node is a
// duplicate on another.
func TestNode_enqueue(t *testing.T) {
	nc := natstest.Start(t, 3)
	a := connect(t, nc, "alpha", 2*time.Second)
	b := connect(t, nc, "beta", 2*time.Second)
	ctx := context.Background()

	batch := smsagent.Batch{Claim: "c1", File: "f.json", Messages: []smsagent.Message{
		msg("x1", "358401"), msg("x2", "358402"), msg("x1", "358401")}}
	res, err := a.Enqueue(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.IDs[0] == 0 || res.IDs[1] == 0 || res.IDs[0] == res.IDs[1] || res.IDs[2] != 0 {
		t.Fatalf("ids %v", res.IDs)
	}
	if len(res.Duplicates) != 1 || res.Duplicates[0].MessageID != res.IDs[0] {
		t.Fatalf("duplicates in the batch %+v", res.Duplicates)
	}
	if taken, err := a.Taken(ctx, "c1"); err != nil || !taken {
		t.Fatalf("taken %v %v", taken, err)
	}
	if taken, _ := b.Taken(ctx, "c1"); taken {
		t.Fatal("a claim is a node's: beta's c1 is not alpha's")
	}
	again, err := a.Enqueue(ctx, batch)
	if err != nil || !again.AlreadyTaken {
		t.Fatalf("again: %+v %v", again, err)
	}
	n, err := a.Queued(ctx)
	if err != nil || n != 2 {
		t.Fatalf("queued %d %v, want 2", n, err)
	}

	other, err := b.Enqueue(ctx, smsagent.Batch{Claim: "c1", Messages: []smsagent.Message{msg("x2", "358402"), msg("x3", "358403")}})
	if err != nil {
		t.Fatal(err)
	}
	if other.IDs[0] != 0 || other.IDs[1] == 0 || len(other.Duplicates) != 1 || other.Duplicates[0].MessageID != res.IDs[1] {
		t.Fatalf("beta: %+v", other)
	}
}

// TestNode_takeover: a node that takes messages and goes silent loses
// them to another node after the takeover time; a node that stops
// gracefully gives them back at once.
func TestNode_takeover(t *testing.T) {
	nc := natstest.Start(t, 3)
	takeover := 2 * time.Second
	a := connect(t, nc, "alpha", takeover)
	b := connect(t, nc, "beta", takeover)
	ctx := context.Background()
	var ms []smsagent.Message
	for i := range 10 {
		ms = append(ms, msg("", "35840"+string(rune('0'+i))))
	}
	res, err := a.Enqueue(ctx, smsagent.Batch{Claim: "c", Messages: ms})
	if err != nil {
		t.Fatal(err)
	}

	// alpha takes everything, then dies without a word.
	storeA := openOutbox(t)
	actx, kill := context.WithCancel(ctx)
	go a.RunTaker(actx, cluster.TakerOptions{Local: storeA, CanTake: func() bool { return true }})
	testutil.Eventually(t, 10*time.Second, "alpha to hold the 10", func() bool { return a.TakerStats().Held == 10 })
	if err := a.Close(ctx); err != nil { // the connection ends: no ack, no nak, no renewal
		t.Fatal(err)
	}
	died := time.Now()
	kill()

	storeB := openOutbox(t)
	bctx, stopB := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.RunTaker(bctx, cluster.TakerOptions{Local: storeB, CanTake: func() bool { return true }})
	}()
	testutil.Eventually(t, 20*time.Second, "beta to take the 10 over", func() bool { return b.TakerStats().Held == 10 })
	took := time.Since(died)
	t.Logf("takeover after %v (takeover_after %v)", took.Round(10*time.Millisecond), takeover)
	if took < takeover/2 {
		t.Errorf("beta took alpha's messages after %v, before the takeover time %v", took, takeover)
	}
	hs, err := storeB.Holdings(ctx, res.IDs)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hs {
		if !h.Stored || h.Accepted {
			t.Errorf("message %d in beta's outbox: %+v", res.IDs[i], h)
		}
	}

	// beta stops: the messages go back to the queue at once, and out of
	// beta's outbox.
	stopB()
	<-done
	if st := b.TakerStats(); st.Released != 10 {
		t.Errorf("beta released %d, want 10", st.Released)
	}
	left, _ := storeB.Holdings(ctx, res.IDs)
	if slices.ContainsFunc(left, func(h outbox.Holding) bool { return h.Stored }) {
		t.Errorf("beta's outbox keeps released messages: %+v", left)
	}
	c := connect(t, nc, "gamma", takeover)
	storeC := openOutbox(t)
	cctx, stopC := context.WithCancel(ctx)
	defer stopC()
	given := time.Now()
	go c.RunTaker(cctx, cluster.TakerOptions{Local: storeC, CanTake: func() bool { return true }})
	testutil.Eventually(t, 10*time.Second, "gamma to take what beta gave back", func() bool { return c.TakerStats().Held == 10 })
	if d := time.Since(given); d > takeover {
		t.Errorf("messages given back reached gamma after %v, not at once", d)
	}
}

// TestMigrate_roundTrip: a bbolt queue moves into the cluster (queued
// messages published under this node, the SMSC ids of a sent one indexed
// here) and back into another database (new ids there, client ids kept,
// no origin).
func TestMigrate_roundTrip(t *testing.T) {
	nc := natstest.Start(t, 3)
	a := connect(t, nc, "alpha", 2*time.Second)
	b := connect(t, nc, "beta", 2*time.Second)
	ctx := context.Background()
	old := openOutbox(t)
	res, err := old.Enqueue(ctx, smsagent.Batch{Claim: "c", File: "f.json", Messages: []smsagent.Message{
		msg("k1", "358401"), msg("k2", "358402"), msg("", "358403")}})
	if err != nil {
		t.Fatal(err)
	}
	// The first is accepted and waits for its receipt: it stays.
	recs, err := old.Claim(ctx, time.Now(), 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("claim %v %v", recs, err)
	}
	if err := old.RecordParts(ctx, []outbox.PartResult{{ID: res.IDs[0], Seq: 1, Total: 1, Outcome: outbox.OutcomeAccepted,
		SMSCID: "abc", SMSCKey: "abc", At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	in, err := a.MigrateIn(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if in.Messages != 2 || in.Indexed != 1 {
		t.Fatalf("migrated in %+v, want 2 messages and 1 index key", in)
	}
	if n, _ := a.Queued(ctx); n != 2 {
		t.Fatalf("queue holds %d, want 2", n)
	}
	st, _ := old.Stats(ctx)
	if st.ByState[smsagent.StateQueued] != 0 || st.ByState[smsagent.StateSent] != 1 {
		t.Fatalf("old database after the move: %+v", st.ByState)
	}
	// A receipt of the sent one arriving on beta goes to alpha.
	if _, err := b.RouteReceipts(ctx, []smsagent.Receipt{{SMSCID: "abc", Keys: []string{"abc"}, State: smsagent.StateDelivered}}, nil); err != nil {
		t.Fatal(err)
	}
	if x := b.Crossings(); x.ReceiptsOut != 1 {
		t.Fatalf("beta routed %d receipts to another node, want 1", x.ReceiptsOut)
	}
	// The client id k2 came along: beta's file with it is a duplicate.
	dup, err := b.Enqueue(ctx, smsagent.Batch{Claim: "d", Messages: []smsagent.Message{msg("k2", "358402")}})
	if err != nil || len(dup.Duplicates) != 1 {
		t.Fatalf("k2 again: %+v %v", dup, err)
	}

	back := openOutbox(t)
	out, err := a.MigrateOut(ctx, back)
	if err != nil {
		t.Fatal(err)
	}
	if out.Messages != 2 {
		t.Fatalf("migrated out %+v, want 2 messages", out)
	}
	list, err := back.List(ctx, outbox.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var clientIDs []string
	for _, r := range list {
		if r.Origin != "" || r.State != smsagent.StateQueued {
			t.Errorf("moved back: %+v", r)
		}
		clientIDs = append(clientIDs, r.ClientID)
	}
	slices.Sort(clientIDs)
	if !slices.Equal(clientIDs, []string{"", "k2"}) {
		t.Fatalf("client ids moved back %v", clientIDs)
	}
	if n, _ := a.Queued(ctx); n != 0 {
		t.Fatalf("queue holds %d after the move back", n)
	}
}

// TestConnect_passwordFile: a node logs in with the password its file
// holds when it connects (not the one read before, here "stale"), and a
// node with a wrong password is not ready.
func TestConnect_passwordFile(t *testing.T) {
	password := "first-secret"
	nc := natstest.StartWith(t, 1, func(o *server.Options) { o.Username, o.Password = "agent", password })
	file := filepath.Join(t.TempDir(), "nats.password")
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	read := func() (string, error) {
		b, err := os.ReadFile(file)
		return strings.TrimSpace(string(b)), err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := cluster.Connect(ctx, cluster.Options{URLs: nc.URLs(), Prefix: "p", Node: "alpha", User: "agent",
		Password: "stale", PasswordFile: read})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	if err := n.Ready(); err != nil {
		t.Fatalf("not ready with the file's password: %v", err)
	}
	wrong, err := cluster.Connect(ctx, cluster.Options{URLs: nc.URLs(), Prefix: "p", Node: "beta", User: "agent",
		Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close(context.Background())
	if err := wrong.Ready(); err == nil {
		t.Fatal("a node with the wrong password is ready")
	}
}
