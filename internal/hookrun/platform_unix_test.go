//go:build unix

package hookrun_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"
)

func underWine() bool { return false }

// killedWith is what an *Error says died with the program.
const killedWith = "with its process group"

// alive reports whether process pid still runs.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	// A killed grandchild whose parent died too is a zombie until init
	// reaps it, and the init of a container may never: a zombie runs no
	// more and holds no pipe.
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return false
		}
	}
	return true
}
