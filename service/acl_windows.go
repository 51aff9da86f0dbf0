//go:build windows

package service

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// privateSDDL is a protected DACL (no ACEs inherited from the parent) that
// gives full control to LocalSystem, which the service runs as, and to the
// Administrators group, inherited by every file and folder below. Under
// %ProgramData% ordinary users could otherwise read the configuration with
// the SMPP password, and the queue.
const privateSDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// restrictDir replaces dir's DACL with privateSDDL. SetNamedSecurityInfo
// propagates the inheritable entries to what the folder already holds.
func restrictDir(dir string) error {
	sd, err := windows.SecurityDescriptorFromString(privateSDDL)
	if err != nil {
		return fmt.Errorf("service: security descriptor: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("service: security descriptor: %w", err)
	}
	err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("service: restrict %s to SYSTEM and Administrators: %w", dir, err)
	}
	return nil
}
