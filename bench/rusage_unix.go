//go:build unix

package bench

import (
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
)

type rusage struct {
	cpu     time.Duration
	peakRSS int64 // bytes
}

// usage is the process's CPU time (user + system) and peak resident set,
// from getrusage(2).
func usage() rusage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return rusage{}
	}
	rss := int64(ru.Maxrss)
	if runtime.GOOS != "darwin" {
		rss *= 1024 // kilobytes everywhere but macOS
	}
	return rusage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), peakRSS: rss}
}

// loadAverage is /proc/loadavg's first three fields, or "" where there is
// none: the figures only mean something on a machine otherwise idle.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
