package hookrun_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/hookrun"
	"github.com/smsagent/smsagent/internal/testutil"
)

// The test binary is its own event command: with HOOKRUN_HELPER=mode in its
// environment it plays that program and exits, so no test needs sh or cmd.
const helperVar = "HOOKRUN_HELPER"

// environArg, as the only argument, makes the test binary print its
// environment: the one helper that must run with no variable at all.
const environArg = "hookrun-helper-environ"

// helperLifetime bounds a sleeping helper, so that one a broken kill missed
// does not outlive the test run by long.
const helperLifetime = 2 * time.Minute

// chatty's output: chunks of chunkSize bytes, alternately to stdout ('o')
// and stderr ('e'), chattyBytes to each.
const (
	chunkSize   = 32 << 10
	chattyBytes = 8 << 20
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperVar); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	if len(os.Args) == 2 && os.Args[1] == environArg {
		for _, kv := range os.Environ() {
			fmt.Println(kv)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper plays the program mode names and returns its exit status.
func helper(mode string, args []string) int {
	switch mode {
	case "output":
		fmt.Fprint(os.Stdout, "out 1\n")
		fmt.Fprint(os.Stderr, "err 1\n")
		fmt.Fprint(os.Stdout, "out 2\n")
		fmt.Fprintf(os.Stdout, "SMSAGENT_X=%s\n", os.Getenv("SMSAGENT_X"))
		fmt.Fprintf(os.Stdout, "HOOKRUN_PARENT_ONLY=%s\n", os.Getenv("HOOKRUN_PARENT_ONLY"))
		return 0
	case "args":
		if err := json.NewEncoder(os.Stdout).Encode(args); err != nil {
			return 10
		}
		return 0
	case "pwd":
		wd, err := os.Getwd()
		if err != nil {
			return 10
		}
		fmt.Print(wd)
		return 0
	case "exit3":
		fmt.Fprintln(os.Stderr, "failing on purpose")
		return 3
	case "chatty":
		out, errOut := bytes.Repeat([]byte{'o'}, chunkSize), bytes.Repeat([]byte{'e'}, chunkSize)
		for range chattyBytes / chunkSize {
			if _, err := os.Stdout.Write(out); err != nil {
				return 10
			}
			if _, err := os.Stderr.Write(errOut); err != nil {
				return 10
			}
		}
		return 0
	case "sleep":
		// args[0], when given, is where to write its own pid.
		if len(args) > 0 && writePid(args[0], os.Getpid()) != nil {
			return 10
		}
		<-time.After(helperLifetime)
		return 0
	case "spawn-sleep", "leave-open":
		// A grandchild that sleeps holding this program's stdout and
		// stderr; its pid goes to args[0].
		exe, err := os.Executable()
		if err != nil {
			return 10
		}
		gc := exec.Command(exe)
		gc.Env = append(os.Environ(), helperVar+"=sleep")
		gc.Stdout, gc.Stderr = os.Stdout, os.Stderr
		if err := gc.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 10
		}
		if err := writePid(args[0], gc.Process.Pid); err != nil {
			return 10
		}
		if mode == "leave-open" {
			fmt.Println("parent done")
			return 0
		}
		<-time.After(helperLifetime)
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 10
}

// writePid writes pid to path whole or not at all: the test polls for it.
func writePid(path string, pid int) error {
	if err := os.WriteFile(path+".tmp", []byte(strconv.Itoa(pid)), 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no pid written: %v", err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func self(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// helperEnv is what the agent passes: its own environment plus variables.
// GORACE spares a helper built with -race the race runtime's one-second
// pause before a successful exit.
func helperEnv(mode string, extra ...string) []string {
	return append(append(os.Environ(), helperVar+"="+mode, "GORACE=atexit_sleep_ms=0"), extra...)
}

func hookError(t *testing.T, err error, op string) *hookrun.Error {
	t.Helper()
	var he *hookrun.Error
	if !errors.As(err, &he) {
		t.Fatalf("error %v (%T), want a *hookrun.Error", err, err)
	}
	if he.Op != op {
		t.Fatalf("Op %q (%v), want %q", he.Op, err, op)
	}
	return he
}

func TestRun_output(t *testing.T) {
	// Not in the env given to Run: the program must not see it.
	t.Setenv("HOOKRUN_PARENT_ONLY", "leaked")
	res, err := hookrun.Run(t.Context(), []string{self(t)},
		[]string{helperVar + "=output", "SMSAGENT_X=a b;c"}, "", time.Minute, 4096)
	if err != nil {
		t.Fatalf("Run: %v (output %q)", err, res.Output)
	}
	want := "out 1\nerr 1\nout 2\nSMSAGENT_X=a b;c\nHOOKRUN_PARENT_ONLY=\n"
	if string(res.Output) != want {
		t.Errorf("Output %q, want %q", res.Output, want)
	}
	if res.ExitCode != 0 || res.Dropped != 0 || res.TimedOut || res.Duration <= 0 {
		t.Errorf("Result %+v", res)
	}
}

func TestRun_nilEnvironment(t *testing.T) {
	res, err := hookrun.Run(t.Context(), []string{self(t), environArg}, nil, "", time.Minute, 1<<16)
	if err != nil {
		t.Fatalf("Run: %v (output %q)", err, res.Output)
	}
	var got []string
	for line := range strings.Lines(string(res.Output)) {
		kv := strings.TrimRight(line, "\r\n")
		name, _, _ := strings.Cut(kv, "=")
		name = strings.ToUpper(name)
		// os/exec gives a Windows program SYSTEMROOT, which it needs to
		// start; Wine adds its own WINE* variables and SystemDrive to every
		// process it starts.
		if runtime.GOOS == "windows" && (name == "SYSTEMROOT" ||
			underWine() && (strings.HasPrefix(name, "WINE") || name == "SYSTEMDRIVE")) {
			continue
		}
		got = append(got, kv)
	}
	if len(got) != 0 {
		t.Errorf("a nil env gave the program variables: %q", got)
	}
}

func TestRun_exitStatus(t *testing.T) {
	exe := self(t)
	res, err := hookrun.Run(t.Context(), []string{exe}, helperEnv("exit3"), "", time.Minute, 4096)
	he := hookError(t, err, "exit")
	if he.ExitCode != 3 || res.ExitCode != 3 {
		t.Errorf("Error.ExitCode %d, Result.ExitCode %d, want 3", he.ExitCode, res.ExitCode)
	}
	if want := "hook: " + exe + ": exit status 3"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Errorf("%v does not wrap an *exec.ExitError", err)
	}
	if got := strings.TrimRight(string(res.Output), "\r\n"); got != "failing on purpose" || res.TimedOut {
		t.Errorf("Output %q, TimedOut %v", res.Output, res.TimedOut)
	}
}

func TestRun_argumentsLiteral(t *testing.T) {
	args := []string{
		"two words", `"double"`, `'single'`, "a;b", "$(touch pwned)", "`id`", "|", "&&", ">out",
		"*", "%PATH%", `back\slash`, `trailing\`, `\"`, "", "tab\there", "ünïcode",
	}
	res, err := hookrun.Run(t.Context(), append([]string{self(t)}, args...), helperEnv("args"), t.TempDir(), time.Minute, 1<<16)
	if err != nil {
		t.Fatalf("Run: %v (output %q)", err, res.Output)
	}
	var got []string
	if err := json.Unmarshal(res.Output, &got); err != nil {
		t.Fatalf("output %q: %v", res.Output, err)
	}
	if !slices.Equal(got, args) {
		t.Errorf("the program got\n%q\nwant\n%q", got, args)
	}
}

func TestRun_dir(t *testing.T) {
	dir := t.TempDir()
	res, err := hookrun.Run(t.Context(), []string{self(t)}, helperEnv("pwd"), dir, time.Minute, 4096)
	if err != nil {
		t.Fatalf("Run: %v (output %q)", err, res.Output)
	}
	got, err1 := os.Stat(string(res.Output))
	want, err2 := os.Stat(dir)
	if err1 != nil || err2 != nil || !os.SameFile(got, want) {
		t.Errorf("working folder %q, want %q (%v, %v)", res.Output, dir, err1, err2)
	}
}

func TestRun_timeoutKillsGroup(t *testing.T) {
	t.Parallel()
	exe := self(t)
	// The program must have started its grandchild before the deadline for
	// the run to show anything: where starting two processes takes longer
	// than 500ms (Wine takes about 200ms for each, more on a loaded
	// machine), the run is repeated with twice the timeout.
	for timeout := 500 * time.Millisecond; ; timeout *= 2 {
		pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
		res, err := hookrun.Run(t.Context(), []string{exe, pidFile}, helperEnv("spawn-sleep"), "", timeout, 4096)
		he := hookError(t, err, "timeout")
		if !res.TimedOut || res.ExitCode != -1 || he.ExitCode != -1 || he.Timeout != timeout {
			t.Errorf("Result %+v, Error %+v", res, he)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%v does not wrap context.DeadlineExceeded", err)
		}
		if want := fmt.Sprintf("hook: %s: killed after the %v timeout %s", exe, timeout, killedWith); err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
		// The grandchild holds the output pipe: had it survived the kill,
		// Run would have read until WaitDelay passed.
		if res.Duration >= timeout+hookrun.WaitDelay {
			t.Errorf("Run took %v: the output was held open past the kill", res.Duration)
		}
		if _, err := os.Stat(pidFile); err != nil {
			if timeout >= 8*time.Second {
				t.Fatalf("the program had not started its grandchild within %v", timeout)
			}
			t.Logf("the program had not started its grandchild within %v: again with %v", timeout, 2*timeout)
			continue
		}
		pid := readPid(t, pidFile)
		testutil.Eventually(t, 10*time.Second, fmt.Sprintf("grandchild %d gone", pid), func() bool { return !alive(pid) })
		return
	}
}

func TestRun_boundedOutput(t *testing.T) {
	const limit = 64 << 10
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := hookrun.Run(t.Context(), []string{self(t)}, helperEnv("chatty"), "", time.Minute, limit)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 0 {
		t.Errorf("ExitCode %d", res.ExitCode)
	}
	// The first limit bytes: the first chunk written to stdout, then the
	// first written to stderr.
	want := append(bytes.Repeat([]byte{'o'}, chunkSize), bytes.Repeat([]byte{'e'}, chunkSize)...)
	if !bytes.Equal(res.Output, want) {
		t.Errorf("Output: %d bytes, not the first %d written", len(res.Output), limit)
	}
	if res.Dropped != 2*chattyBytes-limit {
		t.Errorf("Dropped %d, want %d", res.Dropped, 2*chattyBytes-limit)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("Run allocated %d KiB for %d MiB of output", allocated>>10, 2*chattyBytes>>20)
	if allocated > 2<<20 {
		t.Errorf("Run allocated %d KiB for a %d KiB limit: the output was buffered", allocated>>10, limit>>10)
	}
}

func TestRun_grandchildHoldsOutput(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	res, err := hookrun.Run(t.Context(), []string{self(t), pidFile}, helperEnv("leave-open"), "", time.Minute, 4096)
	pid := readPid(t, pidFile)
	t.Cleanup(func() {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 0 || res.TimedOut || !strings.HasPrefix(string(res.Output), "parent done") {
		t.Errorf("Result %+v (output %q)", res, res.Output)
	}
	if slack := 5 * time.Second; res.Duration > hookrun.WaitDelay+slack {
		t.Errorf("Run took %v, want at most WaitDelay %v + %v", res.Duration, hookrun.WaitDelay, slack)
	}
	// After a normal exit what the program left running is its business.
	if !alive(pid) {
		t.Errorf("the grandchild %d was killed after the program exited 0", pid)
	}
}

func TestRun_missingProgram(t *testing.T) {
	absent := filepath.Join(t.TempDir(), "no-such-program")
	if runtime.GOOS == "windows" {
		absent += ".exe"
	}
	for _, tc := range []struct {
		name, program string
		is            error
	}{
		{"path", absent, fs.ErrNotExist},
		{"PATH", "hookrun-no-such-program", exec.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := hookrun.Run(t.Context(), []string{tc.program, "x"}, helperEnv("output"), "", time.Minute, 4096)
			he := hookError(t, err, "start")
			if !errors.Is(err, tc.is) {
				t.Errorf("%v does not wrap %v", err, tc.is)
			}
			if prefix := "hook: " + tc.program + ": start: "; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("message %q, want it to start %q", err, prefix)
			}
			if res.ExitCode != -1 || he.ExitCode != -1 || len(res.Output) != 0 {
				t.Errorf("Result %+v", res)
			}
			t.Log(err)
		})
	}
	if _, err := hookrun.Run(t.Context(), nil, nil, "", time.Minute, 4096); err == nil {
		t.Error("Run of no argv: no error")
	} else {
		hookError(t, err, "start")
	}
}

func TestRun_canceled(t *testing.T) {
	t.Parallel()
	exe := self(t)
	stopping := errors.New("agent stopping")

	t.Run("running", func(t *testing.T) {
		pidFile := filepath.Join(t.TempDir(), "sleep.pid")
		ctx, cancel := context.WithCancelCause(t.Context())
		defer cancel(nil)
		started := make(chan bool, 1)
		go func() {
			// Cancel once the program runs: when it has written its pid.
			deadline := time.Now().Add(30 * time.Second)
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for time.Now().Before(deadline) {
				if _, err := os.Stat(pidFile); err == nil {
					started <- true
					cancel(stopping)
					return
				}
				<-tick.C
			}
			started <- false
			cancel(errors.New("the program did not start"))
		}()
		res, err := hookrun.Run(ctx, []string{exe, pidFile}, helperEnv("sleep"), "", time.Minute, 4096)
		if !<-started {
			t.Fatalf("the program wrote no pid within 30s; Run: %v", err)
		}
		he := hookError(t, err, "canceled")
		if !errors.Is(err, stopping) {
			t.Errorf("%v does not wrap the context's cause", err)
		}
		if want := fmt.Sprintf("hook: %s: killed %s: agent stopping", exe, killedWith); err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
		if res.TimedOut || res.ExitCode != -1 || he.ExitCode != -1 {
			t.Errorf("Result %+v", res)
		}
		pid := readPid(t, pidFile)
		testutil.Eventually(t, 10*time.Second, fmt.Sprintf("program %d gone", pid), func() bool { return !alive(pid) })
	})

	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(stopping)
		pidFile := filepath.Join(t.TempDir(), "sleep.pid")
		_, err := hookrun.Run(ctx, []string{exe, pidFile}, helperEnv("sleep"), "", time.Minute, 4096)
		hookError(t, err, "canceled")
		if !errors.Is(err, stopping) {
			t.Errorf("%v does not wrap the context's cause", err)
		}
		if _, statErr := os.Stat(pidFile); statErr == nil {
			t.Error("the program was started under a context already canceled")
		}
	})
}
