//go:build !unix && !windows

package bench

import "time"

type rusage struct {
	cpu     time.Duration
	peakRSS int64
}

// usage is not measured here: the table says "n/a".
func usage() rusage { return rusage{} }

func loadAverage() string { return "" }
