//go:build windows

package service

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/windows/svc"
)

// runManaged runs the agent under the Windows service control manager with
// its own svc.Handler rather than kardianos': that one cannot end the
// service when the agent fails on its own, and it reports StopPending
// without a wait hint or progress, so the SCM may give up on a stop that is
// well within budget.
func runManaged(ctx context.Context, opts RunOptions, run func(context.Context) error) error {
	h := &handler{ctx: ctx, opts: opts, run: run}
	if err := svc.Run(Name, h); err != nil {
		return fmt.Errorf("service: %w", err)
	}
	return h.err
}

type handler struct {
	ctx  context.Context
	opts RunOptions
	run  func(context.Context) error
	err  error // run's result, read after svc.Run returns
}

// exitFailure is the service-specific exit code of a failed run. A service
// that stops with one counts as failed, and the recovery actions set at
// install (with the non-crash failure flag) restart it.
const exitFailure = 1

// Execute implements svc.Handler. The agent starts in the background so the
// SCM sees Running at once (it allows about 30 s); while stopping, the
// checkpoint advances every second with a wait hint of the whole budget.
func (h *handler) Execute(_ []string, changes <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	const accepts = svc.AcceptStop | svc.AcceptShutdown
	status <- svc.Status{State: svc.StartPending}
	requests := make(chan stopRequest, 2)
	done := make(chan error, 1)
	go func() { done <- supervise(h.ctx, h.opts, h.run, requests) }()
	status <- svc.Status{State: svc.Running, Accepts: accepts}

	waitHint := uint32((h.opts.GracePeriod + h.opts.ForcePeriod) / time.Millisecond)
	var checkpoint uint32
	var progress <-chan time.Time
	pending := func() {
		checkpoint++
		status <- svc.Status{State: svc.StopPending, CheckPoint: checkpoint, WaitHint: waitHint}
	}
	for {
		select {
		case c := <-changes:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				r := stopRequest{reason: "service stop", hurry: c.Cmd == svc.Shutdown}
				if r.hurry {
					r.reason = "system shutdown"
				}
				select {
				case requests <- r:
				default: // two requests already queued: the stop is forced
				}
				pending()
				if progress == nil {
					t := time.NewTicker(time.Second)
					defer t.Stop()
					progress = t.C
				}
			}
		case <-progress:
			pending()
		case err := <-done:
			h.err = err
			if err != nil {
				return true, exitFailure
			}
			return false, 0
		}
	}
}
