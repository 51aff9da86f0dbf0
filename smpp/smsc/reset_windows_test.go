//go:build windows

package smsc_test

import "syscall"

// errConnReset is the error of a read from a connection the peer reset:
// Winsock's own code, which syscall.ECONNRESET (a number Go invents on
// Windows) does not match.
var errConnReset error = syscall.Errno(10054) // WSAECONNRESET
