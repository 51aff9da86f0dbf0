package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/outbox"
)

// TestRun_badConfig: a configuration with problems is a usage error (exit
// 2) listing every problem, before anything is touched.
func TestRun_badConfig(t *testing.T) {
	file, _ := writeConfig(t, "  window: 0\n  sessions: 100\n", "")
	r := cli(t, "run", "--config", file)
	r.want(t, exitUsage)
	for _, want := range []string{"2 problems", "smsc.window: must be between 1 and 1000, got 0",
		"smsc.sessions: must be between 1 and 64, got 100"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestRun_locked: a second agent on the same database does not start; it
// says why and exits 1.
func TestRun_locked(t *testing.T) {
	file, _ := writeConfig(t, "", "admin:\n  listen: \"\"\n")
	db := filepath.Join(filepath.Dir(file), "state", "outbox.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o750); err != nil {
		t.Fatal(err)
	}
	s, err := outbox.Open(db, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close(context.Background()) }()
	r := cli(t, "run", "--config", file)
	r.want(t, exitFailure)
	if !strings.Contains(r.stderr, "in use by another smsagent process") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}
