package inbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/fsutil"
)

// Defaults of the NDJSON format.
const (
	DefaultBatchEvents = 1000
	DefaultBatchAge    = time.Second
)

// The temporary names of FormatNDJSON in TmpDir: the file being filled,
// and a closed one waiting for its events to be marked written.
const (
	openPrefix   = "open-"
	closedPrefix = "closed-"
	batchSuffix  = ".events.ndjson"
)

// batch is the NDJSON file being filled.
type batch struct {
	f      *os.File
	buf    *bufio.Writer
	path   string
	name   string // its name once in the inbox, known from its first event
	first  uint64 // its first event
	seqs   []uint64
	opened time.Time
}

// runNDJSON is Run for FormatNDJSON: events are appended to one file,
// which is closed and renamed into the inbox once it holds BatchEvents
// events or its first is BatchAge old.
//
// Crash story. An event is marked written only once the file holding it is
// durable and cannot be lost or doubled:
//  1. the events are appended to TmpDir/open-…; a crash here loses the file,
//     whose events are still pending and go into a later file;
//  2. closing: fsync the file, rename it to TmpDir/closed-NAME, fsync TmpDir;
//  3. EventsWritten for its events (one commit);
//  4. rename it to inbox/NAME, fsync the inbox.
//
// At start, a closed-NAME whose first event is still pending was left
// before step 3 and is deleted (its events are written again); one whose
// events are written was left before step 4 and is renamed in. So the set
// of closed files in the inbox holds every event once, and no file is ever
// seen half written.
func (w *Writer) runNDJSON(ctx context.Context) error {
	if err := w.recoverBatches(ctx); err != nil {
		return err
	}
	if err := fsutil.ClearPrivateDir(w.tmp); err != nil {
		return fmt.Errorf("inbox: clear temporary folder: %w", err)
	}
	var after uint64
	var cur *batch
	b := &backoff{w: w}
	retry := func(err error) bool { return b.retry(ctx, err) }
	// discard drops the open file; its events are read again.
	discard := func() {
		if cur != nil {
			if cur.f != nil {
				_ = cur.f.Close()
			}
			_ = fsutil.Remove(cur.path)
			after = cur.first - 1
			cur = nil
		}
	}
	defer discard()
	for ctx.Err() == nil {
		if cur != nil && (len(cur.seqs) >= w.opts.BatchEvents || time.Since(cur.opened) >= w.opts.BatchAge) {
			if err := w.closeBatch(ctx, cur); err != nil {
				if errors.Is(err, errMarkPending) {
					// The file is closed and durable in TmpDir; only the
					// commit failed: try that again, never the file.
					if !retry(err) {
						return nil
					}
					continue
				}
				discard()
				if !retry(err) {
					return nil
				}
				continue
			}
			cur = nil
			b.recovered()
		}
		events, err := w.src.Events(ctx, after, w.opts.PageSize)
		if err != nil {
			if !retry(fmt.Errorf("inbox: read events: %w", err)) {
				return nil
			}
			continue
		}
		if len(events) == 0 {
			b.recovered()
			if cur == nil {
				if !w.wait(ctx) {
					return nil
				}
			} else if !w.waitUntil(ctx, cur.opened.Add(w.opts.BatchAge)) {
				return nil
			}
			continue
		}
		for _, e := range events {
			after = max(after, e.Seq)
			if cur == nil {
				if cur, err = w.openBatch(e); err != nil {
					if !retry(err) {
						return nil
					}
					after = e.Seq - 1
					break
				}
			}
			if err := w.appendEvent(cur, e); err != nil {
				discard()
				if !retry(err) {
					return nil
				}
				break
			}
			if len(cur.seqs) >= w.opts.BatchEvents {
				break
			}
		}
	}
	return nil
}

// errMarkPending is closeBatch's error when the file is closed but its
// events could not be marked written.
var errMarkPending = errors.New("inbox: mark events written")

// openBatch starts a file at event e.
func (w *Writer) openBatch(e smsagent.Event) (*batch, error) {
	stamp, _, _ := strings.Cut(e.FileName(), "-")
	name := stamp + "-e" + strconv.FormatUint(e.Seq, 10)
	path := filepath.Join(w.tmp, openPrefix+strconv.FormatUint(e.Seq, 10)+batchSuffix)
	f, err := w.opts.CreateFile(path, w.opts.FileMode)
	if errors.Is(err, fs.ErrExist) {
		if err = fsutil.Remove(path); err == nil {
			f, err = w.opts.CreateFile(path, w.opts.FileMode)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: create %s: %w", path, err)
	}
	osf, ok := f.(*os.File)
	if !ok {
		_ = f.Close()
		return nil, fmt.Errorf("inbox: %s is not a file", path)
	}
	return &batch{f: osf, buf: bufio.NewWriterSize(osf, 64<<10), path: path, name: name, first: e.Seq,
		opened: time.Now()}, nil
}

// appendEvent adds e's line. An event that cannot be rendered (no payload:
// an outbox bug) is logged and counted as written without a line, as the
// one-file formats drop it: retrying would block every event behind it.
func (w *Writer) appendEvent(b *batch, e smsagent.Event) error {
	line, err := RenderLine(e)
	if err != nil {
		w.log.Error("inbox: event cannot be written; dropped", "seq", e.Seq, "kind", e.Kind, "err", err)
	} else if _, err := b.buf.Write(line); err != nil {
		return fmt.Errorf("inbox: write %s: %w", b.path, err)
	}
	b.seqs = append(b.seqs, e.Seq)
	return nil
}

// closeBatch makes the file durable, marks its events written and renames
// it into the inbox (steps 2 to 4 of runNDJSON's crash story).
func (w *Writer) closeBatch(ctx context.Context, b *batch) error {
	if b.f != nil {
		if err := b.buf.Flush(); err != nil {
			return fmt.Errorf("inbox: write %s: %w", b.path, err)
		}
		if err := b.f.Sync(); err != nil {
			return fmt.Errorf("inbox: fsync %s: %w", b.path, err)
		}
		if err := b.f.Close(); err != nil {
			return fmt.Errorf("inbox: close %s: %w", b.path, err)
		}
		b.f = nil
		b.name += "-e" + strconv.FormatUint(b.seqs[len(b.seqs)-1], 10) + batchSuffix
		closed := filepath.Join(w.tmp, closedPrefix+b.name)
		if err := fsutil.Rename(b.path, closed); err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
		b.path = closed
		if err := fsutil.SyncDir(w.tmp); err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
	}
	names := make([]string, len(b.seqs))
	for i := range names {
		names[i] = b.name
	}
	if err := w.src.EventsWritten(ctx, b.seqs, names); err != nil {
		return fmt.Errorf("%w: %w", errMarkPending, err)
	}
	if err := w.moveIn(b.path, b.name); err != nil {
		// The events are written: the file is renamed in at the next
		// start (recoverBatches) if not before.
		w.log.Error("inbox: a closed NDJSON file waits in the temporary folder", "file", b.name, "err", err)
		return nil
	}
	w.written.Add(uint64(len(b.seqs)))
	return nil
}

// moveIn renames a closed file into the inbox and makes the rename durable.
func (w *Writer) moveIn(path, name string) error {
	if err := fsutil.Rename(path, filepath.Join(w.opts.Dir, name)); err != nil {
		return err
	}
	return fsutil.SyncDir(w.opts.Dir)
}

// recoverBatches finishes the closed files a crash left in TmpDir: renamed
// into the inbox when their events are marked written, deleted otherwise.
func (w *Writer) recoverBatches(ctx context.Context) error {
	names, err := readDirNames(w.tmp)
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	for _, n := range names {
		name, ok := strings.CutPrefix(n, closedPrefix)
		if !ok {
			continue
		}
		first, ok := firstSeq(name)
		path := filepath.Join(w.tmp, n)
		if !ok {
			continue // not ours: ClearPrivateDir removes it
		}
		pending, err := w.src.Events(ctx, first-1, 1)
		if err != nil {
			return fmt.Errorf("inbox: recover %s: %w", n, err)
		}
		if len(pending) > 0 && pending[0].Seq == first {
			continue // before its commit: removed, its events written again
		}
		if err := w.moveIn(path, name); err != nil {
			return fmt.Errorf("inbox: recover %s: %w", n, err)
		}
	}
	return nil
}

// firstSeq reads the first event's sequence from "<stamp>-e<first>-e<last>…".
func firstSeq(name string) (uint64, bool) {
	parts := strings.Split(strings.TrimSuffix(name, batchSuffix), "-e")
	if len(parts) != 3 {
		return 0, false
	}
	n, err := strconv.ParseUint(parts[1], 10, 64)
	return n, err == nil && n > 0
}

// waitUntil blocks until t, a wake-up, or the end of ctx.
func (w *Writer) waitUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-w.opts.Ready:
	case <-timer.C:
	}
	return true
}

func readDirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}
