package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
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

	store *outbox.Store
	// queue is where intake and Submit store messages: the outbox, or the
	// cluster's shared queue (store backend jetstream, cluster not nil).
	queue   spool.Store
	cluster *clusterWork
	intake  *spool.Intake
	writer  *inbox.Writer
	// accounts are the SMSC accounts in configuration order, each with its
	// pool; router routes messages to them.
	accounts []*account
	router   *router

	// parseOpts are intake's parser options, which Submit applies to the
	// messages of a request too.
	allow     allowList
	parseOpts msgfile.Options

	callbacks *callbacker
	hook      *eventHook // nil without hooks.command

	dispatcher *dispatcher
	settler    *settler
	applier    *applier
	rates      *rates
	health     *health

	started atomic.Pointer[time.Time]
	// downSince is when the housekeeper first saw no session bound; nil
	// while one is.
	downSince atomic.Pointer[time.Time]
	running   atomic.Bool
	stopping  atomic.Bool
	closed    sync.Once
	closeErr  error
	// poolClosed is set by Run once it closed the pools; Close closes
	// pools that Run never did (New succeeded, Run never ran or could not
	// start).
	poolClosed bool
}

// New checks the configuration, prepares the spool folders and opens the
// outbox. Nothing is sent and no file is taken until Run. An agent that is
// never run must be closed with Close.
func New(cfg *config.Config, opts Options) (*Agent, error) {
	opts = opts.withDefaults()
	a := &Agent{cfg: cfg, opts: opts, log: opts.Logger, clock: opts.Clock, obs: opts.Observer,
		rates: &rates{}, health: &health{}, parseOpts: parseOptions(cfg, opts.Logger)}
	if err := a.newAccounts(); err != nil {
		return nil, err
	}
	a.allow = newAllowList(cfg.Callbacks.Allow)
	if err := a.openStore(); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			a.stopCluster(context.Background())
			_ = a.store.Close(context.Background())
		}
	}()
	a.queue = a.store
	if clustered(cfg) {
		if err := a.connectCluster(); err != nil {
			return nil, err
		}
	}
	a.newPipeline()
	if err := a.newIntake(); err != nil {
		return nil, err
	}
	if err := a.newWriter(); err != nil {
		return nil, err
	}
	if err := a.newPools(); err != nil {
		return nil, err
	}
	for i, h := range cfg.Webhooks {
		if err := a.allow.checkURL(h.URL); err != nil {
			return nil, fmt.Errorf("agent: webhooks[%d]: %w", i, err)
		}
	}
	a.callbacks = newCallbacker(a.store, cfg.Callbacks, cfg.Webhooks, a.hook, a.clock, a.log, a.obs, opts.Version)
	ok = true
	return a, nil
}

// withDefaults fills in the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Observer == nil {
		o.Observer = NopObserver{}
	}
	if o.Force == nil {
		o.Force = func(context.Context) context.Context { return context.Background() }
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.DrainTimeout, DefaultDrainTimeout)
	def(&o.UnbindTimeout, DefaultUnbindTimeout)
	def(&o.SweepInterval, DefaultSweepInterval)
	return o
}

// encoding is how messages become submit_sm on an account (its split and
// default sender).
func encoding(s *config.SMSC) (*encoder, error) {
	method, err := splitMethod(s.Split)
	if err != nil {
		return nil, err
	}
	return &encoder{method: method, from: s.DefaultSender()}, nil
}

// newAccounts makes the accounts of the configuration and their router;
// their pools come later (newPools), once the applier they hand receipts
// to exists.
func (a *Agent) newAccounts() error {
	cfgs := a.cfg.Accounts()
	legacy := legacyAccount(cfgs)
	a.router = &router{cfg: a.cfg, byName: make(map[string]*account, len(cfgs)), after: a.cfg.Failover.After,
		onStatus: a.cfg.Failover.Statuses(), log: a.log}
	if a.router.after <= 0 {
		a.router.after = defaultFailoverAfter
	}
	start := a.clock()
	for _, s := range cfgs {
		enc, err := encoding(s)
		if err != nil {
			return fmt.Errorf("%w (smsc %s)", err, s.Name)
		}
		inFlight := max(s.Sessions, 1) * max(s.Window, 1)
		ac := &account{name: s.Name, cfg: s, enc: enc, budget: newBudget(inFlight + Uncommitted(s))}
		if s.Name != legacy {
			ac.keyPrefix = s.Name + "\x00"
		}
		ac.state.Store(&accountState{up: true, since: start, boundChange: start})
		a.accounts = append(a.accounts, ac)
		a.router.accounts = append(a.router.accounts, ac)
		a.router.byName[s.Name] = ac
	}
	a.router.legacy = a.router.byName[legacy]
	return nil
}

// defaultFailoverAfter is failover.after of a configuration that was never
// validated.
const defaultFailoverAfter = 30 * time.Second

// newPools makes each account's pool, with the receiver of its receipts
// and incoming SMS.
func (a *Agent) newPools() error {
	cfg, opts := a.cfg, a.opts
	if opts.NewPool != nil && len(a.accounts) > 1 {
		return errors.New("agent: Options.NewPool serves one SMSC account; this configuration has several")
	}
	for _, ac := range a.accounts {
		rule, err := idRule(ac.cfg.MessageID)
		if err != nil {
			return fmt.Errorf("%w (smsc %s)", err, ac.name)
		}
		recv := &receiver{acct: ac, rule: rule, clock: a.clock, log: a.log, out: a.applier.in, dups: cfg.MO.Duplicates}
		if tag, ok := cfg.MO.IDTag(); ok {
			recv.idTag = pdu.Tag(tag)
		}
		if opts.NewPool != nil {
			ac.pool, err = opts.NewPool(recv.handle)
		} else {
			ac.pool, err = newBindPool(ac.cfg, recv.handle, a.log.With("smsc", ac.name), a.clock, opts.TunePool)
		}
		if err != nil {
			a.closePools(context.Background())
			return err
		}
	}
	return nil
}

// closePools closes every pool made, in parallel: each waits up to ctx
// for its unbind_resp.
func (a *Agent) closePools(ctx context.Context) {
	var wg sync.WaitGroup
	for _, ac := range a.accounts {
		if ac.pool == nil {
			continue
		}
		wg.Go(func() {
			if err := ac.pool.Close(ctx); err != nil {
				a.log.Warn("agent: closing the SMSC sessions", "smsc", ac.name, "err", err)
			}
		})
	}
	wg.Wait()
}

// anyBound reports whether some account has a session that can submit.
func (a *Agent) anyBound() bool { return a.router.anyBound() }

// accountNames lists the accounts for messages.
func (a *Agent) accountNames() string {
	names := make([]string, len(a.accounts))
	for i, ac := range a.accounts {
		names[i] = ac.name
	}
	return strings.Join(names, ", ")
}

// openStore prepares the spool folders and the state folder and opens the
// outbox.
func (a *Agent) openStore() error {
	var err error
	if a.layout, err = spool.Prepare(a.cfg.Spool.Dir); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if err := os.MkdirAll(a.cfg.Store.Dir(), 0o750); err != nil {
		return fmt.Errorf("agent: state folder: %w", err)
	}
	oo := OutboxOptions(a.cfg)
	oo.Logger, oo.Clock, oo.DecodeMO = a.log, a.clock, decodeMO
	if a.store, err = outbox.Open(a.cfg.Store.Path, oo); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return nil
}

// newPipeline makes the goroutines' state between the outbox and the pool:
// the dispatcher and the settler sharing a budget of sessions × window
// parts, and the applier of receipts and incoming SMS.
func (a *Agent) newPipeline() {
	inFlight, limit, sessions := 0, 0, 0
	for _, ac := range a.accounts {
		inFlight += max(ac.cfg.Sessions, 1) * max(ac.cfg.Window, 1)
		limit += int(ac.budget.limit)
		sessions += max(ac.cfg.Sessions, 1)
	}
	results := newMailbox[partResult]()
	sent := newSentTimes()
	a.dispatcher = &dispatcher{store: a.store, router: a.router, clock: a.clock, log: a.log, health: a.health,
		results: results, page: inFlight, wake: make(chan struct{}, 1)}
	a.router.wake = a.dispatcher.poke
	a.settler = &settler{store: a.store, results: results, failover: a.router.isFailoverStatus,
		requeued: a.dispatcher.poke, group: max(limit/2, 1),
		obs: a.obs, clock: a.clock, log: a.log, health: a.health, sent: sent, rates: a.rates}
	a.applier = &applier{store: a.store, obs: a.obs, log: a.log, health: a.health, sent: sent, rates: a.rates,
		in: newMailbox[inbound](), group: sessions * smpp.DefaultInboundWindow / 2}
	if a.cluster != nil {
		a.settler.committed = func(_ context.Context, batch []outbox.PartResult) {
			a.cluster.committed(batch)
		}
		a.applier.route = func(ctx context.Context, rs []smsagent.Receipt) ([]int, error) {
			return a.cluster.route(ctx, a.store, rs)
		}
		a.dispatcher.holdConfirmed = a.cluster.node.HoldConfirmed
	}
}

// newIntake makes the spool intake: files parsed by msgfile, each message
// checked by the encoder, stored through intakeStore.
func (a *Agent) newIntake() error {
	cfg := a.cfg
	po := a.parseOpts
	o := spool.Options{
		Layout: a.layout,
		Store:  intakeStore{Store: a.queue, obs: a.obs, rates: a.rates, wake: a.dispatcher.poke},
		Parse: func(r io.Reader, name string) ([]smsagent.Message, error) {
			// *msgfile.FileError carries its problems (spool.ProblemError).
			return msgfile.Parse(r, name, po)
		},
		Check:          a.check,
		Archive:        cfg.Spool.Archive,
		Settle:         cfg.Spool.Settle,
		RescanInterval: cfg.Spool.RescanInterval,
		MaxFileSize:    int64(cfg.Spool.MaxFileSize),
		ParseBudget:    ParseBudget(cfg.Spool.MaxMessages),
		Logger:         a.log,
		Now:            a.clock,
	}
	if a.opts.TuneIntake != nil {
		a.opts.TuneIntake(&o)
	}
	var err error
	if a.intake, err = spool.New(o); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return nil
}

// newWriter makes the inbox writer of reports and incoming SMS.
func (a *Agent) newWriter() error {
	a.hook = newEventHook(a.cfg.Hooks, a.layout.Inbox, inboxFormat(a.cfg.Spool.InboxFormat) == inbox.FormatNDJSON)
	src := &eventSource{store: a.store, obs: a.obs, hook: a.hook, rates: a.rates}
	src.reportObs, _ = a.obs.(ReportObserver)
	if a.cluster != nil {
		src.forward = func(ctx context.Context, evs []smsagent.Event) ([]smsagent.Event, error) {
			return a.cluster.forward(ctx, a.store, evs)
		}
	}
	var err error
	a.writer, err = inbox.New(src, inbox.Options{
		Dir:         a.layout.Inbox,
		TmpDir:      a.layout.InboxTmp,
		Format:      inboxFormat(a.cfg.Spool.InboxFormat),
		BatchEvents: a.cfg.Spool.InboxBatch,
		BatchAge:    a.cfg.Spool.InboxBatchAge,
		FileMode:    a.cfg.Spool.FileMode,
		Ready:       a.store.EventsReady(),
		Logger:      a.log,
	})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return nil
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
	a.log.Info("agent: starting", "version", a.opts.Version, "spool", a.cfg.Spool.Dir)
	for _, ac := range a.accounts {
		a.log.Info("agent: SMSC account", "smsc", ac.name, "address", ac.cfg.Address, "sessions", ac.cfg.Sessions,
			"window", ac.cfg.Window)
	}

	// life outlives ctx: the settler, the applier and the pool must keep
	// working through the graceful stop. It ends when the stop is over, or
	// at once when the stop is forced.
	force := a.opts.Force(ctx)
	life, endLife := context.WithCancel(context.WithoutCancel(ctx))
	defer endLife()
	defer context.AfterFunc(force, endLife)()

	// The charts' first sample, before anything is counted: the first
	// step then shows what happened in it.
	a.rates.sample(a.clock())
	// Intake first: a folder it cannot watch is the one failure that keeps
	// the agent from starting, and nothing else has begun yet.
	if err := a.intake.Start(); err != nil {
		return errors.Join(fmt.Errorf("agent: intake: %w", err), a.Close(life))
	}
	// work is what stops first: intake, dispatcher, sweeper.
	work, endWork := context.WithCancel(ctx)
	defer endWork()
	g := a.startWorkers(work, life)
	now := a.clock()
	a.started.Store(&now)

	<-work.Done()
	a.stopping.Store(true)
	a.log.Info("agent: stopping")
	begun := time.Now()
	a.stopTaking(life, g)
	a.drainResponses(force)
	a.unbind(life)
	a.settleLast(g)
	a.stopWriter(g)
	err := a.Close(life)
	a.log.Info("agent: stopped", "took", time.Since(begun).Round(time.Millisecond))
	return err
}

// workers are the goroutines Run starts, in the order the stop ends them.
type workers struct {
	dispatched            chan struct{} // closed when the dispatcher returned
	settleQuit, applyQuit chan struct{} // closed to make them record what is left and return
	settled, applied      chan struct{} // closed when they returned
	endWriter             context.CancelFunc
	writerAndSweeper      sync.WaitGroup
}

// startWorkers starts the inbox writer, the housekeeper, the settler, the
// applier, the pool and the dispatcher. work ends the housekeeper and the
// dispatcher; life the others.
func (a *Agent) startWorkers(work, life context.Context) *workers {
	g := &workers{dispatched: make(chan struct{}), settleQuit: make(chan struct{}), applyQuit: make(chan struct{}),
		settled: make(chan struct{}), applied: make(chan struct{})}
	writerCtx, endWriter := context.WithCancel(life)
	g.endWriter = endWriter
	g.writerAndSweeper.Go(func() {
		if err := a.writer.Run(writerCtx); err != nil {
			a.log.Error("agent: inbox writer cannot start", "err", err)
			a.health.set(healthSweep, fmt.Sprintf("inbox: cannot start: %v", err))
		}
	})
	g.writerAndSweeper.Go(func() { a.housekeep(work) })
	g.writerAndSweeper.Go(func() { a.callbacks.run(work) })
	go func() {
		defer close(g.settled)
		a.settler.run(life, g.settleQuit)
	}()
	go func() {
		defer close(g.applied)
		a.applier.run(life, g.applyQuit)
	}()
	for _, ac := range a.accounts {
		ac.pool.Start(life)
	}
	g.writerAndSweeper.Go(func() { a.router.monitor(work, a.clock) })
	if a.cluster != nil {
		a.startCluster(life)
	}
	go func() {
		defer close(g.dispatched)
		a.dispatcher.run(work)
	}()
	return g
}

// stopTaking is the stop's first step: no new work. Intake finishes the
// files it is storing (each is stored whole or stays in .work/ for the
// next start); the dispatcher gives back the parts it has not submitted.
func (a *Agent) stopTaking(life context.Context, g *workers) {
	// A worker stuck in a file system call that does not return must not
	// hold the stop past what the service manager allows: after
	// DrainTimeout the stop goes on without it. Its file stays in .work/,
	// and whatever it does later finds the outbox closed.
	ctx, cancel := context.WithTimeout(life, a.opts.DrainTimeout)
	defer cancel()
	if err := a.intake.Close(ctx); err != nil {
		a.log.Warn("agent: stopping intake", "err", err)
	}
	<-g.dispatched
}

// drainResponses waits up to DrainTimeout (or until the stop is forced)
// for the responses to what is out, so that their outcome is recorded now
// rather than resent at the next start.
func (a *Agent) drainResponses(force context.Context) {
	deadline := time.Now().Add(a.opts.DrainTimeout)
	for _, ac := range a.accounts {
		if !ac.budget.drain(force, max(time.Until(deadline), 0)) {
			a.log.Warn("agent: stopping with submits unanswered; they are sent again at the next start "+
				"unless their response comes during the unbind", "smsc", ac.name, "parts", ac.budget.outstanding())
		}
	}
}

// unbind closes the sessions. Responses that arrive meanwhile still reach
// the settler; what is left ends with the session's cause (temporary:
// resent at the next start).
func (a *Agent) unbind(life context.Context) {
	ctx, cancel := context.WithTimeout(life, a.opts.UnbindTimeout)
	defer cancel()
	a.closePools(ctx)
	a.poolClosed = true
}

// settleLast records every result and every receipt received, and answers
// the SMSC.
func (a *Agent) settleLast(g *workers) {
	close(g.settleQuit)
	close(g.applyQuit)
	<-g.settled
	<-g.applied
}

// stopWriter stops the inbox writer where it is: events not written stay
// in the outbox and are written at the next start, under the same names.
func (a *Agent) stopWriter(g *workers) {
	g.endWriter()
	g.writerAndSweeper.Wait()
}

// Close closes the pool and the outbox. Run calls it at its end; call it
// only for an agent that is never run, never while Run runs. Calling it
// again does nothing.
func (a *Agent) Close(ctx context.Context) error {
	a.closed.Do(func() {
		a.stopping.Store(true)
		if !a.poolClosed {
			a.closePools(ctx)
		}
		// After the last results are recorded: the taker acknowledges
		// what was accepted and gives back the rest.
		a.stopCluster(ctx)
		// Crash story: the outbox's own; every operation handed to it
		// commits whole or not at all.
		a.closeErr = a.store.Close(ctx)
	})
	return a.closeErr
}

// Outbox is the agent's store, for read-only views.
func (a *Agent) Outbox() *outbox.Store { return a.store }

// Ready says why the agent cannot do its work right now: it is stopping
// or starting, intake is stuck on a file or has stopped taking files, or
// no SMSC session is bound (with the SMSC's refusal of the credentials as
// the reason when that is why). nil means files are taken and messages
// can go out; a refusal while a session bound earlier still sends shows
// in Status's health, not here.
func (a *Agent) Ready() error {
	if a.stopping.Load() {
		return errors.New("stopping")
	}
	if a.started.Load() == nil {
		return errors.New("starting")
	}
	if a.cluster != nil {
		if err := a.cluster.node.Ready(); err != nil {
			return err
		}
	}
	is := a.intake.Stats()
	switch {
	case is.Stuck > 0:
		return errors.New(intakeStuck(is))
	case is.Stalled != "":
		return errors.New("intake stalled: " + is.Stalled)
	case a.anyBound():
		return nil
	}
	for _, ac := range a.accounts {
		if err := ac.pool.AuthFailed(); err != nil {
			return fmt.Errorf("smsc credentials refused: %s: %v", ac.name, err)
		}
	}
	return errors.New("no SMSC session bound")
}
