package outbox_test

import (
	"context"
	"testing"

	"github.com/smsagent/smsagent/outbox"
)

// TestOpen_SmallMaxSize: a store.max_size below the 64 MiB map Windows
// starts with opens and stores, on every platform (bbolt v1.5 refused the
// open on Windows: its map grows the file at once), and opens again.
func TestOpen_SmallMaxSize(t *testing.T) {
	for _, size := range []int{1 << 20, 3 << 20, 48 << 20} {
		e := newEnv(t, func(o *outbox.Options) { o.MaxSize = size })
		id := e.enqueueOne(msg("+358401", "small file"))
		if err := e.s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.open()
		if r := e.get(id); r.Text != "small file" {
			t.Errorf("max size %d: %+v", size, r)
		}
	}
}
