//go:build !windows

package fsutil

import (
	"fmt"
	"os"
)

// SyncDir fsyncs a folder so that renames and creations in it survive a
// power loss.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open folder for fsync: %w", err)
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return fmt.Errorf("fsync folder %s: %w", dir, err)
	}
	return d.Close()
}

// IsTransient reports whether err may go away by itself shortly. On Unix
// systems no file error does.
func IsTransient(err error) bool { return false }
