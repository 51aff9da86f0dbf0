//go:build !unix

package spool_test

import "time"

// processCPU is not measured without getrusage; the benchmark reports 0.
func processCPU() time.Duration { return 0 }
