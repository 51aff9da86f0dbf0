package agent_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// hookArg makes the test binary act as an event command (TestMain): the
// arguments after it are a mode, a folder for its traces, then what the
// configuration passes.
const hookArg = "smsagent-test-hook"

// hookCommand is the test binary as an event command in mode, leaving its
// traces in dir.
func hookCommand(t *testing.T, mode, dir string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("[%q, %q, %q, %q, \"{type}\", \"{file}\", \"{id}\"]", exe, hookArg, mode, dir)
}

// eventCommand is the test binary run as an event command:
//
//	flaky DIR TYPE FILE ID  fails twice for each ID, then records
//	                        "TYPE ID FILE STATUS CLIENT_ID EXISTS" in DIR/done
//	record DIR TYPE FILE ID records at once, as flaky does
//	sleep DIR ...           sleeps for a minute (past any test's timeout)
//	chatty DIR ...          writes 4 MiB to stdout and exits 0
func eventCommand(args []string) int {
	if len(args) < 5 {
		return 64
	}
	mode, dir, typ, file, id := args[0], args[1], args[2], args[3], args[4]
	switch mode {
	case "flaky", "record":
		tries := filepath.Join(dir, "tries-"+id)
		f, err := os.OpenFile(tries, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return 70
		}
		_, _ = f.Write([]byte{'x'})
		_ = f.Close()
		b, _ := os.ReadFile(tries)
		if mode == "flaky" && len(b) <= 2 {
			fmt.Fprintln(os.Stderr, "not yet:", len(b))
			return 1
		}
		_, statErr := os.Stat(file)
		line := strings.Join([]string{typ, id, file, os.Getenv("SMSAGENT_STATUS"), os.Getenv("SMSAGENT_CLIENT_ID"),
			strconv.FormatBool(statErr == nil), os.Getenv("SMSAGENT_ID"), os.Getenv("SMSAGENT_EVENT_TYPE"),
			os.Getenv("SMSAGENT_FILE")}, "\t")
		done, err := os.OpenFile(filepath.Join(dir, "done"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return 70
		}
		defer done.Close()
		_, _ = done.WriteString(line + "\n")
		return 0
	case "sleep":
		// A hung program: the agent must kill it at hooks.timeout.
		<-time.After(time.Minute)
		return 0
	case "chatty":
		w := bufio.NewWriter(os.Stdout)
		line := strings.Repeat("y", 1023) + "\n"
		for range 4 << 10 {
			_, _ = w.WriteString(line)
		}
		_ = w.Flush()
		return 0
	}
	return 64
}

// dropHellos drops n message files m0.json… with ids m0…, to
// +35840123456N.
func dropHellos(t *testing.T, cfg *config.Config, n int) {
	t.Helper()
	for i := range n {
		drop(t, cfg, "m"+strconv.Itoa(i)+".json", `{"id":"m`+strconv.Itoa(i)+`","to":"+35840123456`+strconv.Itoa(i)+`","text":"hello"}`)
	}
}

// injectSTOP sends the agent an incoming SMS once a session is bound.
func injectSTOP(t *testing.T, sim *smsc.Server) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "bound", func() bool { return sim.Stats().Bound > 0 })
	if _, err := sim.InjectMO("agent", "358409999999", "12345", "STOP", smsc.MOOptions{}); err != nil {
		t.Fatal(err)
	}
}

// hookLines are the lines the flaky command recorded, split into fields.
func hookLines(t *testing.T, dir string) [][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "done"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		out = append(out, strings.Split(l, "\t"))
	}
	return out
}

// TestAgent_e2e_hooks: the event command runs once each report and
// incoming SMS is in inbox/, with the event in its arguments and
// environment; a command that exits 1 twice is made again until it exits 0,
// also across an agent restart, and each event's successful run happens
// once.
func TestAgent_e2e_hooks(t *testing.T) {
	sim := simulator(t, smsc.Options{})
	traces := t.TempDir()
	cfg := testConfig(t, sim.Addr(), "hooks.command: "+hookCommand(t, "flaky", traces), "hooks.retries: 5",
		"hooks.retry_initial: 300ms", "hooks.timeout: 20s")
	r := start(t, cfg, agent.Options{TunePool: fastPool})
	dropHellos(t, cfg, 3)
	injectSTOP(t, sim)
	waitReports(t, cfg, 3, 10*time.Second)
	// Every event's first run has failed (a trace each) before the
	// restart: the retries owed survive it in the outbox.
	testutil.Eventually(t, 10*time.Second, "first runs", func() bool {
		ents, _ := os.ReadDir(traces)
		return len(ents) >= 4
	})
	if err := r.shutdown(); err != nil {
		t.Fatal(err)
	}
	doneBefore := len(hookLines(t, traces)) // usually none: each needs a third run
	r = start(t, cfg, agent.Options{TunePool: fastPool})
	testutil.Eventually(t, 20*time.Second, "every event's command to succeed", func() bool {
		return len(hookLines(t, traces)) >= 4
	})
	files := map[string]string{} // event id → absolute file
	for _, f := range append(inboxFiles(t, cfg, ".report.json"), inboxFiles(t, cfg, ".mo.json")...) {
		files[strings.TrimSuffix(filepath.Base(f), ".json")] = f
	}
	rep := reports(t, cfg)
	lines := hookLines(t, traces)
	if len(lines) != 4 {
		t.Fatalf("%d successful runs, want 4 (one per event): %q", len(lines), lines)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		typ, id, file, status, client, exists, envID, envType, envFile := l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7], l[8]
		if seen[id] {
			t.Errorf("event %s ran twice to success", id)
		}
		seen[id] = true
		if files[id] != file || exists != "true" || envID != id || envType != typ || envFile != file {
			t.Errorf("run %q: want the file %s, there, in the arguments and the environment", l, files[id])
		}
		switch typ {
		case "report":
			if r := rep[client]; r.Status != status || status != "delivered" {
				t.Errorf("run %q: the report says %q", l, r.Status)
			}
		case "mo":
			if status != "received" {
				t.Errorf("run %q: status of an incoming SMS", l)
			}
		default:
			t.Errorf("run %q: type", l)
		}
		if b, _ := os.ReadFile(filepath.Join(traces, "tries-"+id)); len(b) != 3 {
			t.Errorf("event %s: %d runs, want 3 (exit 1, exit 1, exit 0)", id, len(b))
		}
	}
	// The last run recorded its success just before it exited.
	testutil.Eventually(t, 10*time.Second, "the status to count the runs made since the restart", func() bool {
		st, err := r.a.Status(context.Background())
		return err == nil && st.Hooks != nil && int(st.Hooks.Ran) == 4-doneBefore && st.Hooks.Running == 0
	})
	if h, _ := r.a.Status(context.Background()); h.Hooks.Failing || h.Hooks.GivenUp != 0 {
		t.Errorf("status after the restart: %+v", h.Hooks)
	}
}

// TestAgent_e2e_hooksNDJSON: with NDJSON batches the command gets the
// batch's file, which is in inbox/ when it runs (the rename follows the
// commit that owes the run).
func TestAgent_e2e_hooksNDJSON(t *testing.T) {
	sim := simulator(t, smsc.Options{})
	traces := t.TempDir()
	cfg := testConfig(t, sim.Addr(), "hooks.command: "+hookCommand(t, "record", traces), "hooks.events: [report]",
		"spool.inbox_format: ndjson", "spool.inbox_batch: 5", "spool.inbox_batch_age: 50ms")
	start(t, cfg, agent.Options{TunePool: fastPool})
	dropHellos(t, cfg, 10)
	testutil.Eventually(t, 20*time.Second, "a run per report", func() bool { return len(hookLines(t, traces)) >= 10 })
	ids := map[string]bool{}
	for _, l := range hookLines(t, traces) {
		typ, id, file, status, client, exists := l[0], l[1], l[2], l[3], l[4], l[5]
		if typ != "report" || status != "delivered" || !strings.HasPrefix(client, "m") || ids[id] ||
			exists != "true" || !strings.HasSuffix(file, ".events.ndjson") || filepath.Dir(file) != filepath.Join(cfg.Spool.Dir, "inbox") {
			t.Errorf("run %q: want each report's NDJSON file in inbox/, there when the command ran", l)
		}
		ids[id] = true
	}
}

// logRecords keeps the records a test's logger receives.
type logRecords struct {
	slog.Handler
	mu   *sync.Mutex
	recs *[]slog.Record
}

func newLogRecords(t *testing.T) (*slog.Logger, func() []slog.Record) {
	var mu sync.Mutex
	var recs []slog.Record
	h := logRecords{Handler: testLogger(t).Handler(), mu: &mu, recs: &recs}
	return slog.New(h), func() []slog.Record {
		mu.Lock()
		defer mu.Unlock()
		return append([]slog.Record(nil), recs...)
	}
}

// Enabled takes every level: the test reads info records the test log
// does not show.
func (h logRecords) Enabled(context.Context, slog.Level) bool { return true }

func (h logRecords) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	*h.recs = append(*h.recs, r.Clone())
	h.mu.Unlock()
	if strings.HasPrefix(r.Message, "agent: event command") || !h.Handler.Enabled(ctx, r.Level) {
		return nil // the chatty command's output would flood the test log
	}
	return h.Handler.Handle(ctx, r)
}

func (h logRecords) WithAttrs(as []slog.Attr) slog.Handler {
	return logRecords{Handler: h.Handler.WithAttrs(as), mu: h.mu, recs: h.recs}
}

func (h logRecords) WithGroup(name string) slog.Handler {
	return logRecords{Handler: h.Handler.WithGroup(name), mu: h.mu, recs: h.recs}
}

func attr(r slog.Record, key string) (slog.Value, bool) {
	var v slog.Value
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v, found = a.Value, true
			return false
		}
		return true
	})
	return v, found
}

// TestAgent_e2e_hookTimeoutAndOutput: a command that sleeps past
// hooks.timeout is killed at it, made again hooks.retries times and given
// up (counted, in the status and its health); a command that writes 4 MiB
// has output_limit bytes of it logged and the rest counted as dropped.
func TestAgent_e2e_hookTimeoutAndOutput(t *testing.T) {
	for _, tc := range []struct {
		mode string
		yaml []string
	}{
		{"sleep", []string{"hooks.timeout: 300ms", "hooks.retries: 1", "hooks.retry_initial: 10ms", "hooks.events: [report]"}},
		{"chatty", []string{"hooks.output_limit: 4KiB", "hooks.events: [report]"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			sim := simulator(t, smsc.Options{})
			cfg := testConfig(t, sim.Addr(), append(tc.yaml, "hooks.command: "+hookCommand(t, tc.mode, t.TempDir()))...)
			log, records := newLogRecords(t)
			r := start(t, cfg, agent.Options{TunePool: fastPool, Logger: log})
			drop(t, cfg, "m.json", `{"id":"m","to":"+358401234567","text":"hello"}`)
			waitReports(t, cfg, 1, 10*time.Second)
			var h *smsagent.HookStatus
			testutil.Eventually(t, 20*time.Second, "the command's end", func() bool {
				st, err := r.a.Status(context.Background())
				if err != nil || st.Hooks == nil {
					return false
				}
				h = st.Hooks
				return h.GivenUp+h.Ran > 0
			})
			switch tc.mode {
			case "sleep":
				st, _ := r.a.Status(context.Background())
				if h.GivenUp != 1 || h.Retried != 1 || h.Ran != 0 || !h.Failing ||
					!strings.Contains(h.LastError, "timeout") {
					t.Errorf("status: %+v", h)
				}
				if len(st.Health) == 0 || !strings.HasPrefix(st.Health[len(st.Health)-1], "event command failing: ") {
					t.Errorf("health: %q", st.Health)
				}
			case "chatty":
				if h.Ran != 1 {
					t.Fatalf("status: %+v", h)
				}
				var out, dropped slog.Value
				for _, rec := range records() {
					if rec.Message == "agent: event command ran" {
						out, _ = attr(rec, "output")
						dropped, _ = attr(rec, "output_dropped_bytes")
					}
				}
				if n := len(out.String()); n != 4<<10 {
					t.Errorf("logged %d bytes of output, want output_limit (4 KiB)", n)
				}
				if dropped.String() != strconv.Itoa(4<<20-4<<10) {
					t.Errorf("dropped %v bytes, want %d", dropped, 4<<20-4<<10)
				}
			}
		})
	}
}
