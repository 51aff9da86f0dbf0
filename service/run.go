package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	kservice "github.com/kardianos/service"
)

// ErrStopTimeout is returned by Run when the run function did not return
// within the stop budget (GracePeriod + ForcePeriod). The caller exits
// anyway: every state change the agent acknowledged is already committed,
// so ending the process loses nothing.
var ErrStopTimeout = errors.New("service: did not stop in time")

// Default stop budget: under the 10 s Windows gives a service to stop and
// under TimeoutStopSec=15 of the systemd unit.
const (
	DefaultGracePeriod = 6 * time.Second
	DefaultForcePeriod = 3 * time.Second
	// shutdownGrace replaces the grace period when Windows shuts down, as it
	// then gives services about 5 s in all.
	shutdownGrace = 2 * time.Second
)

// RunOptions configure Run.
type RunOptions struct {
	// GracePeriod is how long run may take to finish after the first stop
	// request before its force context (ForceContext) is canceled.
	GracePeriod time.Duration
	// ForcePeriod is how long run may take after that before Run gives up
	// and returns ErrStopTimeout.
	ForcePeriod time.Duration
	// WorkDir is the folder a process started by a service manager moves
	// to (created if missing): Windows starts services in System32, where
	// nothing of ours belongs. Typically the state folder.
	WorkDir string
	// Logger reports the stop stages; nil discards them.
	Logger *slog.Logger
}

func (o RunOptions) withDefaults() RunOptions {
	if o.GracePeriod <= 0 {
		o.GracePeriod = DefaultGracePeriod
	}
	if o.ForcePeriod <= 0 {
		o.ForcePeriod = DefaultForcePeriod
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Run runs the agent until it ends or is asked to stop, the same way
// whether a person started it or a service manager did.
//
// run gets a context that is canceled on the first stop request: SIGINT or
// SIGTERM (Ctrl+C, systemctl stop), a Windows service stop or shutdown, or
// ctx ending. It should then stop taking new work and finish what is in
// flight. ForceContext(ctx) is canceled at the second stop request or when
// GracePeriod has passed: then run should give up waiting (for example pass
// it to Close). If run has not returned ForcePeriod later, Run returns
// ErrStopTimeout.
//
// Run returns run's error; a run that returns context.Canceled after a stop
// request has stopped cleanly and Run returns nil.
func Run(ctx context.Context, opts RunOptions, run func(ctx context.Context) error) error {
	opts = opts.withDefaults()
	if !kservice.Interactive() {
		if opts.WorkDir != "" {
			if err := os.MkdirAll(opts.WorkDir, 0o750); err != nil {
				return fmt.Errorf("service: working folder: %w", err)
			}
			if err := os.Chdir(opts.WorkDir); err != nil {
				return fmt.Errorf("service: working folder: %w", err)
			}
		}
		return runManaged(ctx, opts, run)
	}
	return runSignals(ctx, opts, run)
}

// runSignals turns SIGINT and SIGTERM into stop requests. Windows delivers
// Ctrl+C and Ctrl+Break as os.Interrupt and closing the console as SIGTERM.
func runSignals(ctx context.Context, opts RunOptions, run func(context.Context) error) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	requests := make(chan stopRequest)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case s := <-sigs:
				select {
				case requests <- stopRequest{reason: "signal " + s.String()}:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return supervise(ctx, opts, run, requests)
}

// stopRequest is one request to stop; hurry shortens the grace period (the
// system is shutting down).
type stopRequest struct {
	reason string
	hurry  bool
}

type forceKey struct{}

// ForceContext returns the context Run cancels when stopping must hurry:
// at the second stop request, or when the grace period is over. For a
// context that Run did not make it returns one that is never canceled, as
// there is then no second stage.
func ForceContext(ctx context.Context) context.Context {
	if f, ok := ctx.Value(forceKey{}).(context.Context); ok {
		return f
	}
	return context.WithoutCancel(ctx)
}

// supervise runs run and walks it through the stop stages as requests
// arrive: the first cancels run's context and starts the grace timer, the
// second (or the timer) cancels the force context and starts the force
// timer, whose end gives up. It owns all the stop state; nothing else
// touches it.
func supervise(parent context.Context, opts RunOptions, run func(context.Context) error, requests <-chan stopRequest) error {
	force, forceNow := context.WithCancel(context.WithoutCancel(parent))
	defer forceNow()
	ctx, stopNow := context.WithCancel(context.WithValue(parent, forceKey{}, force))
	defer stopNow()

	done := make(chan error, 1)
	go func() { done <- run(ctx) }()

	var (
		stopping, forced     bool
		graceTimer, giveUpAt <-chan time.Time
		parentDone           = parent.Done()
		log                  = opts.Logger
	)
	startStop := func(reason string, grace time.Duration) {
		stopping = true
		stopNow()
		graceTimer = time.After(grace)
		log.Info("stopping", "reason", reason, "grace", grace.String(), "force", opts.ForcePeriod.String())
	}
	startForce := func(reason string) {
		forced = true
		forceNow()
		graceTimer = nil
		giveUpAt = time.After(opts.ForcePeriod)
		log.Warn("stop forced: in-flight work is abandoned", "reason", reason)
	}
	for {
		select {
		case err := <-done:
			if stopping && errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		case <-parentDone:
			parentDone = nil
			if !stopping {
				startStop("context ended", opts.GracePeriod)
			}
		case r := <-requests:
			switch {
			case !stopping && r.hurry:
				startStop(r.reason, min(opts.GracePeriod, shutdownGrace))
			case !stopping:
				startStop(r.reason, opts.GracePeriod)
			case !forced:
				startForce("second " + r.reason)
			}
		case <-graceTimer:
			startForce("grace period of " + opts.GracePeriod.String() + " over")
		case <-giveUpAt:
			log.Error("did not stop in time; exiting anyway")
			return fmt.Errorf("%w: still running %s after the stop was forced", ErrStopTimeout, opts.ForcePeriod)
		}
	}
}
