//go:build windows

package fsutil

import (
	"errors"
	"io/fs"
	"os"
)

// RenameNoReplace renames old to new unless new exists; the call fails
// with an error matching fs.ErrExist. Windows has no atomic form: between
// the check and the rename a neighbour's new file could be replaced, which
// only someone who may write the folder anyway can arrange.
func RenameNoReplace(old, new string) error {
	if _, err := os.Lstat(new); err == nil {
		return &os.LinkError{Op: "rename", Old: old, New: new, Err: fs.ErrExist}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return Rename(old, new)
}
