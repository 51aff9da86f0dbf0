package inbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/fsutil"
)

// Source is where the Writer takes events from; the outbox satisfies it.
type Source interface {
	// Events returns up to max pending events with Seq > after, in Seq
	// order.
	Events(ctx context.Context, after uint64, max int) ([]smsagent.Event, error)
	// EventsWritten forgets events whose files are durable. files[i] is
	// the name in Dir of the file that holds seqs[i] ("" for an event
	// dropped as unwritable); with FormatNDJSON that is the batch's file,
	// which is renamed in right after this call.
	EventsWritten(ctx context.Context, seqs []uint64, files []string) error
}

// File is what the Writer needs of a file it creates.
type File interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

// SyncMode says how a batch's temporary files are made durable before they
// are renamed into place.
type SyncMode uint8

const (
	// SyncAuto uses SyncFS where it is available and reliable (Linux 5.8
	// and later), else SyncFiles.
	SyncAuto SyncMode = iota
	// SyncFiles fsyncs every file, SyncWorkers at a time.
	SyncFiles
	// SyncFS writes the batch without fsync, then flushes the whole file
	// system once with syncfs(2). It also waits for other writers' dirty
	// data on that file system.
	SyncFS
)

// Defaults of Options.
const (
	DefaultFileMode      os.FileMode = 0o640
	DefaultPageSize                  = 256
	DefaultSyncWorkers               = 16 // with SyncFiles
	DefaultSyncFSWorkers             = 1  // with SyncFS
	DefaultPollInterval              = 5 * time.Second
	DefaultRetryMin                  = 100 * time.Millisecond
	DefaultRetryMax                  = 30 * time.Second
)

// Options configure a Writer. Dir is required; zero values elsewhere mean
// the defaults above.
type Options struct {
	// Dir is the inbox folder, created (0750) if missing.
	Dir string
	// TmpDir is the Writer's private folder for temporary files: on the
	// file system of Dir, and out of reach of everyone but the agent (not
	// inside Dir, which producers may write: spool.Layout.InboxTmp). It is
	// created (0700) if missing and refused when it is a link, not the
	// agent's own, or writable by others (fsutil.PrivateDir). Required.
	TmpDir string
	Format Format
	// FileMode is the permission of written files, before the umask.
	FileMode os.FileMode
	// Ready wakes the Writer when the Source has new events (the
	// outbox's EventsReady). Without it the Writer only polls.
	Ready <-chan struct{}
	// PollInterval is how often the Writer looks for events without a
	// wake-up; a safety net, since Ready is only a hint.
	PollInterval time.Duration
	// PageSize is the number of events read and written as one batch.
	PageSize int
	// SyncWorkers is the number of files written (and with SyncFiles,
	// fsynced) at once. Concurrent fsyncs share journal commits, so a batch
	// costs a few commits instead of one per file; without fsync, creations
	// in one folder take the folder's lock in turn and more workers only
	// add switching.
	SyncWorkers int
	// Sync picks how temporary files are made durable; see SyncMode.
	Sync SyncMode
	// RetryMin and RetryMax bound the doubling delay after a failure.
	RetryMin, RetryMax time.Duration
	Logger             *slog.Logger
	// BatchEvents and BatchAge close an NDJSON file (FormatNDJSON) once it
	// holds that many events or its first is that old; defaults
	// DefaultBatchEvents and DefaultBatchAge.
	BatchEvents int
	BatchAge    time.Duration
	// CreateFile creates a new temporary file for writing, failing when
	// the name exists; a seam for tests that need a full disk. Nil means
	// fsutil.CreateExclusive.
	CreateFile func(path string, perm os.FileMode) (File, error)
}

// Writer writes events from a Source into the inbox folder. Run owns all
// of its state; Err and Written may be called from any goroutine.
type Writer struct {
	src     Source
	opts    Options
	tmp     string
	log     *slog.Logger
	health  atomic.Pointer[error]
	written atomic.Uint64
}

// New checks opts and fills in defaults; nothing happens until Run.
func New(src Source, opts Options) (*Writer, error) {
	if src == nil {
		return nil, errors.New("inbox: no event source")
	}
	if opts.Dir == "" {
		return nil, errors.New("inbox: no folder")
	}
	if opts.TmpDir == "" {
		return nil, errors.New("inbox: no temporary folder")
	}
	if opts.Format != FormatJSON && opts.Format != FormatSMSTools && opts.Format != FormatNDJSON {
		return nil, fmt.Errorf("inbox: unknown format %d", opts.Format)
	}
	if opts.FileMode == 0 {
		opts.FileMode = DefaultFileMode
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = DefaultRetryMin
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(DefaultRetryMax, opts.RetryMin)
	}
	switch opts.Sync {
	case SyncAuto:
		opts.Sync = SyncFiles
		if syncFSUsable() {
			opts.Sync = SyncFS
		}
	case SyncFiles:
	case SyncFS:
		if !syncFSUsable() {
			return nil, errors.New("inbox: syncfs is not available or does not report errors on this system")
		}
	default:
		return nil, fmt.Errorf("inbox: unknown sync mode %d", opts.Sync)
	}
	if opts.SyncWorkers <= 0 {
		opts.SyncWorkers = DefaultSyncWorkers
		if opts.Sync == SyncFS {
			opts.SyncWorkers = DefaultSyncFSWorkers
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BatchEvents <= 0 {
		opts.BatchEvents = DefaultBatchEvents
	}
	if opts.BatchAge <= 0 {
		opts.BatchAge = DefaultBatchAge
	}
	if opts.CreateFile == nil {
		opts.CreateFile = func(path string, perm os.FileMode) (File, error) {
			return fsutil.CreateExclusive(path, perm)
		}
	}
	return &Writer{src: src, opts: opts, tmp: opts.TmpDir, log: opts.Logger}, nil
}

// Err is the error that keeps events from being written (a full disk, a
// failing Source), or nil while the Writer is healthy.
func (w *Writer) Err() error {
	if p := w.health.Load(); p != nil {
		return *p
	}
	return nil
}

// Written is the number of files written since New.
func (w *Writer) Written() uint64 { return w.written.Load() }

// Run writes events until ctx ends, then returns nil. It returns an error
// only when the folders cannot be prepared; every later failure is retried
// with backoff and reported through Err.
func (w *Writer) Run(ctx context.Context) error {
	if err := w.prepare(); err != nil {
		return err
	}
	if w.opts.Format == FormatNDJSON {
		return w.runNDJSON(ctx)
	}
	if err := fsutil.ClearPrivateDir(w.tmp); err != nil {
		return fmt.Errorf("inbox: clear temporary folder: %w", err)
	}
	var after uint64
	b := &backoff{w: w}
	retry := func(err error) bool { return b.retry(ctx, err) }
	for {
		events, err := w.src.Events(ctx, after, w.opts.PageSize)
		if err != nil {
			if !retry(fmt.Errorf("inbox: read events: %w", err)) {
				return nil
			}
			continue
		}
		if len(events) == 0 {
			// Nothing pending and the Source answers: whatever failed
			// before no longer keeps anything from being written.
			b.recovered()
			if !w.wait(ctx) {
				return nil
			}
			continue
		}
		files := w.render(events)
		for {
			err := w.writeBatch(files)
			if err == nil {
				break
			}
			if !retry(err) {
				return nil
			}
		}
		seqs := make([]uint64, len(events))
		names := make([]string, len(events))
		byseq := make(map[uint64]string, len(files))
		for _, f := range files {
			byseq[f.seq] = f.name
		}
		for i, e := range events {
			seqs[i], names[i] = e.Seq, byseq[e.Seq]
			after = max(after, e.Seq)
		}
		// Crash story: the files are durable; a crash before this commit
		// makes the next run write the same names with the same bytes.
		for {
			err := w.src.EventsWritten(ctx, seqs, names)
			if err == nil {
				break
			}
			if !retry(fmt.Errorf("inbox: mark events written: %w", err)) {
				return nil
			}
		}
		w.written.Add(uint64(len(files)))
		b.recovered()
	}
}

// backoff is the Writer's wait after a failure: doubling from RetryMin to
// RetryMax while failures repeat, from the start again after a success.
type backoff struct {
	w     *Writer
	delay time.Duration
}

// retry records a failure for Err and waits; false means ctx ended.
func (b *backoff) retry(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	b.delay = min(max(2*b.delay, b.w.opts.RetryMin), b.w.opts.RetryMax)
	b.w.health.Store(&err)
	b.w.log.Warn("inbox: events not written; retrying", "err", err, "retry_in", b.delay)
	return sleep(ctx, b.delay)
}

// recovered says the last step worked: Err is clear, the wait starts over.
func (b *backoff) recovered() {
	b.w.healthy()
	b.delay = 0
}

// healthy clears the error Err reports.
func (w *Writer) healthy() {
	if w.health.Swap(nil) != nil {
		w.log.Info("inbox: writing events again")
	}
}

// wait blocks until a wake-up, the poll interval, or the end of ctx.
func (w *Writer) wait(ctx context.Context) bool {
	t := time.NewTimer(w.opts.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-w.opts.Ready:
	case <-t.C:
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// prepare creates the folders and checks the temporary folder: one that
// is not the agent's own is refused before anything in it is touched. Run
// then empties it of what a crash left (never through a link), after
// finishing the closed files of FormatNDJSON.
func (w *Writer) prepare() error {
	if err := os.MkdirAll(w.opts.Dir, 0o750); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	if err := fsutil.PrivateDir(w.tmp); err != nil {
		return fmt.Errorf("inbox: temporary folder: %w", err)
	}
	return nil
}

// file is one rendered event waiting to be written.
type file struct {
	seq  uint64
	name string
	data []byte
}

// render renders a page. An event whose name is unsafe is written under the
// name its sequence number gives; an event that cannot be rendered at all
// (no payload: an outbox bug) is logged and dropped, because retrying it
// would block every event behind it.
func (w *Writer) render(events []smsagent.Event) []file {
	files := make([]file, 0, len(events))
	names := make(map[string]bool, len(events))
	for _, e := range events {
		name, data, err := Render(e, w.opts.Format)
		if errors.Is(err, ErrUnsafeName) || (err == nil && names[name]) {
			w.log.Error("inbox: event file name unusable; naming it by sequence", "seq", e.Seq, "subject", e.Subject, "err", err)
			e.Subject = "e" + strconv.FormatUint(e.Seq, 10)
			name, data, err = Render(e, w.opts.Format)
		}
		if err == nil && names[name] {
			err = fmt.Errorf("inbox: event %d: name %s used twice in one batch", e.Seq, name)
		}
		if err != nil {
			w.log.Error("inbox: event cannot be written; dropped", "seq", e.Seq, "kind", e.Kind, "err", err)
			continue
		}
		names[name] = true
		files = append(files, file{seq: e.Seq, name: name, data: data})
	}
	return files
}

// writeBatch makes a page of files durable in inbox/.
//
// Crash story: before the renames only temporary files exist, and the next
// start clears them. After some renames but before the folder fsync, a power
// loss may undo renames, but no file is ever half-written under its final
// name. Either way the events are still pending and are written again.
func (w *Writer) writeBatch(files []file) (err error) {
	if len(files) == 0 {
		return nil
	}
	tmps := make([]string, len(files))
	defer func() {
		if err != nil {
			for _, p := range tmps {
				if p != "" {
					_ = fsutil.Remove(p)
				}
			}
		}
	}()
	if err := w.writeTemps(files, tmps); err != nil {
		return err
	}
	if w.opts.Sync == SyncFS {
		if err := syncFS(w.tmp); err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
	}
	for i, f := range files {
		if err := fsutil.Rename(tmps[i], filepath.Join(w.opts.Dir, f.name)); err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
		tmps[i] = ""
	}
	if err := fsutil.SyncDir(w.opts.Dir); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	return nil
}

// writeTemps writes every file into .tmp with a fixed pool of workers, each
// fsyncing its files unless the batch is flushed with syncfs afterwards. tmps[i] is set as soon as file i exists, so that a failure can
// remove partial files.
func (w *Writer) writeTemps(files []file, tmps []string) error {
	workers := min(w.opts.SyncWorkers, len(files))
	var next atomic.Int64
	var failed atomic.Bool
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				if err := w.writeTemp(files[i], &tmps[i]); err != nil {
					errs[k] = err
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (w *Writer) writeTemp(f file, tmp *string) error {
	// Temporary names come from the sequence number: unique within a
	// batch. A leftover from a failed attempt whose removal failed too is
	// removed now (as a name: a link is not followed) and the file created
	// anew; nothing is ever written through an existing name.
	path := filepath.Join(w.tmp, strconv.FormatUint(f.seq, 10)+".tmp")
	out, err := w.opts.CreateFile(path, w.opts.FileMode)
	if errors.Is(err, fs.ErrExist) {
		if err = fsutil.Remove(path); err == nil {
			out, err = w.opts.CreateFile(path, w.opts.FileMode)
		}
	}
	if err != nil {
		return fmt.Errorf("inbox: create %s: %w", f.name, err)
	}
	*tmp = path
	if _, err := out.Write(f.data); err != nil {
		_ = out.Close()
		return fmt.Errorf("inbox: write %s: %w", f.name, err)
	}
	if w.opts.Sync == SyncFiles {
		if err := out.Sync(); err != nil {
			_ = out.Close()
			return fmt.Errorf("inbox: fsync %s: %w", f.name, err)
		}
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("inbox: close %s: %w", f.name, err)
	}
	return nil
}
