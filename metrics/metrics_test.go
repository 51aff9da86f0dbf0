package metrics_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/metrics"
)

var _ agent.Observer = (*metrics.Metrics)(nil)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

type fakeStatus struct {
	st    smsagent.Status
	err   error
	block bool // wait for the context instead of answering
}

func (f *fakeStatus) Status(ctx context.Context) (smsagent.Status, error) {
	if f.block {
		<-ctx.Done()
		return smsagent.Status{}, ctx.Err()
	}
	return f.st, f.err
}

var t0 = time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)

func sampleStatus() smsagent.Status {
	return smsagent.Status{
		Version: "1.2.3",
		Started: t0,
		Binds: []smsagent.BindStatus{
			{SMSC: "default", Slot: 0, Mode: "transceiver", State: "bound", Since: t0, Outstanding: 3, Submitted: 1200, Reconnects: 1},
			{SMSC: "default", Slot: 1, Mode: "transceiver", State: "backoff", Since: t0, LastError: "connection refused",
				Reconnects: 4, Throttled: 2},
		},
		SMSCs:  []smsagent.AccountStatus{{Name: "default", State: "up", Since: t0, Bound: 1}},
		Queue:  smsagent.QueueStatus{ByState: map[string]int{"queued": 12, "sending": 3, "sent": 40, "delivered": 900}, Awaiting: 38},
		Intake: smsagent.IntakeStatus{FilesTaken: 10, Pending: 2, Stalled: true, StuckWorkers: 1},
		Inbox:  smsagent.InboxStatus{Backlog: 5, Written: 30},
		Health: []string{"intake stalled: no space left on device"},
	}
}

// smsagentNames lists every metric of ours, for comparisons that leave the
// Go runtime and process metrics out.
var smsagentNames = []string{
	"smsagent_files_accepted_total", "smsagent_files_rejected_total", "smsagent_messages_accepted_total",
	"smsagent_submits_total", "smsagent_submit_timeouts_total", "smsagent_receipts_total",
	"smsagent_mo_messages_total", "smsagent_mo_parts_total", "smsagent_mo_duplicates_total", "smsagent_inbox_files_written_total",
	"smsagent_submit_round_trip_seconds", "smsagent_file_to_submit_seconds", "smsagent_submit_to_receipt_seconds",
	"smsagent_status_up", "smsagent_build_info", "smsagent_queue_messages", "smsagent_queue_awaiting_receipt_messages",
	"smsagent_bind_state", "smsagent_bind_outstanding_requests", "smsagent_bind_submits_total",
	"smsagent_bind_reconnects_total", "smsagent_bind_throttled_total", "smsagent_smsc_up", "smsagent_smsc_bound_sessions", "smsagent_inbox_backlog_events",
	"smsagent_intake_pending_files", "smsagent_intake_stalled", "smsagent_intake_stuck_workers", "smsagent_smsc_credentials_refused",
	"smsagent_smsc_credential_refusals_total", "smsagent_smsc_stalled", "smsagent_api_requests_accepted_total",
	"smsagent_callbacks_total", "smsagent_webhooks_total", "smsagent_hooks_total",
	"smsagent_health_problems",
}

// TestMetrics_Exposition checks the exact text of a small scenario: what
// the agent reported through Observer and what its snapshot holds.
func TestMetrics_Exposition(t *testing.T) {
	m := metrics.New(&fakeStatus{st: sampleStatus()})
	m.FileAccepted(3)
	m.FileAccepted(2)
	m.FileRejected()
	m.SubmitDone("default", "ESME_ROK", 2*time.Millisecond)
	m.SubmitDone("default", "ESME_ROK", 800*time.Microsecond)
	m.SubmitDone("default", "ESME_RTHROTTLED", 150*time.Microsecond)
	m.SubmitDone("default", "ESME_RINVDSTADR", 12*time.Second)
	m.SubmitTimedOut()
	m.FileToSubmit(1500 * time.Millisecond)
	m.FileToSubmit(2 * time.Hour)
	m.SubmitToReceipt(45 * time.Second)
	m.SubmitToReceipt(26 * time.Hour)
	m.ReceiptApplied("DELIVRD", "matched")
	m.ReceiptApplied("DELIVRD", "matched")
	m.ReceiptApplied("none", "parked")
	m.ReceiptApplied("delivered\xff", "frobbed")
	m.MOReceived(2)
	m.MOReceived(1)
	m.MODuplicate("window")
	m.MODuplicate("window")
	m.MODuplicate("answer_lost")
	m.MODuplicate("made up")
	m.ReportsWritten(4)

	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(golden(t, "scenario.prom", m)), smsagentNames...); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(m.Registry(), smsagentNames...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// golden returns testdata/name, rewritten first from the registry with
// -update.
func golden(t *testing.T, name string, m *metrics.Metrics) string {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		var keep []string
		var block []string
		for _, line := range strings.SplitAfter(rec.Body.String(), "\n") {
			if strings.HasPrefix(line, "# HELP ") {
				block = nil
			}
			block = append(block, line)
			if !strings.HasPrefix(line, "#") && strings.HasPrefix(line, "smsagent_") && len(block) > 0 {
				keep = append(keep, block...)
				block = nil
			}
		}
		if err := os.WriteFile(path, []byte(strings.Join(keep, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMetrics_Handler scrapes over a loopback listener: our metrics, the Go
// runtime and the process are there, and the default registry is not.
func TestMetrics_Handler(t *testing.T) {
	leak := prometheus.NewCounter(prometheus.CounterOpts{Name: "leaked_from_default_registry_total", Help: "x"})
	prometheus.MustRegister(leak)
	defer prometheus.Unregister(leak)

	m := metrics.New(&fakeStatus{st: sampleStatus()})
	m.FileAccepted(1)
	srv := httptest.NewServer(m)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	want := []string{"smsagent_files_accepted_total 1\n", "smsagent_status_up 1\n", "go_goroutines ", "go_memstats_heap_alloc_bytes "}
	if runtime.GOOS == "linux" || runtime.GOOS == "windows" {
		want = append(want, "process_cpu_seconds_total ", "process_resident_memory_bytes ")
	}
	for _, w := range want {
		if !bytes.Contains(body, []byte(w)) {
			t.Errorf("scrape lacks %q", w)
		}
	}
	if bytes.Contains(body, []byte("leaked_from_default_registry")) {
		t.Error("scrape includes the default registry")
	}
}

// TestMetrics_StatusFailure: a snapshot that fails or hangs costs only the
// scrape-time metrics, and a hang costs the scrape at most the timeout.
func TestMetrics_StatusFailure(t *testing.T) {
	want := "# HELP smsagent_status_up 1 when this scrape read the agent's status snapshot, 0 when it failed or timed out.\n" +
		"# TYPE smsagent_status_up gauge\nsmsagent_status_up 0\n" +
		"# HELP smsagent_files_rejected_total Message files moved to failed/.\n" +
		"# TYPE smsagent_files_rejected_total counter\nsmsagent_files_rejected_total 1\n"
	names := []string{"smsagent_status_up", "smsagent_files_rejected_total", "smsagent_queue_messages", "smsagent_bind_state"}
	m := metrics.New(&fakeStatus{err: fmt.Errorf("agent stopping")})
	m.FileRejected()
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	synctest.Test(t, func(t *testing.T) {
		m := metrics.New(&fakeStatus{block: true})
		m.FileRejected()
		start := time.Now()
		if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
			t.Error(err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("a hanging snapshot held the scrape for %s, want the 2s timeout", d)
		}
	})
}

func TestMetrics_NoStatusSource(t *testing.T) {
	m := metrics.New(nil)
	n, err := testutil.GatherAndCount(m.Registry(), "smsagent_status_up", "smsagent_queue_messages")
	if err != nil || n != 0 {
		t.Errorf("without a status source: %d scrape-time series, %v", n, err)
	}
}

// TestMetrics_BoundedLabels: an SMSC inventing statuses and stat words
// cannot grow the number of series.
func TestMetrics_BoundedLabels(t *testing.T) {
	m := metrics.New(nil)
	for i := range 1000 {
		m.SubmitDone("default", fmt.Sprintf("0x%08X", 0x400+i), time.Millisecond)
		m.ReceiptApplied(fmt.Sprintf("STAT%d", i), "matched")
	}
	m.SubmitDone("default", "bad\xffutf8", time.Millisecond)
	n, err := testutil.GatherAndCount(m.Registry(), "smsagent_submits_total")
	if err != nil || n != 65 {
		t.Errorf("submits_total has %d series (%v), want 64 and other", n, err)
	}
	n, _ = testutil.GatherAndCount(m.Registry(), "smsagent_receipts_total")
	if n != 1 {
		t.Errorf("receipts_total has %d series, want only other", n)
	}
	other := "# HELP smsagent_submits_total submit_sm responses and generic_nacks by SMSC account and command_status name (ESME_ROK is success).\n" +
		"# TYPE smsagent_submits_total counter\n"
	var b strings.Builder
	b.WriteString(other)
	for i := range 64 {
		fmt.Fprintf(&b, "smsagent_submits_total{smsc=\"default\",status=\"0x%08X\"} 1\n", 0x400+i)
	}
	b.WriteString("smsagent_submits_total{smsc=\"default\",status=\"other\"} 937\n")
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(b.String()), "smsagent_submits_total"); err != nil {
		t.Error(err)
	}
}

// TestMetrics_UnknownBindState: a state this package does not know is
// still exported, alongside the known ones at 0.
func TestMetrics_UnknownBindState(t *testing.T) {
	st := smsagent.Status{Binds: []smsagent.BindStatus{{SMSC: "default", Slot: 3, State: "unbinding"}}}
	m := metrics.New(&fakeStatus{st: st})
	want := "# HELP smsagent_bind_state 1 for the current state of each bind slot, 0 for the others.\n" +
		"# TYPE smsagent_bind_state gauge\n" +
		"smsagent_bind_state{slot=\"3\",smsc=\"default\",state=\"auth-failed\"} 0\n" +
		"smsagent_bind_state{slot=\"3\",smsc=\"default\",state=\"backoff\"} 0\n" +
		"smsagent_bind_state{slot=\"3\",smsc=\"default\",state=\"bound\"} 0\n" +
		"smsagent_bind_state{slot=\"3\",smsc=\"default\",state=\"closed\"} 0\n" +
		"smsagent_bind_state{slot=\"3\",smsc=\"default\",state=\"connecting\"} 0\n" +
		"smsagent_bind_state{slot=\"3\",smsc=\"default\",state=\"unbinding\"} 1\n"
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "smsagent_bind_state"); err != nil {
		t.Error(err)
	}
}

// BenchmarkMetrics_Observer measures the hot-path cost the agent pays per
// submit response and per receipt.
func BenchmarkMetrics_Observer(b *testing.B) {
	m := metrics.New(nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.SubmitDone("default", "ESME_ROK", 3*time.Millisecond)
			m.ReceiptApplied("DELIVRD", "matched")
		}
	})
}
