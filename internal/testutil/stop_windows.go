//go:build windows

package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/windows"
)

// Windows has no signals to send to another process. A console program is
// stopped by Ctrl+C (or Ctrl+Break, or closing its console), which Go
// delivers as os.Interrupt; a service by the service manager. The child
// gets a console of its own, hidden, so that Ctrl+C can be raised in that
// console alone: the way that works on Windows and under Wine (Wine 8
// refuses GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, group), the usual way,
// with "invalid handle").
func prepareStop(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_NEW_CONSOLE
	cmd.SysProcAttr.HideWindow = true
}

var (
	kernel32      = windows.NewLazySystemDLL("kernel32.dll")
	freeConsole   = kernel32.NewProc("FreeConsole")
	attachConsole = kernel32.NewProc("AttachConsole")

	// consoleMu serialises stops: a process has one console at a time,
	// and stop borrows the child's.
	consoleMu sync.Mutex
	// absorb keeps the Ctrl+C this process also receives while it is
	// attached to the child's console: without a receiver Go's handler
	// exits the process (status 4 or more).
	absorb sync.Once
)

const attachParentProcess = ^uintptr(0) // ATTACH_PARENT_PROCESS, (DWORD)-1

// stop attaches this process to the child's console, raises Ctrl+C there
// and returns to its own console (the parent's).
func stop(c *Child) error {
	absorb.Do(func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt)
		go func() {
			for range ch {
			}
		}()
	})
	consoleMu.Lock()
	defer consoleMu.Unlock()
	_, _, _ = freeConsole.Call()
	defer func() {
		_, _, _ = freeConsole.Call()
		_, _, _ = attachConsole.Call(attachParentProcess)
	}()
	if r, _, err := attachConsole.Call(uintptr(c.Cmd.Process.Pid)); r == 0 {
		return fmt.Errorf("attach to the console of process %d: %w", c.Cmd.Process.Pid, err)
	}
	if err := windows.GenerateConsoleCtrlEvent(windows.CTRL_C_EVENT, 0); err != nil {
		return fmt.Errorf("Ctrl+C in the console of process %d: %w", c.Cmd.Process.Pid, err)
	}
	return nil
}
