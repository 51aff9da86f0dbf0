//go:build !windows

package service

import "log/slog"

// LogHandler returns the handler the agent should log through: on Windows
// it adds the event log for a service; elsewhere it is h itself, since
// systemd keeps a service's standard error in the journal. close releases
// what LogHandler opened.
func LogHandler(h slog.Handler, level slog.Leveler) (handler slog.Handler, close func() error) {
	return h, func() error { return nil }
}
