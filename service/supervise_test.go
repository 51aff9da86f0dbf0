package service

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// stages records when the agent saw each stop stage, in the bubble's fake
// time since start.
type stages struct {
	stopped, forced, returned time.Duration
	err                       error
}

// superviseStages runs supervise in a synctest bubble with an agent that
// never returns on its own, applying trigger at start.
func superviseStages(t *testing.T, trigger func(cancel context.CancelFunc, reqs chan<- stopRequest)) stages {
	var s stages
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		reqs := make(chan stopRequest)
		release := make(chan struct{})
		done := make(chan error)
		seen := make(chan time.Duration, 2) // the agent's view, passed back
		go func() {
			done <- supervise(ctx, RunOptions{GracePeriod: 6 * time.Second, ForcePeriod: 3 * time.Second}.withDefaults(),
				func(ctx context.Context) error {
					<-ctx.Done()
					seen <- time.Since(start)
					<-ForceContext(ctx).Done()
					seen <- time.Since(start)
					<-release
					return nil
				}, reqs)
		}()
		synctest.Wait()
		trigger(cancel, reqs)
		s.err = <-done
		s.returned = time.Since(start)
		s.stopped, s.forced = <-seen, <-seen
		close(release)
	})
	return s
}

func TestSupervise_GraceThenForceThenGiveUp(t *testing.T) {
	s := superviseStages(t, func(cancel context.CancelFunc, _ chan<- stopRequest) { cancel() })
	if s.stopped != 0 || s.forced != 6*time.Second || s.returned != 9*time.Second {
		t.Errorf("stages at %v / %v / %v, want 0s / 6s / 9s", s.stopped, s.forced, s.returned)
	}
	if !errors.Is(s.err, ErrStopTimeout) {
		t.Errorf("supervise = %v, want ErrStopTimeout", s.err)
	}
}

func TestSupervise_SecondRequestForces(t *testing.T) {
	s := superviseStages(t, func(_ context.CancelFunc, reqs chan<- stopRequest) {
		reqs <- stopRequest{reason: "signal interrupt"}
		time.Sleep(time.Second) // fake time inside the bubble
		reqs <- stopRequest{reason: "signal interrupt"}
	})
	if s.stopped != 0 || s.forced != time.Second || s.returned != 4*time.Second {
		t.Errorf("stages at %v / %v / %v, want 0s / 1s / 4s", s.stopped, s.forced, s.returned)
	}
}

func TestSupervise_ShutdownHurries(t *testing.T) {
	s := superviseStages(t, func(_ context.CancelFunc, reqs chan<- stopRequest) {
		reqs <- stopRequest{reason: "system shutdown", hurry: true}
	})
	if s.forced != shutdownGrace || s.returned != shutdownGrace+3*time.Second {
		t.Errorf("forced at %v, gave up at %v; want %v and %v", s.forced, s.returned, shutdownGrace, shutdownGrace+3*time.Second)
	}
}
