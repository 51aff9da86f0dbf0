// Package hookrun runs event commands (smstools3's eventhandler habit: a
// program the operator names, run after the agent writes an event file).
//
// A command is a program and its arguments, started directly, never through
// a shell. It runs in a process group of its own (Unix) or a job object
// (Windows), so that at its deadline, or when the agent stops, it is killed
// with every process it started; when it exits, what it left running there
// is killed too (a program that must leave something running detaches it
// into a session or service of its own). Its standard output and error are read as
// they come, whatever it writes: the first bytes up to a limit are kept and
// the rest is counted and dropped, so memory is bounded by the limit and a
// chatty program never blocks on a full pipe. Standard input is empty.
package hookrun

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync/atomic"
	"time"
)

// Result is what one run did.
type Result struct {
	// ExitCode is the exit status; -1 when it was killed or did not start.
	ExitCode int
	// Output is stdout and stderr in the order written, the first bytes
	// up to the limit given to Run.
	Output []byte
	// Dropped counts the output bytes past the limit, read and discarded.
	Dropped int64
	// TimedOut is set when the run was killed at its deadline, with every
	// process of its group (job).
	TimedOut bool
	Duration time.Duration
}

// Error is a run that did not end with exit status 0.
type Error struct {
	Program string
	// Op is what went wrong: "start" (the program did not start), "exit"
	// (a status other than 0, or a signal from elsewhere), "timeout"
	// (killed at the deadline) or "canceled" (killed because the caller's
	// context ended).
	Op       string
	ExitCode int
	Timeout  time.Duration
	Err      error
}

func (e *Error) Error() string {
	switch e.Op {
	case "start":
		return fmt.Sprintf("hook: %s: start: %v", e.Program, e.Err)
	case "timeout":
		return fmt.Sprintf("hook: %s: killed after the %s timeout with the processes it started", e.Program, e.Timeout)
	case "canceled":
		return fmt.Sprintf("hook: %s: killed with the processes it started: %v", e.Program, e.Err)
	}
	return fmt.Sprintf("hook: %s: %v", e.Program, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// waitDelay bounds the wait for the output pipes after the program exited:
// a process it left behind may hold them open, and a run does not wait for
// it.
const waitDelay = 2 * time.Second

// Run starts argv[0] with the arguments argv[1:] (a name without a path
// separator is looked up in PATH), with env as its environment (nil: this
// process's), in the folder dir ("": this process's), and waits until it
// exits, or until timeout passes or ctx ends: then its process group (job
// object) is killed whole. Output beyond limit bytes is read and dropped.
//
// The error is nil for exit status 0, else an *Error whose message a person
// can act on.
func Run(ctx context.Context, argv []string, env []string, dir string, timeout time.Duration, limit int) (Result, error) {
	res := Result{ExitCode: -1}
	if len(argv) == 0 || argv[0] == "" {
		return res, &Error{Op: "start", Err: errors.New("no program named")}
	}
	prog := argv[0]
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, prog, argv[1:]...)
	cmd.Env, cmd.Dir = env, dir
	out := &boundedBuffer{limit: max(limit, 0)}
	cmd.Stdout, cmd.Stderr = out, out // one pipe: the order they were written in
	cmd.WaitDelay = waitDelay
	g := newGroup(cmd)
	var killed atomic.Bool
	cmd.Cancel = func() error {
		killed.Store(true)
		return g.kill()
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		g.close()
		return res, &Error{Program: prog, Op: "start", ExitCode: -1, Err: err}
	}
	g.started()
	err := cmd.Wait()
	g.close()
	res.Duration = time.Since(began)
	res.Output, res.Dropped = out.buf, out.dropped
	res.ExitCode = cmd.ProcessState.ExitCode()
	switch {
	case killed.Load() && ctx.Err() == nil:
		res.ExitCode, res.TimedOut = -1, true
		return res, &Error{Program: prog, Op: "timeout", ExitCode: -1, Timeout: timeout, Err: context.DeadlineExceeded}
	case killed.Load():
		res.ExitCode = -1
		return res, &Error{Program: prog, Op: "canceled", ExitCode: -1, Err: context.Cause(ctx)}
	case err == nil, errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState.Success():
		// ErrWaitDelay with success: the program exited 0 and something
		// it started still held its output; the run is done.
		return res, nil
	}
	return res, &Error{Program: prog, Op: "exit", ExitCode: res.ExitCode, Err: err}
}

// boundedBuffer keeps the first limit bytes written to it and counts the
// rest. exec.Cmd writes to it from one goroutine (stdout and stderr share a
// pipe), and Run reads it after Wait.
type boundedBuffer struct {
	limit   int
	buf     []byte
	dropped int64
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	keep := min(len(p), b.limit-len(b.buf))
	b.buf = append(b.buf, p[:keep]...)
	b.dropped += int64(len(p) - keep)
	return len(p), nil
}
