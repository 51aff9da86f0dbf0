package fsutil

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// RenameNoReplace renames old to new unless new exists, atomically: a
// name a neighbour creates at new at any moment is never replaced, and the
// call fails with an error matching fs.ErrExist. Linux: renameat2 with
// RENAME_NOREPLACE; on a file system without it, a hard link and the
// removal of old, which is as safe.
func RenameNoReplace(old, new string) error {
	err := unix.Renameat2(unix.AT_FDCWD, old, unix.AT_FDCWD, new, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return linkAndRemove(old, new)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: old, New: new, Err: err}
	}
	return nil
}
