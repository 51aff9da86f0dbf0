// Package fsutil holds the file-system steps every durable write in smsagent
// takes: write a temporary file, fsync it, close it, rename it into place,
// fsync the folder. Each step's error is returned; none is skipped.
//
// Crash story of WriteFile: if the process dies before the rename, only a
// temporary file exists (callers clear their temporary folder at start); after
// the rename but before the folder fsync, a power loss may undo the rename but
// never leaves a half-written file under the final name.
package fsutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

var tmpCounter atomic.Uint64

// WriteFile writes data to path durably and atomically. The temporary file
// is created in tmpDir, which must be on the same file system as path (an
// empty tmpDir means path's own folder). perm applies to the new file.
func WriteFile(path string, data []byte, perm os.FileMode, tmpDir string) (err error) {
	tmp, err := WriteTemp(tmpDir, filepath.Base(path), data, perm)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err := Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// WriteTemp writes data into a new file in dir, fsyncs and closes it, and
// returns its path. The name starts with "." and ends in ".tmp" so spool
// scanners skip it. The caller renames it into place and fsyncs the target
// folder; until then a crash leaves only the temporary file.
func WriteTemp(dir, base string, data []byte, perm os.FileMode) (path string, err error) {
	if dir == "" {
		dir = "."
	}
	// The base only helps a person recognise a leftover; cut it so the
	// whole name stays far below a file system's 255 bytes whatever the
	// target's name.
	if len(base) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(base[cut]) {
			cut--
		}
		base = base[:cut]
	}
	name := "." + base + "." + strconv.Itoa(os.Getpid()) + "-" +
		strconv.FormatUint(tmpCounter.Add(1), 10) + ".tmp"
	path = filepath.Join(dir, name)
	f, err := CreateExclusive(path, perm)
	if err != nil {
		return "", fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(path)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("fsync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close %s: %w", path, err)
	}
	return path, nil
}

// CreateExclusive creates a new file at path for writing. It never opens
// an existing file and never follows a link: a name someone planted (a
// link to the queue database, say) makes it fail with fs.ErrExist instead
// of writing through it.
func CreateExclusive(path string, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, perm)
}

// Rename renames old to new, retrying for a bounded time while the platform
// reports that another process holds one of the files (Windows: an
// antivirus scanner, an indexer, the producer still closing the file).
func Rename(old, new string) error {
	return retry(func() error { return os.Rename(old, new) })
}

// Remove removes path with the same bounded retry as Rename. A missing file
// is not an error: the caller wanted it gone.
func Remove(path string) error {
	err := retry(func() error { return os.Remove(path) })
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Open opens path for reading with the same bounded retry as Rename.
func Open(path string) (*os.File, error) {
	var f *os.File
	err := retry(func() error {
		var err error
		f, err = os.Open(path)
		return err
	})
	return f, err
}

// ErrNotRegular is the cause when OpenRegular finds something other than a
// regular file: a folder, a link, a FIFO, a device or a socket.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens path for reading only if it is a regular file, with
// the same bounded retry as Rename. It never follows a link and never
// blocks on a FIFO or a device a neighbour placed under an expected name
// (Unix: O_NOFOLLOW|O_NONBLOCK, then the open file is checked to be the
// regular file Lstat saw).
func OpenRegular(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	var f *os.File
	err = retry(func() error {
		var err error
		f, err = os.OpenFile(path, os.O_RDONLY|noFollow|nonBlock, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	opened, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if !opened.Mode().IsRegular() || !os.SameFile(fi, opened) {
		_ = f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	return f, nil
}

// RetryBudget bounds how long Rename, Remove and Open keep retrying a
// transient error. Variables so tests of callers can shorten them.
var (
	RetryBudget = 2 * time.Second
	retryFirst  = 5 * time.Millisecond
)

func retry(op func() error) error {
	deadline := time.Now().Add(RetryBudget)
	delay := retryFirst
	for {
		err := op()
		if err == nil || !IsTransient(err) || time.Now().Add(delay).After(deadline) {
			return err
		}
		time.Sleep(delay)
		delay *= 2
	}
}
