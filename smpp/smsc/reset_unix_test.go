//go:build unix

package smsc_test

import "syscall"

// errConnReset is what a read returns once the peer reset the connection.
const errConnReset = syscall.ECONNRESET
