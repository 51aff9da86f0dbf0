//go:build !unix

package outbox

import "os"

// keepOwner has nothing to do where files carry no Unix owner: a new file
// inherits the ACL of its folder, the state folder the agent owns.
func keepOwner(string, os.FileInfo) error { return nil }
