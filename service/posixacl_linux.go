package service

import (
	"errors"
	"fmt"
	"syscall"
)

// readACL returns a file's POSIX access ACL, nil when it has none beyond
// its mode (or the file system keeps none).
func readACL(p string) ([]aclEntry, error) {
	buf := make([]byte, 256)
	for {
		n, err := syscall.Getxattr(p, "system.posix_acl_access", buf)
		switch {
		case err == nil:
			acl, perr := parseACL(buf[:n])
			if perr != nil {
				return nil, fmt.Errorf("access ACL of %s: %w", p, perr)
			}
			return acl, nil
		case errors.Is(err, syscall.ERANGE) && len(buf) < 1<<16:
			buf = make([]byte, 2*len(buf))
		case errors.Is(err, syscall.ENODATA), errors.Is(err, syscall.ENOTSUP):
			return nil, nil
		default:
			return nil, fmt.Errorf("access ACL of %s: %w", p, err)
		}
	}
}
