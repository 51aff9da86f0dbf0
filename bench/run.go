package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// Options steer a run. The zero value runs against the built-in simulator
// in a temporary folder.
type Options struct {
	// SMSC, when its Address is set, is the user's own test account: the
	// agent and the raw ceiling bind to it instead of the simulator. Every
	// message of the workload is really submitted there.
	SMSC Remote
	// Dir holds the spool and the database; "" makes a temporary folder
	// that is removed at the end.
	Dir string
	// Progress, when set, is called about five times a second from Run's
	// goroutine.
	Progress func(Progress)
	// Stall is how long the counts may stand still before the run fails
	// with them; default 60 s.
	Stall time.Duration
	// Logger gets the agent's and the simulator's log; nil discards it.
	Logger *slog.Logger
}

// Remote is an SMSC account to measure against instead of the simulator.
type Remote struct {
	Address, SystemID, Password string
}

// Progress is where a run stands.
type Progress struct {
	Phase   string // "sending", "reports", "raw", "backlog" or "retention"
	Done    int    // messages settled (sending), reports written (reports)
	Total   int
	Elapsed time.Duration
}

// simDeliverWindow is the simulator's window for deliver_sm. The agent
// acknowledges at most smpp.DefaultInboundWindow per session at once and
// answers ESME_RTHROTTLED beyond; a wider window would only earn throttles
// and, after three, lost receipts.
const simDeliverWindow = smpp.DefaultInboundWindow

// withDefaults fills in the defaults of o and makes the working folder when
// none is given; done removes that temporary folder.
func (o Options) withDefaults() (_ Options, done func(), err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Stall <= 0 {
		o.Stall = time.Minute
	}
	if o.Progress != nil {
		o.Progress = throttled(o.Progress, 200*time.Millisecond)
	}
	done = func() {}
	if o.Dir == "" {
		tmp, err := os.MkdirTemp("", "smsagent-bench-")
		if err != nil {
			return o, nil, fmt.Errorf("bench: %w", err)
		}
		o.Dir, done = tmp, func() { _ = os.RemoveAll(tmp) }
	}
	return o, done, nil
}

// throttled passes a Progress on when its phase changes, otherwise at most
// once per period: the runs poll every few milliseconds.
func throttled(show func(Progress), period time.Duration) func(Progress) {
	var phase string
	var last time.Time
	return func(p Progress) {
		now := time.Now()
		if p.Phase == phase && now.Sub(last) < period {
			return
		}
		phase, last = p.Phase, now
		show(p)
	}
}

// Run pushes the workload through an agent and returns what it measured.
// It fails when a message is refused or lost, or when nothing moves for
// Options.Stall: a figure is only reported for a run in which every
// message was stored, submitted and reported.
func Run(ctx context.Context, w Workload, o Options) (*Result, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	o, done, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	defer done()
	n := w.count()
	rec := newRecorder(n)

	remote := o.SMSC
	if remote.Address == "" {
		var closeSim func()
		remote, closeSim, err = startSim(ctx, o, w.RTT, rec.accepted)
		if err != nil {
			return nil, err
		}
		defer closeSim()
	}

	res := &Result{Workload: w, Messages: n, Parts: w.parts(), Load: loadAverage(),
		CPUs: runtime.NumCPU(), Simulated: o.SMSC.Address == "", At: time.Now().UTC()}
	if w.Receipts && w.inboxFormat() == "json" {
		// The same run, the same folder: what a report file costs alone.
		if res.FileLoopPerSec, res.FileLoopCPU, err = fileLoop(o.Dir, min(n, 20000), 600); err != nil {
			return nil, err
		}
	}
	if err := runAgent(ctx, w, o, remote, rec, res); err != nil {
		return nil, err
	}
	if o.Progress != nil {
		o.Progress(Progress{Phase: "raw", Total: res.Parts})
	}
	raw, err := rawCeiling(ctx, remote, w, res.Parts)
	if err != nil {
		return nil, fmt.Errorf("bench: raw ceiling: %w", err)
	}
	res.RawPerSec = raw
	return res, nil
}

// runAgent runs the agent on the workload and fills in res.
func runAgent(ctx context.Context, w Workload, o Options, remote Remote, rec *recorder, res *Result) error {
	cfg, err := agentConfig(w, o.Dir, remote, res.Simulated)
	if err != nil {
		return err
	}
	a, err := agent.New(cfg, agent.Options{Logger: o.Logger, Observer: rec})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	stopAgent := startAgent(ctx, a)
	defer func() { _ = stopAgent() }()
	if err := waitReady(ctx, a); err != nil {
		return err
	}

	d, err := newDropper(w, cfg.Spool.Dir, rec)
	if err != nil {
		return err
	}
	before := usage()
	dropCtx, cancelDrop := context.WithCancel(ctx)
	defer cancelDrop()
	dropped := make(chan error, 1)
	begun := time.Now()
	go func() { dropped <- d.run(dropCtx) }()

	if err := watch(ctx, o, a, rec, begun, res, dropped); err != nil {
		return err
	}
	after := usage()
	res.CPU = after.cpu - before.cpu
	res.PeakRSS = after.peakRSS
	if err := stopAgent(); err != nil {
		return fmt.Errorf("bench: stopping the agent: %w", err)
	}
	if fi, err := os.Stat(cfg.Store.Path); err == nil {
		res.DBSize = fi.Size()
	}
	if res.Simulated {
		res.FileToSubmit = rec.fileToSubmit.summary()
	} else {
		res.FileToSubmit = rec.fromIntake.summary()
	}
	res.RTT = rec.rtt.summary()
	res.SubmitToReport = rec.toReport.summary()
	res.Refused = int(rec.refused.Load())
	res.TimedOut = int(rec.timedOut.Load())
	return nil
}

// watch polls the outbox's counters until every message is settled and
// every report written, and times both.
func watch(ctx context.Context, o Options, a *agent.Agent, rec *recorder, begun time.Time, res *Result, dropped <-chan error) error {
	n := res.Messages
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	lastMove, lastSeen := time.Now(), -1
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-dropped:
			if err != nil {
				return fmt.Errorf("bench: dropping files: %w", err)
			}
			dropped = nil
		case <-tick.C:
		}
		st, err := a.Outbox().Stats(ctx)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		settled := 0
		for s, c := range st.ByState {
			if s != smsagent.StateQueued && s != smsagent.StateSending {
				settled += c
			}
		}
		reports := int(rec.reports.Load())
		now := time.Now()
		if settled >= n && res.Elapsed == 0 {
			res.Elapsed = now.Sub(begun)
			res.Sent = st.ByState[smsagent.StateSent] + st.ByState[smsagent.StateDelivered]
		}
		if reports >= n {
			res.Reports = reports
			res.ReportsElapsed = now.Sub(begun)
			if res.Sent != n {
				return fmt.Errorf("bench: %d of %d messages sent; by state %v, %d files rejected, %d responses not ESME_ROK",
					res.Sent, n, st.ByState, rec.rejected.Load(), rec.refused.Load())
			}
			return nil
		}
		if seen := settled + reports; seen != lastSeen {
			lastSeen, lastMove = seen, now
		} else if now.Sub(lastMove) > o.Stall {
			return fmt.Errorf("bench: no progress for %s: %d of %d messages settled (by state %v), %d reports written, %d files rejected, %d responses not ESME_ROK, %d timed out",
				o.Stall, settled, n, st.ByState, reports, rec.rejected.Load(), rec.refused.Load(), rec.timedOut.Load())
		}
		if o.Progress != nil {
			p := Progress{Phase: "sending", Done: settled, Total: n, Elapsed: now.Sub(begun)}
			if settled >= n {
				p.Phase, p.Done = "reports", reports
			}
			o.Progress(p)
		}
	}
}

// agentConfig is the agent's configuration for a run: production
// defaults, the workload's sessions and window, a spool and a database
// under dir, no admin API.
func agentConfig(w Workload, dir string, remote Remote, simulated bool) (*config.Config, error) {
	doc := fmt.Sprintf(`smsc:
  address: %q
  system_id: %q
  password: %q
  sessions: %d
  window: %d
  response_timeout: 30s
  message_id: %s
spool:
  dir: %q
  settle: 0s
  inbox_format: %s
store:
  path: %q
admin:
  listen: ""
`, remote.Address, remote.SystemID, remote.Password, w.Sessions, w.Window, idRule(simulated),
		filepath.Join(dir, "spool"), w.inboxFormat(), filepath.Join(dir, "state", "outbox.db"))
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("bench: configuration: %w", err)
	}
	return cfg, nil
}

// idRule is the message id rule: the simulator writes both ids in
// hexadecimal, as it is told; another SMSC gets the default, auto.
//
// Not auto with the simulator: auto falls back to the decimal reading of an
// id it cannot find, and a receipt that overtakes the commit of its own
// submit_sm_resp (routine at these rates) can then match another message
// whose id reads the same in the other base ("00000010" is 16 in hex, 10 in
// decimal), leaving its own message without a receipt.
func idRule(simulated bool) config.MessageIDRule {
	if simulated {
		return config.MessageIDHex
	}
	return config.MessageIDAuto
}

// waitReady waits for a bound session, so that the clock starts with an
// agent able to send.
func waitReady(ctx context.Context, a *agent.Agent) error {
	var why error
	err := waitFor(ctx, 15*time.Second, "the agent ready", func() (bool, error) {
		why = a.Ready()
		return why == nil, nil
	})
	if err != nil && why != nil {
		return fmt.Errorf("%w: %w", err, why)
	}
	return err
}

// startSim serves the simulator on loopback; closeSim stops it.
func startSim(ctx context.Context, o Options, rtt time.Duration, onAccept func(*smsc.Submit)) (_ Remote, closeSim func(), _ error) {
	sim := smsc.New(smsc.Options{
		CountersOnly: true,
		OnAccept:     onAccept,
		Logger:       o.Logger,
		Session:      smpp.SessionOptions{Window: simDeliverWindow},
	})
	// The round trip: every response held back rtt (the raw ceiling
	// measures against the same).
	sim.SetFaults(smsc.Faults{Delay: rtt})
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		return Remote{}, nil, fmt.Errorf("bench: simulator: %w", err)
	}
	closeSim = func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = sim.Close(cctx)
	}
	return Remote{Address: sim.Addr(), SystemID: "bench", Password: "bench"}, closeSim, nil
}

// startAgent runs a until stop, which cancels it and returns what Run
// returned, or an error when it has not returned within 30 s. stop may be
// called again; it then returns the same.
func startAgent(ctx context.Context, a *agent.Agent) (stop func() error) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ran := make(chan error, 1)
	go func() { ran <- a.Run(runCtx) }()
	return sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-ran:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("bench: the agent did not stop within 30 s")
		}
	})
}

// simulatedSetup is what the backlog and retention runs share: the
// simulator, and the configuration of an agent on it for a workload of n
// short messages in NDJSON with receipts on.
func simulatedSetup(ctx context.Context, o Options, n, sessions, window int, onAccept func(*smsc.Submit)) (
	_ Workload, _ *config.Config, closeSim func(), _ error) {
	remote, closeSim, err := startSim(ctx, o, 0, onAccept)
	if err != nil {
		return Workload{}, nil, nil, err
	}
	w := Workload{Messages: n, Arrival: ArrivalNDJSON, Mix: MixShort, Receipts: true, Sessions: sessions, Window: window}
	cfg, err := agentConfig(w, o.Dir, remote, true)
	if err != nil {
		closeSim()
		return Workload{}, nil, nil, err
	}
	return w, cfg, closeSim, nil
}
