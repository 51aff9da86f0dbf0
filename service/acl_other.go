//go:build !windows

package service

import "errors"

// restrictDir exists on Windows only; elsewhere folder modes and owners do
// the job (see makeWritablePaths and the packages).
func restrictDir(string) error {
	return errors.New("service: access control lists are set on Windows only")
}
