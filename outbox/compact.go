package outbox

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/smsagent/smsagent/internal/fsutil"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// compactTxSize bounds the transactions of Compact so memory stays flat.
const compactTxSize = 64 << 20

// Compact copies the outbox at src into a new file dst, leaving out the free
// pages a bbolt file never returns to the file system. It is an offline
// operation: it fails with ErrLocked while an agent holds src. dst must not
// exist. The caller swaps the files (rename dst over src) while the agent is
// stopped.
//
// Crash story: src is only read. A crash leaves a partial dst, which the
// next attempt refuses (it exists); delete it and run again.
func Compact(src, dst string) (err error) {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("outbox: compact: %s exists", dst)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("outbox: compact: %w", err)
	}
	if err := checkLength(src); err != nil {
		return err
	}
	in, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true, Timeout: DefaultLockTimeout})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return &LockedError{Path: src, Timeout: DefaultLockTimeout}
		}
		return fmt.Errorf("outbox: compact: open %s: %w", src, err)
	}
	defer func() {
		if cerr := in.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("outbox: compact: close %s: %w", src, cerr)
		}
	}()
	if err := viewChecked(in, checkSchema); err != nil {
		return fmt.Errorf("outbox: compact %s: %w", src, err)
	}
	// The copy is created new, never opened through a name someone put
	// there: compact usually runs as root, in a folder the service user
	// may write, and a link planted at dst would otherwise make root write
	// wherever it points.
	out, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: DefaultLockTimeout, FreelistType: bolt.FreelistMapType,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			return os.OpenFile(name, flag|os.O_CREATE|os.O_EXCL|fsutil.NoFollow, perm)
		}})
	if err != nil {
		return fmt.Errorf("outbox: compact: create %s: %w", dst, err)
	}
	if err := bolt.Compact(out, in, compactTxSize); err != nil {
		_ = out.Close()
		return fmt.Errorf("outbox: compact %s into %s: %w", src, dst, err)
	}
	// Every transaction of Compact committed with fsync; Close releases the
	// lock and the mapping.
	if err := out.Close(); err != nil {
		return fmt.Errorf("outbox: compact: close %s: %w", dst, err)
	}
	return nil
}

// DefaultCompactLockGrace is how long CompactInPlace keeps the old file
// locked after swapping in the compacted one: longer than an agent's wait
// for the lock (DefaultLockTimeout), so an agent that opened the old file
// during the swap gives up instead of running on a file that is no longer
// the database.
const DefaultCompactLockGrace = DefaultLockTimeout + 500*time.Millisecond

// ErrOpenedDuringCompact is returned by CompactInPlace when an agent took
// the database between the copy and the swap. Nothing was replaced.
var ErrOpenedDuringCompact = errors.New("outbox: an agent opened the database while it was being compacted; nothing was changed")

// CompactResult is what CompactInPlace did: the file's size before and
// after.
type CompactResult struct {
	Before, After int64
}

// CompactInPlace compacts the outbox at path into a hidden temporary file
// beside it, checks the copy (its invariants, and the same counts by state
// as the original), gives it the original's owner, group and mode, and
// renames it over the original. It fails with ErrLocked while an agent
// holds path. lockGrace is how long the old file stays locked after the
// swap (DefaultCompactLockGrace; tests pass 0).
//
// Crash story: until the rename the original is untouched and only read; a
// crash leaves a hidden .compact-*.tmp file beside it, which a later run
// does not reuse and which may be deleted. The copy is complete and synced
// (every bbolt commit of Compact, then an fsync after the owner and mode
// are set) before the rename; the folder is synced after it. So the path
// names either the old file or the complete new one.
//
// An agent started meanwhile: during the copy it cannot lock the file and
// fails with "in use"; between the copy and the swap the file is locked
// again (a failure to do so means the agent won the race, and nothing is
// replaced: ErrOpenedDuringCompact); after the swap the old file stays
// locked for lockGrace, so an agent that opened it in that moment gives up
// too. On Windows, which refuses to replace an open file, the rename fails
// instead and the agent runs on the original.
func CompactInPlace(path string, lockGrace time.Duration) (res CompactResult, err error) {
	before, err := os.Stat(path)
	if err != nil {
		return res, fmt.Errorf("outbox: compact: %w", err)
	}
	// The state folder is the service's own (never a producer's), so a
	// name derived from the process id cannot be planted by anyone who
	// could not replace the database itself; Compact refuses a name that
	// exists.
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".compact-"+strconv.Itoa(os.Getpid())+".tmp")
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err := Compact(path, tmp); err != nil {
		return res, err
	}
	held, err := Open(path, Options{ReadOnly: true, LockTimeout: 100 * time.Millisecond})
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return res, ErrOpenedDuringCompact
		}
		return res, err
	}
	release := func() { _ = held.Close(context.Background()) }
	defer func() { release() }()
	if err := verifyCompacted(held, tmp); err != nil {
		return res, err
	}
	if err := keepOwner(tmp, before); err != nil {
		return res, err
	}
	if err := syncFile(tmp); err != nil {
		return res, err
	}
	if runtime.GOOS == "windows" {
		release()
		release = func() {}
	}
	if err := fsutil.Rename(tmp, path); err != nil {
		return res, fmt.Errorf("outbox: compact: replace %s: %w", path, err)
	}
	if err := fsutil.SyncDir(filepath.Dir(path)); err != nil {
		return res, fmt.Errorf("outbox: compact: %w", err)
	}
	if runtime.GOOS != "windows" {
		time.Sleep(lockGrace)
	}
	after, err := os.Stat(path)
	if err != nil {
		return res, fmt.Errorf("outbox: compact: %w", err)
	}
	return CompactResult{Before: before.Size(), After: after.Size()}, nil
}

// verifyCompacted checks the compacted file's invariants and that it counts
// the same messages, receipts awaited and events as the original.
func verifyCompacted(orig *Store, tmp string) error {
	ctx := context.Background()
	cp, err := Open(tmp, Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("outbox: check the compacted copy: %w", err)
	}
	defer cp.Close(ctx)
	if err := cp.Check(); err != nil {
		return fmt.Errorf("outbox: check the compacted copy: %w", err)
	}
	a, err := orig.Stats(ctx)
	if err != nil {
		return err
	}
	b, err := cp.Stats(ctx)
	if err != nil {
		return err
	}
	if !maps.Equal(a.ByState, b.ByState) || a.Awaiting != b.Awaiting || a.Events != b.Events {
		return fmt.Errorf("outbox: the compacted copy counts %v, the database %v; nothing was changed", b.ByState, a.ByState)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("outbox: compact: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("outbox: compact: fsync %s: %w", path, err)
	}
	return f.Close()
}
