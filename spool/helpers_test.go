package spool_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/msgfile"
	"github.com/smsagent/smsagent/spool"
)

// fakeStore records batches and taken-records in memory. fail, when set,
// decides the error of each Enqueue; block makes Enqueue wait for ctx.
type fakeStore struct {
	mu      sync.Mutex
	batches []smsagent.Batch
	taken   map[string]bool
	calls   int // Enqueue calls, failed ones included
	fail    func(b smsagent.Batch) error
	block   bool
	entered chan struct{} // receives once per Enqueue call, if not nil
}

var _ spool.Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore { return &fakeStore{taken: make(map[string]bool)} }

func (s *fakeStore) Enqueue(ctx context.Context, b smsagent.Batch) (smsagent.BatchResult, error) {
	s.mu.Lock()
	s.calls++
	fail, block, entered := s.fail, s.block, s.entered
	s.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if block {
		<-ctx.Done()
		return smsagent.BatchResult{}, ctx.Err()
	}
	if fail != nil {
		if err := fail(b); err != nil {
			return smsagent.BatchResult{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken[b.Claim] {
		return smsagent.BatchResult{AlreadyTaken: true}, nil
	}
	s.taken[b.Claim] = true
	s.batches = append(s.batches, b)
	ids := make([]smsagent.MessageID, len(b.Messages))
	for i := range ids {
		ids[i] = smsagent.MessageID(len(s.batches)*1000 + i + 1)
	}
	return smsagent.BatchResult{IDs: ids}, nil
}

func (s *fakeStore) Taken(ctx context.Context, claim string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken[claim], nil
}

func (s *fakeStore) snapshot() []smsagent.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smsagent.Batch(nil), s.batches...)
}

func (s *fakeStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.batches)
}

func (s *fakeStore) batchFor(file string) (smsagent.Batch, bool) {
	for _, b := range s.snapshot() {
		if b.File == file {
			return b, true
		}
	}
	return smsagent.Batch{}, false
}

// parseErr is a parse error carrying problems, as msgfile's errors will.
type parseErr struct{ problems []spool.Problem }

func (e *parseErr) Error() string             { return "bad line " + fmt.Sprint(e.problems[0].Line) }
func (e *parseErr) Problems() []spool.Problem { return e.problems }

// lineParser is the test's message format: one message per line,
// "<digits> <text>". A line starting with "!" is a syntax error. It records
// every call with the full text it read.
type lineParser struct {
	mu    sync.Mutex
	calls map[string][]string // file name → texts read, one per call
}

func newLineParser() *lineParser { return &lineParser{calls: make(map[string][]string)} }

func (p *lineParser) Parse(r io.Reader, name string) ([]smsagent.Message, error) {
	data, err := io.ReadAll(r)
	p.mu.Lock()
	p.calls[name] = append(p.calls[name], string(data))
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var msgs []smsagent.Message
	var problems []spool.Problem
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "!") {
			problems = append(problems, spool.Problem{Line: line, Field: "to", Message: "not a number"})
			continue
		}
		to, body, _ := strings.Cut(text, " ")
		msgs = append(msgs, smsagent.Message{
			To:   smsagent.Address{Value: to, Kind: smsagent.AddrInternational},
			Text: body,
		})
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("parse %s: %w", name, &parseErr{problems})
	}
	return msgs, nil
}

func (p *lineParser) callsFor(name string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls[name]...)
}

func (p *lineParser) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		n += len(c)
	}
	return n
}

// rig is a prepared spool with a running intake.
type rig struct {
	t      *testing.T
	layout spool.Layout
	store  *fakeStore
	parser *lineParser
	intake *spool.Intake
	opts   spool.Options
	health chan error
}

// newRig prepares a spool; edit changes the options before the intake
// starts. Call start to run it.
func newRig(t *testing.T, edit func(o *spool.Options)) *rig {
	t.Helper()
	layout, err := spool.Prepare(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, layout: layout, store: newFakeStore(), parser: newLineParser(), health: make(chan error, 100)}
	r.opts = spool.Options{
		Layout:         layout,
		Store:          r.store,
		Parse:          r.parser.Parse,
		Settle:         time.Second,
		RescanInterval: time.Hour, // tests that rely on rescans ask for them
		Logger:         testLogger(t),
		OnHealth: func(err error) {
			select {
			case r.health <- err:
			default:
			}
		},
	}
	if edit != nil {
		edit(&r.opts)
	}
	return r
}

func (r *rig) start() *rig {
	r.t.Helper()
	in, err := spool.New(r.opts)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := in.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.intake = in
	r.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := in.Close(ctx); err != nil {
			r.t.Errorf("Close: %v", err)
		}
	})
	return r
}

// nextHealth is the next health report of the intake, failing the test
// when none comes within 20 s.
func (r *rig) nextHealth() error {
	r.t.Helper()
	select {
	case err := <-r.health:
		return err
	case <-time.After(20 * time.Second):
		r.t.Fatal("no health report within 20 s")
		return nil
	}
}

// dropRenamed writes a file outside outgoing/ and renames it in, as the
// writer contract asks.
func (r *rig) dropRenamed(name, content string) {
	r.t.Helper()
	tmp := filepath.Join(r.layout.Root, "staging-"+fmt.Sprint(time.Now().UnixNano()))
	if err := os.WriteFile(tmp, []byte(content), 0o640); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(r.layout.Outgoing, name)); err != nil {
		r.t.Fatal(err)
	}
}

// dropOld writes a file straight into outgoing/ with a modification time
// well in the past, as a backlog left while the agent was down.
func (r *rig) dropOld(name, content string, age time.Duration) {
	r.t.Helper()
	path := filepath.Join(r.layout.Outgoing, name)
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		r.t.Fatal(err)
	}
	old := time.Now().Add(-age)
	if err := os.Chtimes(path, old, old); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) names(dir string) []string {
	r.t.Helper()
	return names(r.t, dir)
}

// names lists a folder's entries, hidden ones included.
func names(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// parseMsgfile is the real parser with its default options, for the tests
// that must measure or crash intake as it runs in the agent, not the
// lineParser stand-in.
func parseMsgfile(r io.Reader, name string) ([]smsagent.Message, error) {
	return msgfile.Parse(r, name, msgfile.Options{})
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func readReport(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("report %s: %v\n%s", path, err, data)
	}
	return rep
}

var errDiskFull = errors.New("disk full")

// testLogger sends the intake's log to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
