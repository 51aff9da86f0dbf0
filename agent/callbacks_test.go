package agent_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// receiver is a report_url endpoint on loopback that fails while failing
// is set and keeps every body it accepted.
type receiver struct {
	failing atomic.Bool
	calls   atomic.Int64
	mu      sync.Mutex
	bodies  [][]byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.calls.Add(1)
	if r.failing.Load() || req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	r.mu.Unlock()
}

func (r *receiver) taken() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// TestAgent_e2e_reportCallback: a message's report_url gets its final
// report's JSON, POSTed again and again while the receiver fails, across a
// restart of the agent, until it takes it; a report_url outside
// callbacks.allow refuses its file.
func TestAgent_e2e_reportCallback(t *testing.T) {
	sim := testutil.Simulator(t, smsc.Options{})
	rcv := &receiver{}
	rcv.failing.Store(true)
	url := serveHTTP(t, "127.0.0.1:0", rcv) + "/reports"

	cfg := testConfig(t, sim.Addr(), "callbacks.retry_initial: 20ms", "callbacks.retry_max: 40ms")
	r := start(t, cfg, agent.Options{})
	drop(t, cfg, "cb.json", `{"id":"cb-1","to":"+358401234567","text":"call me back","report_url":"`+url+`"}`)
	drop(t, cfg, "far.json", `{"id":"cb-2","to":"+358401234567","text":"x","report_url":"http://192.0.2.1/x"}`)
	waitReports(t, cfg, 1, 10*time.Second)
	testutil.Eventually(t, 10*time.Second, "three failed calls", func() bool { return rcv.calls.Load() >= 3 })
	if err := r.shutdown(); err != nil {
		t.Fatal(err)
	}
	if len(rcv.taken()) != 0 {
		t.Fatal("a failing receiver took a report")
	}
	rcv.failing.Store(false)
	r = start(t, cfg, agent.Options{})
	testutil.Eventually(t, 10*time.Second, "the report taken after the restart", func() bool { return len(rcv.taken()) == 1 })
	var rep smsagent.Report
	if err := json.Unmarshal(rcv.taken()[0], &rep); err != nil {
		t.Fatal(err)
	}
	if rep.ID != "cb-1" || rep.Status != "delivered" || rep.To != "+358401234567" {
		t.Errorf("report %+v", rep)
	}
	failed, err := os.ReadDir(filepath.Join(cfg.Spool.Dir, "failed"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range failed {
		names = append(names, e.Name())
	}
	if len(names) != 2 || !slices.Contains(names, "far.json") {
		t.Errorf("failed/ holds %v, want far.json and its reasons (192.0.2.1 is not in callbacks.allow)", names)
	}
	// Taken once: nothing is owed any more.
	testutil.Eventually(t, 10*time.Second, "the callback settled", func() bool {
		_, waiting, err := r.a.Queue().NextCallback()
		return err == nil && !waiting
	})
}

// TestAgent_e2e_callbackHostsApart: calls to a host that does not answer
// hold at most two places, and a report for another host goes through
// meanwhile.
func TestAgent_e2e_callbackHostsApart(t *testing.T) {
	sim := testutil.Simulator(t, smsc.Options{})
	release := make(chan struct{})
	var inFlight, most, slowTaken atomic.Int64
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		inFlight.Add(-1)
		slowTaken.Add(1)
	})
	fast := &receiver{}
	slowURL, fastURL := serveHTTP(t, "127.0.0.1:0", slow)+"/", serveHTTP(t, "127.0.0.1:0", fast)+"/"
	defer close(release)

	cfg := testConfig(t, sim.Addr(), "callbacks.timeout: 1m")
	start(t, cfg, agent.Options{})
	var b strings.Builder
	for i := range 5 {
		fmt.Fprintf(&b, `{"id":"slow-%d","to":"+35840123456%d","text":"x","report_url":%q}`+"\n", i, i, slowURL)
	}
	drop(t, cfg, "slow.ndjson", b.String())
	testutil.Eventually(t, 10*time.Second, "two calls held by the slow host", func() bool { return inFlight.Load() == 2 })
	drop(t, cfg, "fast.json", `{"id":"fast","to":"+358409999999","text":"x","report_url":"`+fastURL+`"}`)
	testutil.Eventually(t, 10*time.Second, "the other host's report", func() bool { return len(fast.taken()) == 1 })
	if n := most.Load(); n > 2 {
		t.Errorf("%d calls at once to one host, want at most 2", n)
	}
	if slowTaken.Load() != 0 {
		t.Errorf("the slow host answered before it was released")
	}
}

// TestAgent_e2e_callbackGivenUp: a report_url that never answers 2xx is
// given up after callbacks.max_age, and a note beside the report in
// inbox/ says so, with the last error.
func TestAgent_e2e_callbackGivenUp(t *testing.T) {
	sim := testutil.Simulator(t, smsc.Options{})
	rcv := &receiver{}
	rcv.failing.Store(true)
	url := serveHTTP(t, "127.0.0.1:0", rcv) + "/reports"
	// The clock jumps past callbacks.max_age (1 day) once the first call
	// has failed.
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	cfg := testConfig(t, sim.Addr(), "callbacks.retry_initial: 20ms", "callbacks.retry_max: 40ms")
	start(t, cfg, agent.Options{Clock: clock})
	drop(t, cfg, "dead.json", `{"id":"dead-1","to":"+358401234567","text":"nobody listens","report_url":"`+url+`"}`)
	waitReports(t, cfg, 1, 10*time.Second)
	testutil.Eventually(t, 10*time.Second, "a failed call", func() bool { return rcv.calls.Load() >= 1 })
	offset.Store(int64(25 * time.Hour))
	var notes []string
	testutil.Eventually(t, 10*time.Second, "the give-up note in inbox/", func() bool {
		notes = inboxFiles(t, cfg, ".callback_failed.json")
		return len(notes) == 1
	})
	var n smsagent.CallbackFailed
	testutil.Eventually(t, 10*time.Second, "the note readable", func() bool {
		b, err := os.ReadFile(notes[0])
		return err == nil && json.Unmarshal(b, &n) == nil
	})
	if n.Type != "callback_failed" || n.ID != "dead-1" || n.File != "dead.json" || n.Method != "POST" || n.URL != url ||
		n.Attempts < 1 || n.LastError != "answered 503 Service Unavailable" ||
		n.Reason != fmt.Sprintf("no 2xx answer within callbacks.max_age (1d): given up after %d attempts", n.Attempts) {
		t.Errorf("note %+v", n)
	}
}

// TestAgent_e2e_reportMask: report_mask 12 POSTs the report when the SMSC
// accepts the message (8) and when an intermediate receipt comes (4), each
// marked intermediate with status sent, then the final report; the bodies
// are exact but for their times, made in that order. The simulator sends
// the final receipt only once the agent has committed the intermediate
// one, so the order of creation is fixed; the calls themselves run
// concurrently, so the receiver may take them in another order.
func TestAgent_e2e_reportMask(t *testing.T) {
	sim := testutil.Simulator(t, smsc.Options{ReceiptDelay: 100 * time.Millisecond,
		Rules: []smsc.Rule{{Prefix: "358", Outcome: smsc.Delivered, Intermediate: "ENROUTE"}}})
	rcv := &receiver{}
	url := serveHTTP(t, "127.0.0.1:0", rcv) + "/reports"
	cfg := testConfig(t, sim.Addr())
	start(t, cfg, agent.Options{})
	drop(t, cfg, "steps.json", `{"id":"steps-1","to":"+358401234567","text":"step by step","report_url":"`+url+`","report_mask":12}`)
	testutil.Eventually(t, 10*time.Second, "three reports POSTed", func() bool { return len(rcv.taken()) == 3 })
	subs := sim.Submits()
	if len(subs) != 1 {
		t.Fatalf("%d submits", len(subs))
	}
	smscID := subs[0].MessageID
	// Each body with its times taken out, ordered by done_at (the ACK and
	// the ENROUTE report have the same one when the receipt beat the
	// submit_sm_resp to the commit: it waited parked and was applied in the
	// commit that accepted the part, after the acceptance's report).
	type posted struct {
		done time.Time
		rank int
		body string
	}
	var got []posted
	var submitted time.Time
	for _, b := range rcv.taken() {
		var rep smsagent.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if rep.Submitted == nil {
			t.Fatalf("no submitted_at: %s", b)
		}
		submitted = *rep.Submitted
		body := strings.Replace(string(b), `"submitted_at":"`+rep.Submitted.Format(time.RFC3339Nano)+`"`, `"submitted_at":"S"`, 1)
		body = strings.Replace(body, `"done_at":"`+rep.Done.Format(time.RFC3339Nano)+`"`, `"done_at":"D"`, 1)
		body = strings.ReplaceAll(body, smscID, "ID")
		rank := 2
		switch {
		case rep.Intermediate && rep.Stat == "":
			rank = 0
		case rep.Intermediate:
			rank = 1
		}
		got = append(got, posted{rep.Done, rank, body})
	}
	slices.SortFunc(got, func(a, b posted) int {
		if c := a.done.Compare(b.done); c != 0 {
			return c
		}
		return a.rank - b.rank
	})
	head := `{"type":"report","id":"steps-1","message_id":1,"to":"+358401234567",`
	tail := `"submitted_at":"S","done_at":"D","file":"steps.json","smsc":"default"}`
	want := []string{
		head + `"status":"sent","intermediate":true,` +
			`"parts":{"count":1,"items":[{"seq":1,"smsc":"default","smsc_id":"ID","status":"sent"}]},` + tail,
		head + `"status":"sent","intermediate":true,"stat":"ENROUTE","err":"000",` +
			`"parts":{"count":1,"items":[{"seq":1,"smsc":"default","smsc_id":"ID","status":"sent","stat":"ENROUTE","err":"000"}]},` + tail,
		head + `"status":"delivered","stat":"DELIVRD","err":"000",` +
			`"parts":{"count":1,"items":[{"seq":1,"smsc":"default","smsc_id":"ID","status":"delivered","stat":"DELIVRD","err":"000"}]},` + tail,
	}
	for i := range want {
		if got[i].rank != i || got[i].body != want[i] {
			t.Errorf("POST %d\n got %s\nwant %s", i+1, got[i].body, want[i])
		}
		if got[i].done.Before(submitted) {
			t.Errorf("POST %d done_at %s before submitted_at %s", i+1, got[i].done, submitted)
		}
	}
	if !got[1].done.Before(got[2].done) {
		t.Errorf("the final report's done_at %s is not after the ENROUTE one's %s", got[2].done, got[1].done)
	}
	// The report in inbox/ is the final one, never marked intermediate.
	for _, rep := range waitReports(t, cfg, 1, 10*time.Second) {
		if rep.Intermediate || rep.Status != "delivered" {
			t.Errorf("inbox report %+v", rep)
		}
	}
}

// serveHTTP serves h on addr (loopback; port 0 picks one) until the test
// ends and returns its base URL, "http://host:port".
func serveHTTP(t testing.TB, addr string, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}
