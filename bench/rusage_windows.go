//go:build windows

package bench

import (
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

type rusage struct {
	cpu     time.Duration
	peakRSS int64 // bytes: the peak working set, Windows' resident set
}

// processMemoryCounters is PROCESS_MEMORY_COUNTERS (psapi.h).
type processMemoryCounters struct {
	cb                         uint32
	pageFaultCount             uint32
	peakWorkingSetSize         uintptr
	workingSetSize             uintptr
	quotaPeakPagedPoolUsage    uintptr
	quotaPagedPoolUsage        uintptr
	quotaPeakNonPagedPoolUsage uintptr
	quotaNonPagedPoolUsage     uintptr
	pagefileUsage              uintptr
	peakPagefileUsage          uintptr
}

// K32GetProcessMemoryInfo is psapi's GetProcessMemoryInfo, in kernel32
// since Windows 7.
var getProcessMemoryInfo = windows.NewLazySystemDLL("kernel32.dll").NewProc("K32GetProcessMemoryInfo")

// usage is the process's CPU time (user + kernel, GetProcessTimes) and its
// peak working set (GetProcessMemoryInfo); a figure that cannot be read
// stays zero and prints as "n/a".
func usage() rusage {
	var ru rusage
	p := windows.CurrentProcess()
	var creation, exit, kernel, user windows.Filetime
	if windows.GetProcessTimes(p, &creation, &exit, &kernel, &user) == nil {
		// Filetime counts 100 ns units; Nanoseconds() would take it for
		// a date since 1601.
		ticks := func(f windows.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
		ru.cpu = time.Duration(ticks(kernel)+ticks(user)) * 100
	}
	var mc processMemoryCounters
	mc.cb = uint32(unsafe.Sizeof(mc))
	if r, _, _ := getProcessMemoryInfo.Call(uintptr(p), uintptr(unsafe.Pointer(&mc)), uintptr(mc.cb)); r != 0 {
		ru.peakRSS = int64(mc.peakWorkingSetSize)
	}
	return ru
}

// loadAverage is "": Windows keeps no load average.
func loadAverage() string { return "" }
