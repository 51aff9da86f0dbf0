//go:build unix

package hookrun_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// alive reports whether pid runs; a zombie (killed, not yet reaped by
// whichever process adopted it) does not.
func alive(pid int) bool {
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
		// "pid (comm) S ...": the state follows the last ')'.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
			return s[i+2] != 'Z' && s[i+2] != 'X'
		}
		return true
	} else if _, statErr := os.Stat("/proc/self/stat"); statErr == nil {
		return false // a /proc without this pid
	}
	return syscall.Kill(pid, 0) == nil
}
