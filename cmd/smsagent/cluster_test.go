package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/natstest"
	"github.com/smsagent/smsagent/outbox"
)

// TestCluster_statusAndMigrate: a stopped agent's queued messages move into
// the cluster and back, and `cluster status` shows the queue's stream with
// them.
func TestCluster_statusAndMigrate(t *testing.T) {
	nats := natstest.Start(t, 1)
	dir := t.TempDir()
	file := filepath.Join(dir, "smsagent.yaml")
	body := fmt.Sprintf(`smsc:
  address: smsc.test:2775
  system_id: tester
spool:
  dir: spool
store:
  path: state/outbox.db
  backend: jetstream
  jetstream:
    urls: [%q]
    prefix: cli
    node: alpha
`, nats.URLs()[0])
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "state", "outbox.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o750); err != nil {
		t.Fatal(err)
	}
	s, err := outbox.Open(db, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	to, _ := smsagent.ParseNumber("+358401234")
	if _, err := s.Enqueue(context.Background(), smsagent.Batch{Claim: "c", File: "f.json", Messages: []smsagent.Message{
		{ClientID: "a", To: to, Text: "one"}, {ClientID: "b", To: to, Text: "two"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	r := cli(t, "migrate", "--to", "jetstream", "-c", file)
	r.want(t, 0)
	if !strings.Contains(r.stdout, "moved 2 queued messages into the cluster's queue as node alpha") {
		t.Fatalf("migrate in said %q", r.stdout)
	}
	r = cli(t, "cluster", "status", "-c", file)
	r.want(t, 0)
	if !strings.Contains(r.stdout, "cluster cli:") || !strings.Contains(r.stdout, "cli_QUEUE") {
		t.Fatalf("cluster status:\n%s", r.stdout)
	}
	r = cli(t, "cluster", "status", "--json", "-c", file)
	r.want(t, 0)
	var st struct {
		Streams []struct {
			Name     string `json:"name"`
			Messages uint64 `json:"messages"`
		} `json:"streams"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Streams) == 0 || st.Streams[0].Name != "cli_QUEUE" || st.Streams[0].Messages != 2 {
		t.Fatalf("streams %+v", st.Streams)
	}
	r = cli(t, "migrate", "--to", "bbolt", "-c", file)
	r.want(t, 0)
	if !strings.Contains(r.stdout, "moved 2 messages from the cluster's queue") {
		t.Fatalf("migrate out said %q", r.stdout)
	}

	bbolt := filepath.Join(dir, "bbolt.yaml")
	if err := os.WriteFile(bbolt, []byte(strings.Replace(body, "backend: jetstream", "backend: bbolt", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	r = cli(t, "cluster", "status", "-c", bbolt)
	r.want(t, exitUsage)
	if !strings.Contains(r.stderr, "in no cluster") {
		t.Fatalf("cluster status on bbolt said %q", r.stderr)
	}
}
