//go:build windows

package main

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// ownProcessGroup starts the process in a group of its own, so that a
// Ctrl+Break can be sent to it alone.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// stopSignal is Ctrl+Break: Windows has no SIGTERM for another process, and
// the agent stops on Ctrl+C and Ctrl+Break in a console (os.Interrupt).
func stopSignal(p *os.Process) error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(p.Pid))
}
