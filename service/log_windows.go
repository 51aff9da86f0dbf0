//go:build windows

package service

import (
	"log/slog"

	kservice "github.com/kardianos/service"
	"golang.org/x/sys/windows/svc/eventlog"
)

// LogHandler returns the handler the agent should log through. A Windows
// service has no console, so there it is h plus the Windows event log
// (source "smsagent", registered by service install) at level; run from a
// console it is h. close releases the event log.
func LogHandler(h slog.Handler, level slog.Leveler) (handler slog.Handler, close func() error) {
	if kservice.Interactive() {
		return h, func() error { return nil }
	}
	el, err := eventlog.Open(Name)
	if err != nil {
		// Not installed through service install (no event source): the
		// records still go to h.
		return h, func() error { return nil }
	}
	return slog.NewMultiHandler(h, newEventHandler(el, level)), el.Close
}
