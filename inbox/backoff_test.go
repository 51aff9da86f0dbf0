package inbox_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/inbox"
)

// downSource fails every Events call until up is set, recording when each
// call came (fake time inside a synctest bubble).
type downSource struct {
	mu    sync.Mutex
	calls []time.Time
	up    bool
}

func (s *downSource) Events(context.Context, uint64, int) ([]smsagent.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, time.Now())
	if !s.up {
		return nil, errors.New("database closed")
	}
	return nil, nil
}

func (s *downSource) EventsWritten(context.Context, []uint64, []string) error { return nil }

// TestWriter_Backoff checks the retry delays double from RetryMin up to
// RetryMax, and that health clears once the Source answers again even with
// nothing to write.
func TestWriter_Backoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &downSource{}
		w, err := inbox.New(src, inbox.Options{Dir: t.TempDir(), TmpDir: t.TempDir(), RetryMin: 100 * time.Millisecond, RetryMax: time.Second, PollInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if w.Err() == nil {
			t.Error("Err() = nil while the source fails")
		}
		src.mu.Lock()
		var gaps []time.Duration
		for i := 1; i < len(src.calls); i++ {
			gaps = append(gaps, src.calls[i].Sub(src.calls[i-1]))
		}
		src.up = true
		src.mu.Unlock()
		ms := time.Millisecond
		want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}
		if len(gaps) < len(want) || !slices.Equal(gaps[:len(want)], want) {
			t.Errorf("retry gaps %v, want them to start %v", gaps, want)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if err := w.Err(); err != nil {
			t.Errorf("Err() = %v after the source recovered", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}
