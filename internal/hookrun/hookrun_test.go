package hookrun_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/hookrun"
)

// helperEnv makes the test binary one of the programs the tests run.
const helperEnv = "HOOKRUN_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helper is the program the tests run:
//
//	echo ARGS...     prints its arguments one per line, then SMSAGENT_X
//	exit N           exits with status N
//	sleep            sleeps for a minute
//	grandchild FILE  starts a sleeping child, writes its pid to FILE, sleeps
//	orphan FILE      starts a sleeping child that shares its output, writes
//	                 its pid to FILE and exits 0 at once
//	chatty N         writes N bytes to stdout and N to stderr
func helper(mode string, args []string) int {
	switch mode {
	case "echo":
		for _, a := range args {
			fmt.Println(a)
		}
		fmt.Fprintln(os.Stderr, "x="+os.Getenv("SMSAGENT_X"))
		return 0
	case "exit":
		n, _ := strconv.Atoi(args[0])
		return n
	case "sleep":
		<-time.After(time.Minute) // a hung program: the runner must kill it
		return 0
	case "grandchild", "orphan":
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), helperEnv+"=sleep")
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		if err := child.Start(); err != nil {
			return 70
		}
		if err := os.WriteFile(args[0], []byte(strconv.Itoa(child.Process.Pid)), 0o600); err != nil {
			return 70
		}
		if mode == "orphan" {
			return 0
		}
		<-time.After(time.Minute)
		return 0
	case "chatty":
		n, _ := strconv.Atoi(args[0])
		out, errOut := bufio.NewWriter(os.Stdout), bufio.NewWriter(os.Stderr)
		chunk := strings.Repeat("z", 1024)
		for i := 0; i < n; i += len(chunk) {
			_, _ = out.WriteString(chunk)
			_, _ = errOut.WriteString(chunk)
		}
		_ = out.Flush()
		_ = errOut.Flush()
		return 0
	}
	return 64
}

// run runs the test binary as the helper in mode.
func run(t *testing.T, ctx context.Context, timeout time.Duration, limit int, mode string, args ...string) (hookrun.Result, error) {
	t.Helper()
	env := append(os.Environ(), helperEnv+"="+mode, "SMSAGENT_X=from the agent")
	return hookrun.Run(ctx, append([]string{os.Args[0]}, args...), env, "", timeout, limit)
}

func TestRun_OutputArgumentsAndEnvironment(t *testing.T) {
	args := []string{"plain", "with space", `"quoted"`, "semi;colon", "$(id)", "`id`", "%PATH%", "a|b&c>d"}
	res, err := run(t, context.Background(), 30*time.Second, 4096, "echo", args...)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(args, "\n") + "\nx=from the agent\n"
	if got := strings.ReplaceAll(string(res.Output), "\r\n", "\n"); got != want {
		t.Errorf("output:\n%s\nwant (the arguments as given, no shell):\n%s", got, want)
	}
	if res.ExitCode != 0 || res.Dropped != 0 || res.TimedOut {
		t.Errorf("result %+v", res)
	}
}

func TestRun_ExitStatus(t *testing.T) {
	res, err := run(t, context.Background(), 30*time.Second, 4096, "exit", "3")
	var he *hookrun.Error
	if !errors.As(err, &he) || he.Op != "exit" || he.ExitCode != 3 || res.ExitCode != 3 {
		t.Fatalf("err %v (%+v), result %+v", err, he, res)
	}
	if !strings.HasPrefix(err.Error(), "hook: "+os.Args[0]+": exit status 3") {
		t.Errorf("message %q", err)
	}
}

func TestRun_NotStarted(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-program")
	res, err := hookrun.Run(context.Background(), []string{missing}, nil, "", time.Second, 10)
	var he *hookrun.Error
	if !errors.As(err, &he) || he.Op != "start" || res.ExitCode != -1 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if !strings.Contains(err.Error(), "hook: "+missing+": start: ") {
		t.Errorf("message %q", err)
	}
}

// TestRun_TimeoutKillsTheGroup: a program that hangs past its timeout is
// killed at it with the child it started.
func TestRun_TimeoutKillsTheGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	began := time.Now()
	res, err := run(t, context.Background(), 500*time.Millisecond, 4096, "grandchild", pidFile)
	var he *hookrun.Error
	if !errors.As(err, &he) || he.Op != "timeout" || !res.TimedOut || res.ExitCode != -1 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("Run returned %s after a 500ms timeout", d)
	}
	if !strings.Contains(err.Error(), "killed after the 500ms timeout") {
		t.Errorf("message %q", err)
	}
	waitGone(t, pidFile)
}

// TestRun_CanceledKillsTheGroup: the caller's context ends the run the
// same way (the agent stopping).
func TestRun_CanceledKillsTheGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := run(t, ctx, time.Minute, 4096, "grandchild", pidFile)
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, _ := os.ReadFile(pidFile); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the helper never started its child")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	cancel()
	select {
	case err := <-done:
		var he *hookrun.Error
		if !errors.As(err, &he) || he.Op != "canceled" {
			t.Fatalf("err %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	waitGone(t, pidFile)
}

// TestRun_OrphanHoldingOutput: a program that exits 0 but leaves a child
// holding its output is done once it exits (and the wait for the output
// is bounded); the child is ended with it.
func TestRun_OrphanHoldingOutput(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	began := time.Now()
	res, err := run(t, context.Background(), time.Minute, 4096, "orphan", pidFile)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if d := time.Since(began); d > 15*time.Second {
		t.Errorf("Run returned after %s: it waited for the orphan", d)
	}
	waitGone(t, pidFile)
}

// TestRun_OutputBounded: 8 MiB of output keeps limit bytes and counts the
// rest, without holding it.
func TestRun_OutputBounded(t *testing.T) {
	const each, limit = 4 << 20, 64 << 10
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := run(t, context.Background(), time.Minute, limit, "chatty", strconv.Itoa(each))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Output) != limit || res.Dropped != 2*each-limit {
		t.Errorf("kept %d, dropped %d; want %d and %d", len(res.Output), res.Dropped, limit, 2*each-limit)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 2<<20 {
		t.Errorf("allocated %d bytes for 8 MiB of output: it is buffered", grew)
	}
}

// waitGone polls until the process whose pid is in file has ended.
func waitGone(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the helper's child: %v", err)
	}
	pid, _ := strconv.Atoi(string(b))
	deadline := time.Now().Add(20 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d, started by the command, still runs", pid)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}
