package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// childEnv names the configuration a re-executed test binary runs an
// agent with, instead of running tests.
const childEnv = "SMSAGENT_TEST_AGENT_CONFIG"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(childAgent(path))
	}
	if len(os.Args) > 1 && os.Args[1] == hookArg {
		os.Exit(eventCommand(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// childAgent runs an agent in this process until SIGINT or SIGTERM, as
// `smsagent run` does, or until its stdin closes (the stop a test can send
// on Windows, which has no SIGTERM for another process), for tests that
// kill processes.
func childAgent(path string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := config.Load(path)
	if err != nil {
		log.Error("child: config", "err", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-testutil.StdinClosed()
		cancel()
	}()
	a, err := agent.New(cfg, agent.Options{Logger: log, TunePool: fastPool})
	if err != nil {
		log.Error("child: agent", "err", err)
		return 1
	}
	if err := a.Run(ctx); err != nil {
		log.Error("child: run", "err", err)
		return 1
	}
	return 0
}

// startChild runs the agent on cfgFile in a process of its own (the test
// binary, which TestMain turns into the agent).
func startChild(t *testing.T, cfgFile string) *testutil.Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Stderr = tWriter{t}
	return testutil.Start(t, cmd, childEnv+"="+cfgFile)
}

// TestAgent_kill SIGKILLs the agent process (TerminateProcess on Windows) several times while it sends
// 10,000 messages (1,000 on Windows) with receipts, restarting it each time. No message is
// lost, each has exactly one report, and the SMSC saw at most
// sessions × window + smsc.max_uncommitted messages twice per kill: those
// in flight and those answered whose answers were not yet committed.
func TestAgent_kill(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes for a while")
	}
	const budget = 2*10 + 2*2*10 // smsc.sessions × smsc.window + its default max_uncommitted
	n := 10_000
	if runtime.GOOS == "windows" {
		// Under Wine each file costs the agent about ten times what it
		// costs on Linux (2,500 messages took 90 s, 10,000 would pass
		// make test-windows' 4-minute package timeout): a tenth of the
		// messages, with the kills at the same stages.
		n = 1_000
	}
	// The first kill comes while intake is still storing the files, the
	// others while messages and receipts stream.
	killsAt := []int{50, n / 4, n / 2, 3 * n / 4}
	sim := simulator(t, smsc.Options{Logger: slog.New(slog.DiscardHandler)})
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "smsagent.yaml")
	doc := fmt.Sprintf(`smsc:
  address: %q
  system_id: agent
  sessions: 2
  window: 10
  response_timeout: 2s
  receipt_grace: 0s
spool:
  dir: spool
  settle: 0s
  rescan_interval: 1s
store:
  path: state/outbox.db
admin:
  listen: ""
log:
  level: warn
`, sim.Addr())
	if err := os.WriteFile(cfgFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"outgoing"} {
		if err := os.MkdirAll(filepath.Join(cfg.Spool.Dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	bulk(t, cfg, n)

	kills := 0
	for k, at := range killsAt {
		c := startChild(t, cfgFile)
		if _, err := sim.WaitFor(ctxT(t, 60*time.Second), func(s smsc.Stats) bool { return s.Accepted >= at }); err != nil {
			t.Fatalf("kill %d: the SMSC accepted %d messages, waiting for %d: %v", k+1, sim.Stats().Accepted, at, err)
		}
		c.Kill(t)
		kills++
		t.Logf("kill %d after %d accepted", k+1, sim.Stats().Accepted)
	}
	c := startChild(t, cfgFile)
	waitDelivered(t, cfg, n, 120*time.Second)
	// The graceful stop: the end of its stdin (Windows has no SIGTERM for
	// another process; the agent's own signal handling is tested by cmd).
	if err := c.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
		if err := c.Err(); err != nil {
			t.Errorf("graceful stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("no stop within 10 s of the stop")
	}
	checkAll(t, cfg, sim, n, "delivered")
	d := duplicates(sim)
	t.Logf("%d kills, %d messages accepted twice by the SMSC", kills, d)
	if d > kills*budget {
		t.Errorf("the SMSC accepted %d messages twice; at most %d were in flight at the kills", d, kills*budget)
	}
	if left, _ := filepath.Glob(filepath.Join(cfg.Spool.Dir, "outgoing", "*")); len(left) > 0 {
		t.Errorf("files left in outgoing/: %s", strings.Join(left, " "))
	}
}
