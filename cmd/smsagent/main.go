// Command smsagent is the store-and-forward SMS agent: it sends the message
// files dropped into its spool folder to an SMSC over SMPP 3.4 and writes
// delivery reports and incoming SMS back as files.
//
// main only builds the context and maps the result of run to the exit
// status; each command group lives in its own file (cli.go explains how to
// add one).
package main

import (
	"context"
	"io"
	"os"
)

// Stamped at build time: go build -ldflags "-X main.version=1.2.3
// -X main.commit=abc1234 -X main.date=2026-01-02T03:04:05Z". Unstamped
// builds fall back to the module's build information (see version.go).
var (
	version = ""
	commit  = ""
	date    = ""
)

// Exit statuses.
const (
	exitOK      = 0 // done
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // bad command line or configuration: running again will not help
)

func main() {
	ctx := context.Background()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run runs one command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return newApp(ctx, stdout, stderr).run(args)
}
