package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// testConfig is a configuration for a spool and a database in a temporary
// folder, with the shortest timings the schema allows. extra is YAML
// appended to the smsc section's siblings (indented for a top-level key).
func testConfig(t testing.TB, smscAddr string, extra ...string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	doc := fmt.Sprintf(`smsc:
  address: %q
  system_id: agent
  password: secret
  sessions: 2
  window: 5
  response_timeout: 1s
  bind_timeout: 1s
  enquire_link: 5s
`, smscAddr) + testFolders(dir)
	cfg, err := config.Parse([]byte(mergeYAML(doc, extra...)))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// testFolders is the configuration below the accounts: a spool and a
// database in dir, the shortest retry timings, no admin API.
func testFolders(dir string) string {
	return fmt.Sprintf(`spool:
  dir: %q
  settle: 0s
  rescan_interval: 1s
store:
  path: %q
retry:
  initial: 100ms
  max: 200ms
admin:
  listen: ""
`, filepath.Join(dir, "spool"), filepath.Join(dir, "state", "outbox.db"))
}

// mergeYAML replaces or adds "section.key: value" lines given as
// "section.key: value".
func mergeYAML(doc string, extra ...string) string {
	lines := strings.Split(doc, "\n")
	for _, e := range extra {
		dotted, value, _ := strings.Cut(e, ":")
		section, key, _ := strings.Cut(dotted, ".")
		at := slices.Index(lines, section+":")
		if at < 0 {
			lines = append(lines, section+":", "  "+key+":"+value)
			continue
		}
		end := at + 1
		replaced := false
		for ; end < len(lines) && strings.HasPrefix(lines[end], "  "); end++ {
			if strings.HasPrefix(lines[end], "  "+key+":") {
				lines[end] = "  " + key + ":" + value
				replaced = true
			}
		}
		if !replaced {
			lines = slices.Insert(lines, end, "  "+key+":"+value)
		}
	}
	return strings.Join(lines, "\n")
}

// testLogger logs to the test at warn level, or debug with -v and
// SMSAGENT_TEST_DEBUG set.
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("SMSAGENT_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: level}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// running is an agent running in the background of a test.
type running struct {
	t    testing.TB
	a    *agent.Agent
	cfg  *config.Config
	stop context.CancelFunc
	done chan error
}

// start runs an agent until the test ends (or stop is called).
func start(t testing.TB, cfg *config.Config, opts agent.Options) *running {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = 50 * time.Millisecond
	}
	a, err := agent.New(cfg, opts)
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, a: a, cfg: cfg, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() { r.shutdown() })
	// Running means intake watches outgoing/: a file dropped now is seen
	// at once rather than by the next rescan.
	testutil.Eventually(t, 10*time.Second, "the agent to run", func() bool {
		st, err := a.Status(context.Background())
		return err == nil && !st.Started.IsZero()
	})
	return r
}

// shutdown stops the agent and waits for Run; the outbox is closed after.
func (r *running) shutdown() error {
	r.t.Helper()
	r.stop()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
			return err
		}
		return nil
	case <-time.After(20 * time.Second):
		r.t.Fatal("agent did not stop within 20 s")
		return nil
	}
}

// drop writes a message file into outgoing/ the way the writer contract
// says: elsewhere, then renamed in.
func drop(t testing.TB, cfg *config.Config, name, content string) {
	t.Helper()
	tmp := filepath.Join(cfg.Spool.Dir, "outgoing", "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(cfg.Spool.Dir, "outgoing", name)); err != nil {
		t.Fatal(err)
	}
}

// inboxFiles lists the files in inbox/ whose names end in suffix.
func inboxFiles(t testing.TB, cfg *config.Config, suffix string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(cfg.Spool.Dir, "inbox"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), suffix) {
			out = append(out, filepath.Join(cfg.Spool.Dir, "inbox", e.Name()))
		}
	}
	return out
}

// reports reads every report in inbox/, keyed by client id (or message
// id when there is none). Two reports for one key fail the test: every
// message is reported exactly once.
func reports(t testing.TB, cfg *config.Config) map[string]smsagent.Report {
	t.Helper()
	out := make(map[string]smsagent.Report)
	for _, f := range inboxFiles(t, cfg, ".report.json") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r smsagent.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		key := r.ID
		if key == "" {
			key = r.MessageID.String()
		}
		if r.Status == smsagent.ReportUnmatched {
			key = "unmatched:" + r.Receipt.SMSCID + ":" + filepath.Base(f)
		}
		if _, dup := out[key]; dup {
			t.Errorf("two reports for %s", key)
		}
		out[key] = r
	}
	return out
}

// waitReports polls inbox/ until n reports are there.
func waitReports(t testing.TB, cfg *config.Config, n int, within time.Duration) map[string]smsagent.Report {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if got := len(inboxFiles(t, cfg, ".report.json")); got >= n {
			return reports(t, cfg)
		} else if time.Now().After(deadline) {
			t.Fatalf("%d reports in inbox/ after %s, want %d", got, within, n)
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

// openStore opens a stopped agent's outbox to look at it.
func openStore(t testing.TB, cfg *config.Config) *outbox.Store {
	t.Helper()
	s, err := outbox.Open(cfg.Store.Path, outbox.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open outbox: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// errNotBound is the fake pool's answer while it is down.
var errNotBound = errors.New("fake pool: no session bound")

// fakePool is a scripted bind pool: Submit records the PDU and hands it to
// script, which answers through the call at once or later. It keeps a
// window: Submit blocks while window calls are unanswered.
type fakePool struct {
	window int
	script func(c *fakeCall)

	mu          sync.Mutex
	cond        *sync.Cond
	up          bool
	ready       chan struct{}
	handler     func(smpp.Request)
	calls       []*fakeCall
	outstanding int
	maxOut      int
	closed      bool
	authErr     error
}

type fakeCall struct {
	p    *fakePool
	N    int // 1-based order of submission
	SM   *pdu.SubmitSM
	done func(smpp.Result)
	// final is set once the final result was delivered.
	final bool
}

func newFakePool(window int, script func(c *fakeCall)) *fakePool {
	p := &fakePool{window: window, script: script, ready: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// accept answers ESME_ROK with message id "ID<N>".
func accept(c *fakeCall) {
	go c.reply(smpp.Result{Header: pdu.Header{ID: pdu.SubmitSMRespID}, Resp: &pdu.SubmitSMResp{MessageID: fmt.Sprintf("ID%d", c.N)}, RTT: time.Millisecond})
}

// reply delivers a result; a Pending one keeps the call open.
func (c *fakeCall) reply(res smpp.Result) {
	p := c.p
	p.mu.Lock()
	if c.final {
		p.mu.Unlock()
		return
	}
	if !res.Pending {
		c.final = true
		p.outstanding--
		p.cond.Broadcast()
	}
	p.mu.Unlock()
	c.done(res)
}

func (p *fakePool) setUp(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if up == p.up {
		return
	}
	p.up = up
	if up {
		close(p.ready)
	} else {
		p.ready = make(chan struct{})
	}
	p.cond.Broadcast()
}

func (p *fakePool) Start(context.Context) {}

func (p *fakePool) Submit(ctx context.Context, sm *pdu.SubmitSM, done func(smpp.Result)) error {
	p.mu.Lock()
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()
	for p.up && !p.closed && p.outstanding >= p.window && ctx.Err() == nil {
		p.cond.Wait()
	}
	switch {
	case ctx.Err() != nil:
		p.mu.Unlock()
		return ctx.Err()
	case !p.up || p.closed:
		p.mu.Unlock()
		return errNotBound
	}
	c := &fakeCall{p: p, N: len(p.calls) + 1, SM: sm, done: done}
	p.calls = append(p.calls, c)
	p.outstanding++
	p.maxOut = max(p.maxOut, p.outstanding)
	p.mu.Unlock()
	p.script(c)
	return nil
}

// SubmitInSeries is Submit: the fake has one stream of calls.
func (p *fakePool) SubmitInSeries(ctx context.Context, _ *bindpool.Series, sm *pdu.SubmitSM, done func(smpp.Result)) error {
	return p.Submit(ctx, sm, done)
}

func (p *fakePool) Ready() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready
}

func (p *fakePool) Capacity() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.up {
		return 0
	}
	return p.window - p.outstanding
}

func (p *fakePool) Status() []smsagent.BindStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	state := "connecting"
	if p.up {
		state = "bound"
	}
	return []smsagent.BindStatus{{Slot: 1, Mode: "transceiver", State: state, Outstanding: p.outstanding}}
}

func (p *fakePool) Stats() bindpool.Stats { return bindpool.Stats{} }

func (p *fakePool) AuthFailed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.authErr
}

// Close ends every call still open with the session's end, as a pool's
// sessions do when they close.
func (p *fakePool) Close(context.Context) error {
	p.mu.Lock()
	p.closed = true
	open := slices.DeleteFunc(slices.Clone(p.calls), func(c *fakeCall) bool { return c.final })
	p.cond.Broadcast()
	p.mu.Unlock()
	for _, c := range open {
		c.reply(smpp.Result{Err: smpp.ErrClosed})
	}
	return nil
}

// submitted returns the calls so far.
func (p *fakePool) submitted() []*fakeCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

func (p *fakePool) newPool(h func(smpp.Request)) (agent.Pool, error) {
	p.mu.Lock()
	p.handler = h
	p.mu.Unlock()
	return p, nil
}

var _ agent.Pool = (*fakePool)(nil)
