//go:build unix

package agent_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/internal/fsutil"
	"github.com/smsagent/smsagent/internal/testutil"
)

// TestAgent_LinkedInboxTmpLeavesStateAlone is the attack from the field: a
// producer in the spool group replaced inbox/.tmp with a link to the state
// folder, and the next start emptied it, the queue database included. The
// agent must start, keep its queue and never look behind the link; reports
// still arrive.
func TestAgent_LinkedInboxTmpLeavesStateAlone(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	p := newFakePool(10, accept)
	r := start(t, cfg, agent.Options{NewPool: p.newPool})
	drop(t, cfg, "first.json", `{"id":"first","to":"1001","text":"x","report":false}`)
	testutil.Eventually(t, 10*time.Second, "file stored", func() bool {
		st, err := r.a.Outbox().Stats(context.Background())
		return err == nil && st.ByState[smsagent.StateQueued] == 1
	})
	if err := r.shutdown(); err != nil {
		t.Fatal(err)
	}
	state := filepath.Dir(cfg.Store.Path)
	canary := filepath.Join(state, "canary")
	if err := os.WriteFile(canary, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(cfg.Spool.Dir, "inbox", ".tmp")
	_ = os.RemoveAll(legacy)
	if err := os.Symlink(state, legacy); err != nil {
		t.Fatal(err)
	}

	p = newFakePool(10, accept)
	r = start(t, cfg, agent.Options{NewPool: p.newPool})
	p.setUp(true)
	waitReports(t, cfg, 1, 10*time.Second)
	if err := r.shutdown(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{cfg.Store.Path, canary} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s is gone: %v", f, err)
		}
	}
}

// TestAgent_PrivateFolderLinkRefused: the inbox writer's temporary folder
// replaced by a link stops the start with an error that names it, and
// nothing behind the link is touched.
func TestAgent_PrivateFolderLinkRefused(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	p := newFakePool(10, accept)
	start(t, cfg, agent.Options{NewPool: p.newPool}).shutdown()
	state := filepath.Dir(cfg.Store.Path)
	tmp := filepath.Join(cfg.Spool.Dir, ".inbox-tmp")
	if err := os.Remove(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(state, tmp); err != nil {
		t.Fatal(err)
	}
	_, err := agent.New(cfg, agent.Options{NewPool: p.newPool})
	if !errors.Is(err, fsutil.ErrNotPrivate) {
		t.Fatalf("agent.New = %v, want a refusal of %s", err, tmp)
	}
	t.Log(err)
	if _, err := os.Stat(cfg.Store.Path); err != nil {
		t.Errorf("the database is gone: %v", err)
	}
}
