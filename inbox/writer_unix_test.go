//go:build unix

package inbox_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/smsagent/smsagent/inbox"
)

// TestWriter_FileMode checks the default 0640 and Options.FileMode; the
// umask is set so that it does not hide a wrong mode.
func TestWriter_FileMode(t *testing.T) {
	syscall.Umask(0o022)
	for _, tc := range []struct{ set, want os.FileMode }{{0, 0o640}, {0o600, 0o600}} {
		src := newSource(deliveredReport())
		dir := t.TempDir()
		start(t, src, inbox.Options{Dir: dir, TmpDir: dir + ".tmp", FileMode: tc.set})
		<-src.done
		fi, err := os.Stat(filepath.Join(dir, listDir(t, dir)[0]))
		if err != nil || fi.Mode().Perm() != tc.want {
			t.Errorf("FileMode %v: file mode %v, %v; want %v", tc.set, fi.Mode().Perm(), err, tc.want)
		}
	}
}
