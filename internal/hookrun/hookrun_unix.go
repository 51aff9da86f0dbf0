//go:build unix

package hookrun

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// procGroup is the program's process group: with Setpgid and Pgid 0 the
// program leads a new group whose id is its pid, and what it starts joins
// that group unless it asks otherwise (setsid, a daemonizing double fork).
// Being out of the agent's group also keeps a Ctrl+C in the agent's
// terminal from reaching the hook: the agent decides when it dies.
type procGroup struct{}

func newGroup(cmd *exec.Cmd) *procGroup {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return &procGroup{}
}

func (*procGroup) start(cmd *exec.Cmd) error { return cmd.Start() }

// kill sends SIGKILL to every process of the group. The group outlives its
// leader while any member lives, and the leader's pid cannot be reused
// before cmd.Wait reaps it, so -pid names no stranger's group here.
func (*procGroup) kill(cmd *exec.Cmd) error {
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ESRCH):
		// No member left: the program exited just before the deadline.
		return os.ErrProcessDone
	default:
		// EPERM from a member that changed its user (a setuid program):
		// the program itself can still be killed.
		return cmd.Process.Kill()
	}
}

// release has nothing to free: a process group is no resource of ours.
func (*procGroup) release(killed bool) {}

func (*procGroup) killedWith() string { return "with its process group" }
