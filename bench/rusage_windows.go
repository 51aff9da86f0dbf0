//go:build windows

package bench

import (
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

type rusage struct {
	cpu     time.Duration
	peakRSS int64 // bytes
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

var getProcessMemoryInfo = windows.NewLazySystemDLL("kernel32.dll").NewProc("K32GetProcessMemoryInfo")

// usage is the process's CPU time (user + kernel, GetProcessTimes) and
// peak working set (K32GetProcessMemoryInfo), Windows' resident set.
func usage() rusage {
	h := windows.CurrentProcess()
	var creation, exit, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &creation, &exit, &kernel, &user); err != nil {
		return rusage{}
	}
	// Filetime counts 100 ns intervals.
	ticks := func(f windows.Filetime) time.Duration {
		return time.Duration(int64(f.HighDateTime)<<32|int64(f.LowDateTime)) * 100
	}
	ru := rusage{cpu: ticks(kernel) + ticks(user)}
	var pmc processMemoryCounters
	pmc.cb = uint32(unsafe.Sizeof(pmc))
	if ok, _, _ := getProcessMemoryInfo.Call(uintptr(h), uintptr(unsafe.Pointer(&pmc)), uintptr(pmc.cb)); ok != 0 {
		ru.peakRSS = int64(pmc.peakWorkingSetSize)
	}
	return ru
}

// loadAverage: Windows has none.
func loadAverage() string { return "" }
