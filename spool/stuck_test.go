package spool_test

import (
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/spool"
)

// TestIntake_StuckWorkerShows: a worker that does not come back from one
// file (here a parser that blocks, standing for a file system call that
// never returns) is counted as stuck once StuckAfter has passed on the
// intake's clock, while the other workers go on taking files; the count
// clears when it returns.
func TestIntake_StuckWorkerShows(t *testing.T) {
	// The intake's clock runs with the wall clock (the settle rules watch
	// it pass) plus an offset the test moves on.
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	entered, release := make(chan struct{}), make(chan struct{})
	r := newRig(t, func(o *spool.Options) {
		o.Now = clock
		o.Settle = time.Nanosecond
		o.StuckAfter = time.Minute
		lines := o.Parse
		o.Parse = func(rd io.Reader, name string) ([]smsagent.Message, error) {
			if name == "hang.txt" {
				close(entered)
				<-release
			}
			return lines(rd, name)
		}
	}).start()
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	r.dropRenamed("hang.txt", "+358401 one\n")
	<-entered
	began := clock()
	if st := r.intake.Stats(); st.Stuck != 0 {
		t.Fatalf("stuck = %d at once", st.Stuck)
	}
	offset.Add(int64(61 * time.Second))
	if st := r.intake.Stats(); st.Stuck != 1 || st.StuckSince.After(began) || began.Sub(st.StuckSince) > 10*time.Second {
		t.Fatalf("61 s on: stuck %d since %v, want 1 since about %v", st.Stuck, st.StuckSince, began)
	}
	r.dropRenamed("ok.txt", "+358402 two\n")
	testutil.Eventually(t, 10*time.Second, "ok.txt taken beside the stuck worker", func() bool {
		_, ok := r.store.batchFor("ok.txt")
		return ok
	})
	close(release)
	testutil.Eventually(t, 10*time.Second, "the stuck worker to come back", func() bool {
		_, ok := r.store.batchFor("hang.txt")
		return ok && r.intake.Stats().Stuck == 0
	})
}
