package spool

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent"
)

// Store is what intake needs from the outbox; *outbox.Store satisfies it.
//
// Enqueue stores every message of the batch and a taken-record keyed by
// b.Claim in one transaction, and returns only after that transaction is
// durable. Taken reports whether a taken-record for claim exists. Both are
// called from several goroutines at once, so that concurrent batches can
// share one commit.
type Store interface {
	Enqueue(ctx context.Context, b smsagent.Batch) (smsagent.BatchResult, error)
	Taken(ctx context.Context, claim string) (bool, error)
}

// Problem is the domain's record of one defect in a refused file.
type Problem = smsagent.Problem

// ProblemError is implemented by parse errors that carry one Problem per
// defect. Intake finds it with errors.As, so it may be wrapped. The parser
// (msgfile) cannot import this package; the agent adapts its error type when
// it wires Options.Parse.
type ProblemError interface {
	error
	Problems() []Problem
}

// Options configures an Intake. Layout, Store and Parse are required.
type Options struct {
	// Layout is the spool, normally from Prepare.
	Layout Layout
	Store  Store
	// Parse reads one message file; name is its name in outgoing/. An error
	// rejects the whole file.
	Parse func(r io.Reader, name string) ([]smsagent.Message, error)
	// Check is the agent's semantic check of one message (text encodable,
	// part count); nil accepts every message that passes
	// smsagent.Message.Validate.
	Check func(m *smsagent.Message) error
	// Archive moves accepted files to sent/ instead of deleting them.
	Archive bool

	// Settle is how long a file written in place must keep its size and
	// modification time before it is taken. Default 1 s.
	Settle time.Duration
	// RescanInterval is the period of full scans of outgoing/, which find
	// what the watcher missed (network file systems send no events).
	// Default 10 s.
	RescanInterval time.Duration
	// MaxFileSize rejects larger files without reading them. Default 64 MiB.
	MaxFileSize int64
	// ParseBudget bounds the bytes of the files taken at once (one file
	// may exceed it alone), so that memory does not grow with the number
	// of workers: a file's messages cost memory in proportion to its
	// bytes. Default MaxFileSize; the agent sets it from
	// spool.max_messages.
	ParseBudget int64
	// Workers is the number of files taken at once; concurrent batches share
	// the outbox's group commits. Default 16.
	Workers int
	// StuckAfter is how long a worker may spend on one file before Stats
	// counts it as stuck (a file system call that does not return: a
	// hung network mount, a device). Default 1 minute: taking the largest
	// file allowed takes seconds.
	StuckAfter time.Duration

	// Logger receives warnings about rejected files and stalls; nil
	// discards.
	Logger *slog.Logger
	// OnHealth is called with the reason when intake stops taking files
	// (the outbox refuses batches, failed/ cannot be written) and with nil
	// when it takes files again. It is called from the intake's goroutine
	// and must not block.
	OnHealth func(err error)
	// Now is the clock used for settle, retry and report times; nil means
	// time.Now.
	Now func() time.Time

	// newWatcher replaces fsnotify in tests of the overflow path.
	newWatcher func() (watcher, error)
	// hooks lets tests observe and pause the loop.
	hooks hooks
}

// hooks are test seams of the owner loop; nil fields do nothing.
type hooks struct {
	// afterScan runs at the end of every full scan with the number of
	// names the scan added.
	afterScan func(added int)
}

// Defaults.
const (
	DefaultSettle         = time.Second
	DefaultRescanInterval = 10 * time.Second
	DefaultMaxFileSize    = 64 << 20
	DefaultWorkers        = 16
	DefaultStuckAfter     = time.Minute
)

// Stats counts what intake did since it was created. Read it with
// Intake.Stats; every field is a snapshot.
type Stats struct {
	Taken      uint64 // files stored in the outbox
	Rejected   uint64 // files moved to failed/
	Messages   uint64 // messages stored
	Duplicates uint64 // messages the outbox already had (same client id)
	Bytes      uint64 // bytes of the files taken
	Recovered  uint64 // files found in .work/ at start
	Rescans    uint64 // full scans of outgoing/
	Overflows  uint64 // watcher overflows and errors (each forced a rescan)
	// Pending is the number of files seen in outgoing/ and not yet taken;
	// InFlight the number claimed and not finished.
	Pending, InFlight int
	// Stalled holds the reason intake stopped taking files; empty while it
	// takes files.
	Stalled string
	// Stuck is the number of workers busy with one file for longer than
	// Options.StuckAfter, StuckSince when the longest of them began.
	Stuck       int
	StuckSince  time.Time
	LastError   string
	LastErrorAt time.Time
}

// Intake watches outgoing/, claims message files and stores each one whole
// in the outbox, or quarantines it in failed/ with the reason.
type Intake struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time

	taken, rejected, messages, duplicates, bytes atomic.Uint64
	recovered, rescans, overflows                atomic.Uint64
	pending, inFlight                            atomic.Int64
	// busySince[k] is when worker k began its file (Unix nanoseconds of
	// the clock), 0 while it waits for one.
	busySince []atomic.Int64

	errMu     sync.Mutex
	stalled   string
	lastErr   string
	lastErrAt time.Time

	// reserved holds the names in failed/ and sent/ a worker is checking
	// or moving a file to (reserve); names guards only the map.
	names    sync.Mutex
	reserved map[string]bool

	running atomic.Bool
	cancel  context.CancelFunc
	done    chan struct{}
	runErr  error
}

// ErrRunning is returned by Run and Start when the Intake already runs.
var ErrRunning = errors.New("spool: intake already running")

// New checks opts and fills in defaults. Nothing touches the disk until Run.
func New(opts Options) (*Intake, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("spool: Options.Store is required")
	case opts.Parse == nil:
		return nil, errors.New("spool: Options.Parse is required")
	case opts.Layout.Outgoing == "" || opts.Layout.Work == "" || opts.Layout.Failed == "" ||
		(opts.Archive && opts.Layout.Sent == ""):
		return nil, errors.New("spool: Options.Layout is incomplete; use spool.Prepare")
	case opts.Settle < 0 || opts.RescanInterval < 0 || opts.MaxFileSize < 0 || opts.Workers < 0 || opts.StuckAfter < 0:
		return nil, errors.New("spool: negative option")
	}
	if opts.Settle == 0 {
		opts.Settle = DefaultSettle
	}
	if opts.RescanInterval == 0 {
		opts.RescanInterval = DefaultRescanInterval
	}
	if opts.MaxFileSize == 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.ParseBudget <= 0 {
		opts.ParseBudget = opts.MaxFileSize
	}
	if opts.Workers == 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.StuckAfter == 0 {
		opts.StuckAfter = DefaultStuckAfter
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.newWatcher == nil {
		opts.newWatcher = newFSWatcher
	}
	return &Intake{opts: opts, log: opts.Logger.With("component", "spool"), now: opts.Now,
		busySince: make([]atomic.Int64, opts.Workers)}, nil
}

// Run takes files until ctx ends, then waits for the files being taken to
// reach a safe point and returns nil. A file interrupted by the end stays in
// .work/ and is finished by the next Run. Run returns an error only when it
// cannot start.
func (in *Intake) Run(ctx context.Context) error {
	if !in.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer in.running.Store(false)
	l, err := newLoop(in)
	if err != nil {
		return err
	}
	l.run(ctx)
	return nil
}

// Start runs the intake in the background until Close. It returns once the
// watch is set up, or with the reason the intake cannot start. Start and
// Close are not safe for concurrent use with each other.
func (in *Intake) Start() error {
	if in.running.Load() || in.done != nil {
		return ErrRunning
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	in.done = make(chan struct{})
	started := make(chan error, 1)
	go func() {
		defer close(in.done)
		in.runErr = in.runStarted(ctx, started)
	}()
	if err := <-started; err != nil {
		// Nothing runs: leave the Intake as New made it, so Start may be
		// tried again once the cause is fixed.
		<-in.done
		cancel()
		in.cancel, in.done, in.runErr = nil, nil, nil
		return err
	}
	return nil
}

func (in *Intake) runStarted(ctx context.Context, started chan<- error) error {
	if !in.running.CompareAndSwap(false, true) {
		started <- ErrRunning
		return ErrRunning
	}
	defer in.running.Store(false)
	l, err := newLoop(in)
	started <- err
	if err != nil {
		return err
	}
	l.run(ctx)
	return nil
}

// Close stops an intake started with Start and waits until it has stopped,
// or until ctx ends.
func (in *Intake) Close(ctx context.Context) error {
	if in.cancel == nil {
		return nil
	}
	in.cancel()
	select {
	case <-in.done:
		return in.runErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the counters. Safe from any goroutine.
func (in *Intake) Stats() Stats {
	stuck, since := in.stuck()
	in.errMu.Lock()
	defer in.errMu.Unlock()
	return Stats{
		Stuck:       stuck,
		StuckSince:  since,
		Taken:       in.taken.Load(),
		Rejected:    in.rejected.Load(),
		Messages:    in.messages.Load(),
		Duplicates:  in.duplicates.Load(),
		Bytes:       in.bytes.Load(),
		Recovered:   in.recovered.Load(),
		Rescans:     in.rescans.Load(),
		Overflows:   in.overflows.Load(),
		Pending:     int(in.pending.Load()),
		InFlight:    int(in.inFlight.Load()),
		Stalled:     in.stalled,
		LastError:   in.lastErr,
		LastErrorAt: in.lastErrAt,
	}
}

// stuck counts the workers busy with one file for longer than StuckAfter
// and says when the longest of them began. The workers only store their
// start times; reading them here needs no lock, so a stuck worker cannot
// make Stats (and so status and readiness) hang too.
func (in *Intake) stuck() (n int, since time.Time) {
	limit := in.now().Add(-in.opts.StuckAfter).UnixNano()
	var oldest int64
	for i := range in.busySince {
		began := in.busySince[i].Load()
		if began == 0 || began > limit {
			continue
		}
		n++
		if oldest == 0 || began < oldest {
			oldest = began
		}
	}
	if n > 0 {
		since = time.Unix(0, oldest)
	}
	return n, since
}

func (in *Intake) noteError(err error) {
	in.errMu.Lock()
	in.lastErr, in.lastErrAt = err.Error(), in.now()
	in.errMu.Unlock()
}

// setStalled records and reports a change of health; err nil means healthy.
// Called only from the loop goroutine.
func (in *Intake) setStalled(err error) {
	in.errMu.Lock()
	was := in.stalled
	if err == nil {
		in.stalled = ""
	} else {
		in.stalled = err.Error()
		in.lastErr, in.lastErrAt = in.stalled, in.now()
	}
	now := in.stalled
	in.errMu.Unlock()
	if was == now {
		return
	}
	if err != nil {
		in.log.Error("stopped taking files", "err", err)
	} else {
		in.log.Info("taking files again")
	}
	if in.opts.OnHealth != nil {
		in.opts.OnHealth(err)
	}
}
