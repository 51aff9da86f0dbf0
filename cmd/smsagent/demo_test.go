package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
	"github.com/smsagent/smsagent/config"
)

// demoWait bounds each wait of the demo tests: the samples are final about
// a second after the start (the simulator's receipt delay), the stop takes
// well under the 10 s a service gets.
const demoWait = 30 * time.Second

// demoRun is `smsagent demo --dir DIR` running in process with the clock
// at now, until its context is canceled.
type demoRun struct {
	dir    string
	cancel context.CancelFunc
	done   chan result
}

func startDemo(t *testing.T, dir string, now time.Time) *demoRun {
	t.Helper()
	t.Setenv(config.PasswordEnv, "")
	ctx, cancel := context.WithCancel(context.Background())
	d := &demoRun{dir: dir, cancel: cancel, done: make(chan result, 1)}
	go func() {
		// The buffers are read only once run has returned.
		var out, errOut bytes.Buffer
		a := newApp(ctx, &out, &errOut)
		a.now = func() time.Time { return now }
		code := a.run([]string{"demo", "--dir", dir})
		d.done <- result{out.String(), errOut.String(), code}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(demoWait):
			t.Error("the demo did not stop")
		}
	})
	return d
}

// stop cancels the demo's context, as Ctrl-C does, and returns what it
// printed; it must exit 0 well within the 10 s a stop may take.
func (d *demoRun) stop(t *testing.T) result {
	t.Helper()
	d.cancel()
	begun := time.Now()
	select {
	case r := <-d.done:
		r.want(t, exitOK)
		if took := time.Since(begun); took > 10*time.Second {
			t.Errorf("the stop took %s", took)
		}
		d.done <- r // for the cleanup
		return r
	case <-time.After(demoWait):
		t.Fatal("the demo did not stop")
	}
	return result{}
}

// demoInbox is what the demo's inbox/ holds: the reports and incoming SMS
// of every run.
type demoInbox struct {
	reports []smsagent.Report
	mos     []smsagent.MO
	other   []string // files of any other type: duplicates, unmatched receipts
}

// waitInbox polls inbox/ until it holds at least reports reports and mos
// incoming SMS, failing the test if the demo ends first or the deadline
// passes.
func (d *demoRun) waitInbox(t *testing.T, reports, mos int) demoInbox {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(demoWait)
	for {
		in := readDemoInbox(t, filepath.Join(d.dir, "spool", "inbox"))
		if len(in.reports) >= reports && len(in.mos) >= mos {
			return in
		}
		select {
		case r := <-d.done:
			t.Fatalf("the demo ended with status %d before the reports came\nstdout:\n%s\nstderr:\n%s",
				r.code, r.stdout, r.stderr)
		case <-deadline:
			t.Fatalf("after %s, inbox/ holds %d reports and %d incoming SMS, want %d and %d",
				demoWait, len(in.reports), len(in.mos), reports, mos)
		case <-tick.C:
		}
	}
}

func readDemoInbox(t *testing.T, dir string) demoInbox {
	t.Helper()
	var in demoInbox
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) { // the agent has not made it yet
		return in
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		// Hidden names are the agent's probes at start, there and gone.
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var kind struct{ Type string }
		if err := json.Unmarshal(data, &kind); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		switch {
		case kind.Type == "report" && strings.HasSuffix(e.Name(), ".report.json"):
			var r smsagent.Report
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			if r.Status == smsagent.ReportUnmatched {
				in.other = append(in.other, e.Name())
				continue
			}
			in.reports = append(in.reports, r)
		case kind.Type == "mo":
			var mo smsagent.MO
			if err := json.Unmarshal(data, &mo); err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			in.mos = append(in.mos, mo)
		default:
			in.other = append(in.other, e.Name())
		}
	}
	return in
}

// wantSample describes the report one sample message must get.
type wantSample struct {
	id     string // client id without the run's tag; "" for the smstools3 file
	file   string // the sample file, without the tag
	to     string
	status string
	parts  int
	error  string // part of the report's error
}

var demoWant = []wantSample{
	{id: "welcome", file: "welcome.json", to: "+12025550101", status: "delivered", parts: 1},
	{id: "long", file: "batch.ndjson", to: "+12025550102", status: "delivered", parts: 3},
	{id: "refused", file: "batch.ndjson", to: demoRefusedNumber, status: "rejected", parts: 1,
		error: "ESME_RINVDSTADR (0x0000000B)"},
	{id: "undeliverable", file: "batch.ndjson", to: demoUndeliverableNumber, status: "undeliverable", parts: 1,
		error: "UNDELIV"},
	{file: "unicode.sms", to: "+12025550103", status: "delivered", parts: 1},
}

// TestDemo_sampleReports: the demo waits for this many reports before it
// shows the failover.
func TestDemo_sampleReports(t *testing.T) {
	if len(demoWant) != demoSampleReports {
		t.Errorf("the samples make %d reports, demoSampleReports says %d", len(demoWant), demoSampleReports)
	}
}

// checkReports checks that the reports of the run tagged tag are exactly
// the samples' expected ones.
func checkReports(t *testing.T, in demoInbox, tag string) {
	t.Helper()
	var got []smsagent.Report
	for _, r := range in.reports {
		if strings.Contains(r.File, "-"+tag+".") {
			got = append(got, r)
		}
	}
	if len(got) != len(demoWant) {
		t.Fatalf("%d reports of run %s, want %d: %+v", len(got), tag, len(demoWant), got)
	}
	for _, w := range demoWant {
		i := slices.IndexFunc(got, func(r smsagent.Report) bool { return r.To == w.to })
		if i < 0 {
			t.Errorf("no report to %s", w.to)
			continue
		}
		r := got[i]
		wantID, wantFile := "", strings.Replace(w.file, ".", "-"+tag+".", 1)
		if w.id != "" {
			wantID = w.id + "-" + tag
		}
		if r.ID != wantID || r.File != wantFile || r.Status != w.status {
			t.Errorf("report to %s: id %q, file %q, status %q; want %q, %q, %q",
				w.to, r.ID, r.File, r.Status, wantID, wantFile, w.status)
		}
		if r.Parts == nil || r.Parts.Count != w.parts || len(r.Parts.Items) != w.parts {
			t.Errorf("report to %s: parts %+v, want %d", w.to, r.Parts, w.parts)
		} else if w.status == "delivered" {
			for _, p := range r.Parts.Items {
				if p.Status != "delivered" || p.Stat != "DELIVRD" {
					t.Errorf("report to %s: part %+v, want delivered by a DELIVRD receipt", w.to, p)
				}
			}
		}
		if !strings.Contains(r.Error, w.error) || (w.error == "") != (r.Error == "") {
			t.Errorf("report to %s: error %q, want one with %q", w.to, r.Error, w.error)
		}
	}
}

// checkRefused checks that the bad sample of run tag is in failed/, next to
// its reasons.
func checkRefused(t *testing.T, dir, tag string) {
	t.Helper()
	failed := filepath.Join(dir, "spool", "failed")
	name := "broken-" + tag + ".json"
	data, err := os.ReadFile(filepath.Join(failed, name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"txt"`)) {
		t.Errorf("failed/%s is not the sample: %s", name, data)
	}
	data, err = os.ReadFile(filepath.Join(failed, name+".error.json"))
	if err != nil {
		t.Fatal(err)
	}
	var reasons struct {
		File     string `json:"file"`
		Problems []struct {
			Field string `json:"field"`
		} `json:"problems"`
	}
	if err := json.Unmarshal(data, &reasons); err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, p := range reasons.Problems {
		fields = append(fields, p.Field)
	}
	slices.Sort(fields)
	if reasons.File != name || !slices.Equal(fields, []string{"text", "to", "txt"}) {
		t.Errorf("failed/%s.error.json: file %q, problems with %v; want %q and text, to, txt",
			name, reasons.File, fields, name)
	}
}

// TestDemo_samples runs the demo as `make demo` does, until every sample has
// its report: the good ones delivered, the long text in 3 parts, the refused
// and the undeliverable one with the SMSC's reason, the bad file in failed/
// with its reasons, the simulator's incoming SMS in inbox/. While it runs,
// the commands it suggests work against it; after Ctrl-C it exits 0 with a
// summary of the run.
func TestDemo_samples(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	now := time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)
	const tag = "20261125T181500"
	d := startDemo(t, dir, now)
	in := d.waitInbox(t, len(demoWant), 1)
	checkReports(t, in, tag)
	if len(in.mos) != 1 || in.mos[0].From != "+12025550101" || in.mos[0].To != demoOwnNumber ||
		in.mos[0].Text != "Thanks, got it! 👍 (run "+tag+")" {
		t.Errorf("incoming SMS: %+v", in.mos)
	}
	if len(in.other) > 0 {
		t.Errorf("unexpected files in inbox/: %v", in.other)
	}
	checkRefused(t, dir, tag)

	// "Or over HTTP": the sendsms URL printed sends through the demo, as a
	// Kannel client would.
	file := filepath.Join(dir, "smsagent.yaml")
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	sendsms := "http://" + cfg.Kannel.Listen + "/cgi-bin/sendsms?username=demo&password=demo&to=%2B12025550123&text=Hello+from+a+Kannel+client"
	if code, body := get(t, sendsms); code != http.StatusAccepted || body != "0: Accepted for delivery" {
		t.Fatalf("sendsms: %d %q", code, body)
	}
	// Its report comes after about a second, or after the failover the
	// demo shows meanwhile (a few seconds more).
	sendsmsReport := func(r smsagent.Report) bool { return r.To == "+12025550123" }
	for slices.IndexFunc(in.reports, sendsmsReport) < 0 {
		in = d.waitInbox(t, len(in.reports)+1, 1)
	}
	if i := slices.IndexFunc(in.reports, sendsmsReport); in.reports[i].Status != "delivered" || in.reports[i].File != "" {
		t.Errorf("no delivered report of the sendsms message: %+v", in.reports[i])
	}

	// "Look at the queue from another terminal": the commands printed work
	// against the running demo, through its admin API.
	r := cli(t, "queue", "list", "--config", file, "--json")
	r.want(t, exitOK)
	var page struct{ Messages []admin.Message }
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatalf("queue list --json: %v\n%s", err, r.stdout)
	}
	i := slices.IndexFunc(page.Messages, func(m admin.Message) bool { return m.To == "+12025550103" })
	if i < 0 || page.Messages[i].Text != "Unicode works too: Grüße, Привет, 你好 👋🎉" {
		t.Errorf("queue list: the Unicode sample is not stored as written: %+v", page.Messages)
	}
	cli(t, "status", "--config", file).want(t, exitOK)
	// "Or watch it in a browser": the status page the demo names.
	statusPage := "http://" + cfg.Admin.Listen + "/"
	if code, body := get(t, statusPage); code != http.StatusOK || !strings.Contains(body, "<title>smsagent</title>") {
		t.Errorf("the status page %s: %d %.200q", statusPage, code, body)
	}

	out := d.stop(t).stdout
	root, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		filepath.Join(root, "spool", "outgoing") + string(filepath.Separator),
		filepath.Join(root, "spool", "inbox") + string(filepath.Separator),
		"send --spool " + filepath.Join(root, "spool") + " --to",
		dropVerb() + filepath.Join(root, "spool", "outgoing", ".hello.tmp"),
		"curl '" + sendsms + "'",
		"send --via api --config " + filepath.Join(root, "smsagent.yaml") + " --to",
		"Or watch it in a browser, on the status page:\n  " + statusPage + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	// The failover the demo shows may have added reports by the stop.
	if !regexp.MustCompile(`This run: \d+ reports \(\d+ delivered, 1 rejected, 1 undeliverable\), 1 incoming SMS, 1 file refused\. Not final yet: \d+\.`).MatchString(out) {
		t.Errorf("no summary line in the output:\n%s", out)
	}
	// Not a terminal: plain lines with the time, nothing rewritten in place.
	if !regexp.MustCompile(`\n18:15:00  queued \d+  sent \d+  delivered \d+  failed \d+  \| SMSC binds up [0-4]/4\n`).MatchString(out) {
		t.Errorf("no progress line in the output:\n%s", out)
	}
	if strings.Contains(out, "\r") {
		t.Errorf("carriage returns in the output for a file:\n%q", out)
	}
}

// TestDemo_again: a second run in the same folder keeps what the first left
// and sends the samples again under new names and ids: they are not taken
// for duplicates, and no receipt of the second simulator matches a message
// of the first.
func TestDemo_again(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	first := time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)
	d := startDemo(t, dir, first)
	d.waitInbox(t, len(demoWant), 1)
	d.stop(t)

	second := first.Add(time.Minute)
	d = startDemo(t, dir, second)
	in := d.waitInbox(t, 2*len(demoWant), 2)
	checkReports(t, in, "20261125T181500")
	checkReports(t, in, "20261125T181600")
	if len(in.other) > 0 {
		t.Errorf("unexpected files in inbox/ (duplicates, unmatched receipts?): %v", in.other)
	}
	checkRefused(t, dir, "20261125T181600")
	// Each simulator numbers its messages apart from the earlier ones', as
	// a real SMSC does, so a late receipt never finds the wrong message.
	r := cli(t, "queue", "list", "--config", filepath.Join(dir, "smsagent.yaml"), "--json")
	r.want(t, exitOK)
	var page struct{ Messages []admin.Message }
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatalf("queue list --json: %v\n%s", err, r.stdout)
	}
	ids := make(map[string]smsagent.MessageID)
	for _, m := range page.Messages {
		for _, p := range m.Parts {
			if p.SMSCID == "" {
				continue
			}
			if other, ok := ids[p.SMSCID]; ok {
				t.Errorf("SMSC id %s names a part of message %d and of message %d", p.SMSCID, other, m.MessageID)
			}
			ids[p.SMSCID] = m.MessageID
		}
	}
	if len(ids) != 2*6 { // 6 parts accepted in each run: 1 + 3 + 1 + 1
		t.Errorf("%d SMSC ids, want 12: %v", len(ids), ids)
	}
	out := d.stop(t).stdout
	if !strings.Contains(out, "This run: 5 reports (3 delivered, 1 rejected, 1 undeliverable), 1 incoming SMS, 1 file refused.") {
		t.Errorf("the second run's summary does not count only its own files:\n%s", out)
	}
}

// TestStatusLine_show: on a terminal each line overwrites the one before
// completely, a line too wide is cut so it cannot wrap, clear leaves a
// blank line to print on and end a line with the last counts; elsewhere
// only changes are printed, one a line.
func TestStatusLine_show(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)
	var out bytes.Buffer
	l := statusLine{w: &out, tty: true, width: 10}
	l.show(at, "queued 12")
	l.show(at, "sent 3")
	l.show(at, "delivered 123")
	l.clear()
	l.clear()
	if want := "\rqueued 12\rsent 3   \rdelivered\r         \r"; out.String() != want {
		t.Errorf("terminal: %q, want %q", out.String(), want)
	}
	// end keeps the last counts on the screen; what follows is not padded
	// to the width of a line no longer there.
	out.Reset()
	l.show(at, "queued 12")
	l.end()
	l.end()
	l.show(at, "sent 3")
	if want := "\rqueued 12\n\rsent 3"; out.String() != want {
		t.Errorf("terminal, after end: %q, want %q", out.String(), want)
	}

	out.Reset()
	l = statusLine{w: &out}
	l.show(at, "queued 1")
	l.show(at.Add(time.Second), "queued 1")
	l.show(at.Add(2*time.Second), "sent 1")
	l.clear()
	if want := "18:15:00  queued 1\n18:15:02  sent 1\n"; out.String() != want {
		t.Errorf("not a terminal: %q, want %q", out.String(), want)
	}
}

// TestDemo_busy: a second demo on the folder of a running one exits 1,
// says why, and leaves the first one's configuration alone, so the
// commands the first one printed still reach it.
func TestDemo_busy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	now := time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)
	d := startDemo(t, dir, now)
	d.waitInbox(t, len(demoWant), 1)
	file := filepath.Join(dir, "smsagent.yaml")
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	a := newApp(context.Background(), &out, &errOut)
	a.now = func() time.Time { return now.Add(time.Minute) }
	if code := a.run([]string{"demo", "--dir", dir}); code != exitFailure {
		t.Fatalf("second demo: exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailure, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "in use by another smsagent process (lock not acquired within 1s); is another demo running with --dir "+dir+"?") {
		t.Errorf("second demo: stderr:\n%s", errOut.String())
	}
	after, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("the second demo rewrote the configuration:\n%s\nwas:\n%s", after, before)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("the second demo left %s behind", e.Name())
		}
	}
	cli(t, "status", "--config", file).want(t, exitOK)
	d.stop(t)
}

// dropVerb starts the rename of the demo's drop example: mv in a Unix
// shell, Move-Item in PowerShell.
func dropVerb() string {
	if runtime.GOOS == "windows" {
		return "Move-Item "
	}
	return "mv "
}

// TestDemo_failover: once the samples are done the demo stops the primary
// SMSC, a message goes through backup after failover.after, the primary
// comes back and the next message goes through it again; the demo says so
// as it happens.
func TestDemo_failover(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	now := time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)
	const tag = "20261125T181500"
	d := startDemo(t, dir, now)
	via := func(in demoInbox, id string) string {
		for _, r := range in.reports {
			if r.ID == id && r.Status == "delivered" {
				return r.SMSC
			}
		}
		return ""
	}
	var in demoInbox
	deadline := time.Now().Add(2 * demoWait)
	for via(in, "back-"+tag) == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no failback report after %s: %+v", 2*demoWait, in.reports)
		}
		in = d.waitInbox(t, len(in.reports)+1, 1)
	}
	if got := via(in, "outage-"+tag); got != demoBackup {
		t.Errorf("the message sent during the outage went via %q, want %s", got, demoBackup)
	}
	if got := via(in, "back-"+tag); got != demoPrimary {
		t.Errorf("the message sent after the failback went via %q, want %s", got, demoPrimary)
	}
	for _, r := range in.reports {
		if strings.Contains(r.File, "-"+tag+".") && r.SMSC != demoPrimary {
			t.Errorf("sample %s went via %q, want %s", r.File, r.SMSC, demoPrimary)
		}
	}
	out := d.stop(t).stdout
	for _, want := range []string{
		"Failover: stopping the primary SMSC",
		"Failover: account primary is down (no session bound for 3s); failing over to backup.",
		"Failover: starting the primary SMSC again",
		"Failover: account primary is up again; dropped failover-" + tag + "-back.json",
		"via backup",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo did not say %q:\n%s", want, out)
		}
	}
}
