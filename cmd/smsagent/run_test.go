package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
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

// mainEnv makes a re-executed test binary run main instead of the tests,
// so that signal tests stop a real process.
const mainEnv = "SMSAGENT_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// freeAddr is a loopback address to listen on.
func freeAddr(t *testing.T) string {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// runConfig writes a configuration for an agent talking to the simulator,
// with its admin API on a free loopback port.
func runConfig(t *testing.T, sim *smsc.Server) (file, spool, api string) {
	api = freeAddr(t)
	file, spool = writeConfig(t, "  response_timeout: 30s\n",
		fmt.Sprintf("admin:\n  listen: %q\n  token: test-token\nlog:\n  level: warn\n", api))
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	body = []byte(strings.Replace(string(body), "smsc.test:2775", sim.Addr(), 1))
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return file, spool, api
}

func dropFile(t *testing.T, spool, name, content string) {
	t.Helper()
	tmp := filepath.Join(spool, "outgoing", "."+name)
	if err := os.WriteFile(tmp, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(spool, "outgoing", name)); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRun_simulator runs `smsagent run` in process against the simulator:
// a file dropped gets its report in inbox/, the admin API serves readiness,
// status and metrics, and the end of the context stops it cleanly.
func TestRun_simulator(t *testing.T) {
	sim := testutil.Simulator(t, smsc.Options{})
	file, spool, api := runConfig(t, sim)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result, 1)
	go func() {
		var out, errOut strings.Builder
		code := run(ctx, []string{"run", "--config", file}, &out, &errOut)
		done <- result{out.String(), errOut.String(), code}
	}()
	dropFile(t, spool, "hello.json", `{"id":"h1","to":"+358401234567","text":"Hello"}`)
	testutil.Eventually(t, 20*time.Second, "the report", func() bool {
		m, _ := filepath.Glob(filepath.Join(spool, "inbox", "*.report.json"))
		return len(m) == 1
	})
	m, _ := filepath.Glob(filepath.Join(spool, "inbox", "*.report.json"))
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"status": "delivered"`) || !strings.Contains(string(b), `"id": "h1"`) {
		t.Errorf("report:\n%s", b)
	}
	if code, body := get(t, "http://"+api+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if code, body := get(t, "http://"+api+"/api/v1/status"); code != http.StatusOK || !strings.Contains(body, `"state":"bound"`) {
		t.Errorf("/api/v1/status: %d %s", code, body)
	}
	// The report's file is renamed into inbox/ before the writer counts
	// it (after the folder's fsync and the outbox's "written" mark).
	var code int
	var body string
	testutil.Eventually(t, 10*time.Second, "the inbox writer to count the report", func() bool {
		code, body = get(t, "http://"+api+"/metrics")
		return strings.Contains(body, "smsagent_inbox_files_written_total 1")
	})
	// The receipt may come before the response is recorded: it is then
	// parked, and applied when the response is.
	if !strings.Contains(body, `smsagent_receipts_total{outcome="matched",stat="DELIVRD"} 1`) &&
		!strings.Contains(body, `smsagent_receipts_total{outcome="parked",stat="DELIVRD"} 1`) {
		t.Error("/metrics lacks the receipt")
	}
	for _, want := range []string{`smsagent_submits_total{smsc="default",status="ESME_ROK"} 1`, "smsagent_files_accepted_total 1",
		"smsagent_inbox_files_written_total 1",
		`smsagent_queue_messages{state="delivered"} 1`} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel()
	select {
	case r := <-done:
		r.want(t, exitOK)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop within 10 s")
	}
}

// process is `smsagent run` as a process of its own.
type process struct{ *testutil.Child }

func startProcess(t *testing.T, file string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "run", "--config", file)
	cmd.Stderr = os.Stderr
	return &process{testutil.Start(t, cmd, mainEnv+"=1")}
}

// TestRun_signals: the stop request a person or a service manager sends
// (SIGTERM on Unix; Ctrl+C in the agent's console on Windows, where no
// signal can be sent to a process) stops the process gracefully, waiting
// for the responses in flight, well within 10 s; a second one stops it at
// once. Either way, the next start finds everything in order: the queue
// kept in the database, a file dropped while it was stopped taken, one
// report per message in inbox/ and nothing left behind. Under Wine this is
// the end-to-end run of the Windows build: its file handling, its stop and
// its bbolt file.
func TestRun_signals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	sim := testutil.Simulator(t, smsc.Options{})
	file, spool, api := runConfig(t, sim)
	ready := func() bool { code, _ := get(t, "http://"+api+"/readyz"); return code == 200 }
	stopped := func(p *process, within time.Duration) {
		t.Helper()
		select {
		case <-p.Done():
			if err := p.Err(); err != nil {
				t.Fatalf("exit: %v", err)
			}
		case <-time.After(within):
			t.Fatalf("no exit within %s of the stop request", within)
		}
	}

	// Graceful: a response delayed 1 s is waited for.
	p := startProcess(t, file)
	testutil.Eventually(t, 20*time.Second, "readiness", ready)
	sim.SetFaults(smsc.Faults{Delay: time.Second})
	dropFile(t, spool, "a.json", `{"id":"a","to":"+358401234567","text":"a"}`)
	if _, err := sim.WaitFor(ctxTimeout(t, 10*time.Second), func(s smsc.Stats) bool { return s.Submits == 1 }); err != nil {
		t.Fatal(err)
	}
	begun := time.Now()
	p.Stop(t)
	stopped(p, 10*time.Second)
	if took := time.Since(begun); took < 500*time.Millisecond {
		t.Errorf("stopped after %s: it did not wait for the delayed response", took)
	}

	// Hurried: responses delayed 30 s; the second request ends the wait.
	sim.SetFaults(smsc.Faults{Delay: 30 * time.Second})
	p = startProcess(t, file)
	testutil.Eventually(t, 20*time.Second, "readiness", ready)
	dropFile(t, spool, "b.json", `{"id":"b","to":"+358401234568","text":"b"}`)
	if _, err := sim.WaitFor(ctxTimeout(t, 10*time.Second), func(s smsc.Stats) bool { return s.Submits == 2 }); err != nil {
		t.Fatal(err)
	}
	p.Stop(t)
	// The first request is handled once the agent says it is stopping; the
	// second must come after that to be a second one.
	testutil.Eventually(t, 10*time.Second, "the agent stopping", func() bool {
		code, body := get(t, "http://"+api+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "stopping")
	})
	begun = time.Now()
	p.Stop(t)
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("no exit within 5 s of the second stop request")
	}
	if took := time.Since(begun); took > 3*time.Second {
		t.Errorf("the second stop request took %s to stop it", took)
	}

	// Dropped while no agent runs: taken at the next start.
	dropFile(t, spool, "c.json", `{"id":"c","to":"+358401234569","text":"c"}`)

	// The next start sends b again (its response never came) and c, and
	// reports each message once: reports of messages are named after their
	// id, unmatched receipts (b's first copy) after their event ("-e7").
	sim.SetFaults(smsc.Faults{})
	p = startProcess(t, file)
	reports := filepath.Join(spool, "inbox", "*-[0-9]*.report.json")
	testutil.Eventually(t, 20*time.Second, "three reports", func() bool {
		m, _ := filepath.Glob(reports)
		return len(m) == 3
	})
	p.Stop(t)
	stopped(p, 10*time.Second)
	m, _ := filepath.Glob(reports)
	ids := map[string]bool{}
	for _, name := range m {
		var r struct{ ID, Status string }
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if r.Status != "delivered" || ids[r.ID] {
			t.Errorf("%s: %s", filepath.Base(name), b)
		}
		ids[r.ID] = true
	}
	if len(m) != 3 || !ids["a"] || !ids["b"] || !ids["c"] {
		t.Errorf("%d reports, for %v; want one each for a, b and c", len(m), ids)
	}
	// Every file taken and removed, nothing refused, nothing half-written.
	for _, dir := range []string{"outgoing", ".work", "failed", ".inbox-tmp"} {
		entries, err := os.ReadDir(filepath.Join(spool, dir))
		if err != nil || len(entries) != 0 {
			t.Errorf("%s/: %v %v, want it empty", dir, entries, err)
		}
	}
}

// runInProcess runs `smsagent run --config file` in this process until
// stop, which checks that it stopped cleanly within 15 s.
func runInProcess(t *testing.T, file string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() {
		var out, errOut strings.Builder
		code := run(ctx, []string{"run", "--config", file}, &out, &errOut)
		done <- result{out.String(), errOut.String(), code}
	}()
	return func() {
		t.Helper()
		cancel()
		select {
		case r := <-done:
			r.want(t, exitOK)
		case <-time.After(15 * time.Second):
			t.Fatal("run did not stop within 15 s")
		}
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestRun_restartKeepsQueue is the run a user makes on any platform, in
// process (it runs under Wine as the Windows end-to-end test): with the
// SMSC refusing binds, three files are taken and their messages queued;
// the agent stops gracefully (what a signal, Ctrl+C or a service stop
// does) and starts again on the same folders with the SMSC back; every
// message of the kept queue is delivered and reported once in inbox/.
func TestRun_restartKeepsQueue(t *testing.T) {
	sim := testutil.Simulator(t, smsc.Options{})
	sim.SetFaults(smsc.Faults{RefuseBinds: pdu.StatusBindFail, RefuseBindsCount: 1 << 30})
	file, spool, api := runConfig(t, sim)
	runAgain := func() (stop func()) { return runInProcess(t, file) }
	queued := func(n int) func() bool {
		return func() bool {
			req, _ := http.NewRequest("GET", "http://"+api+"/api/v1/status", nil)
			req.Header.Set("Authorization", "Bearer test-token")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var st struct {
				Queue struct {
					ByState map[string]int `json:"by_state"`
				} `json:"queue"`
			}
			return json.NewDecoder(resp.Body).Decode(&st) == nil && st.Queue.ByState["queued"] == n
		}
	}

	stop := runAgain()
	for i := range 3 {
		dropFile(t, spool, fmt.Sprintf("m%d.json", i), fmt.Sprintf(`{"id":"m%d","to":"+35840123456%d","text":"kept %d"}`, i, i, i))
	}
	testutil.Eventually(t, 20*time.Second, "three messages queued while the SMSC refuses binds", queued(3))
	stop()
	if left, _ := filepath.Glob(filepath.Join(spool, "outgoing", "*")); len(left) != 0 {
		t.Fatalf("outgoing/ still holds %v", left)
	}

	sim.SetFaults(smsc.Faults{})
	stop = runAgain()
	defer stop()
	testutil.Eventually(t, 30*time.Second, "three reports in inbox/", func() bool {
		m, _ := filepath.Glob(filepath.Join(spool, "inbox", "*.report.json"))
		return len(m) == 3
	})
	reports, _ := filepath.Glob(filepath.Join(spool, "inbox", "*.report.json"))
	got := map[string]string{}
	for _, f := range reports {
		var r struct{ ID, Status string }
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		got[r.ID] = r.Status
	}
	if want := map[string]string{"m0": "delivered", "m1": "delivered", "m2": "delivered"}; !maps.Equal(got, want) {
		t.Errorf("reports %v, want %v", got, want)
	}
	texts := map[string]bool{}
	for _, s := range sim.Submits() {
		texts[s.Text] = true
	}
	if len(texts) != 3 || len(sim.Submits()) != 3 {
		t.Errorf("the SMSC got %d submits of %d texts, want each of the 3 once", len(sim.Submits()), len(texts))
	}
}
