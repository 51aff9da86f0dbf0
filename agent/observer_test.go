package agent_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/internal/testutil"
)

// reportObserver is an Observer that records the reports written and
// whether each one's file was already in inbox when it was observed.
type reportObserver struct {
	agent.NopObserver
	inbox   string
	mu      sync.Mutex
	reports map[string]time.Time // client id → Submitted
	written int
	// early lists the reports observed before their file was in inbox
	// (or the folder could not be read); ReportWritten runs on the inbox
	// writer's goroutine, where the test must not fail, so the test
	// checks this after its wait.
	early []string
}

func (o *reportObserver) ReportsWritten(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.written += n
}

func (o *reportObserver) ReportWritten(r *smsagent.Report) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var at time.Time
	if r.Submitted != nil {
		at = *r.Submitted
	}
	o.reports[r.ID] = at
	if err := o.fileFor(r); err != nil {
		o.early = append(o.early, fmt.Sprintf("report %q: %v", r.ID, err))
	}
}

// fileFor finds r's file in inbox: a report of a known message is named
// "<time>-<message id>.report.json" (smsagent.Event.FileName).
func (o *reportObserver) fileFor(r *smsagent.Report) error {
	if r.MessageID == 0 {
		return errors.New("no message id to find its file by")
	}
	ents, err := os.ReadDir(o.inbox)
	if err != nil {
		return err
	}
	suffix := "-" + r.MessageID.String() + ".report.json"
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), suffix) {
			return nil
		}
	}
	return fmt.Errorf("observed before a *%s file was in inbox/", suffix)
}

func (o *reportObserver) counts() (int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.reports), o.written
}

// TestAgent_ReportObserver: an Observer that implements ReportObserver
// sees every report once its file is durable, with the submit time it
// reports.
func TestAgent_ReportObserver(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	p := newFakePool(10, accept)
	p.setUp(true)
	obs := &reportObserver{inbox: filepath.Join(cfg.Spool.Dir, "inbox"), reports: make(map[string]time.Time)}
	start(t, cfg, agent.Options{NewPool: p.newPool, Observer: obs})
	drop(t, cfg, "two.ndjson", `{"id":"a","to":"+358401234567","text":"one","report":false}`+"\n"+
		`{"id":"b","to":"+358401234568","text":"two","report":false}`+"\n")
	testutil.Eventually(t, 10*time.Second, "two reports observed", func() bool {
		n, written := obs.counts()
		return n == 2 && written == 2
	})
	if got := len(inboxFiles(t, cfg, ".report.json")); got != 2 {
		t.Errorf("%d report files in inbox/, want 2 before both were observed", got)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	for _, e := range obs.early {
		t.Error(e)
	}
	for _, id := range []string{"a", "b"} {
		if at, ok := obs.reports[id]; !ok || at.IsZero() {
			t.Errorf("report %q: observed %v with submitted_at %v, want it with a time", id, ok, at)
		}
	}
}

var _ agent.ReportObserver = (*reportObserver)(nil)
