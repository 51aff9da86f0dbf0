//go:build !windows

package main

import (
	"os"
	"os/exec"
	"syscall"
)

func ownProcessGroup(*exec.Cmd) {}

// stopSignal is what systemd sends to stop a service.
func stopSignal(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
