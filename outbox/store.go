package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	bolt "go.etcd.io/bbolt"
)

// Store is the outbox: one bbolt file, one writer goroutine. It is safe for
// concurrent use. Mutating methods hand an operation to the writer and
// return after the transaction that carried it has committed (fsync done);
// read methods use their own read transactions.
type Store struct {
	db   *bolt.DB
	opts Options
	log  *slog.Logger
	path string

	// rnd is the backoff jitter source; only the writer goroutine uses it.
	rnd *rand.Rand
	// convertedIDs is set when a parked receipt matched a part, after
	// OrphanGrace, only under one of dlr.Auto's converted keys: evidence
	// that the SMSC writes an id one way in responses and another in
	// receipts, so ApplyReceipts takes such keys at once from then on. A
	// receipt that matches by its own key clears it. Writer goroutine
	// only; each run learns again.
	convertedIDs bool

	// mu guards closed against senders: a sender holds the read lock while
	// handing its request over, so once Close holds the write lock and sets
	// closed, every request that will ever be queued is in reqs.
	mu      sync.RWMutex
	closed  bool
	isShut  atomic.Bool
	reqs    chan *request
	closing chan struct{} // closed by Close: drain reqs, then stop
	abort   chan struct{} // closed when Close's context ends: fail what is left
	stopped chan struct{} // closed by the writer when it has returned

	ready chan struct{} // EventsReady: cap 1, signalled after commits that made events

	// commits and committed count transactions and the operations they
	// carried: their ratio is the group-commit factor the benchmarks
	// report.
	commits, committed atomic.Uint64
}

// op is one mutation. apply runs inside the writer's transaction and may run
// more than once (when another operation of its transaction fails, or when
// the transaction is retried operation by operation), so it must derive
// everything from the transaction and its own inputs and reset its results.
type op interface {
	apply(w *wtx) error
}

type request struct {
	ctx  context.Context
	op   op
	err  error
	done chan error
}

// Open opens or creates the outbox at path. Another process holding the
// file makes it fail with a *LockedError after Options.LockTimeout. A store
// opened for writing first puts every message left in state sending by a
// crash back into the queue (see recover).
func Open(path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	src := opts.Retry.Rand
	if src == nil {
		src = globalSource{}
	}
	if err := checkLength(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         opts.LockTimeout,
		ReadOnly:        opts.ReadOnly,
		MaxSize:         opts.MaxSize,
		InitialMmapSize: max(opts.MmapSize, 0),
		FreelistType:    bolt.FreelistMapType,
		NoFreelistSync:  false,
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, &LockedError{Path: path, Timeout: opts.LockTimeout}
		}
		return nil, fmt.Errorf("outbox: open %s: %w", path, err)
	}
	s := &Store{
		db:      db,
		opts:    opts,
		log:     opts.Logger,
		path:    path,
		rnd:     rand.New(src),
		reqs:    make(chan *request, opts.MaxOpsPerTx),
		closing: make(chan struct{}),
		abort:   make(chan struct{}),
		stopped: make(chan struct{}),
		ready:   make(chan struct{}, 1),
	}
	if opts.ReadOnly {
		if err := viewChecked(db, checkSchema); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("outbox: open %s: %w", path, err)
		}
		close(s.stopped)
		return s, nil
	}
	if err := db.Update(initSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("outbox: open %s: %w", path, err)
	}
	if err := s.recover(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("outbox: open %s: %w", path, err)
	}
	go s.run()
	return s, nil
}

// Close stops accepting operations, lets the writer commit every operation
// already handed to it, and closes the file. If ctx ends first, operations
// not yet in a transaction fail with ErrClosed; the transaction in progress
// always completes. Calling Close again returns nil.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.isShut.Store(true)
	close(s.closing)
	select {
	case <-s.stopped:
	case <-ctx.Done():
		close(s.abort)
		<-s.stopped
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("outbox: close: %w", err)
	}
	return nil
}

// do hands o to the writer and waits for its transaction. ctx bounds the
// wait for the hand-over; an operation whose ctx has ended when the writer
// reaches it is dropped with ctx's error. Once its transaction has begun the
// outcome is reported whatever ctx does, so a caller never mistakes a
// committed operation for a failed one.
func (s *Store) do(ctx context.Context, o op) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	r := &request{ctx: ctx, op: o, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.reqs <- r:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	return <-r.done
}

// view runs a read transaction, reporting ErrClosed after Close.
func (s *Store) view(fn func(tx *bolt.Tx) error) (err error) {
	if s.isShut.Load() {
		return ErrClosed
	}
	defer damaged(&err)
	err = s.db.View(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// viewChecked is db.View with damaged's recovery, for before a Store exists.
func viewChecked(db *bolt.DB, fn func(tx *bolt.Tx) error) (err error) {
	defer damaged(&err)
	return db.View(fn)
}

// damaged turns a panic of bbolt inside a read transaction into an
// ErrCorrupt error. bbolt asserts on pages that do not identify themselves
// (a scrambled or torn file) by panicking; View has rolled the transaction
// back by the time the panic reaches here, so nothing is held and a queue
// command can say what is wrong instead of dying with a stack trace. Write
// transactions are not covered: a writer that met a damaged page must not
// go on writing.
func damaged(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%w: the database file is damaged (%v); restore it from a backup, or move it aside to start with an empty queue", ErrCorrupt, p)
	}
}

// run is the writer: it takes every request queued (up to MaxOpsPerTx) into
// one transaction, so concurrent callers share one fsync.
func (s *Store) run() {
	defer close(s.stopped)
	batch := make([]*request, 0, s.opts.MaxOpsPerTx)
	for {
		select {
		case r := <-s.reqs:
			batch = s.gather(append(batch[:0], r))
			s.execute(batch)
		case <-s.closing:
			// Close holds no senders any more: what is in reqs is all
			// that will ever come. Commit it unless Close gives up.
			for {
				batch = s.gather(batch[:0])
				if len(batch) == 0 {
					return
				}
				select {
				case <-s.abort:
					for _, r := range batch {
						r.done <- ErrClosed
					}
				default:
					s.execute(batch)
				}
			}
		}
	}
}

func (s *Store) gather(batch []*request) []*request {
	for len(batch) < s.opts.MaxOpsPerTx {
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// errRerun aborts a transaction in which an operation failed after it had
// written: the transaction is rolled back and run again without it.
var errRerun = errors.New("outbox: rerun without the failed operation")

// execute commits a batch. An operation that fails before writing anything
// (its checks come first) just reports its error. One that fails after
// writing would leave a partial change, so the whole transaction is rolled
// back and run again without it: the others are deterministic functions of
// the database and their inputs, so the rerun commits exactly what they
// would have. If the commit itself fails (disk full, MaxSize reached) and
// the batch had several operations, each is retried in a transaction of its
// own, so one oversized batch cannot fail its neighbours.
func (s *Store) execute(batch []*request) {
	pending := make([]*request, 0, len(batch))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		pending = append(pending, r)
	}
	for len(pending) > 0 {
		culprit := -1
		var events bool
		err := s.db.Update(func(tx *bolt.Tx) error {
			w, err := s.newWtx(tx)
			if err != nil {
				return err
			}
			for i, r := range pending {
				before := w.mut
				r.err = s.applyOne(w, r.op)
				if r.err != nil && w.mut != before {
					culprit = i
					return errRerun
				}
			}
			if err := w.flush(); err != nil {
				return err
			}
			events = w.madeEvents
			return nil
		})
		switch {
		case errors.Is(err, errRerun):
			s.log.Warn("outbox: operation failed mid-transaction; rerunning the others", "err", pending[culprit].err)
			pending[culprit].done <- pending[culprit].err
			pending = append(pending[:culprit], pending[culprit+1:]...)
			continue
		case err != nil && len(pending) > 1:
			s.log.Warn("outbox: commit failed; retrying each operation alone", "ops", len(pending), "err", err)
			for _, r := range pending {
				s.execute([]*request{r})
			}
			return
		case err != nil:
			pending[0].done <- fmt.Errorf("outbox: commit: %w", err)
			return
		}
		s.commits.Add(1)
		s.committed.Add(uint64(len(pending)))
		for _, r := range pending {
			r.done <- r.err
		}
		if events {
			select {
			case s.ready <- struct{}{}:
			default:
			}
		}
		return
	}
}

// applyOne runs one operation, turning a panic (a bug, or a value no check
// foresaw) into an error that fails only that operation.
func (s *Store) applyOne(w *wtx, o op) (err error) {
	defer func() {
		if p := recover(); p != nil {
			w.mut++ // its writes, if any, must be rolled back
			s.log.Error("outbox: operation panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("outbox: internal error: %v", p)
		}
	}()
	return o.apply(w)
}

// EventsReady is signalled (never blocking, capacity 1) after every commit
// that created events. The inbox writer waits on it, then drains Events.
func (s *Store) EventsReady() <-chan struct{} { return s.ready }

// now is the store's clock, without the monotonic reading so that stored
// times compare the same after a restart.
func (s *Store) now() time.Time { return s.opts.Clock().Round(0) }
