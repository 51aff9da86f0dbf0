//go:build windows

package smsc_test

import "syscall"

// errConnReset is what a read returns once the peer reset the connection:
// Winsock's own code, which syscall.ECONNRESET (a number Go invented for
// Windows) does not match.
const errConnReset = syscall.WSAECONNRESET
