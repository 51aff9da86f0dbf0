//go:build linux

package inbox

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// syncFSUsable reports whether syncfs(2) can stand in for per-file fsync:
// only from Linux 5.8 on does it report writeback errors (before, a failed
// write-back was silently lost).
var syncFSUsable = sync.OnceValue(func() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	major, minor, ok := kernelVersion(unix.ByteSliceToString(u.Release[:]))
	return ok && (major > 5 || major == 5 && minor >= 8)
})

// kernelVersion reads "6.18.44-fc" as 6, 18.
func kernelVersion(release string) (major, minor int, ok bool) {
	maj, rest, _ := strings.Cut(release, ".")
	mnr, _, _ := strings.Cut(rest, ".")
	mnr = strings.TrimRightFunc(mnr, func(r rune) bool { return r < '0' || r > '9' })
	var err1, err2 error
	major, err1 = strconv.Atoi(maj)
	minor, err2 = strconv.Atoi(mnr)
	return major, minor, err1 == nil && err2 == nil
}

// syncFS flushes every dirty page and inode of the file system holding dir
// and waits for the device: one journal commit for a whole batch.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}
