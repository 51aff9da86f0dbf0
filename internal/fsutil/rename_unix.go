//go:build unix && !linux

package fsutil

// RenameNoReplace renames old to new unless new exists, atomically, with a
// hard link and the removal of old: a name a neighbour creates at new at
// any moment is never replaced, and the call fails with an error matching
// fs.ErrExist.
func RenameNoReplace(old, new string) error { return linkAndRemove(old, new) }
