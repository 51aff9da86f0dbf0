package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/inbox"
	"github.com/smsagent/smsagent/msgfile"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/spool"
)

// Defaults of Options.
const (
	// DefaultDrainTimeout is how long a graceful stop waits for the
	// responses to parts already submitted. With DefaultUnbindTimeout and
	// the rest of the stop it keeps the whole stop under the 10 s that
	// Windows and the service runner allow.
	DefaultDrainTimeout = 5 * time.Second
	// DefaultUnbindTimeout bounds the wait for the SMSC's unbind_resp.
	DefaultUnbindTimeout = 2 * time.Second
	// DefaultSweepInterval is the period of outbox.Sweep (receipt
	// timeouts, unmatched receipts, incomplete incoming SMS, expiry,
	// pruning).
	DefaultSweepInterval = 5 * time.Second
)

// Options configure an Agent. The zero value of every field is usable.
type Options struct {
	// Logger receives the agent's log; nil discards it.
	Logger *slog.Logger
	// Clock is the time of every decision (due times, backoff, expiry,
	// receipt times); nil means time.Now.
	Clock func() time.Time
	// Observer receives event-time metrics; nil means none.
	Observer Observer
	// Version is reported in the status snapshot.
	Version string
	// Force gives, for the context passed to Run, the context whose end
	// makes a graceful stop hurry: no more waiting for responses or the
	// unbind_resp. `smsagent run` passes service.ForceContext (a second
	// signal); nil means the stop takes its full, bounded time.
	Force func(ctx context.Context) context.Context
	// NewPool builds the bind pool, given the Handler the pool must call
	// with the SMSC's requests; nil builds package bindpool's pool from
	// the configuration. Tests and benchmarks pass their own.
	NewPool func(handler func(smpp.Request)) (Pool, error)
	// TunePool adjusts the options of the bind pool built from the
	// configuration, last (reconnect backoff and throttle pauses in tests
	// that should not wait a minute); nil changes nothing.
	TunePool func(*bindpool.Options)
	// TuneIntake adjusts the spool intake's options last (tests: a parser
	// that blocks, a shorter StuckAfter); nil changes nothing.
	TuneIntake func(*spool.Options)
	// DrainTimeout, UnbindTimeout and SweepInterval default to the
	// constants above.
	DrainTimeout, UnbindTimeout, SweepInterval time.Duration
}

// Agent is smsagent at work: spool intake into the outbox, the dispatcher
// from the outbox through the bind pool, receipts and incoming SMS back
// into the outbox, the inbox writer and the sweeper. New opens the outbox
// and prepares the folders; Run does the work until its context ends and
// then stops gracefully. Status, Ready, Queue and Outbox are safe from any
// goroutine while it runs.
type Agent struct {
	cfg    *config.Config
	opts   Options
	log    *slog.Logger
	clock  func() time.Time
	obs    Observer
	layout spool.Layout

	store  *outbox.Store
	intake *spool.Intake
	writer *inbox.Writer
	pool   Pool

	d      *dispatcher
	s      *settler
	ap     *applier
	rates  *rates
	health *health

	started atomic.Pointer[time.Time]
	// downSince is when the housekeeper first saw no session bound; nil
	// while one is.
	downSince atomic.Pointer[time.Time]
	running   atomic.Bool
	stopping  atomic.Bool
	closed    sync.Once
	closeErr  error
	// poolClosed is set by Run once it closed the pool; Close closes a
	// pool that Run never did (New succeeded, Run never ran or could not
	// start).
	poolClosed bool
}

// New checks the configuration, prepares the spool folders and opens the
// outbox. Nothing is sent and no file is taken until Run. An agent that is
// never run must be closed with Close.
func New(cfg *config.Config, opts Options) (*Agent, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Observer == nil {
		opts.Observer = NopObserver{}
	}
	if opts.Force == nil {
		opts.Force = func(context.Context) context.Context { return context.Background() }
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.DrainTimeout, DefaultDrainTimeout)
	def(&opts.UnbindTimeout, DefaultUnbindTimeout)
	def(&opts.SweepInterval, DefaultSweepInterval)

	a := &Agent{cfg: cfg, opts: opts, log: opts.Logger, clock: opts.Clock, obs: opts.Observer,
		rates: &rates{}, health: &health{}}
	method, err := splitMethod(cfg.SMSC.Split)
	if err != nil {
		return nil, err
	}
	rule, err := idRule(cfg.SMSC.MessageID)
	if err != nil {
		return nil, err
	}
	enc := &encoder{method: method, from: cfg.SMSC.DefaultSender()}

	if a.layout, err = spool.Prepare(cfg.Spool.Dir); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if err := os.MkdirAll(cfg.Store.Dir(), 0o750); err != nil {
		return nil, fmt.Errorf("agent: state folder: %w", err)
	}
	oo := OutboxOptions(cfg)
	oo.Logger, oo.Clock, oo.DecodeMO = a.log, a.clock, decodeMO
	if a.store, err = outbox.Open(cfg.Store.Path, oo); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = a.store.Close(context.Background())
		}
	}()

	sessions := max(cfg.SMSC.Sessions, 1)
	window := max(cfg.SMSC.Window, 1)
	results := newMailbox[partResult]()
	sent := newSentTimes()
	a.d = &dispatcher{store: a.store, enc: enc, clock: a.clock, log: a.log, health: a.health,
		results: results, budget: sessions * window, page: sessions * window, wake: make(chan struct{}, 1)}
	a.s = &settler{store: a.store, d: a.d, obs: a.obs, clock: a.clock, log: a.log, health: a.health,
		sent: sent, rates: a.rates}
	inboundBox := newMailbox[inbound]()
	a.ap = &applier{store: a.store, obs: a.obs, log: a.log, health: a.health, sent: sent, rates: a.rates,
		in: inboundBox}
	recv := &receiver{rule: rule, clock: a.clock, log: a.log, out: inboundBox, dups: cfg.MO.Duplicates}
	if tag, ok := cfg.MO.IDTag(); ok {
		recv.idTag = pdu.Tag(tag)
	}

	po := parseOptions(cfg, a.log)
	io := spool.Options{
		Layout: a.layout,
		Store:  intakeStore{Store: a.store, a: a},
		Parse: func(r io.Reader, name string) ([]smsagent.Message, error) {
			// *msgfile.FileError carries its problems (spool.ProblemError).
			return msgfile.Parse(r, name, po)
		},
		Check:          enc.check,
		Archive:        cfg.Spool.Archive,
		Settle:         cfg.Spool.Settle,
		RescanInterval: cfg.Spool.RescanInterval,
		MaxFileSize:    int64(cfg.Spool.MaxFileSize),
		ParseBudget:    ParseBudget(cfg.Spool.MaxMessages),
		Logger:         a.log,
		Now:            a.clock,
	}
	if opts.TuneIntake != nil {
		opts.TuneIntake(&io)
	}
	if a.intake, err = spool.New(io); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	src := &eventSource{store: a.store, obs: a.obs}
	src.reportObs, _ = a.obs.(ReportObserver)
	a.writer, err = inbox.New(src, inbox.Options{
		Dir:      a.layout.Inbox,
		TmpDir:   a.layout.InboxTmp,
		Format:   inboxFormat(cfg.Spool.InboxFormat),
		FileMode: cfg.Spool.FileMode,
		Ready:    a.store.EventsReady(),
		Logger:   a.log,
	})
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	newPool := opts.NewPool
	if newPool == nil {
		newPool = func(h func(smpp.Request)) (Pool, error) { return newBindPool(cfg, h, a.log, a.clock, opts.TunePool) }
	}
	if a.pool, err = newPool(recv.handle); err != nil {
		return nil, err
	}
	a.d.pool = a.pool
	ok = true
	return a, nil
}

// Run works until ctx ends, then stops gracefully and returns: it stops
// taking files and submitting, waits up to DrainTimeout for the responses
// to parts already submitted, unbinds (up to UnbindTimeout), records every
// result and closes the outbox. The context Options.Force derives from ctx
// cuts the waits short; the stop is safe at any point, since every state
// change was committed before it was acted on. Run returns an error only
// when the agent cannot start; it closes the agent either way.
func (a *Agent) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("agent: already running")
	}
	if a.stopping.Load() {
		return errors.New("agent: closed")
	}
	a.log.Info("agent: starting", "version", a.opts.Version, "smsc", a.cfg.SMSC.Address,
		"sessions", a.cfg.SMSC.Sessions, "window", a.cfg.SMSC.Window, "spool", a.cfg.Spool.Dir)

	// life outlives ctx: the settler, the applier and the pool must keep
	// working through the graceful stop. It ends when the stop is over, or
	// at once when the stop is forced.
	force := a.opts.Force(ctx)
	life, endLife := context.WithCancel(context.WithoutCancel(ctx))
	defer endLife()
	defer context.AfterFunc(force, endLife)()
	// work is what stops first: intake, dispatcher, sweeper.
	work, endWork := context.WithCancel(ctx)
	defer endWork()
	writerCtx, endWriter := context.WithCancel(life)
	defer endWriter()

	// Intake first: a folder it cannot watch is the one failure that keeps
	// the agent from starting, and nothing else has begun yet.
	if err := a.intake.Start(); err != nil {
		return errors.Join(fmt.Errorf("agent: intake: %w", err), a.Close(life))
	}
	var (
		wg           sync.WaitGroup
		settleQuit   = make(chan struct{})
		applyQuit    = make(chan struct{})
		settleDone   = make(chan struct{})
		applyDone    = make(chan struct{})
		dispatchDone = make(chan struct{})
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := a.writer.Run(writerCtx); err != nil {
			a.log.Error("agent: inbox writer cannot start", "err", err)
			a.health.set(healthSweep, fmt.Sprintf("inbox: cannot start: %v", err))
		}
	}()
	go func() {
		defer wg.Done()
		a.housekeep(work)
	}()
	go func() {
		defer close(settleDone)
		a.s.run(life, settleQuit)
	}()
	go func() {
		defer close(applyDone)
		a.ap.run(life, applyQuit)
	}()
	a.pool.Start(life)
	go func() {
		defer close(dispatchDone)
		a.d.run(work)
	}()
	now := a.clock()
	a.started.Store(&now)

	<-work.Done()
	a.stopping.Store(true)
	a.log.Info("agent: stopping")
	begun := time.Now()

	// 1. No new work: intake finishes the files it is storing (each is
	// stored whole or stays in .work/ for the next start), the dispatcher
	// gives back the parts it has not submitted.
	if err := a.intake.Close(life); err != nil {
		a.log.Warn("agent: stopping intake", "err", err)
	}
	<-dispatchDone

	// 2. Wait for the responses to what is out, so that their outcome is
	// recorded now rather than resent at the next start. The settler pokes
	// wake after every commit; the dispatcher no longer listens to it.
	drain := time.NewTimer(a.opts.DrainTimeout)
wait:
	for a.d.open.Load() > 0 {
		select {
		case <-a.d.wake:
		case <-drain.C:
			break wait
		case <-force.Done():
			break wait
		}
	}
	drain.Stop()
	if n := a.d.open.Load(); n > 0 {
		a.log.Warn("agent: stopping with submits unanswered; they are sent again at the next start "+
			"unless their response comes during the unbind", "parts", n)
	}

	// 3. Unbind. Responses that arrive meanwhile still reach the settler;
	// what is left ends with the session's cause (temporary: resent).
	unbindCtx, cancel := context.WithTimeout(life, a.opts.UnbindTimeout)
	if err := a.pool.Close(unbindCtx); err != nil {
		a.log.Warn("agent: closing the SMSC sessions", "err", err)
	}
	cancel()
	a.poolClosed = true

	// 4. Record every result and every receipt received, answer the SMSC.
	close(settleQuit)
	close(applyQuit)
	<-settleDone
	<-applyDone

	// 5. The inbox writer stops where it is: events not written stay in the
	// outbox and are written at the next start, under the same names.
	endWriter()
	wg.Wait()
	err := a.Close(life)
	a.log.Info("agent: stopped", "took", time.Since(begun).Round(time.Millisecond))
	return err
}

// Close closes the pool and the outbox. Run calls it at its end; call it
// only for an agent that is never run, never while Run runs. Calling it
// again does nothing.
func (a *Agent) Close(ctx context.Context) error {
	a.closed.Do(func() {
		a.stopping.Store(true)
		if !a.poolClosed {
			_ = a.pool.Close(ctx)
		}
		// Crash story: the outbox's own; every operation handed to it
		// commits whole or not at all.
		a.closeErr = a.store.Close(ctx)
	})
	return a.closeErr
}

// Outbox is the agent's store, for read-only views.
func (a *Agent) Outbox() *outbox.Store { return a.store }

// Queue is the outbox for operator commands (the admin API): a retry wakes
// the dispatcher, so the message goes out at once rather than at its next
// scheduled look at the queue.
func (a *Agent) Queue() Queue { return Queue{Store: a.store, wake: a.d.poke} }

// Queue is the outbox as operator commands use it.
type Queue struct {
	*outbox.Store
	wake func()
}

// Retry makes a message due now (see outbox.Store.Retry) and wakes the
// dispatcher.
func (q Queue) Retry(ctx context.Context, id smsagent.MessageID) error {
	err := q.Store.Retry(ctx, id)
	if err == nil {
		q.wake()
	}
	return err
}

// RetryFailed queues every failed message again (see
// outbox.Store.RetryFailed) and wakes the dispatcher.
func (q Queue) RetryFailed(ctx context.Context) (int, error) {
	n, err := q.Store.RetryFailed(ctx)
	if n > 0 {
		q.wake()
	}
	return n, err
}

// Ready says why the agent cannot work right now: it is stopping, or no
// SMSC session is bound. nil means the database is open and a session is
// bound.
func (a *Agent) Ready() error {
	switch {
	case a.stopping.Load():
		return errors.New("stopping")
	case a.started.Load() == nil:
		return errors.New("starting")
	case a.intake.Stats().Stuck > 0:
		return errors.New(intakeStuck(a.intake.Stats()))
	case a.pool.AuthFailed() != nil:
		return fmt.Errorf("smsc credentials refused: %v", a.pool.AuthFailed())
	case !bound(a.pool):
		return errors.New("no SMSC session bound")
	}
	return nil
}

// intakeStore is the outbox as spool intake sees it: a stored batch also
// wakes the dispatcher and counts for the metrics.
type intakeStore struct {
	*outbox.Store
	a *Agent
}

// Enqueue stores a batch (see outbox.Store.Enqueue).
func (s intakeStore) Enqueue(ctx context.Context, b smsagent.Batch) (smsagent.BatchResult, error) {
	res, err := s.Store.Enqueue(ctx, b)
	if err != nil || res.AlreadyTaken {
		return res, err
	}
	n := 0
	for _, id := range res.IDs {
		if id != 0 {
			n++
		}
	}
	s.a.obs.FileAccepted(n)
	s.a.rates.files.Add(1)
	if n > 0 {
		s.a.d.poke()
	}
	return res, nil
}

// eventSource is the outbox as the inbox writer sees it: what it reports
// written is counted for the metrics. The writer reads a page, writes it,
// then reports it, one page at a time, on its one goroutine.
type eventSource struct {
	store *outbox.Store
	obs   Observer
	mo    map[uint64]int // complete incoming SMS of the page: seq → parts
	// reports are the page's reports by seq, kept only for a
	// ReportObserver (reportObs not nil).
	reportObs ReportObserver
	reports   map[uint64]*smsagent.Report
}

func (s *eventSource) Events(ctx context.Context, after uint64, max int) ([]smsagent.Event, error) {
	evs, err := s.store.Events(ctx, after, max)
	clear(s.mo)
	clear(s.reports)
	for _, e := range evs {
		if s.reportObs != nil && e.Kind == smsagent.EventReport && e.Report != nil {
			if s.reports == nil {
				s.reports = make(map[uint64]*smsagent.Report)
			}
			s.reports[e.Seq] = e.Report
		}
		if e.Kind == smsagent.EventMO && e.MO != nil && !e.MO.Incomplete {
			if s.mo == nil {
				s.mo = make(map[uint64]int)
			}
			s.mo[e.Seq] = e.MO.Parts
		}
	}
	return evs, err
}

func (s *eventSource) EventsWritten(ctx context.Context, seqs []uint64) error {
	if err := s.store.EventsWritten(ctx, seqs); err != nil {
		return err
	}
	s.obs.ReportsWritten(len(seqs))
	for _, seq := range seqs {
		if parts, ok := s.mo[seq]; ok {
			s.obs.MOReceived(parts)
		}
		if r, ok := s.reports[seq]; ok {
			s.reportObs.ReportWritten(r)
		}
	}
	return nil
}

// NopObserver ignores every event: the Observer when none is given, and
// the one to embed in an observer that wants only some of them.
type NopObserver struct{}

func (NopObserver) FileAccepted(int)                 {}
func (NopObserver) FileRejected()                    {}
func (NopObserver) SubmitDone(string, time.Duration) {}
func (NopObserver) SubmitTimedOut()                  {}
func (NopObserver) FileToSubmit(time.Duration)       {}
func (NopObserver) SubmitToReceipt(time.Duration)    {}
func (NopObserver) ReceiptApplied(string, string)    {}
func (NopObserver) MOReceived(int)                   {}
func (NopObserver) MODuplicate(string)               {}
func (NopObserver) ReportsWritten(int)               {}

var (
	_ Observer     = NopObserver{}
	_ spool.Store  = intakeStore{}
	_ inbox.Source = (*eventSource)(nil)
)
