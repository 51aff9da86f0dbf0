package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotPrivate is the cause when a folder the agent keeps to itself is a
// symbolic link, not a folder, or could be changed by someone else.
var ErrNotPrivate = errors.New("not a private folder")

// PrivateDirError says why dir cannot serve as a private folder and what a
// person does about it. It matches ErrNotPrivate.
type PrivateDirError struct {
	Dir    string
	Reason string
}

func (e *PrivateDirError) Error() string {
	return fmt.Sprintf("%s: %s: %s; nothing in it was touched", e.Dir, ErrNotPrivate, e.Reason)
}

// Is makes errors.Is(err, ErrNotPrivate) true.
func (e *PrivateDirError) Is(target error) bool { return target == ErrNotPrivate }

// PrivateDir makes sure dir is a folder only the agent can change: it
// creates it (mode 0700, its parent must exist) when it is missing, and
// refuses with a *PrivateDirError, without changing or deleting anything, a
// dir that is a symbolic link or something other than a folder, or (Unix)
// that is not owned by the process's user or that its group or others may
// write. The parent must not be writable by group or others either:
// whoever may rename entries of the parent may swap the folder for another.
//
// Private folders hold temporary files and claimed files, and the agent
// empties the temporary ones at start: a folder a producer could replace
// with a link would let them make the agent delete or overwrite files
// anywhere it can write, its queue database included.
func PrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return err
	}
	if err := privateInfo(dir, fi); err != nil {
		return err
	}
	parent, err := os.Stat(parentOf(dir))
	if err != nil {
		return err
	}
	return sharedParent(dir, parent)
}

// privateInfo checks what Lstat said of a private folder.
func privateInfo(dir string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return &PrivateDirError{Dir: dir, Reason: "it is a symbolic link (someone replaced the agent's folder); " +
			"remove the link, then start the agent, which creates the folder again"}
	case !fi.IsDir():
		return &PrivateDirError{Dir: dir, Reason: "it is not a folder; remove or rename what is there"}
	}
	return ownedPrivately(dir, fi)
}

// ClearPrivateDir removes every entry of the private folder dir (checked
// with PrivateDir first) without following links: an entry that is a link
// is removed as a link, a folder is removed with what it holds, and nothing
// outside dir is touched even if dir is swapped for a link meanwhile,
// since every removal goes through a handle on the folder itself.
func ClearPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if err := privateInfo(dir, fi); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	// The handle must be the folder that was checked, not something
	// swapped in between the Lstat and the open.
	opened, err := root.Stat(".")
	if err != nil {
		return err
	}
	if !os.SameFile(fi, opened) {
		return &PrivateDirError{Dir: dir, Reason: "it changed while the agent opened it"}
	}
	d, err := root.Open(".")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if err := root.RemoveAll(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// parentOf is dir's parent folder, "." for a bare name.
func parentOf(dir string) string {
	return filepath.Dir(filepath.Clean(dir))
}
