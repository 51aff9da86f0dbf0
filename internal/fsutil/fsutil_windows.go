//go:build windows

package fsutil

import (
	"errors"
	"io/fs"
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

// ownedPrivately has nothing to check on Windows: a private folder's access
// is its ACL, which the service installation sets (package service), and a
// Windows link cannot be made without a privilege producers do not have.
func ownedPrivately(string, fs.FileInfo) error { return nil }

// sharedParent: as ownedPrivately.
func sharedParent(string, fs.FileInfo) error { return nil }

// noFollow: Windows has no such flag; O_EXCL refuses an existing name,
// links included.
const noFollow = 0

// NoFollow is O_NOFOLLOW where the platform has it (0 on Windows): for
// opens that must not go through a link.
const NoFollow = noFollow

// nonBlock: opening a file never waits on Windows.
const nonBlock = 0
