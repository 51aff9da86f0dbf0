//go:build windows

package hookrun_test

import (
	"errors"

	"golang.org/x/sys/windows"
)

// underWine reports whether this Windows is Wine, whose ntdll alone has
// wine_get_version.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// killedWith is what an *Error says died with the program.
const killedWith = "with its job object"

// stillActive is the exit code GetExitCodeProcess gives a running process
// (STILL_ACTIVE, which golang.org/x/sys/windows does not name).
const stillActive = 259

// alive reports whether process pid still runs.
func alive(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
		return false // no process has that id
	}
	if err != nil {
		return true // it exists, but is not ours to look at
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return true
	}
	return code == stillActive
}
