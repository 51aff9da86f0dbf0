//go:build !windows

package fsutil

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
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

// ownedPrivately refuses a private folder that another user owns or that
// its group or others may write.
func ownedPrivately(dir string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		return &PrivateDirError{Dir: dir, Reason: fmt.Sprintf("it belongs to user %d, not to the agent's user %d; "+
			"remove it (the agent creates it again) or chown it to the agent's user", st.Uid, uid)}
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return &PrivateDirError{Dir: dir, Reason: fmt.Sprintf("its group or others may write in it (mode %04o); "+
			"chmod go-w it", fi.Mode().Perm())}
	}
	return nil
}

// sharedParent refuses a private folder whose parent group or others may
// write, unless the sticky bit keeps them from renaming what they do not
// own.
func sharedParent(dir string, parent fs.FileInfo) error {
	if parent.Mode().Perm()&0o022 != 0 && parent.Mode()&fs.ModeSticky == 0 {
		return &PrivateDirError{Dir: dir, Reason: fmt.Sprintf("its parent folder may be written by its group or others "+
			"(mode %04o), who could swap the folder for another; chmod go-w %s (producers need write access to "+
			"outgoing/ only)", parent.Mode().Perm(), parentOf(dir))}
	}
	return nil
}

// noFollow refuses to open a symbolic link (O_EXCL with O_CREATE already
// does; this also covers opens without them).
const noFollow = syscall.O_NOFOLLOW

// NoFollow is O_NOFOLLOW where the platform has it (0 on Windows): for
// opens that must not go through a link.
const NoFollow = noFollow

// nonBlock keeps an open of a FIFO from waiting for a writer; regular files
// ignore it.
const nonBlock = syscall.O_NONBLOCK

// linkAndRemove moves old to new by a hard link, which fails when new
// exists, then removes old. A folder cannot be linked: it is renamed after
// a check, the one case left open to a race.
func linkAndRemove(old, new string) error {
	if fi, err := os.Lstat(old); err == nil && fi.IsDir() {
		if _, err := os.Lstat(new); err == nil {
			return &os.LinkError{Op: "rename", Old: old, New: new, Err: fs.ErrExist}
		}
		return os.Rename(old, new)
	}
	if err := os.Link(old, new); err != nil {
		return err
	}
	return os.Remove(old)
}
