// Package testutil holds what the tests of several packages share: waiting
// for a condition with a deadline (never a bare sleep), the SMSC simulator
// on a loopback port, and a child process of the test binary, started and
// reaped. Only tests import it.
package testutil

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp/smsc"
)

// pollEvery is how often Eventually looks: often enough that a test waits
// a few milliseconds past the moment, rarely enough to leave the CPU to
// what it waits for.
const pollEvery = 2 * time.Millisecond

// Eventually polls cond until it holds, and fails the test when within
// passes first, naming what it waited for.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		<-tick.C
	}
}

// Simulator starts an SMSC simulator with o on a loopback port, closed when
// the test ends.
func Simulator(t testing.TB, o smsc.Options) *smsc.Server {
	t.Helper()
	s := smsc.New(o)
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("simulator close: %v", err)
		}
	})
	return s
}

// Child is a process running the test binary again: one test of it, with
// an environment that tells that test to play a part rather than run.
type Child struct {
	Cmd    *exec.Cmd
	Stderr *strings.Builder
	stdin  io.WriteCloser
	done   chan struct{}
	err    error
}

// StartChild runs the test binary's test named test (an exact name) with
// env added to the environment. The child is killed, if still running,
// and reaped when the test ends.
func StartChild(t testing.TB, test string, env ...string) *Child {
	t.Helper()
	return Start(t, exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1"), env...)
}

// Start starts cmd with env added to the environment, its standard error
// kept in Stderr unless cmd.Stderr is set. The process is killed, if still
// running, and reaped when the test ends.
func Start(t testing.TB, cmd *exec.Cmd, env ...string) *Child {
	t.Helper()
	c := &Child{Stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Env = append(os.Environ(), env...)
	if cmd.Stderr == nil {
		cmd.Stderr = c.Stderr
	}
	pipe := cmd.Stdin == nil
	prepareStop(cmd)
	var err error
	for try := 0; ; try++ {
		c.Cmd = clone(cmd)
		if pipe {
			if c.stdin, err = c.Cmd.StdinPipe(); err != nil {
				t.Fatal(err)
			}
		}
		err = c.Cmd.Start()
		// Under Wine, CreateProcess now and then fails with "Internal
		// error" while other programs start and stop: a fault of the
		// emulation, not of the program under test.
		if err == nil || runtime.GOOS != "windows" || try == 4 {
			break
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.Cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = c.Cmd.Process.Kill()
		<-c.done
	})
	return c
}

// Done is closed when the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Exited reports whether the child has exited.
func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Err is how the child exited; valid once Done is closed.
func (c *Child) Err() error {
	<-c.done
	return c.err
}

// CloseStdin closes the child's standard input: the cue to stop
// gracefully that works on every platform (Windows cannot send SIGTERM to
// another process). The child waits for it with StdinClosed.
func (c *Child) CloseStdin() error {
	if c.stdin == nil {
		return errors.New("testutil: the child's stdin is not a pipe")
	}
	return c.stdin.Close()
}

// StdinClosed, in a child, is closed once the process's standard input
// reaches its end: the parent's CloseStdin, or the parent gone.
func StdinClosed() <-chan struct{} {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_, _ = io.Copy(io.Discard, os.Stdin)
	}()
	return closed
}

// Stop asks the child to stop the way a person or a service manager asks
// the agent on its platform: SIGTERM on Unix (systemctl stop, kill), Ctrl+C
// in its console on Windows (delivered as os.Interrupt). The agent takes
// either as the request to stop gracefully, and a second one as the
// request to hurry.
func (c *Child) Stop(t testing.TB) {
	t.Helper()
	if err := stop(c); err != nil {
		t.Fatal(err)
	}
}

// Kill ends the child at once, as a power cut or the OOM killer ends the
// agent (SIGKILL on Unix), and waits until it is gone.
func (c *Child) Kill(t testing.TB) {
	t.Helper()
	if err := c.Cmd.Process.Kill(); err != nil && !c.Exited() {
		t.Fatal(err)
	}
	<-c.done
}

// Buffer is a bytes.Buffer safe for one writer and readers in other
// goroutines: a log handler's or a command's output that a test searches
// while it is being written.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines are the lines written so far that contain substr.
func (b *Buffer) Lines(substr string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// Count is the number of times s was written so far.
func (b *Buffer) Count(s string) int { return strings.Count(b.String(), s) }

// Reset forgets what was written.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// Tail is the last n bytes written (all of it when shorter).
func (b *Buffer) Tail(n int) string {
	s := b.String()
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// clone is a fresh, unstarted copy of cmd: a Cmd can be started once.
func clone(cmd *exec.Cmd) *exec.Cmd {
	c := exec.Command(cmd.Path, cmd.Args[1:]...)
	c.Env, c.Dir, c.Stdin, c.Stdout, c.Stderr = cmd.Env, cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr
	c.SysProcAttr = cmd.SysProcAttr
	return c
}
