package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/smsagent/smsagent/bench"
)

func init() {
	addCommand("bench", "Measure what this machine can push: the agent and the SMSC simulator in process, a workload of message files, a table of rates and latencies.",
		func() any { return &benchCmd{} })
}

type benchCmd struct {
	Messages int           `default:"100000" help:"Messages to send (ndjson and files arrivals)."`
	Arrival  string        `default:"ndjson" enum:"ndjson,files,rate" help:"How messages arrive: one NDJSON file, one JSON file per message renamed in, or single files at --rate for --duration."`
	Rate     int           `default:"1000" help:"Messages per second offered by the rate arrival."`
	Duration time.Duration `default:"10s" help:"How long the rate arrival offers messages."`
	Mix      string        `default:"short" enum:"short,long,ucs2,mixed" help:"Texts: short GSM, long GSM (3 parts), UCS-2 with an emoji, or all three in turn."`
	Receipts string        `default:"on" enum:"on,off" help:"Ask for delivery receipts."`
	Sessions int           `default:"4" help:"SMPP sessions."`
	Window   int           `default:"50" help:"Requests outstanding per session."`
	RTT      time.Duration `name:"rtt" default:"0s" help:"Round trip the simulator adds to every submit_sm_resp (a real SMSC is 10-100 ms away)."`
	Inbox    string        `default:"json" enum:"json,ndjson" help:"spool.inbox_format: one file per report, or NDJSON files of many."`
	JSON     bool          `name:"json" help:"Print the result as JSON."`
	Standard bool          `help:"Run the standard workloads instead (make bench) and print the targets against what they measured; the workload flags are ignored."`
	Backlog  int           `placeholder:"N" help:"Instead of a workload: store N queued messages with no agent running, start one on them and measure the restart, its memory and the rate over the first --sample messages."`
	Sample   int           `default:"100000" help:"Messages the --backlog rate is measured over."`
	Micro    string        `type:"path" placeholder:"FILE" help:"With --standard: add the Benchmark lines of this go test -bench output to the summary."`

	SMSC     string `name:"smsc" placeholder:"HOST:PORT" help:"Measure against this SMSC (your test account) instead of the built-in simulator: every message is really submitted."`
	SystemID string `name:"system-id" help:"system_id for --smsc."`
	Password string `help:"Password for --smsc."`

	CPUProfile string `name:"cpuprofile" type:"path" placeholder:"FILE" help:"Write a CPU profile of the run (go tool pprof)."`
	MemProfile string `name:"memprofile" type:"path" placeholder:"FILE" help:"Write an allocation profile at the end of the run."`
}

// Run runs one workload and prints its table (or JSON); Ctrl-C stops it
// and removes its temporary folder. The CPU and allocation profiles cover
// the whole command.
func (c *benchCmd) Run(a *app) error {
	if c.SMSC != "" && c.SystemID == "" {
		return usagef("bench: --smsc needs --system-id")
	}
	if c.SMSC != "" && c.Backlog > 0 {
		return usagef("bench: --backlog runs against the built-in simulator only")
	}
	w := bench.Workload{Messages: c.Messages, Arrival: bench.Arrival(c.Arrival), Rate: c.Rate,
		Duration: c.Duration, Mix: bench.Mix(c.Mix), Receipts: c.Receipts == "on",
		Sessions: c.Sessions, Window: c.Window, RTT: c.RTT, Inbox: c.Inbox}
	if !c.Standard && c.Backlog == 0 {
		if err := w.Validate(); err != nil {
			return usagef("bench: %v", err)
		}
	}
	ctx, stop := signal.NotifyContext(a.ctx, os.Interrupt)
	defer stop()
	stopProfile, err := c.startCPUProfile()
	if err != nil {
		return err
	}
	defer stopProfile()
	switch {
	case c.Standard:
		err = c.runStandard(ctx, a)
	case c.Backlog > 0:
		err = c.runBacklog(ctx, a)
	default:
		err = c.runOne(ctx, a, w)
	}
	if err != nil || c.MemProfile == "" {
		return err
	}
	return writeAllocs(c.MemProfile)
}

// runOne runs one workload and prints its table or JSON.
func (c *benchCmd) runOne(ctx context.Context, a *app, w bench.Workload) error {
	res, err := c.run(ctx, a, w)
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, res)
	}
	return res.WriteTable(a.stdout)
}

// run runs one workload with a progress display.
func (c *benchCmd) run(ctx context.Context, a *app, w bench.Workload) (*bench.Result, error) {
	p := newProgress(a.stderr, c.JSON)
	defer p.end()
	return bench.Run(ctx, w, bench.Options{
		SMSC:     bench.Remote{Address: c.SMSC, SystemID: c.SystemID, Password: c.Password},
		Progress: p.show,
	})
}

// table prints a result's table and a blank line, unless --json.
func (c *benchCmd) table(a *app, r interface{ WriteTable(io.Writer) error }) error {
	if c.JSON {
		return nil
	}
	if err := r.WriteTable(a.stdout); err != nil {
		return err
	}
	_, err := fmt.Fprintln(a.stdout)
	return err
}

// runStandard runs each workload of bench.Standard once, prints its table,
// then one summary of the targets (and the micro-benchmarks, with --micro).
func (c *benchCmd) runStandard(ctx context.Context, a *app) error {
	targets := bench.Standard()
	results := make(map[bench.Workload]*bench.Result)
	var order []*bench.Result
	for _, w := range bench.Workloads(targets) {
		res, err := c.run(ctx, a, w)
		if err != nil {
			return err
		}
		results[w] = res
		order = append(order, res)
		if err := c.table(a, res); err != nil {
			return err
		}
	}
	p := newProgress(a.stderr, c.JSON)
	backlog, err := bench.RunBacklog(ctx, bench.StandardBacklog(), bench.Options{Progress: p.show})
	p.end()
	if err != nil {
		return err
	}
	if err := c.table(a, backlog); err != nil {
		return err
	}
	p = newProgress(a.stderr, c.JSON)
	retention, err := bench.RunRetention(ctx, bench.StandardRetention(), bench.Options{Progress: p.show})
	p.end()
	if err != nil {
		return err
	}
	if err := c.table(a, retention); err != nil {
		return err
	}
	outcomes := bench.Evaluate(targets, results)
	outcomes = append(outcomes, bench.EvaluateBacklog(backlog, results[targets[0].Workload])...)
	outcomes = append(outcomes, bench.EvaluateRetention(retention)...)
	if c.JSON {
		return printJSON(a.stdout, struct {
			Results   []*bench.Result        `json:"results"`
			Backlog   *bench.BacklogResult   `json:"backlog"`
			Retention *bench.RetentionResult `json:"retention"`
			Targets   []bench.Outcome        `json:"targets"`
		}{order, backlog, retention, outcomes})
	}
	if err := bench.WriteSummary(a.stdout, outcomes, order[0].Load); err != nil {
		return err
	}
	if c.Micro == "" {
		return nil
	}
	data, err := os.ReadFile(c.Micro)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	fmt.Fprintln(a.stdout, "micro-benchmarks (go test -bench; the lines as printed)")
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "--- FAIL") {
			fmt.Fprintf(a.stdout, "  %s", strings.Join(strings.Fields(line), " ")+"\n")
		}
	}
	return nil
}

// runBacklog measures a restart on --backlog queued messages.
func (c *benchCmd) runBacklog(ctx context.Context, a *app) error {
	b := bench.Backlog{Queued: c.Backlog, Sample: min(c.Sample, c.Backlog), Sessions: c.Sessions, Window: c.Window}
	p := newProgress(a.stderr, c.JSON)
	res, err := bench.RunBacklog(ctx, b, bench.Options{Progress: p.show})
	p.end()
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, res)
	}
	return res.WriteTable(a.stdout)
}

// startCPUProfile starts the CPU profile if --cpuprofile asks for one; the
// function returned stops it.
func (c *benchCmd) startCPUProfile() (func(), error) {
	if c.CPUProfile == "" {
		return func() {}, nil
	}
	f, err := os.Create(c.CPUProfile)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// writeAllocs writes the allocation profile: everything allocated since
// the start (alloc_space) and what is still live (inuse_space).
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	runtime.GC() // the live figures as of now, not of the last collection
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	return errors.Join(err, f.Close())
}

// progress shows where a run stands: a bar redrawn in place on a terminal,
// otherwise a plain line every few seconds (nothing with --json, unless on
// a terminal, so that a machine reading stderr gets no noise).
type progress struct {
	w      io.Writer
	tty    bool
	width  int
	quiet  bool
	last   time.Time
	phase  string
	drawn  bool
	period time.Duration
}

func newProgress(w io.Writer, jsonOut bool) *progress {
	tty, width := terminal(w)
	return &progress{w: w, tty: tty, width: width, quiet: jsonOut && !tty, period: 2 * time.Second}
}

func (p *progress) show(s bench.Progress) {
	if p.quiet {
		return
	}
	now := time.Now()
	if !p.tty {
		if s.Phase == p.phase && now.Sub(p.last) < p.period {
			return
		}
		p.phase, p.last = s.Phase, now
		fmt.Fprintf(p.w, "bench: %s %d/%d (%s)\n", s.Phase, s.Done, s.Total, s.Elapsed.Round(100*time.Millisecond))
		return
	}
	fmt.Fprintf(p.w, "\r%s", bar(s, p.width))
	p.drawn = true
}

// end clears the bar, so the table starts on a clean line.
func (p *progress) end() {
	if p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", max(p.width-1, 40)))
	}
}

// bar is one line: "sending  [#########.........]  45,000/100,000  2.1s".
func bar(s bench.Progress, width int) string {
	if s.Phase == "raw" {
		return fmt.Sprintf("%-8s measuring the raw ceiling (%d submits)", s.Phase, s.Total)
	}
	cells := 30
	if width > 0 && width < 80 {
		cells = max(width-50, 10)
	}
	filled := 0
	if s.Total > 0 {
		filled = min(cells, cells*s.Done/s.Total)
	}
	return fmt.Sprintf("%-8s [%s%s] %d/%d  %s", s.Phase, strings.Repeat("#", filled),
		strings.Repeat(".", cells-filled), s.Done, s.Total, s.Elapsed.Round(100*time.Millisecond))
}
