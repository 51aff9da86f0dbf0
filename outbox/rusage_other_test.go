//go:build !unix

package outbox

// processCPU is not measured on this platform; the benchmarks then report
// wall-clock rates only.
func processCPU() float64 { return 0 }
