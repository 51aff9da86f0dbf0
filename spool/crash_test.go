package spool_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/testutil"
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
		child := testutil.StartChild(t, "TestCrash_intake", crashChildEnv+"="+dir)
		// Kill once intake has taken a random share of what waits, or
		// at once: a crash may come before the first file too.
		left := rnd.IntN(len(names(t, layout.Outgoing)) + 1)
		testutil.Eventually(t, 30*time.Second, fmt.Sprintf("round %d: intake to take files", round), func() bool {
			if child.Exited() {
				t.Fatalf("round %d: intake exited by itself: %v\n%s", round, child.Err(), child.Stderr)
			}
			return len(names(t, layout.Outgoing)) <= left
		})
		child.Kill(t)
	}

	// A last run takes what is left and stops cleanly.
	child := testutil.StartChild(t, "TestCrash_intake", crashChildEnv+"="+dir)
	testutil.Eventually(t, time.Minute, "outgoing/ and .work/ to empty", func() bool {
		return len(names(t, layout.Outgoing))+len(names(t, layout.Work)) == 0
	})
	// The graceful stop: SIGTERM, as systemd sends; Windows has no
	// SIGTERM for another process, so the child also stops when its
	// stdin closes.
	if err := child.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-child.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("last run: still running 30 s after the stop\n%s", child.Stderr)
	}
	if err := child.Err(); err != nil {
		t.Fatalf("last run: %v\n%s", err, child.Stderr)
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

// crashIntakeChild runs intake over dir/spool into dir/outbox.db until
// SIGTERM or the end of its stdin, as the agent wires it.
func crashIntakeChild(t *testing.T, dir string) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-testutil.StdinClosed()
		cancel()
	}()
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
