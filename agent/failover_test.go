package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// accountsConfig is a configuration with the accounts mitto and backup,
// each on its simulator, and what extra adds (routes:, failover:, top-level
// YAML).
func accountsConfig(t testing.TB, mitto, backup string, extra string) *config.Config {
	return accountsConfigOf(t, []string{"mitto=" + mitto, "backup=" + backup}, extra)
}

// accountsConfigOf is accountsConfig for accounts given as NAME=ADDRESS;
// every account has receipt_grace 1s.
func accountsConfigOf(t testing.TB, accounts []string, extra string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	doc := "smscs:\n"
	for _, a := range accounts {
		name, addr, _ := strings.Cut(a, "=")
		doc += fmt.Sprintf(`  - name: %s
    address: %q
    system_id: agent
    password: secret
    sessions: 2
    window: 10
    response_timeout: 1s
    bind_timeout: 1s
    enquire_link: 5s
    receipt_grace: 1s
`, name, addr)
	}
	doc += testFolders(dir) + extra
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, doc)
	}
	// Below the configuration's minimum: receipts that went with a
	// stopped simulator end the message's wait soon.
	cfg.Retry.ReceiptTimeout = 3 * time.Second
	return cfg
}

// accountOf counts, per account, the reports that name it, and checks that
// every part names the report's account.
func accountOf(t testing.TB, reps map[string]smsagent.Report) map[string]int {
	t.Helper()
	by := map[string]int{}
	for id, r := range reps {
		by[r.SMSC]++
		if r.Parts == nil {
			continue
		}
		for _, p := range r.Parts.Items {
			if p.SMSC != r.SMSC {
				t.Errorf("%s: part %d went to %q, the report says %q", id, p.Seq, p.SMSC, r.SMSC)
			}
		}
	}
	return by
}

// TestAgent_e2e_failover: two accounts on two simulators that issue the
// same message ids; mitto delivers everything, backup reports everything
// undeliverable, so a receipt matched to the other account's message would
// show in its status. mitto stops in the middle of the load: every message
// has exactly one final report, the ones mitto did not take went through
// backup and say so, and their receipts matched their own account. When
// mitto comes back, new messages return to it (failback).
func TestAgent_e2e_failover(t *testing.T) {
	n := 2000
	if runtime.GOOS == "windows" {
		// The same path at a tenth of the work: under Wine the run takes
		// twenty times as long (the package has four minutes there).
		n = 200
	}
	mitto := simulator(t, smsc.Options{ReceiptDelay: 50 * time.Millisecond})
	backup := simulator(t, smsc.Options{ReceiptDelay: 50 * time.Millisecond,
		Rules: []smsc.Rule{{Prefix: "", Outcome: smsc.Undeliverable}}})
	mittoAddr := mitto.Addr()
	cfg := accountsConfig(t, mittoAddr, backup.Addr(), "failover:\n  after: 1s\n")
	r := startReal(t, cfg)

	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf(`{"id":"m%d","to":"+4179%07d","text":"message %d"}`, i, i, i))
	}
	for f := range 10 {
		drop(t, cfg, fmt.Sprintf("load%d.ndjson", f), strings.Join(lines[f*n/10:(f+1)*n/10], "\n"))
	}
	testutil.Eventually(t, 30*time.Second, "mitto to take a third", func() bool {
		return mitto.Stats().Accepted >= n/3
	})
	stopped := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := mitto.Close(ctx); err != nil {
		t.Logf("closing mitto: %v", err)
	}
	cancel()
	testutil.Eventually(t, 20*time.Second, "status: mitto down, failing over to backup", func() bool {
		st, err := r.a.Status(context.Background())
		return err == nil && len(st.SMSCs) == 2 && st.SMSCs[0].State == "down" && st.SMSCs[0].FailingOverTo == "backup"
	})
	t.Logf("mitto down after %s", time.Since(stopped).Round(time.Millisecond))
	waitDelivered(t, cfg, n, 90*time.Second)
	reps := reports(t, cfg)
	byAccount := accountOf(t, reps)
	onMitto := map[string]bool{}
	for _, s := range mitto.Submits() {
		onMitto[s.Text] = true
	}
	onBackup := map[string]bool{}
	for _, s := range backup.Submits() {
		onBackup[s.Text] = true
	}
	both := 0
	for i := range n {
		id, text := fmt.Sprintf("m%d", i), fmt.Sprintf("message %d", i)
		rep, ok := reps[id]
		if !ok {
			t.Errorf("no report for %s", id)
			continue
		}
		if onMitto[text] && onBackup[text] {
			both++
		}
		switch rep.SMSC {
		case "mitto":
			// Mitto may have had it and its receipt never came before
			// the stop: sent, waiting for a receipt that went with mitto.
			if rep.Status != "delivered" && rep.Status != "sent" {
				t.Errorf("%s via mitto: %s (%s)", id, rep.Status, rep.Error)
			}
			if !onMitto[text] {
				t.Errorf("%s: the report names mitto, mitto never had it", id)
			}
		case "backup":
			if rep.Status != "undeliverable" {
				t.Errorf("%s via backup: %s (%s): a receipt of the wrong account?", id, rep.Status, rep.Error)
			}
			if !onBackup[text] {
				t.Errorf("%s: the report names backup, backup never had it", id)
			}
		default:
			t.Errorf("%s: report names account %q", id, rep.SMSC)
		}
	}
	// Sent to both: parts whose submit_sm_resp mitto never sent when it
	// stopped; bounded by mitto's budget (sessions × window + uncommitted).
	if bound := 2*10 + 2*2*10; both > bound {
		t.Errorf("%d messages went to both accounts, more than mitto's budget of %d", both, bound)
	}
	if byAccount["backup"] == 0 || byAccount["mitto"] < n/3 {
		t.Errorf("reports per account: %v", byAccount)
	}
	t.Logf("%d messages: %v; %d sent to both", n, byAccount, both)

	// Failback: mitto returns at its address; once bound for
	// failover.after, new messages go to it again.
	again := smsc.New(smsc.Options{Logger: testLogger(t)})
	if err := again.Listen(mittoAddr); err != nil {
		t.Skipf("mitto's port was taken meanwhile: %v", err)
	}
	t.Cleanup(func() { _ = again.Close(context.Background()) })
	back := time.Now()
	testutil.Eventually(t, 20*time.Second, "status: mitto up again", func() bool {
		st, err := r.a.Status(context.Background())
		return err == nil && st.SMSCs[0].State == "up"
	})
	t.Logf("mitto up again after %s", time.Since(back).Round(time.Millisecond))
	before := backup.Stats().Submits
	for i := range 20 {
		drop(t, cfg, fmt.Sprintf("after%d.json", i), fmt.Sprintf(`{"id":"a%d","to":"+4178%07d","text":"after %d"}`, i, i, i))
	}
	waitDelivered(t, cfg, n+20, 30*time.Second)
	for i := range 20 {
		if rep := reports(t, cfg)[fmt.Sprintf("a%d", i)]; rep.SMSC != "mitto" || rep.Status != "delivered" {
			t.Errorf("a%d after failback: %s via %q", i, rep.Status, rep.SMSC)
		}
	}
	if got := backup.Stats().Submits; got != before {
		t.Errorf("backup got %d submits after mitto came back", got-before)
	}
}

// TestAgent_e2e_routes: prefix routes, a pinned message, a failover status,
// and the refusals at intake (an unknown pinned account, a destination no
// route matches).
func TestAgent_e2e_routes(t *testing.T) {
	mitto := simulator(t, smsc.Options{Rules: []smsc.Rule{
		{Prefix: "4179666", Outcome: smsc.Refused, Status: pdu.StatusSysErr},
		{Prefix: "4179777", Outcome: smsc.Refused, Status: pdu.StatusInvDstAdr},
	}})
	backup := simulator(t, smsc.Options{Rules: []smsc.Rule{
		{Prefix: "4179777", Outcome: smsc.Refused, Status: pdu.StatusSysErr},
	}})
	cfg := accountsConfig(t, mitto.Addr(), backup.Addr(), `routes:
  - to: ["+41"]
    smscs: [mitto, backup]
  - to: ["+49"]
    smscs: [backup, mitto]
failover:
  after: 1s
  on_status: [ESME_RSYSERR]
`)
	startReal(t, cfg)
	drop(t, cfg, "routes.ndjson", strings.Join([]string{
		`{"id":"ch","to":"+41791234567","text":"to Switzerland"}`,
		`{"id":"de","to":"+4915112345678","text":"to Germany"}`,
		`{"id":"pinned","to":"+4915112345679","text":"pinned","smsc":"mitto"}`,
		`{"id":"moved","to":"+41796661234","text":"refused by mitto with a failover status"}`,
		`{"id":"refused","to":"+41797771234","text":"refused for good"}`,
	}, "\n"))
	drop(t, cfg, "unknown.json", `{"to":"+41791234567","text":"x","smsc":"nosuch"}`)
	drop(t, cfg, "unroutable.json", `{"to":"+33612345678","text":"to France"}`)
	// smstools3's Queue: header pins when it names an account.
	drop(t, cfg, "queue.sms", "To: 41791234568\nQueue: backup\n\npinned by an smstools3 queue\n")
	reps := waitReports(t, cfg, 6, 30*time.Second)
	var viaQueue []string
	for _, r := range reps {
		if r.To == "+41791234568" {
			viaQueue = append(viaQueue, r.SMSC+" "+r.Status)
		}
	}
	if len(viaQueue) != 1 || viaQueue[0] != "backup delivered" {
		t.Errorf("the smstools3 file with Queue: backup: %q, want delivered via backup (its route starts at mitto)", viaQueue)
	}
	want := map[string][2]string{
		"ch":     {"mitto", "delivered"},
		"de":     {"backup", "delivered"},
		"pinned": {"mitto", "delivered"},
		"moved":  {"backup", "delivered"},
		// ESME_RINVDSTADR is not a failover status: rejected by mitto.
		"refused": {"mitto", "rejected"},
	}
	for id, w := range want {
		if r := reps[id]; r.SMSC != w[0] || r.Status != w[1] {
			t.Errorf("%s: %s via %q (%s), want %s via %s", id, r.Status, r.SMSC, r.Error, w[1], w[0])
		}
	}
	if r := reps["moved"]; r.Parts == nil || r.Parts.Items[0].SMSC != "backup" {
		t.Errorf("moved: parts %+v", r.Parts)
	}
	for name, reason := range map[string]string{
		"unknown.json":    `smsc "nosuch": no SMSC account of that name (configured: mitto, backup)`,
		"unroutable.json": "no route matches the destination +33612345678",
	} {
		var rep struct {
			Problems []smsagent.Problem `json:"problems"`
		}
		path := filepath.Join(cfg.Spool.Dir, "failed", name+".error.json")
		testutil.Eventually(t, 10*time.Second, path+" readable", func() bool {
			b, err := os.ReadFile(path)
			return err == nil && json.Unmarshal(b, &rep) == nil
		})
		if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, reason) {
			t.Errorf("%s refused with %+v, want it to say %q", name, rep.Problems, reason)
		}
	}
}

// TestAgent_e2e_allAccountsDown: while every account of a route is down
// its messages wait, and the status says why; they go out when one comes
// back.
func TestAgent_e2e_allAccountsDown(t *testing.T) {
	mitto := simulator(t, smsc.Options{})
	backup := simulator(t, smsc.Options{})
	cfg := accountsConfig(t, mitto.Addr(), backup.Addr(), `routes:
  - to: ["+41"]
    smscs: [mitto]
  - smscs: [backup]
failover:
  after: 1s
`)
	r := startReal(t, cfg)
	testutil.Eventually(t, 10*time.Second, "both accounts bound", func() bool {
		st, err := r.a.Status(context.Background())
		return err == nil && st.SMSCs[0].Bound > 0 && st.SMSCs[1].Bound > 0
	})
	mittoAddr := mitto.Addr()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = mitto.Close(ctx)
	cancel()
	testutil.Eventually(t, 10*time.Second, "status: mitto down", func() bool {
		st, err := r.a.Status(context.Background())
		if err != nil || st.SMSCs[0].State != "down" {
			return false
		}
		for _, h := range st.Health {
			if strings.HasPrefix(h, "smsc account down: mitto") {
				return true
			}
		}
		return false
	})
	drop(t, cfg, "wait.json", `[{"id":"ch","to":"+41791234567","text":"waits for mitto"},{"id":"fr","to":"+33612345678","text":"goes via backup"}]`)
	reps := waitReports(t, cfg, 1, 20*time.Second)
	if r := reps["fr"]; r.SMSC != "backup" || r.Status != "delivered" {
		t.Errorf("fr: %s via %q", r.Status, r.SMSC)
	}
	st, err := r.a.Outbox().Stats(context.Background())
	if err != nil || st.ByState[smsagent.StateQueued]+st.ByState[smsagent.StateSending] != 1 {
		t.Fatalf("ch should wait in the queue: %+v %v", st, err)
	}
	again := smsc.New(smsc.Options{Logger: testLogger(t)})
	if err := again.Listen(mittoAddr); err != nil {
		t.Skipf("mitto's port was taken meanwhile: %v", err)
	}
	t.Cleanup(func() { _ = again.Close(context.Background()) })
	reps = waitReports(t, cfg, 2, 30*time.Second)
	if r := reps["ch"]; r.SMSC != "mitto" || r.Status != "delivered" {
		t.Errorf("ch: %s via %q", r.Status, r.SMSC)
	}
}

// TestAgent_e2e_stalledAccountHoldsNoOther: mitto takes submit_sm and
// answers none (its responses held back a minute); backup is well. The
// messages for backup, queued behind a full window's worth and more for
// mitto, go out without waiting for mitto's response timeout: once
// mitto has taken no message for half its response_timeout, its messages
// go back to the queue instead of holding the page.
func TestAgent_e2e_stalledAccountHoldsNoOther(t *testing.T) {
	mitto := simulator(t, smsc.Options{})
	mitto.SetFaults(smsc.Faults{Delay: time.Minute})
	backup := simulator(t, smsc.Options{})
	cfg := accountsConfig(t, mitto.Addr(), backup.Addr(), "")
	for i := range cfg.SMSCs {
		cfg.SMSCs[i].ResponseTimeout = 8 * time.Second // stallAfter: 4 s
	}
	r := start(t, cfg, agent.Options{TunePool: fastPool, DrainTimeout: 100 * time.Millisecond})
	testutil.Eventually(t, 10*time.Second, "both accounts bound", func() bool {
		return mitto.Stats().Bound == 2 && backup.Stats().Bound == 2
	})
	var b strings.Builder
	for i := range 30 { // mitto's window: 2 sessions × 10
		fmt.Fprintf(&b, `{"id":"m%d","to":"+4179123%04d","text":"to the silent one","smsc":"mitto"}`+"\n", i, i)
	}
	for i := range 20 {
		fmt.Fprintf(&b, `{"id":"b%d","to":"+4179555%04d","text":"to the well one","smsc":"backup"}`+"\n", i, i)
	}
	began := time.Now()
	drop(t, cfg, "mixed.ndjson", b.String())
	testutil.Eventually(t, 30*time.Second, "backup's 20 reports", func() bool {
		n := 0
		for id, r := range reports(t, cfg) {
			if strings.HasPrefix(id, "b") && r.Status == "delivered" && r.SMSC == "backup" {
				n++
			}
		}
		return n == 20
	})
	// Without passing mitto over, backup's messages wait for mitto's
	// first 20 parts to time out (8 s), and the next 10 after them.
	if took := time.Since(began); took >= 8*time.Second {
		t.Errorf("backup's messages took %s behind the silent account, want less than its response_timeout (8s)",
			took.Round(time.Millisecond))
	}
	if n := mitto.Stats().Submits; n > 21 {
		t.Errorf("mitto got %d submit_sm while it answered none: want its window's 20 and at most a probe", n)
	}
	st, err := r.a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if a := st.SMSCs[0]; a.Name != "mitto" || a.State != "up" || a.StalledSince.IsZero() || !st.SMSCs[1].StalledSince.IsZero() ||
		!slices.ContainsFunc(st.Health, func(h string) bool { return strings.HasPrefix(h, "smsc account stalled: mitto since ") }) {
		t.Errorf("status while mitto is silent: %+v, health %q", st.SMSCs, st.Health)
	}
	// mitto answers again: a probe is answered, the stall ends, and the
	// 10 of its messages that waited go out (the 20 held back stay with
	// mitto, which answers them when its minute is up).
	mitto.SetFaults(smsc.Faults{})
	testutil.Eventually(t, 30*time.Second, "mitto's waiting messages delivered", func() bool {
		n := 0
		for id, r := range reports(t, cfg) {
			if strings.HasPrefix(id, "m") && r.Status == "delivered" && r.SMSC == "mitto" {
				n++
			}
		}
		return n >= 10
	})
	testutil.Eventually(t, 10*time.Second, "the status without the stall", func() bool {
		st, err := r.a.Status(context.Background())
		return err == nil && st.SMSCs[0].StalledSince.IsZero() &&
			!slices.ContainsFunc(st.Health, func(h string) bool { return strings.HasPrefix(h, "smsc account stalled") })
	})
}
