package soak_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/smsc"
)

var long = flag.Bool("soak", false, "run the full matrix (also SOAK=1): more messages, more kills, longer faults")

// binary is the agent built once for the whole suite.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv("SOAK") == "1" {
		*long = true
	}
	dir, err := os.MkdirTemp("", "smsagent-soak-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "smsagent")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary, "github.com/smsagent/smsagent/cmd/smsagent")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak: build the agent:", err)
		os.Exit(1)
	}
	start := time.Now()
	code := m.Run()
	table.print(os.Stdout, time.Since(start))
	if file := os.Getenv("SOAK_TABLE"); file != "" {
		if f, err := os.Create(file); err == nil {
			table.print(f, time.Since(start))
			_ = f.Close()
		}
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// scale picks the short (CI) or the full (-soak) figure.
func scale(short, full int) int {
	if *long {
		return full
	}
	return short
}

// Every case talks to the simulator through these; the simulator's window
// stays within the agent's inbound window (64) so that receipts are never
// throttled away by the set-up itself.
const (
	sessions = 2
	window   = 10
	// uncommitted is smsc.max_uncommitted's default: parts answered and
	// not yet committed, which a kill resends too.
	uncommitted = 2 * sessions * window
	simWindow   = 32
	password    = "Pw0rd!x9" // at most 8 characters (SMPP 3.4 §4.1)
	token       = "soak-admin-token-4f1c"
	delivered   = "delivered" // smsagent.StateDelivered in a report
)

// row is one line of the table.
type row struct {
	name     string
	messages int
	faults   string
	lost     int
	dups     int
	bound    int
	result   string
	took     time.Duration
}

type results struct {
	mu   sync.Mutex
	rows []row
}

var table results

func (r *results) add(x row) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, x)
}

func (r *results) print(w io.Writer, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.rows) == 0 {
		return
	}
	mode := "short"
	if *long {
		mode = "full (-soak)"
	}
	fmt.Fprintf(w, "\nsmsagent fault matrix, %s, %s, %s/%s, %d CPUs, %s\n\n", mode,
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), took.Round(time.Second))
	fmt.Fprintf(w, "| %-28s | %8s | %-52s | %4s | %-10s | %-6s | %6s |\n", "case", "messages", "faults injected", "lost", "duplicates", "result", "time")
	fmt.Fprintf(w, "|%s|%s:|%s|%s:|%s|%s|%s:|\n", strings.Repeat("-", 30), strings.Repeat("-", 9), strings.Repeat("-", 54),
		strings.Repeat("-", 5), strings.Repeat("-", 12), strings.Repeat("-", 8), strings.Repeat("-", 7))
	for _, x := range r.rows {
		fmt.Fprintf(w, "| %-28s | %8d | %-52s | %4d | %-10s | %-6s | %5.0fs |\n", x.name, x.messages, x.faults, x.lost,
			fmt.Sprintf("%d ≤ %d", x.dups, x.bound), x.result, x.took.Seconds())
	}
	fmt.Fprintln(w)
}

// rig is one case: a simulator, a folder with the configuration, the spool
// and the database, and the agent processes run on them in turn.
type rig struct {
	t                           *testing.T
	sim                         *smsc.Server
	dir, cfgFile, spool, dbPath string
	api                         string
	row                         row
	started                     time.Time
	faults                      []string
	log                         *testutil.Buffer // every process's output, in order
	// kills counts the agent processes ended by SIGKILL.
	kills int
	// boundAtStop is how many sessions the simulator had bound when the
	// agent was last asked to stop; -1 before any stop.
	boundAtStop int
	// storeExtra are lines added to the store section (a cluster's node).
	storeExtra []string
}

// newRig starts a simulator with o (its window capped at simWindow) and
// writes the agent's configuration; extra lines are added to the smsc
// section.
func newRig(t *testing.T, name string, o smsc.Options, smscExtra ...string) *rig {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the suite signals processes and mounts file systems: Linux")
	}
	if o.Session.Window == 0 || o.Session.Window > simWindow {
		o.Session.Window = simWindow
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	sim := smsc.New(o)
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sim.Close(ctx)
	})
	dir := t.TempDir()
	r := &rig{t: t, sim: sim, dir: dir, cfgFile: filepath.Join(dir, "smsagent.yaml"),
		spool: filepath.Join(dir, "spool"), dbPath: filepath.Join(dir, "state", "outbox.db"),
		api: freeAddr(t), started: time.Now(), log: &testutil.Buffer{}, boundAtStop: -1}
	r.row.name = name
	r.writeConfig(sim.Addr(), smscExtra...)
	if err := os.MkdirAll(filepath.Join(r.spool, "outgoing"), 0o750); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.row.result = "PASS"
		if t.Failed() {
			r.row.result = "FAIL"
			t.Logf("agent output (last 8 KiB):\n%s", r.log.Tail(8<<10))
		} else if os.Getenv("SOAK_DEBUG") != "" {
			t.Logf("agent output (last 256 KiB):\n%s", r.log.Tail(256<<10))
		} else if t.Skipped() {
			r.row.result = "SKIP"
		}
		r.row.faults = strings.Join(r.faults, "; ")
		r.row.took = time.Since(r.started)
		table.add(r.row)
	})
	return r
}

func (r *rig) writeConfig(addr string, smscExtra ...string) {
	doc := fmt.Sprintf(`smsc:
  address: %q
  system_id: agent
  password: %q
  sessions: %d
  window: %d
  response_timeout: 1s
  bind_timeout: 2s
  enquire_link: 1s
  receipt_grace: 2s
%s`, addr, password, sessions, window, indent(smscExtra))
	r.writeDoc(doc)
}

// writeDoc writes the configuration: accounts (smsc: or smscs:, and what
// goes with them) and the rig's folders, admin API and retry timings;
// retryExtra adds keys to retry:.
func (r *rig) writeDoc(accounts string, retryExtra ...string) {
	doc := accounts + fmt.Sprintf(`spool:
  dir: %q
  settle: 0s
  rescan_interval: 1s
store:
  path: %q
%sretry:
  initial: 100ms
  max: 500ms
%sadmin:
  listen: %q
  token: %q
log:
  level: info
`, r.spool, r.dbPath, indent(r.storeExtra), indent(retryExtra), r.api, token)
	if err := os.WriteFile(r.cfgFile, []byte(doc), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func indent(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// fault notes a fault injected, for the table.
func (r *rig) fault(format string, args ...any) {
	r.faults = append(r.faults, fmt.Sprintf(format, args...))
}

// proc is one agent process.
type proc struct {
	r    *rig
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// start runs `smsagent run` on the rig's configuration until the test ends
// or it is stopped.
func (r *rig) start(args ...string) *proc {
	r.t.Helper()
	cmd := exec.Command(binary, append([]string{"run", "--config", r.cfgFile}, args...)...)
	cmd.Stdout, cmd.Stderr = r.log, r.log
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	p := &proc{r: r, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	r.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// kill is the power cut: SIGKILL, then wait for the process to be gone.
func (p *proc) kill() {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.r.t.Fatal(err)
	}
	<-p.done
	p.r.kills++
}

// stop sends SIGTERM and says how long the process took to exit.
func (p *proc) stop(within time.Duration) time.Duration {
	p.r.t.Helper()
	t0 := time.Now()
	p.r.boundAtStop = p.r.sim.Stats().Bound
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.r.t.Fatal(err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			p.r.t.Errorf("the agent's clean stop: %v", p.err)
		}
	case <-time.After(within):
		p.r.t.Fatalf("the agent did not stop within %s of SIGTERM", within)
	}
	return time.Since(t0)
}

// running reports whether the process is still alive.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// rss is the process's resident set in bytes (/proc/PID/status gives kB).
func (p *proc) rss() int64 { return p.procValue("status", "VmRSS:") << 10 }

// ioRead is how many bytes the process read through read(2) so far
// (/proc/PID/io rchar).
func (p *proc) ioRead() int64 { return p.procValue("io", "rchar:") }

// procValue is the number after key in /proc/PID/file, in the file's own
// unit; 0 when the process or the key is gone, since a sample taken as the
// process exits is no failure of the case.
func (p *proc) procValue(file, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", p.cmd.Process.Pid, file))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == key {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// drop writes a file into outgoing/ as the writer contract says:
// elsewhere, then renamed in.
func (r *rig) drop(name string, content []byte) {
	r.t.Helper()
	tmp := filepath.Join(r.spool, "outgoing", "."+name+".tmp")
	if err := os.WriteFile(tmp, content, 0o640); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(r.spool, "outgoing", name)); err != nil {
		r.t.Fatal(err)
	}
}

// bulk drops n messages, perFile to an NDJSON file, and returns their
// client ids. Each text is unique, so the simulator's record shows which
// message came twice.
func (r *rig) bulk(prefix string, n, perFile int) []string {
	r.t.Helper()
	ids := make([]string, 0, n)
	for f := 0; f*perFile < n; f++ {
		var b bytes.Buffer
		for i := f * perFile; i < min(n, (f+1)*perFile); i++ {
			id := fmt.Sprintf("%s%d", prefix, i)
			fmt.Fprintf(&b, `{"id":%q,"to":"+3585%07d","text":%q}`+"\n", id, i, text(id))
			ids = append(ids, id)
		}
		r.drop(fmt.Sprintf("%s-%04d.ndjson", prefix, f), b.Bytes())
	}
	r.row.messages += n
	return ids
}

func text(id string) string { return "soak message " + id }

// reports reads every report in inbox/: message reports by client id (a
// list, so that two reports for one message show), and the count of
// unmatched-receipt reports.
func (r *rig) reports() (byID map[string][]smsagent.Report, unmatched []smsagent.Report) {
	r.t.Helper()
	byID = make(map[string][]smsagent.Report)
	for _, f := range r.inboxFiles(".report.json") {
		b, err := os.ReadFile(f)
		if err != nil {
			r.t.Fatal(err)
		}
		var rep smsagent.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			r.t.Fatalf("%s: %v\n%s", f, err, b)
		}
		if rep.Status == smsagent.ReportUnmatched {
			unmatched = append(unmatched, rep)
			continue
		}
		byID[rep.ID] = append(byID[rep.ID], rep)
	}
	return byID, unmatched
}

func (r *rig) inboxFiles(suffix string) []string {
	ents, err := os.ReadDir(filepath.Join(r.spool, "inbox"))
	if err != nil && !os.IsNotExist(err) {
		r.t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), suffix) {
			out = append(out, filepath.Join(r.spool, "inbox", e.Name()))
		}
	}
	return out
}

// messageReports counts the reports of messages in inbox/ by name: a
// message's report ends in "-<message id>.report.json", an event's (an
// unmatched receipt) in "-e<seq>.report.json".
func (r *rig) messageReports() int {
	n := 0
	for _, f := range r.inboxFiles(".report.json") {
		name := strings.TrimSuffix(filepath.Base(f), ".report.json")
		if i := strings.LastIndexByte(name, '-'); i >= 0 && i+1 < len(name) && name[i+1] != 'e' {
			n++
		}
	}
	return n
}

// waitReports waits until n message reports are in inbox/.
func (r *rig) waitReports(n int, within time.Duration) {
	r.t.Helper()
	end, dumped := time.Now().Add(within), false
	r.eventually(within, func() string {
		if got := r.messageReports(); got < n {
			if !dumped && time.Now().Add(time.Second).After(end) {
				dumped = true
				r.dumpStuck()
			}
			return fmt.Sprintf("%d message reports in inbox/, want %d; simulator %+v; queue %s", got, n, r.sim.Stats(), r.queueStats())
		}
		return ""
	})
}

// waitAccepted waits until the SMSC accepted at least k messages.
func (r *rig) waitAccepted(k int) {
	r.t.Helper()
	r.eventually(60*time.Second, func() string {
		if got := r.sim.Stats().Accepted; got < k {
			return fmt.Sprintf("the SMSC accepted %d, waiting for %d", got, k)
		}
		return ""
	})
}

// waitOutgoing waits until at most n files are left in outgoing/.
func (r *rig) waitOutgoing(n int, within time.Duration) {
	r.t.Helper()
	out := filepath.Join(r.spool, "outgoing")
	r.eventually(within, func() string {
		if left := countFiles(out); left > n {
			return fmt.Sprintf("%d files still in outgoing/, waiting for %d", left, n)
		}
		return ""
	})
}

// moTexts counts the texts of the incoming SMS in inbox/: a text seen
// twice was written twice.
func (r *rig) moTexts() map[string]int {
	r.t.Helper()
	seen := make(map[string]int)
	for _, f := range r.inboxFiles(".mo.json") {
		var mo struct{ Text string }
		readJSON(r.t, f, &mo)
		seen[mo.Text]++
	}
	return seen
}

// dumpStuck logs, for a failing case, the messages still waiting for a
// receipt and what the simulator did with their receipts.
func (r *rig) dumpStuck() {
	for _, state := range []string{"sending", "sent"} {
		out, _ := r.cli("queue", "list", "--config", r.cfgFile, "--state", state, "--limit", "10")
		r.t.Logf("messages still %s: %.3000s", state, out)
	}
	for _, rc := range r.sim.Receipts() {
		if rc.Duplicate || len(rc.Responses) != 1 || rc.Lost > 0 {
			r.t.Logf("receipt %+v", rc)
		}
	}
}

// queueStats is the running agent's count of messages by state, for
// failure messages.
func (r *rig) queueStats() string {
	_, body, err := r.http("GET", "/api/v1/queue/stats", "", nil)
	if err != nil {
		return err.Error()
	}
	_, m, _ := r.http("GET", "/metrics", "", nil)
	var lines []string
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "smsagent_receipts_total") {
			lines = append(lines, l)
		}
	}
	return strings.TrimSpace(body) + "; " + strings.Join(lines, ", ")
}

// eventually polls cond (which says what is still missing, or "") until
// it holds or within has passed.
func (r *rig) eventually(within time.Duration, cond func() string) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		missing := cond()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("after %s: %s", within, missing)
		}
		<-tick.C
	}
}

// ledger is the end of every case: each id has exactly one report, with
// a status in want; the simulator received each message; and the
// messages it accepted more than once stay within the bound.
//
// The bound is docs/DESIGN.md's: a message goes out twice only when its
// outcome was open on a session that ended (a kill, a reset, an unbind):
// the window in flight plus up to MaxUnanswered (2 × window) timed out and
// awaiting a late response, each worth 3 × window. Every session that
// ended before the last stop is such a loss (a kill, a reset, an unbind
// from either side): the binds beyond those still up at that stop. Not
// "beyond the first `sessions`": a session that ends just before the
// stop may not have been bound again, though its messages went out again
// on the other sessions. A kill also resends the parts answered whose
// answers were not yet committed: up to smsc.max_uncommitted each.
func (r *rig) ledger(ids []string, want ...string) {
	r.t.Helper()
	if len(want) == 0 {
		want = []string{delivered}
	}
	byID, _ := r.reports()
	seen := make(map[string]int)
	for _, s := range r.sim.Submits() {
		seen[s.Text]++
	}
	var lost, doubled, wrong, unseen []string
	dups := 0
	for _, id := range ids {
		reps := byID[id]
		switch {
		case len(reps) == 0:
			lost = append(lost, id)
		case len(reps) > 1:
			doubled = append(doubled, id)
		case !slices.Contains(want, reps[0].Status):
			wrong = append(wrong, id+": "+reps[0].Status+" "+reps[0].Error)
		}
		n := seen[text(id)]
		if n == 0 && slices.Contains(want, delivered) {
			unseen = append(unseen, id)
		}
		dups += max(0, n-1)
	}
	st := r.sim.Stats()
	alive := sessions
	if r.boundAtStop >= 0 {
		alive = r.boundAtStop
	}
	losses := max(0, st.Binds-alive)
	bound := losses*3*window + r.kills*uncommitted
	r.row.lost += len(lost)
	r.row.dups += dups
	r.row.bound += bound
	for what, l := range map[string][]string{"without a report": lost, "reported twice": doubled,
		"with an unexpected status": wrong, "never seen by the SMSC": unseen} {
		if len(l) > 0 {
			r.t.Errorf("%d messages %s: %s", len(l), what, first(l, 10))
		}
	}
	if dups > bound {
		r.t.Errorf("the SMSC accepted %d messages more than once; the bound is %d (%d sessions lost: %d binds, %d bound at the stop; 3 × window %d; %d kills × max_uncommitted %d)",
			dups, bound, losses, st.Binds, alive, window, r.kills, uncommitted)
	}
	r.t.Logf("ledger: %d messages, %d lost, %d duplicates (bound %d), simulator %+v", len(ids), len(lost), dups, bound, st)
}

func readJSON(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v\n%s", file, err, b)
	}
}

func first(l []string, n int) string {
	if len(l) > n {
		return strings.Join(l[:n], ", ") + ", …"
	}
	return strings.Join(l, ", ")
}

func (r *rig) http(method, path, bearer string, body io.Reader) (int, string, error) {
	req, err := http.NewRequest(method, "http://"+r.api+path, body)
	if err != nil {
		return 0, "", err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitBound waits until the agent has all its sessions bound.
func (r *rig) waitBound(within time.Duration) {
	r.t.Helper()
	r.eventually(within, func() string {
		if b := r.sim.Stats().Bound; b < sessions {
			return fmt.Sprintf("%d sessions bound, want %d", b, sessions)
		}
		return ""
	})
}

// cli runs a one-shot command of the binary and returns its output and
// exit code.
func (r *rig) cli(args ...string) (string, int) {
	r.t.Helper()
	cmd := exec.Command(binary, args...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	return string(out), code
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// simOptions is the simulator every case starts from.
func simOptions() smsc.Options {
	return smsc.Options{Session: smpp.SessionOptions{Window: simWindow}}
}

// statusDoc is the part of /api/v1/status the soak tests read.
type statusDoc struct {
	Health []string `json:"health"`
	Binds  []struct {
		SMSC  string `json:"smsc"`
		State string `json:"state"`
	} `json:"binds"`
	SMSCs []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"smscs"`
	Inbox struct {
		LastError string `json:"last_error"`
	} `json:"inbox"`
}

func (r *rig) statusJSON() (statusDoc, error) {
	var st statusDoc
	_, body, err := r.http("GET", "/api/v1/status", token, nil) // the whole status: last errors and health details
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal([]byte(body), &st)
}
