package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/fsutil"
	"github.com/smsagent/smsagent/kannel"
	"github.com/smsagent/smsagent/metrics"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
	"github.com/smsagent/smsagent/spool"
)

func init() {
	addCommand("demo", "Try smsagent in one command: a simulated SMSC, sample messages, their reports.",
		func() any { return &demoCmd{} })
}

type demoCmd struct {
	Dir string `default:"smsagent-demo" placeholder:"DIR" help:"Folder of the demo's configuration, spool and database, kept between runs (${default})."`
}

// The demo's numbers are in the 555-0100..0199 range that the North
// American numbering plan keeps for fiction: they reach nobody, and the
// simulator would not send anywhere anyway.
const (
	// demoOwnNumber is the agent's number: the sender of the samples and
	// the recipient of the incoming SMS.
	demoOwnNumber = "+12025550100"
	// demoRefusedNumber is refused by the simulator at submit_sm with
	// ESME_RINVDSTADR: the report says rejected.
	demoRefusedNumber = "+12025550199"
	// demoUndeliverableNumber is accepted, and its receipt says UNDELIV.
	demoUndeliverableNumber = "+12025550198"
	// demoSystemID is the account the agent binds with.
	demoSystemID = "demo"
	// demoReceiptDelay is how long the simulator takes to "deliver": long
	// enough to see a message sent before it is delivered.
	demoReceiptDelay = time.Second
	// demoSimCloseTimeout bounds the simulator's goodbye once the agent,
	// which unbinds itself, is stopped.
	demoSimCloseTimeout = 2 * time.Second
	// demoPrimary and demoBackup are the demo's two SMSC accounts, each on
	// a simulator of its own; demoFailoverAfter is its failover.after.
	demoPrimary       = "primary"
	demoBackup        = "backup"
	demoFailoverAfter = 3 * time.Second
	// demoQuiet is how long the queue must be idle before the demo stops
	// the primary SMSC.
	demoQuiet = 3 * time.Second
)

// demoRules give the simulator its two failing destinations; every other
// number is delivered. Its rules see destination_addr, without the "+".
var demoRules = []smsc.Rule{
	{Prefix: demoRefusedNumber[1:], Outcome: smsc.Refused, Status: pdu.StatusInvDstAdr},
	{Prefix: demoUndeliverableNumber[1:], Outcome: smsc.Undeliverable},
}

// demoConfig is the agent's configuration, written into the demo folder at
// every start with the simulator's and the admin API's addresses of this
// run. Paths are relative to the file.
const demoConfig = `# Written by "smsagent demo" at every start: edits are overwritten.
# The agent's configuration for the demo; docs/configuration.md describes
# every key. The two SMSC accounts are the demo's simulators, on ports
# picked at start; the demo stops the primary one for a while to show a
# failover to the backup and the failback.
smscs:
  - name: primary
    address: %s
    system_id: %s
    sessions: 2
    default_from: "%s"
  - name: backup
    address: %s
    system_id: %s
    sessions: 2
    default_from: "%s"
failover:
  after: 3s
spool:
  dir: spool
store:
  path: outbox.db
retry:
  # The simulator of a later run does not know this run's messages, so a
  # receipt still missing at Ctrl-C never comes: such messages are reported
  # "sent" after a minute instead of the default 72h.
  receipt_timeout: 1m
admin:
  listen: %s
kannel:
  # Kannel's sendsms, for trying a Kannel client against the demo.
  listen: %s
  users:
    - username: demo
      password_file: kannel-demo.password
      default_from: "%s"
`

// demoKannelPassword is the sendsms password of the demo's user "demo": a
// demo on loopback, not a secret.
const demoKannelPassword = "demo"

// demoSample is one message file the demo drops into outgoing/. The run's
// tag makes file names and ids new at every run, so a second run sends
// everything again rather than getting duplicate notices.
type demoSample struct {
	name string // base name; "-<tag>" goes before the extension
	what string // what it shows, for the introduction
	body string // with {run} for the tag
}

// demoLongText takes 3 SMS: 307 to 459 characters of the GSM 7-bit
// alphabet, none of them from its extension table (which count twice).
const demoLongText = "This long text goes out as one concatenated SMS in three parts: " +
	"a GSM 7-bit SMS holds 160 characters, and a part of a longer text 153, " +
	"because each part carries a header with the reference that lets the phone " +
	"join them again. smsagent splits texts by itself, sends every part, and " +
	"writes one report when the receipts of all parts are in. A Unicode text " +
	"holds 70 characters per SMS, or 67 per part."

var demoSamples = []demoSample{
	{
		name: "welcome.json",
		what: "JSON: a short GSM 7-bit text",
		body: `{"id": "welcome-{run}", "to": "+12025550101", "text": "Hello from smsagent! This text fits in one GSM 7-bit SMS.", "meta": {"sample": "short"}}` + "\n",
	},
	{
		name: "batch.ndjson",
		what: "NDJSON, one message a line: a text of 3 parts, one the SMSC refuses, one it cannot deliver",
		body: `{"id": "long-{run}", "to": "+12025550102", "text": "` + demoLongText + `"}` + "\n" +
			`{"id": "refused-{run}", "to": "` + demoRefusedNumber + `", "text": "The simulator refuses this number: the report says rejected, with the SMSC's status."}` + "\n" +
			`{"id": "undeliverable-{run}", "to": "` + demoUndeliverableNumber + `", "text": "The simulator accepts this one, and then its receipt says UNDELIV."}` + "\n",
	},
	{
		name: "unicode.sms",
		what: "smstools3: a Unicode text with emoji, sent as UCS-2",
		body: "To: 12025550103\n\nUnicode works too: Grüße, Привет, 你好 👋🎉\n",
	},
	{
		name: "broken.json",
		what: `a bad file: it goes to failed/ with the reasons in its .error.json`,
		body: `{"id": "broken-{run}", "to": "+1 202 555 O104", "txt": "The field is called text, and the O in the number is a letter."}` + "\n",
	},
}

// demoSampleReports is the number of reports the samples make: every
// message of the files but the broken one's.
const demoSampleReports = 5

// demoMO is the incoming SMS the simulator sends once the agent binds. It
// names the run: the agent writes the same text from the same number only
// once an hour, taking it for the SMSC's redelivery.
const demoMO = "Thanks, got it! 👍 (run {run})"

// Run starts the simulator and the agent, drops the samples, and shows what
// becomes of them until the context ends or Ctrl-C; then it stops both and
// prints a summary. The folder persists: a second run keeps the database,
// the reports and the refused files, and drops the samples again with new
// ids.
func (c *demoCmd) Run(a *app) error {
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	ctx, force, stopSignals := demoSignals(a.ctx)
	defer stopSignals()

	now := a.now()
	// The simulator's message ids must differ from the earlier runs', as a
	// real SMSC's do: the database may hold messages of those runs still
	// waiting for a receipt, which must not match one of this run.
	// Both simulators count from there: two providers issue the same ids,
	// and the agent matches each receipt within its account.
	idBase := uint64(now.Unix()) << 20
	simOpts := smsc.Options{
		ReceiptDelay: demoReceiptDelay,
		Rules:        demoRules,
		MessageID:    func(n uint64) string { return smsc.HexID(idBase + n) },
		CountersOnly: true,
	}
	sims := &demoSims{opts: simOpts}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx), demoSimCloseTimeout)
		defer cancel()
		sims.close(cctx) // the agent has unbound already; nothing of the user's is in the simulators
	}()
	sim, err := sims.start("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: simulator: %w", err)
	}
	backup, err := sims.start("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: simulator: %w", err)
	}
	// The admin API's listener is made here, not by admin.Start, so that
	// the configuration can name its port before the agent starts and
	// `smsagent status --config` finds it.
	var lc net.ListenConfig
	adminLn, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: admin API: %w", err)
	}
	defer func() { _ = adminLn.Close() }() // in case the API never took it
	kannelLn, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: sendsms: %w", err)
	}
	defer func() { _ = kannelLn.Close() }() // in case sendsms never took it
	if err := fsutil.WriteFile(filepath.Join(dir, "kannel-demo.password"), []byte(demoKannelPassword+"\n"), 0o600, dir); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	// The configuration takes its place only once this run holds the
	// database: a second demo started on the same folder by mistake must
	// not point the first one's `status --config` at itself.
	text := fmt.Sprintf(demoConfig, sim.Addr(), demoSystemID, demoOwnNumber, backup.Addr(), demoSystemID, demoOwnNumber,
		adminLn.Addr(), kannelLn.Addr(), demoOwnNumber)
	draft, err := fsutil.WriteTemp(dir, "smsagent.yaml", []byte(text), 0o600)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer func() { _ = fsutil.Remove(draft) }() // gone already once installed
	cfg, err := a.loadConfig(draft)
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "smsagent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer func() { _ = logFile.Close() }()
	log, closeLog := newLogger(cfg, logFile)
	defer func() { _ = closeLog() }()

	d := &demo{
		a: a, cfg: cfg, sim: sim, backup: backup, sims: sims, primaryAddr: sim.Addr(), draft: draft, file: filepath.Join(dir, "smsagent.yaml"), logPath: logFile.Name(),
		layout: spool.NewLayout(cfg.Spool.Dir), tag: now.UTC().Format("20060102T150405"),
		seen: make(map[string]bool),
	}
	d.line.w = a.stdout
	d.line.tty, d.line.width = terminal(a.stdout)
	return d.run(ctx, force, log, adminLn, kannelLn)
}

// demo is one run of the demo; its fields are owned by Run's goroutine.
type demo struct {
	a      *app
	cfg    *config.Config
	sim    *smsc.Server // the primary account's simulator
	backup *smsc.Server
	sims   *demoSims
	// primaryAddr is where the primary simulator comes back.
	primaryAddr string
	// failover is the step of the failover the demo shows; ids the
	// client ids of the reports shown.
	failover int
	ids      map[string]string // client id → account of its report
	// idleSince is when the queue was last seen idle, zero while it is
	// not.
	idleSince time.Time
	draft     string // the configuration, until it is installed as file
	file      string
	logPath   string
	layout    spool.Layout
	tag       string // makes this run's file names and ids new

	ag      *agent.Agent
	api     *admin.Server
	sendsms *kannel.Server

	line statusLine
	// seen holds the names in inbox/ and failed/ already shown (or there
	// before this run).
	seen  map[string]bool
	tally demoTally
	// runEnded is set when Run's result has been received.
	runEnded bool
}

// demoSims are the simulators of a run, the closed ones too: each is
// closed once when the demo ends.
type demoSims struct {
	opts smsc.Options
	all  []*smsc.Server
}

func (s *demoSims) start(addr string) (*smsc.Server, error) {
	srv := smsc.New(s.opts)
	if err := srv.Listen(addr); err != nil {
		return nil, err
	}
	s.all = append(s.all, srv)
	return srv, nil
}

func (s *demoSims) close(ctx context.Context) {
	for _, srv := range s.all {
		_ = srv.Close(ctx)
	}
}

// demoTally counts what this run wrote, for the summary.
type demoTally struct {
	reports map[string]int // by status
	mo      int
	refused int
}

func (d *demo) run(ctx, force context.Context, log *slog.Logger, adminLn, kannelLn net.Listener) error {
	bi, ok := debug.ReadBuildInfo()
	ver := resolveBuildInfo(version, commit, date, bi, ok).Version
	// The agent as `smsagent run` serves it (serveAgent), with the admin
	// API on the listener made for it.
	var status lateStatus
	m := metrics.New(&status)
	ag, err := agent.New(d.cfg, agent.Options{Logger: log, Observer: m, Version: ver,
		Force: func(context.Context) context.Context { return force }})
	if err != nil {
		var locked *outbox.LockedError
		if errors.As(err, &locked) {
			return fmt.Errorf("demo: %w; is another demo running with --dir %s?", err, filepath.Dir(d.file))
		}
		return fmt.Errorf("demo: %w", err)
	}
	d.ag = ag
	status.set(ag)
	if err := fsutil.Rename(d.draft, d.file); err != nil {
		return errors.Join(fmt.Errorf("demo: %w", err), ag.Close(context.Background()))
	}
	d.cfg.File = d.file
	if err := fsutil.SyncDir(filepath.Dir(d.file)); err != nil {
		return errors.Join(fmt.Errorf("demo: %w", err), ag.Close(context.Background()))
	}
	o := admin.Options{Token: d.cfg.Admin.Token.Reveal(), Queue: ag.Queue(), Status: ag, Series: ag, Metrics: m,
		Ready: ag.Ready, Logger: log, Submit: ag, MaxRequestSize: int64(d.cfg.Admin.MaxRequestSize)}
	if d.cfg.Admin.GenerateToken {
		o.TokenFile = d.cfg.Admin.TokenFile
	}
	if d.api, err = admin.New(o); err == nil {
		err = d.api.Serve(adminLn)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("demo: admin API: %w", err), ag.Close(context.Background()))
	}
	if d.sendsms, err = newKannel(d.cfg, ag, log); err == nil {
		err = d.sendsms.Serve(kannelLn)
	}
	if err != nil {
		d.sendsms = nil
		return errors.Join(fmt.Errorf("demo: sendsms: %w", err), d.api.Close(context.Background()), ag.Close(context.Background()))
	}
	d.markSeen() // what earlier runs left is not news

	runCtx, stopAgent := context.WithCancel(ctx)
	defer stopAgent()
	runDone := make(chan error, 1)
	go func() { runDone <- ag.Run(runCtx) }()
	err = d.show(ctx, runDone)
	stopAgent()
	return d.stop(runDone, err)
}

// show drops the samples once the agent runs, says what it did and shows
// what becomes of them until ctx ends.
func (d *demo) show(ctx context.Context, runDone <-chan error) error {
	// The samples go in once the agent watches outgoing/, as a producer's
	// files would: a file that the first scan finds must first sit still
	// for spool.settle.
	if err := d.waitRunning(ctx, runDone); err != nil || ctx.Err() != nil {
		return err
	}
	if err := d.dropSamples(); err != nil {
		return err
	}
	// Queued in the simulator until a session is bound.
	if _, err := d.sim.InjectMO(demoSystemID, "12025550101", demoOwnNumber[1:],
		strings.ReplaceAll(demoMO, "{run}", d.tag), smsc.MOOptions{}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d.introduce()
	return d.watch(ctx, runDone)
}

// demoStartTimeout bounds the wait for the agent to start: opening the
// folders and the database takes milliseconds.
const demoStartTimeout = 10 * time.Second

// waitRunning polls the agent's status until Run has started everything.
func (d *demo) waitRunning(ctx context.Context, runDone <-chan error) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(demoStartTimeout)
	for {
		if st, err := d.ag.Status(ctx); err == nil && !st.Started.IsZero() {
			return nil
		}
		select {
		case <-t.C:
		case err := <-runDone:
			d.runEnded = true
			return errors.Join(errors.New("demo: the agent stopped"), err)
		case <-deadline:
			return fmt.Errorf("demo: the agent did not start within %s", demoStartTimeout)
		case <-ctx.Done():
			return nil
		}
	}
}

// dropSamples writes each sample into outgoing/ the way a producer should:
// into a hidden temporary file there, synced, then renamed to its name, so
// the agent never sees half a file.
func (d *demo) dropSamples() error {
	for _, s := range demoSamples {
		path := filepath.Join(d.layout.Outgoing, d.sampleName(s))
		if err := fsutil.WriteFile(path, []byte(strings.ReplaceAll(s.body, "{run}", d.tag)), 0o640, d.layout.Outgoing); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return nil
}

func (d *demo) sampleName(s demoSample) string {
	ext := filepath.Ext(s.name)
	return strings.TrimSuffix(s.name, ext) + "-" + d.tag + ext
}

// introduce says what runs, where the files are and how to add more.
func (d *demo) introduce() {
	w, sep := d.a.stdout, string(filepath.Separator)
	self := selfCommand()
	fmt.Fprintf(w, "smsagent demo: the agent and two SMSC simulators (SMPP 3.4), accounts %s on %s and %s on %s,\nin this process.\n",
		demoPrimary, d.sim.Addr(), demoBackup, d.backup.Addr())
	fmt.Fprintf(w, "The simulator delivers to every number after about %s, except %s (refused)\nand %s (undeliverable).\n\n",
		demoReceiptDelay, demoRefusedNumber, demoUndeliverableNumber)
	fmt.Fprintf(w, "  drop files into    %s\n", d.layout.Outgoing+sep)
	fmt.Fprintf(w, "  reports appear in  %s\n", d.layout.Inbox+sep)
	fmt.Fprintf(w, "  refused files in   %s\n", d.layout.Failed+sep)
	fmt.Fprintf(w, "  configuration      %s\n", d.file)
	fmt.Fprintf(w, "  agent log          %s\n\n", d.logPath)
	fmt.Fprintf(w, "Dropped %d sample files into outgoing/:\n", len(demoSamples))
	for _, s := range demoSamples {
		fmt.Fprintf(w, "  %-30s %s\n", d.sampleName(s), s.what)
	}
	fmt.Fprintf(w, "and the simulator sends the agent an incoming SMS. Once they are done, the demo stops the %s\n"+
		"SMSC to show a failover to %s, and starts it again to show the failback.\n\n", demoPrimary, demoBackup)
	fmt.Fprintf(w, "Send one yourself:\n  %s send --spool %s --to +12025550123 --text 'Hello'\n  %s\n",
		self, quoteArg(d.layout.Root), dropExample(d.layout.Outgoing))
	fmt.Fprintf(w, "Or over HTTP, to the admin API or as to Kannel's sendsms:\n  %s send --via api --config %s --to +12025550123 --text 'Hello'\n"+
		"  curl '%s'\n",
		self, quoteArg(d.file), d.sendsmsExample())
	fmt.Fprintf(w, "Look at the queue from another terminal:\n  %s status --config %s\n  %s queue list --config %s\n\n",
		self, quoteArg(d.file), self, quoteArg(d.file))
	fmt.Fprintf(w, "Or watch it in a browser, on the status page:\n  %s\n  (Unlock shows errors and messages: the token is in %s)\n\n",
		d.pageURL(), d.cfg.Admin.TokenFile)
	fmt.Fprintf(w, "Ctrl-C stops.\n\n")
}

// pageURL is the status page of this demo's admin API.
func (d *demo) pageURL() string { return "http://" + d.cfg.Admin.Listen + "/" }

// sendsmsExample is a sendsms URL that sends through this demo, as a Kannel
// client would.
func (d *demo) sendsmsExample() string {
	return fmt.Sprintf("http://%s%s?username=demo&password=%s&to=%%2B12025550123&text=Hello+from+a+Kannel+client",
		d.cfg.Kannel.Listen, kannel.Path, demoKannelPassword)
}

// watch shows each new file in inbox/ and failed/ and the queue's counts
// until ctx ends: on a terminal in a line rewritten four times a second,
// otherwise in a plain line, every two seconds when the counts changed. It
// returns early only if the agent stops by itself.
func (d *demo) watch(ctx context.Context, runDone <-chan error) error {
	every := 2 * time.Second
	if d.line.tty {
		every = time.Second / 4
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		d.showFiles()
		d.showFailover(ctx)
		d.showProgress(ctx)
		select {
		case <-ctx.Done():
			return nil
		case err := <-runDone:
			d.runEnded = true
			// Run returns before its context ends only when the agent
			// cannot start.
			return errors.Join(errors.New("demo: the agent stopped"), err)
		case <-t.C:
		}
	}
}

// stop waits for the agent, which stops once its context is canceled,
// closes the admin API and prints the summary; Run's deferred calls close
// the simulator. cause is why the demo ends early; nil after Ctrl-C or the
// end of the caller's context.
func (d *demo) stop(runDone <-chan error, cause error) error {
	d.line.end()
	begun := time.Now()
	if cause == nil {
		fmt.Fprintln(d.a.stdout, "Stopping...")
	}
	var err error
	if !d.runEnded {
		err = <-runDone
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(d.a.ctx), adminCloseTimeout)
	defer cancel()
	if cerr := d.api.Close(cctx); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
		err = errors.Join(err, cerr)
	}
	if cerr := d.sendsms.Close(cctx); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
		err = errors.Join(err, cerr)
	}
	if err := errors.Join(cause, err); err != nil {
		return err
	}
	d.showFiles() // written while stopping
	open, err := openMessages(d.cfg)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(d.a.stdout, "Stopped in %s. This run: %s. Not final yet: %d. All of it stays in %s: run again to send more.\n",
		time.Since(begun).Round(time.Millisecond), d.tally, open, filepath.Dir(d.file))
	return nil
}

// markSeen records the files earlier runs left in inbox/ and failed/.
func (d *demo) markSeen() {
	d.newFiles(d.layout.Inbox)
	d.newFiles(d.layout.Failed)
}

// newFiles lists the files of dir not seen before, in name order (for
// inbox/, the order they were written in), and marks them seen.
func (d *demo) newFiles(dir string) []string {
	entries, _ := os.ReadDir(dir) // a folder the agent cannot read shows up in its status
	var names []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || d.seen[filepath.Join(dir, name)] {
			continue
		}
		d.seen[filepath.Join(dir, name)] = true
		names = append(names, name)
	}
	return names
}

// showFiles prints a line for each new report, incoming SMS and refused
// file.
func (d *demo) showFiles() {
	for _, name := range d.newFiles(d.layout.Inbox) {
		data, err := os.ReadFile(filepath.Join(d.layout.Inbox, name))
		if err != nil {
			continue // taken away by a reader already
		}
		d.printFile("inbox/"+name, d.describeEvent(data))
	}
	for _, name := range d.newFiles(d.layout.Failed) {
		// The reasons are written before the file is moved in: show the
		// refusal once, by its reasons.
		if !strings.HasSuffix(name, ".error.json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(d.layout.Failed, name))
		if err != nil {
			continue
		}
		d.tally.refused++
		d.printFile("failed/"+strings.TrimSuffix(name, ".error.json"), describeRefusal(data))
	}
}

func (d *demo) printFile(name, what string) {
	d.line.clear()
	fmt.Fprintf(d.a.stdout, "  %-42s %s\n", name, what)
}

// describeEvent words a file of inbox/ (JSON, as the demo configures it)
// and counts it.
func (d *demo) describeEvent(data []byte) string {
	var kind struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &kind); err != nil {
		return "unreadable: " + err.Error()
	}
	switch kind.Type {
	case "mo":
		var mo smsagent.MO
		if err := json.Unmarshal(data, &mo); err != nil {
			return "unreadable: " + err.Error()
		}
		d.tally.mo++
		return fmt.Sprintf("incoming SMS from %s: %q", mo.From, mo.Text)
	case "duplicate":
		var dup smsagent.Duplicate
		if err := json.Unmarshal(data, &dup); err != nil {
			return "unreadable: " + err.Error()
		}
		return fmt.Sprintf("duplicate: %d messages of %s already queued, not stored again", len(dup.Messages), dup.File)
	}
	var r smsagent.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return "unreadable: " + err.Error()
	}
	if d.tally.reports == nil {
		d.tally.reports = make(map[string]int)
	}
	d.tally.reports[r.Status]++
	if r.ID != "" {
		if d.ids == nil {
			d.ids = make(map[string]string)
		}
		d.ids[r.ID] = r.SMSC
	}
	s := fmt.Sprintf("%-13s to %s", r.Status, r.To)
	if r.SMSC != "" {
		s += " via " + r.SMSC
	}
	if r.Parts != nil && r.Parts.Count > 1 {
		s += fmt.Sprintf(", %d parts", r.Parts.Count)
	}
	if r.Error != "" {
		s += ": " + r.Error
	}
	return s
}

// describeRefusal words a failed/NAME.error.json: the count of problems and
// the first few.
func describeRefusal(data []byte) string {
	var f struct {
		Error    string `json:"error"`
		Problems []struct {
			Line    int    `json:"line"`
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"problems"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return "refused (its .error.json is unreadable: " + err.Error() + ")"
	}
	if len(f.Problems) == 0 {
		return "refused: " + f.Error
	}
	s := fmt.Sprintf("refused, %d problems (all in its .error.json):", len(f.Problems))
	if len(f.Problems) == 1 {
		s = "refused, 1 problem:"
	}
	for i, p := range f.Problems {
		if i == 3 {
			break
		}
		s += fmt.Sprintf("\n  %-42s   line %d: %s: %s", "", p.Line, p.Field, p.Message)
	}
	return s
}

// showProgress shows the queue's counts from the agent's status.
func (d *demo) showProgress(ctx context.Context) {
	st, err := d.ag.Status(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
	case err != nil:
		d.line.show(d.a.now(), err.Error())
	default:
		d.line.show(d.a.now(), progressLine(st))
	}
}

// statusLine is the progress line: on a terminal rewritten in place,
// elsewhere printed as a line of its own with the time, when it changed.
type statusLine struct {
	w     io.Writer
	tty   bool
	width int    // of the terminal; 0 when unknown
	shown int    // runes of the line on the screen (tty)
	last  string // the line last printed (not tty)
}

func (l *statusLine) show(now time.Time, line string) {
	if !l.tty {
		if line != l.last {
			fmt.Fprintf(l.w, "%s  %s\n", now.Format("15:04:05"), line)
			l.last = line
		}
		return
	}
	// A line as wide as the terminal would wrap, and the carriage return
	// would then go back to the start of its last row only.
	n := utf8.RuneCountInString(line)
	if l.width > 0 && n >= l.width {
		line, n = string([]rune(line)[:l.width-1]), l.width-1
	}
	fmt.Fprint(l.w, "\r"+line+strings.Repeat(" ", max(l.shown-n, 0)))
	l.shown = n
}

// clear blanks the line on a terminal, so that what is printed next starts
// on a clean line. Spaces rather than an escape sequence: every console
// understands them.
func (l *statusLine) clear() {
	if l.tty && l.shown > 0 {
		fmt.Fprint(l.w, "\r"+strings.Repeat(" ", l.shown)+"\r")
		l.shown = 0
	}
}

// end keeps the line on a terminal, with the last counts, and moves to
// the next.
func (l *statusLine) end() {
	if l.tty && l.shown > 0 {
		fmt.Fprintln(l.w)
		l.shown = 0
	}
}

// progressLine is the one-line summary of a status: messages waiting to be
// sent, waiting for their receipt, delivered, failed for good, and the
// binds up.
func progressLine(st smsagent.Status) string {
	q := st.Queue.ByState
	n := func(states ...smsagent.State) int {
		sum := 0
		for _, s := range states {
			sum += q[s.String()]
		}
		return sum
	}
	bound := 0
	for _, b := range st.Binds {
		if b.State == "bound" {
			bound++
		}
	}
	return fmt.Sprintf("queued %d  sent %d  delivered %d  failed %d  | SMSC binds up %d/%d",
		n(smsagent.StateQueued, smsagent.StateSending), n(smsagent.StateSent), n(smsagent.StateDelivered),
		n(smsagent.StateUndeliverable, smsagent.StateExpired, smsagent.StateRejected, smsagent.StateFailed,
			smsagent.StateCanceled),
		bound, len(st.Binds))
}

// String is the summary of a run: "5 reports (3 delivered, 1 rejected, 1
// undeliverable), 1 incoming SMS, 1 file refused".
func (t demoTally) String() string {
	total := 0
	statuses := make([]string, 0, len(t.reports))
	for s, n := range t.reports {
		total += n
		statuses = append(statuses, s)
	}
	// Delivered first, the failures after it in a stable order.
	slices.SortFunc(statuses, func(a, b string) int {
		if (a == "delivered") != (b == "delivered") {
			if a == "delivered" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	s := fmt.Sprintf("%d %s", total, plural(total, "report", "reports"))
	if total > 0 {
		parts := make([]string, len(statuses))
		for i, st := range statuses {
			parts[i] = fmt.Sprintf("%d %s", t.reports[st], st)
		}
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s + fmt.Sprintf(", %d incoming SMS, %s refused", t.mo, fmt.Sprintf("%d %s", t.refused, plural(t.refused, "file", "files")))
}

// openMessages counts the messages of the stopped agent's database that
// are not final: queued, or sent and waiting for a receipt.
func openMessages(cfg *config.Config) (int, error) {
	o := agent.OutboxOptions(cfg)
	o.ReadOnly = true
	s, err := outbox.Open(cfg.Store.Path, o)
	if err != nil {
		return 0, err
	}
	st, err := s.Stats(context.Background())
	if cerr := s.Close(context.Background()); err == nil {
		err = cerr
	}
	return st.ByState[smsagent.StateQueued] + st.ByState[smsagent.StateSending] + st.Awaiting, err
}

// demoSignals makes the contexts of a run under Ctrl-C: the first SIGINT
// or SIGTERM ends ctx (a graceful stop), the second ends force (the stop
// stops waiting for the SMSC), as for `smsagent run`. release undoes it.
func demoSignals(parent context.Context) (ctx, force context.Context, release func()) {
	ctx, stop := context.WithCancel(parent)
	force, hurry := context.WithCancel(context.WithoutCancel(parent))
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	quit := make(chan struct{})
	go func() {
		for stops := 0; ; {
			select {
			case <-sigs:
				stops++
				stop()
				if stops > 1 {
					hurry()
					return
				}
			case <-quit:
				return
			}
		}
	}()
	return ctx, force, func() {
		signal.Stop(sigs)
		close(quit)
		stop()
		hurry()
	}
}

// terminal reports whether w is a terminal, and its width when known.
func terminal(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		width = 0
	}
	return true, width
}

// selfCommand is how the user runs this program again, from any folder:
// by its name when it was found through PATH, else by its absolute path.
// `go run` builds it into a temporary go-build folder, whose path would
// mean nothing to them.
func selfCommand() string {
	exe, err := os.Executable()
	switch {
	case err != nil:
		return "smsagent"
	case strings.Contains(filepath.ToSlash(exe), "/go-build"):
		return "go run ./cmd/smsagent"
	case !strings.ContainsAny(os.Args[0], `/\`):
		return os.Args[0]
	}
	return quoteArg(exe)
}

// dropExample is a one-line shell command that drops a message file the
// safe way: a name the agent skips, then a rename.
func dropExample(outgoing string) string {
	const msg = `{"to":"+12025550123","text":"Hello"}`
	tmp, final := filepath.Join(outgoing, ".hello.tmp"), filepath.Join(outgoing, "hello.json")
	if runtime.GOOS == "windows" {
		return fmt.Sprintf("Set-Content %s '%s'; Move-Item %s %s", quoteArg(tmp), msg, quoteArg(tmp), quoteArg(final))
	}
	return fmt.Sprintf("echo '%s' > %s && mv %s %s", msg, quoteArg(tmp), quoteArg(tmp), quoteArg(final))
}

// quoteArg quotes a path for the shell of the platform (PowerShell on
// Windows) when it needs it.
func quoteArg(s string) string {
	safe := func(r rune) bool {
		return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune(`/\.:_-+=,@%`, r))
	}
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !safe(r) }) {
		return s
	}
	if runtime.GOOS == "windows" {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// The steps of the failover the demo shows, in order.
const (
	failoverWaitSamples = iota // until the samples are final
	failoverStopped            // the primary simulator is stopped; until the account is down
	failoverDown               // until the message dropped meanwhile is reported
	failoverRestarted          // the primary simulator is back; until the account is up
	failoverDone               // the failback message is dropped; nothing more to do
)

// showFailover moves the failover the demo shows one step on when its
// condition is met, and says what happens: the primary SMSC stops once
// the samples are final, its account goes down after failover.after and a
// message goes through backup, then it comes back and the next message
// goes through it again.
func (d *demo) showFailover(ctx context.Context) {
	if d.failover == failoverDone || ctx.Err() != nil {
		return
	}
	st, err := d.ag.Status(ctx)
	if err != nil || len(st.SMSCs) != 2 {
		return
	}
	primary := st.SMSCs[0]
	say := func(format string, args ...any) {
		d.line.clear()
		fmt.Fprintf(d.a.stdout, "Failover: "+format+"\n", args...)
	}
	switch d.failover {
	case failoverWaitSamples:
		done := 0
		for _, n := range d.tally.reports {
			done += n
		}
		// The outage starts once the queue has been idle a while: a
		// message the user sends meanwhile is not caught in it (its
		// receipt would go with the stopped simulator).
		q := st.Queue.ByState
		if done < demoSampleReports || q["queued"]+q["sending"]+q["sent"] > 0 {
			d.idleSince = time.Time{}
			return
		}
		if d.idleSince.IsZero() {
			d.idleSince = time.Now()
		}
		if time.Since(d.idleSince) < demoQuiet {
			return
		}
		say("stopping the %s SMSC, as an outage would. Its messages wait failover.after (%s),\n"+
			"          then go through %s; dropped %s meanwhile.", demoPrimary, demoFailoverAfter, demoBackup, d.failoverName("outage"))
		cctx, cancel := context.WithTimeout(ctx, demoSimCloseTimeout)
		_ = d.sim.Close(cctx) // its messages are final: nothing of the user's is in it
		cancel()
		d.dropFailover("outage", "Sent while the primary SMSC is down: after failover.after it goes through the backup.")
		d.failover = failoverStopped
	case failoverStopped:
		if primary.State != "down" {
			return
		}
		say("account %s is down (no session bound for %s); failing over to %s.", demoPrimary, demoFailoverAfter,
			orDash(primary.FailingOverTo))
		d.failover = failoverDown
	case failoverDown:
		if _, ok := d.ids["outage-"+d.tag]; !ok {
			return
		}
		srv, err := d.sims.start(d.primaryAddr)
		if err != nil {
			say("cannot start the %s SMSC again on %s (%v); no failback to show.", demoPrimary, d.primaryAddr, err)
			d.failover = failoverDone
			return
		}
		d.sim = srv
		say("starting the %s SMSC again; once bound for %s, new messages go back to it.", demoPrimary, demoFailoverAfter)
		d.failover = failoverRestarted
	case failoverRestarted:
		if primary.State != "up" {
			return
		}
		say("account %s is up again; dropped %s, which goes through it.", demoPrimary, d.failoverName("back"))
		d.dropFailover("back", "Sent after the failback: through the primary SMSC again.")
		d.failover = failoverDone
	}
}

// failoverName is the file of a failover message: its name keeps the tag
// away from the extension, so that it is told apart from the samples.
func (d *demo) failoverName(what string) string {
	return "failover-" + d.tag + "-" + what + ".json"
}

// dropFailover drops one message of the failover, with the client id
// what-<tag>.
func (d *demo) dropFailover(what, text string) {
	body := fmt.Sprintf(`{"id": %q, "to": "+12025550104", "text": %q}`+"\n", what+"-"+d.tag, text)
	path := filepath.Join(d.layout.Outgoing, d.failoverName(what))
	if err := fsutil.WriteFile(path, []byte(body), 0o640, d.layout.Outgoing); err != nil {
		d.line.clear()
		fmt.Fprintf(d.a.stdout, "Failover: cannot drop %s: %v\n", d.failoverName(what), err)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
