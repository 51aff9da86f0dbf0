//go:build unix

package hookrun

import (
	"errors"
	"os/exec"
	"syscall"
)

// group is the command's process group: the command leads a new one, and a
// kill signals every process in it (those that left it on purpose, with
// setsid or setpgid, escape; a daemon does that).
type group struct{ cmd *exec.Cmd }

func newGroup(cmd *exec.Cmd) *group {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return &group{cmd: cmd}
}

func (g *group) started() {}

func (g *group) kill() error {
	err := syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil // every process of the group has exited already
	}
	return err
}

// close kills what the command left in its group: a run ends whole. The
// group's id is not reused while any process is in it, so this signals
// the leftovers or, when there are none, nothing.
func (g *group) close() {
	if g.cmd.Process != nil {
		_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
	}
}
