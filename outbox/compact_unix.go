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
func keepOwner(path string, orig os.FileInfo) error {
	if st, ok := orig.Sys().(*syscall.Stat_t); ok {
		if err := os.Chown(path, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("give the compacted copy the database's owner (%d:%d): %w; run as root or as the owner",
				st.Uid, st.Gid, err)
		}
	}
	return os.Chmod(path, orig.Mode().Perm())
}
