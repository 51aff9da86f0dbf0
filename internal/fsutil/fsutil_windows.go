//go:build windows

package fsutil

import (
	"errors"
	"syscall"
)

// SyncDir is a no-op on Windows: NTFS journals metadata and Windows has no
// way to fsync a folder handle opened for reading.
func SyncDir(dir string) error { return nil }

const (
	errorAccessDenied     syscall.Errno = 5
	errorSharingViolation syscall.Errno = 32
	errorLockViolation    syscall.Errno = 33
)

// IsTransient reports whether err is one of the errors Windows returns while
// another process (a scanner, an indexer, the producer) still holds the file.
func IsTransient(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case errorAccessDenied, errorSharingViolation, errorLockViolation:
		return true
	}
	return false
}
