package spool_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/spool"
)

// crashChildEnv names the folder a re-executed test binary runs intake in,
// instead of running tests.
const crashChildEnv = "SPOOL_CRASH_CHILD_DIR"

// crashRounds is how many times TestCrash_intake kills intake.
const crashRounds = 50

// TestCrash_intake kills a process running intake (the real parser, the
// real outbox, archiving on) with SIGKILL at random moments while files
// arrive, crashRounds times, then lets a last run finish and proves the
// promise of spool/doc.go: every message of every accepted file is in the
// outbox exactly once, every file is in exactly one of sent/ or failed/
// (with its .error.json) and nowhere else, and the database checks clean.
func TestCrash_intake(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashIntakeChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("50 processes killed")
	}
	dir := t.TempDir()
	layout, err := spool.Prepare(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // to replay a failure: NewPCG(seed, 3)
	rnd := rand.New(rand.NewPCG(seed, 3))
	want := map[string]int{} // file name -> messages in it; -1: refused
	texts := map[string]bool{}
	staging := filepath.Join(dir, "staging")
	if err := os.Mkdir(staging, 0o750); err != nil {
		t.Fatal(err)
	}
	drop := func(n int) {
		for range n {
			name, body, msgs := crashFile(len(want), rnd)
			// Written elsewhere and renamed in, as the README teaches.
			tmp := filepath.Join(staging, name)
			if err := os.WriteFile(tmp, body, 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(layout.Outgoing, name)); err != nil {
				t.Fatal(err)
			}
			want[name] = len(msgs)
			if msgs == nil {
				want[name] = -1
			}
			for _, m := range msgs {
				texts[m] = true
			}
		}
	}
	for round := range crashRounds {
		drop(5 + rnd.IntN(15))
		child := startIntakeChild(t, dir)
		// Kill once intake has taken a random share of what waits, or
		// at once: a crash may come before the first file too.
		left := rnd.IntN(len(names(t, layout.Outgoing)) + 1)
		waitFor(t, fmt.Sprintf("round %d: intake to take files", round), 30*time.Second, func() bool {
			if child.exited() {
				t.Fatalf("round %d: intake exited by itself: %v\n%s", round, child.err, child.stderr)
			}
			return len(names(t, layout.Outgoing)) <= left
		})
		child.kill(t)
	}

	// A last run takes what is left and stops cleanly.
	child := startIntakeChild(t, dir)
	waitFor(t, "outgoing/ and .work/ to empty", time.Minute, func() bool {
		return len(names(t, layout.Outgoing))+len(names(t, layout.Work)) == 0
	})
	if err := child.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-child.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("last run: still running 30 s after SIGTERM\n%s", child.stderr)
	}
	if child.err != nil {
		t.Fatalf("last run: %v\n%s", child.err, child.stderr)
	}

	sent, failed := set(names(t, layout.Sent)), set(names(t, layout.Failed))
	for name, n := range want {
		switch {
		case n >= 0 && (!sent[name] || failed[name]):
			t.Errorf("%s was accepted: want it in sent/ only (sent %v, failed %v)", name, sent[name], failed[name])
		case n < 0 && (!failed[name] || !failed[name+".error.json"] || sent[name]):
			t.Errorf("%s was refused: want it and its .error.json in failed/ only (failed %v, reason %v, sent %v)",
				name, failed[name], failed[name+".error.json"], sent[name])
		}
		delete(sent, name)
		delete(failed, name)
		delete(failed, name+".error.json")
	}
	if len(sent)+len(failed) > 0 {
		t.Errorf("files nobody dropped: sent/ %v, failed/ %v", sent, failed)
	}

	store, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(context.Background())
	if err := store.Check(); err != nil {
		t.Fatalf("outbox check: %v", err)
	}
	seen := map[string]int{}
	for after := smsagent.MessageID(0); ; {
		page, err := store.List(context.Background(), outbox.ListQuery{After: after, Limit: outbox.MaxListLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			seen[r.Text]++
		}
		after = page[len(page)-1].ID
	}
	for text := range texts {
		if seen[text] != 1 {
			t.Errorf("message %q stored %d times, want once", text, seen[text])
		}
		delete(seen, text)
	}
	if len(seen) > 0 {
		t.Errorf("messages nobody sent: %v", seen)
	}
	t.Logf("%d rounds killed; %d files (%d messages) taken exactly once", crashRounds, len(want), len(texts))
}

// crashFile makes file number i: NDJSON of 1-5 messages, a JSON array, an
// smstools3 file, or (every seventh) one the parser refuses. msgs are the
// texts it carries, nil when it is refused.
func crashFile(i int, rnd *rand.Rand) (name string, body []byte, msgs []string) {
	text := func(j int) string { return fmt.Sprintf("file %d message %d", i, j) }
	to := func(j int) string { return fmt.Sprintf("+4477009%05d", (i*7+j)%100000) }
	var b bytes.Buffer
	switch {
	case i%7 == 6:
		return fmt.Sprintf("bad %04d.json", i), []byte(`{"to":"+44 7700 9OO","text":"` + text(0) + `"}`), nil
	case i%3 == 0:
		for j := range 1 + rnd.IntN(5) {
			fmt.Fprintf(&b, `{"to":%q,"text":%q}`+"\n", to(j), text(j))
			msgs = append(msgs, text(j))
		}
		return fmt.Sprintf("bulk-%04d.ndjson", i), b.Bytes(), msgs
	case i%3 == 1:
		fmt.Fprintf(&b, `[{"to":%q,"text":%q},{"to":%q,"text":%q}]`, to(0), text(0), to(1), text(1))
		return fmt.Sprintf("pair-%04d.json", i), b.Bytes(), []string{text(0), text(1)}
	default:
		fmt.Fprintf(&b, "To: %s\n\n%s", to(0)[1:], text(0))
		return fmt.Sprintf("send_%04d", i), b.Bytes(), []string{text(0)}
	}
}

// intakeChild is a process running crashIntakeChild. done is closed when
// it has exited; err is then how.
type intakeChild struct {
	cmd    *exec.Cmd
	stderr *strings.Builder
	done   chan struct{}
	err    error
}

// startIntakeChild runs crashIntakeChild in a new process of this test
// binary.
func startIntakeChild(t *testing.T, dir string) *intakeChild {
	t.Helper()
	c := &intakeChild{stderr: &strings.Builder{}, done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestCrash_intake$", "-test.count=1")
	c.cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	return c
}

func (c *intakeChild) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// kill ends the process with SIGKILL, as a power cut ends the agent, and
// waits until it is gone.
func (c *intakeChild) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil && !c.exited() {
		t.Fatal(err)
	}
	<-c.done
}

// crashIntakeChild runs intake over dir/spool into dir/outbox.db until
// SIGTERM, as the agent wires it.
func crashIntakeChild(t *testing.T, dir string) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	layout, err := spool.Prepare(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := spool.New(spool.Options{Layout: layout, Store: store, Archive: true, RescanInterval: 50 * time.Millisecond,
		Settle: 20 * time.Millisecond, // files found by a scan wait this long; the test has no slow writers
		Parse:  parseMsgfile})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := in.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
}

func set(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
