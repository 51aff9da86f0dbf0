package spool_test

import "time"

// processCPU is not measured on Windows; the benchmark reports 0.
func processCPU() time.Duration { return 0 }
