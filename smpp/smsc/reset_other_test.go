//go:build !windows

package smsc_test

import "syscall"

// errConnReset is the error of a read from a connection the peer reset.
var errConnReset error = syscall.ECONNRESET
