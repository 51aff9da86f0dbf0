//go:build !windows

package service_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/smsagent/smsagent/service"
)

// wait fails the test if ch is not closed within a generous deadline.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestRun_Signals sends real signals to the test process: the first stops
// the agent gracefully, the second forces it.
func TestRun_Signals(t *testing.T) {
	started, stopping, forced := make(chan struct{}), make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		// Long periods: only the signals may move the stages here.
		opts := service.RunOptions{GracePeriod: time.Hour, ForcePeriod: time.Hour}
		done <- service.Run(context.Background(), opts, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			close(stopping)
			<-service.ForceContext(ctx).Done()
			close(forced)
			return ctx.Err()
		})
	}()
	wait(t, started, "the agent to start")
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	wait(t, stopping, "the first signal to cancel the agent's context")
	if closed(forced) {
		t.Fatal("the first signal forced the stop")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wait(t, forced, "the second signal to cancel the force context")
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil for a clean stop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestRun_StopTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opts := service.RunOptions{GracePeriod: 10 * time.Millisecond, ForcePeriod: 10 * time.Millisecond}
	err := service.Run(ctx, opts, func(context.Context) error {
		<-release // ignores every stop request
		return nil
	})
	if !errors.Is(err, service.ErrStopTimeout) {
		t.Errorf("Run = %v, want ErrStopTimeout", err)
	}
}

func TestRun_Errors(t *testing.T) {
	boom := errors.New("boom")
	if err := service.Run(context.Background(), service.RunOptions{}, func(context.Context) error { return boom }); err != boom {
		t.Errorf("Run = %v, want the agent's own failure", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stopErr := errors.New("flush failed")
	err := service.Run(ctx, service.RunOptions{}, func(ctx context.Context) error {
		<-ctx.Done()
		return stopErr
	})
	if err != stopErr {
		t.Errorf("Run = %v, want the error the agent stopped with", err)
	}
}

func TestForceContext_NotFromRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if f := service.ForceContext(ctx); f.Err() != nil {
		t.Errorf("ForceContext of a foreign context is canceled: %v", f.Err())
	}
}
