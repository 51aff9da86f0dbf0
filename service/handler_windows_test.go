//go:build windows

package service

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/windows/svc"
)

// scm plays the service control manager's part against the agent's
// svc.Handler: it sends change requests and reads the statuses reported.
type scm struct {
	changes chan svc.ChangeRequest
	status  chan svc.Status
	exit    chan [2]any // Execute's results: service-specific, exit code
}

func startHandler(t *testing.T, run func(context.Context) error) (*handler, *scm) {
	t.Helper()
	h := &handler{ctx: context.Background(), run: run,
		opts: RunOptions{GracePeriod: 6 * time.Second, ForcePeriod: 3 * time.Second}.withDefaults()}
	m := &scm{changes: make(chan svc.ChangeRequest), status: make(chan svc.Status, 64), exit: make(chan [2]any, 1)}
	go func() {
		specific, code := h.Execute(nil, m.changes, m.status)
		m.exit <- [2]any{specific, code}
	}()
	synctest.Wait()
	if st := m.next(t); st.State != svc.StartPending {
		t.Fatalf("first status %+v, want StartPending", st)
	}
	if st := m.next(t); st.State != svc.Running || st.Accepts != svc.AcceptStop|svc.AcceptShutdown {
		t.Fatalf("second status %+v, want Running, accepting stop and shutdown", st)
	}
	return h, m
}

func (m *scm) next(t *testing.T) svc.Status {
	t.Helper()
	select {
	case st := <-m.status:
		return st
	default:
		t.Fatal("no status reported")
		return svc.Status{}
	}
}

// TestHandler_Stop: a service stop cancels the agent's context; while it
// finishes, the handler reports StopPending with a wait hint of the whole
// stop budget and a checkpoint that advances every second (the SCM takes a
// stalled checkpoint for a hung service); a clean stop ends with exit code
// 0, which the SCM does not count as a failure.
func TestHandler_Stop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var stoppedAt time.Duration
		start := time.Now()
		h, m := startHandler(t, func(ctx context.Context) error {
			<-ctx.Done()
			stoppedAt = time.Since(start)
			<-release
			return ctx.Err()
		})
		m.changes <- svc.ChangeRequest{Cmd: svc.Interrogate, CurrentStatus: svc.Status{State: svc.Running}}
		synctest.Wait()
		if st := m.next(t); st.State != svc.Running {
			t.Errorf("interrogate answered %+v", st)
		}
		m.changes <- svc.ChangeRequest{Cmd: svc.Stop}
		synctest.Wait()
		if stoppedAt != 0 {
			t.Errorf("the agent's context ended %s after the stop", stoppedAt)
		}
		const hint = uint32((6 + 3) * 1000)
		if st := m.next(t); st.State != svc.StopPending || st.CheckPoint != 1 || st.WaitHint != hint {
			t.Errorf("after the stop %+v, want StopPending, checkpoint 1, wait hint %d ms", st, hint)
		}
		// Inside the synctest bubble this moves the fake clock two seconds
		// on at once (no real wait): two checkpoint ticks.
		time.Sleep(2 * time.Second)
		synctest.Wait()
		for want := uint32(2); want <= 3; want++ {
			if st := m.next(t); st.State != svc.StopPending || st.CheckPoint != want {
				t.Errorf("progress %+v, want StopPending checkpoint %d", st, want)
			}
		}
		close(release)
		synctest.Wait()
		if e := <-m.exit; e != [2]any{false, uint32(0)} || h.err != nil {
			t.Errorf("Execute = %v, run's error %v; want a clean exit", e, h.err)
		}
	})
}

// TestHandler_Shutdown: at system shutdown Windows allows services a few
// seconds in all, so the grace period shrinks to shutdownGrace before the
// agent's force context ends.
func TestHandler_Shutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var forcedAt time.Duration
		_, m := startHandler(t, func(ctx context.Context) error {
			<-ctx.Done()
			<-ForceContext(ctx).Done()
			forcedAt = time.Since(start)
			return ctx.Err()
		})
		m.changes <- svc.ChangeRequest{Cmd: svc.Shutdown}
		if e := <-m.exit; e != [2]any{false, uint32(0)} {
			t.Errorf("Execute = %v, want a clean exit", e)
		}
		if forcedAt != shutdownGrace {
			t.Errorf("forced %s after the shutdown, want %s", forcedAt, shutdownGrace)
		}
	})
}

// TestHandler_Failure: an agent that ends on its own with an error (say
// the database cannot be opened) stops the service with a service-specific
// exit code, a failure for the SCM, which then applies the recovery
// actions install set (restart after 5 s).
func TestHandler_Failure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		broken := errors.New("outbox: open: disk full")
		h, m := startHandler(t, func(context.Context) error { return broken })
		if e := <-m.exit; e != [2]any{true, uint32(exitFailure)} || !errors.Is(h.err, broken) {
			t.Errorf("Execute = %v, run's error %v; want service-specific exit %d with %v", e, h.err, exitFailure, broken)
		}
	})
}
