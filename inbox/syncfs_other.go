//go:build !linux

package inbox

import "errors"

// syncFSUsable is false: only Linux has syncfs(2).
func syncFSUsable() bool { return false }

func syncFS(string) error { return errors.New("syncfs: not supported on this system") }
