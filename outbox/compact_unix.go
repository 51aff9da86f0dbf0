//go:build unix

package outbox

import (
	"fmt"
	"os"
	"syscall"
)

// keepOwner gives the compacted copy the owner, group and mode of the
// database it replaces: compact usually runs as root, and the agent runs as
// its own user, which must still be able to open the file.
//
// It works on the open file, never through the name: the name is in a
// folder the service user may write, and a link swapped in would make a
// root compact change another file's owner.
func keepOwner(path string, orig os.FileInfo) error {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("outbox: compact: %w", err)
	}
	defer f.Close()
	if st, ok := orig.Sys().(*syscall.Stat_t); ok {
		if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("give the compacted copy the database's owner (%d:%d): %w; run as root or as the owner",
				st.Uid, st.Gid, err)
		}
	}
	return f.Chmod(orig.Mode().Perm())
}
