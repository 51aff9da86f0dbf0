//go:build unix

package testutil

import (
	"os/exec"
	"syscall"
)

// prepareStop has nothing to prepare: a signal reaches any process.
func prepareStop(*exec.Cmd) {}

// stop sends SIGTERM, what systemd and kill(1) send.
func stop(c *Child) error { return c.Cmd.Process.Signal(syscall.SIGTERM) }
