//go:build windows

package service

import (
	"errors"
	"fmt"
	"time"

	kservice "github.com/kardianos/service"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// Recovery policy set at install: restart 5 s after each failure, and count
// failures afresh after a day without one.
const (
	restartDelay      = 5 * time.Second
	failureResetAfter = 24 * time.Hour
	// stopWait bounds service stop and restart. kardianos' own wait loop
	// can spin forever when the service never reaches Stopped
	// (kardianos/service#337); the agent stops within 9 s by design.
	stopWait = 20 * time.Second
)

// windowsController is kardianos/service plus what it leaves out: recovery
// on non-crash failures and a bounded stop.
type windowsController struct {
	kardianosController
}

var _ Controller = windowsController{}

func newController(c *kservice.Config) (Controller, error) {
	c.Option["StartType"] = "automatic"
	s, err := kservice.New(noProgram{}, c)
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	return windowsController{kardianosController{s: s}}, nil
}

// Install creates the service and its event log source (kardianos), then
// sets the recovery actions. If setting them fails the service is removed
// again, so an install either is complete or did nothing.
func (w windowsController) Install() error {
	if err := w.s.Install(); err != nil {
		return err
	}
	if err := setRecovery(Name); err != nil {
		_ = w.s.Uninstall()
		return err
	}
	return nil
}

func setRecovery(name string) error {
	m, err := mgr.Connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return err
	}
	defer s.Close()
	restart := mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: restartDelay}
	if err := s.SetRecoveryActions([]mgr.RecoveryAction{restart, restart, restart},
		uint32(failureResetAfter/time.Second)); err != nil {
		return fmt.Errorf("set recovery actions: %w", err)
	}
	// Without this flag the SCM restarts a service only when its process
	// dies; the agent reports a fatal error by stopping with a
	// service-specific exit code, which counts only with the flag set.
	// kardianos/service never sets it.
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("set recovery on non-crash failures: %w", err)
	}
	return nil
}

// Stop asks the SCM to stop the service and waits until it has, at most
// stopWait. A service that is not running is not an error.
func (w windowsController) Stop() error {
	m, err := mgr.Connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := m.OpenService(Name)
	if err != nil {
		return err
	}
	defer s.Close()
	st, err := s.Control(svc.Stop)
	if errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
		return nil
	}
	if err != nil {
		return err
	}
	deadline := time.Now().Add(stopWait)
	for st.State != svc.Stopped {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not stop within %s", Name, stopWait)
		}
		time.Sleep(250 * time.Millisecond)
		if st, err = s.Query(); err != nil {
			return err
		}
	}
	return nil
}

// Restart stops the service (bounded, see Stop) and starts it.
func (w windowsController) Restart() error {
	if err := w.Stop(); err != nil {
		return err
	}
	return w.s.Start()
}
