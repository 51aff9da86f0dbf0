// Package hookrun runs event commands, the habit smstools3 calls an
// eventhandler: after the agent writes an event file it starts a program
// the operator configured, such as
// ["/usr/local/bin/sms-event", "report", "/var/spool/smsagent/inbox/x.json"].
//
// A command is a program and its arguments, never a shell line: an argument
// holding spaces, quotes, `;` or `$(x)` reaches the program as it is, so a
// message's text or a file's name can never become a command.
//
// The program runs in a process group of its own on Unix and in a job
// object on Windows. At the deadline, or when the caller's context ends,
// the whole group or job is killed, grandchildren included: a hook that
// started a script that started curl leaves nothing behind (on Unix, unless
// a process left the group on purpose, as a daemon does with setsid). Its standard
// output and standard error are kept together, in the order written, up to
// a limit; the rest is read and discarded, so a chatty program neither
// fills memory nor blocks on a full pipe.
//
// Retries, backoff, queueing and logging belong to the caller; this package
// runs one command once and says what happened.
package hookrun

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync/atomic"
	"time"
)

// waitDelay bounds the wait for the program's output once it has exited
// (or been killed): a grandchild it left running may hold the pipe open for
// hours, and the caller is waiting for this one run.
const waitDelay = 2 * time.Second

// The operations an *Error names in Op.
const (
	opStart    = "start"
	opExit     = "exit"
	opTimeout  = "timeout"
	opCanceled = "canceled"
)

// Result is what one run did.
type Result struct {
	ExitCode int           // the exit status; -1 when it was killed or did not start
	Output   []byte        // stdout and stderr in the order written, at most the limit given to Run: the first limit bytes
	Dropped  int64         // output bytes past the limit, read and discarded
	TimedOut bool          // killed at the deadline, with every process of its group/job
	Duration time.Duration // from just before the start until the run was over
}

// Error is why a run did not end with exit status 0.
type Error struct {
	Op       string        // "start", "exit", "timeout" or "canceled"
	Program  string        // argv[0] as given to Run
	ExitCode int           // the exit status; -1 when killed or not started
	Timeout  time.Duration // the timeout given to Run (0: none)
	// Err is the cause: the start error, the *exec.ExitError,
	// context.DeadlineExceeded, or the cause of the caller's context ending.
	Err error

	// killedWith says what died with the program ("with its process
	// group"), or why it died alone; empty when nothing was started.
	killedWith string
}

func (e *Error) Error() string {
	switch e.Op {
	case opExit:
		return fmt.Sprintf("hook: %s: %v", e.Program, e.Err)
	case opTimeout:
		return fmt.Sprintf("hook: %s: killed after the %v timeout%s", e.Program, e.Timeout, spaced(e.killedWith))
	case opCanceled:
		if e.killedWith == "" {
			return fmt.Sprintf("hook: %s: canceled before the start: %v", e.Program, e.Err)
		}
		return fmt.Sprintf("hook: %s: killed%s: %v", e.Program, spaced(e.killedWith), e.Err)
	default:
		return fmt.Sprintf("hook: %s: %s: %v", e.Program, e.Op, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

func spaced(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// errTimedOut is the cause of the run's own deadline, told apart from the
// caller's context ending.
var errTimedOut = errors.New("hook timeout")

// Run starts argv[0] with the arguments argv[1:] and waits for it.
//
// argv[0] without a path separator is looked up in the agent's own PATH
// (not in env's); a relative path with a separator is taken relative to
// dir. env is the program's whole environment: nil means an empty one (on
// Windows Go adds only SYSTEMROOT, without which programs fail to start),
// so the program never sees the agent's variables unless the caller passes
// them, as it does with os.Environ() plus the SMSAGENT_* variables. dir is
// its working folder ("" = the agent's). Its standard input is the null
// device.
//
// Run returns when the program exits, or when timeout (<= 0: none) passes
// or ctx ends: then the program's whole process group (Unix) or job object
// (Windows) is killed, grandchildren included. After a normal exit what the
// program left running is left alone, but Run reads its output for at most
// two more seconds.
//
// Output beyond limit bytes is read and discarded, never kept. The error
// is nil when the exit status is 0, and otherwise an *Error.
func Run(ctx context.Context, argv []string, env []string, dir string, timeout time.Duration, limit int) (Result, error) {
	begin := time.Now()
	res := Result{ExitCode: -1}
	fail := func(op string, err error, killedWith string) (Result, error) {
		res.Duration = time.Since(begin)
		return res, &Error{Op: op, Program: program(argv), ExitCode: res.ExitCode, Timeout: timeout, Err: err, killedWith: killedWith}
	}
	if len(argv) == 0 || argv[0] == "" {
		return fail(opStart, errors.New("no program given"), "")
	}
	if ctx.Err() != nil {
		return fail(opCanceled, context.Cause(ctx), "")
	}

	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		runCtx, cancel = context.WithTimeoutCause(ctx, timeout, errTimedOut)
	}
	defer cancel()

	out := &boundedBuffer{limit: max(limit, 0)}
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	cmd.Env = env
	if cmd.Env == nil {
		// exec.Cmd reads a nil Env as "inherit the agent's".
		cmd.Env = []string{}
	}
	cmd.Dir = dir
	// One writer for both makes os/exec give the program a single pipe for
	// its stdout and stderr: their order survives, and one goroutine reads.
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = waitDelay

	g := newGroup(cmd)
	var killed atomic.Bool
	cmd.Cancel = func() error {
		err := g.kill(cmd)
		if err == nil {
			killed.Store(true)
		}
		return err
	}
	if err := g.start(cmd); err != nil {
		return fail(opStart, err, "")
	}
	waitErr := cmd.Wait()
	g.release(killed.Load())
	res.Output = out.buf
	res.Dropped = out.dropped

	if killed.Load() {
		// The program may have exited with a status of its own in the
		// instant before the kill; a run that met its deadline is reported
		// as killed, whatever the status.
		if context.Cause(runCtx) == errTimedOut {
			res.TimedOut = true
			return fail(opTimeout, context.DeadlineExceeded, g.killedWith())
		}
		return fail(opCanceled, context.Cause(ctx), g.killedWith())
	}
	state := cmd.ProcessState
	if state == nil {
		return fail(opExit, fmt.Errorf("wait: %w", waitErr), "")
	}
	res.ExitCode = state.ExitCode()
	if state.Success() {
		// A waitErr here is exec.ErrWaitDelay (a leftover process held the
		// output open) or a read error on the pipe: the program itself
		// succeeded, and what it wrote until then is in Output.
		res.Duration = time.Since(begin)
		return res, nil
	}
	var exitErr *exec.ExitError
	if !errors.As(waitErr, &exitErr) {
		return fail(opExit, fmt.Errorf("%s (wait: %w)", state, waitErr), "")
	}
	return fail(opExit, exitErr, "")
}

func program(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	return argv[0]
}

// boundedBuffer keeps the first limit bytes written to it and counts the
// rest. It is written by os/exec's single copying goroutine and read only
// after cmd.Wait has waited for that goroutine.
type boundedBuffer struct {
	buf     []byte
	limit   int
	dropped int64
}

// Write never fails: failing would make os/exec stop reading the pipe, and
// the program would block on it until killed.
func (b *boundedBuffer) Write(p []byte) (int, error) {
	n := min(b.limit-len(b.buf), len(p))
	if n > 0 {
		if len(b.buf)+n > cap(b.buf) {
			// Grown by hand, not by append, so that the buffer never
			// exceeds the limit: append may round a capacity up past it.
			grown := make([]byte, len(b.buf), min(b.limit, max(2*cap(b.buf), len(b.buf)+n, 4096)))
			copy(grown, b.buf)
			b.buf = grown
		}
		b.buf = append(b.buf, p[:n]...)
	}
	b.dropped += int64(len(p) - n)
	return len(p), nil
}
