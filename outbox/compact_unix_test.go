//go:build unix

package outbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/smsagent/smsagent/outbox"
)

// TestCompactInPlace_PlantedLink: a dangling link planted at the name of the
// compacted copy (predictable, in a folder the service user may write,
// while compact runs as root) is never written through.
func TestCompactInPlace_PlantedLink(t *testing.T) {
	e := newEnv(t)
	e.enqueueOne(msg("+358409", "queued"))
	if err := e.s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A dangling link: os.Stat says nothing is there, and an open with
	// O_CREATE would make root create (and own) the file it points to.
	victim := filepath.Join(t.TempDir(), "made-by-root")
	tmp := filepath.Join(filepath.Dir(e.path), fmt.Sprintf(".%s.compact-%d.tmp", filepath.Base(e.path), os.Getpid()))
	if err := os.Symlink(victim, tmp); err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.CompactInPlace(e.path, 0); err == nil {
		t.Error("CompactInPlace went ahead over a planted link")
	}
	if _, err := os.Lstat(victim); err == nil {
		t.Error("the compacted copy was written through the link")
	}
	e.open()
	if st, err := e.s.Stats(context.Background()); err != nil || st.ByState[0]+len(st.ByState) == 0 {
		t.Errorf("the database after a refused compact: %v %v", st, err)
	}
}
