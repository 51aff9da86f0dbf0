package agent_test

import (
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
)

// reportObserver is an Observer that records the reports written.
type reportObserver struct {
	agent.NopObserver
	mu      sync.Mutex
	reports map[string]time.Time // client id → Submitted
	written int
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
	obs := &reportObserver{reports: make(map[string]time.Time)}
	start(t, cfg, agent.Options{NewPool: p.newPool, Observer: obs})
	drop(t, cfg, "two.ndjson", `{"id":"a","to":"+358401234567","text":"one","report":false}`+"\n"+
		`{"id":"b","to":"+358401234568","text":"two","report":false}`+"\n")
	eventually(t, 10*time.Second, "two reports observed", func() bool {
		n, written := obs.counts()
		return n == 2 && written == 2
	})
	if got := len(inboxFiles(t, cfg, ".report.json")); got != 2 {
		t.Errorf("%d report files in inbox/, want 2 before both were observed", got)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	for _, id := range []string{"a", "b"} {
		if at, ok := obs.reports[id]; !ok || at.IsZero() {
			t.Errorf("report %q: observed %v with submitted_at %v, want it with a time", id, ok, at)
		}
	}
}

var _ agent.ReportObserver = (*reportObserver)(nil)
