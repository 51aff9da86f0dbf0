//go:build !windows

package service

import "context"

// runManaged: systemd stops a service with SIGTERM, so a managed process is
// run like an interactive one.
func runManaged(ctx context.Context, opts RunOptions, run func(context.Context) error) error {
	return runSignals(ctx, opts, run)
}
