package spool_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/spool"
)

func TestIntake_RenameInTakenFast(t *testing.T) {
	if !spool.OrderedEvents {
		t.Skip("no ordered watcher events on this platform: every file settles")
	}
	const settle = 5 * time.Second
	r := newRig(t, func(o *spool.Options) { o.Settle = settle }).start()
	testutil.Eventually(t, 5*time.Second, "initial scan", func() bool { return r.intake.Stats().Rescans > 0 })

	var worst time.Duration
	for i := range 5 {
		name := fmt.Sprintf("fast-%d.txt", i)
		start := time.Now()
		r.dropRenamed(name, "447700900001 hello\n")
		testutil.Eventually(t, settle, name+" stored", func() bool { _, ok := r.store.batchFor(name); return ok })
		worst = max(worst, time.Since(start))
	}
	t.Logf("rename-in to stored: worst of 5 = %v (settle %v)", worst, settle)
	if worst > settle/4 {
		t.Errorf("a renamed-in file took %v; it must not wait for the settle time (%v)", worst, settle)
	}
}

func TestIntake_SlowWriterNotTakenEarly(t *testing.T) {
	r := newRig(t, func(o *spool.Options) { o.Settle = time.Second }).start()
	testutil.Eventually(t, 5*time.Second, "initial scan", func() bool { return r.intake.Stats().Rescans > 0 })

	// Writers write in place, in three chunks with pauses well under the
	// settle time. The pauses are the scenario, not synchronisation.
	const writers = 4
	var wg sync.WaitGroup
	lastWrite := make([]time.Time, writers)
	for w := range writers {
		wg.Go(func() {
			f, err := os.OpenFile(filepath.Join(r.layout.Outgoing, fmt.Sprintf("slow-%d.txt", w)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			for chunk := range 3 {
				if chunk > 0 {
					time.Sleep(100 * time.Millisecond)
				}
				if _, err := fmt.Fprintf(f, "44770090000%d part %d\n", chunk, chunk); err != nil {
					t.Error(err)
				}
				lastWrite[w] = time.Now()
			}
		})
	}
	wg.Wait()
	for w := range writers {
		name := fmt.Sprintf("slow-%d.txt", w)
		testutil.Eventually(t, 10*time.Second, name+" stored", func() bool { _, ok := r.store.batchFor(name); return ok })
		b, _ := r.store.batchFor(name)
		if len(b.Messages) != 3 {
			t.Errorf("%s: stored %d messages, want 3: taken before the writer finished", name, len(b.Messages))
		}
		calls := r.parser.callsFor(name)
		if len(calls) != 1 || strings.Count(calls[0], "\n") != 3 {
			t.Errorf("%s: parser saw %q, want one complete read", name, calls)
		}
	}
}

// TestIntake_OverflowRescan drives the overflow path with a watcher that
// delivers nothing but the overflow: only the rescan it forces can find
// the files.
func TestIntake_OverflowRescan(t *testing.T) {
	w := spool.NewFakeWatcher()
	scans := make(chan int, 10)
	r := newRig(t, func(o *spool.Options) {
		spool.UseWatcher(o, w)
		spool.SetAfterScan(o, func(added int) { scans <- added })
	}).start()
	if n := <-scans; n != 0 {
		t.Fatalf("initial scan added %d files, want 0", n)
	}
	for i := range 20 {
		r.dropOld(fmt.Sprintf("m%02d.txt", i), "447700900001 hi\n", time.Hour)
	}
	if got := r.store.count(); got != 0 {
		t.Fatalf("%d files stored before any event or scan", got)
	}
	w.Err <- fsnotify.ErrEventOverflow
	if n := <-scans; n != 20 {
		t.Errorf("rescan after overflow added %d files, want 20", n)
	}
	testutil.Eventually(t, 10*time.Second, "20 files stored", func() bool { return r.store.count() == 20 })
	if st := r.intake.Stats(); st.Overflows != 1 || st.Rescans != 2 {
		t.Errorf("Stats: overflows %d, rescans %d; want 1 and 2", st.Overflows, st.Rescans)
	}

	// Any other watcher error also voids what events said and rescans.
	r.dropOld("late.txt", "447700900001 hi\n", time.Hour)
	w.Err <- errors.New("read inotify: input/output error")
	if n := <-scans; n != 1 {
		t.Errorf("rescan after a watcher error added %d files, want 1", n)
	}
	testutil.Eventually(t, 10*time.Second, "late.txt stored", func() bool { _, ok := r.store.batchFor("late.txt"); return ok })
}

// TestIntake_OverflowReal overflows the kernel's inotify queue for real:
// the loop is held inside its first scan while more files appear than the
// queue holds (fs.inotify.max_queued_events, 16384 by default), so events
// are lost and only the rescan after ErrEventOverflow finds every file. It
// also makes the tracked-file cap (spool.MaxPending) fill up.
func TestIntake_OverflowReal(t *testing.T) {
	if !spool.OrderedEvents {
		t.Skip("inotify only")
	}
	if testing.Short() {
		t.Skip("creates 20,000 files")
	}
	const files = 20000
	release := make(chan struct{})
	held := make(chan struct{})
	first := true
	r := newRig(t, func(o *spool.Options) {
		spool.SetAfterScan(o, func(int) {
			if first { // only the loop goroutine runs the hook
				first = false
				close(held)
				<-release
			}
		})
	}).start()
	<-held
	// Hard links appear with their content (one Create each) and cost no
	// data writes; their shared mtime is old, so a scan takes them at once.
	src := filepath.Join(r.layout.Root, "source")
	if err := os.WriteFile(src, []byte("447700900001 hi\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(src, old, old); err != nil {
		t.Fatal(err)
	}
	for i := range files {
		if err := os.Link(src, filepath.Join(r.layout.Outgoing, fmt.Sprintf("l%05d", i))); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	testutil.Eventually(t, 2*time.Minute, "every file stored", func() bool { return r.store.count() == files })
	st := r.intake.Stats()
	if st.Overflows == 0 {
		t.Errorf("no overflow reported; the kernel queue did not fill (max_queued_events above %d?)", files)
	}
	t.Logf("stats: %+v", st)
	if left := r.names(r.layout.Outgoing); len(left) != 0 {
		t.Errorf("%d files left in outgoing/", len(left))
	}
}

func TestIntake_SymlinkNotFollowed(t *testing.T) {
	r := newRig(t, nil)
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("447700900001 leaked\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(r.layout.Outgoing, "link.txt")
	if err := os.Symlink(secret, link); err != nil {
		t.Skip("cannot create symlinks here:", err)
	}
	// Wine reports success and creates nothing: no link to test.
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Skip("symbolic links cannot be created here (Wine reports success and makes none):", err)
	}
	r.start()
	failed := filepath.Join(r.layout.Failed, "link.txt")
	testutil.Eventually(t, 10*time.Second, "link quarantined", func() bool { return exists(failed+".error.json") && exists(failed) })
	fi, err := os.Lstat(failed)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("failed/link.txt: %v, mode %v; want the link itself", err, fi.Mode())
	}
	if rep := readReport(t, failed+".error.json"); !strings.HasPrefix(rep["error"].(string), "symlink") {
		t.Errorf("reason %q, want it to start with symlink", rep["error"])
	}
	if calls := r.parser.total(); calls != 0 {
		t.Errorf("parser called %d times: the link's target was read", calls)
	}
	if r.store.count() != 0 {
		t.Error("the link's target was stored")
	}
	if data, err := os.ReadFile(secret); err != nil || string(data) != "447700900001 leaked\n" {
		t.Errorf("link target changed: %q, %v", data, err)
	}
}

func TestIntake_FolderNamedLikeMessage(t *testing.T) {
	r := newRig(t, nil)
	dir := filepath.Join(r.layout.Outgoing, "x.json")
	if err := os.MkdirAll(filepath.Join(dir, "inner"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inner", "m.txt"), []byte("447700900001 hi\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	r.start()
	failed := filepath.Join(r.layout.Failed, "x.json")
	testutil.Eventually(t, 10*time.Second, "folder quarantined", func() bool { return exists(failed+".error.json") && exists(failed) })
	if !exists(filepath.Join(failed, "inner", "m.txt")) {
		t.Error("the folder's content did not move with it")
	}
	if rep := readReport(t, failed+".error.json"); !strings.HasPrefix(rep["error"].(string), "folder") {
		t.Errorf("reason %q, want it to start with folder", rep["error"])
	}
	if r.parser.total() != 0 || r.store.count() != 0 {
		t.Error("something inside the folder was read or stored")
	}
}

func TestIntake_OversizeRejectedUnread(t *testing.T) {
	r := newRig(t, func(o *spool.Options) { o.MaxFileSize = 1024 })
	content := strings.Repeat("447700900001 0123456789\n", 200) // 4800 bytes
	r.dropOld("big.txt", content, time.Hour)
	r.dropOld("small.txt", "447700900001 hi\n", time.Hour)
	r.start()
	failed := filepath.Join(r.layout.Failed, "big.txt")
	testutil.Eventually(t, 10*time.Second, "big.txt quarantined", func() bool { return exists(failed) })
	testutil.Eventually(t, 10*time.Second, "small.txt stored", func() bool { _, ok := r.store.batchFor("small.txt"); return ok })
	if calls := r.parser.callsFor("big.txt"); len(calls) != 0 {
		t.Errorf("the oversize file was read: %d parser calls", len(calls))
	}
	rep := readReport(t, failed+".error.json")
	if msg := rep["error"].(string); !strings.Contains(msg, "4800 bytes") || !strings.Contains(msg, "limit of 1024") {
		t.Errorf("reason %q does not give the size and the limit", msg)
	}
	if data, _ := os.ReadFile(failed); string(data) != content {
		t.Error("quarantined file differs from the original")
	}
}

func TestIntake_LockConventions(t *testing.T) {
	r := newRig(t, nil)
	skipped := []string{
		"a.txt",      // its lock exists
		"a.txt.LOCK", // a lock
		"LOCKEDb.txt",
		".hidden.txt",
		"c.txt.tmp",
		"d.txt.part",
		"E.TXT.TMP",
		"f.txt.Part",
	}
	for _, name := range skipped {
		r.dropOld(name, "447700900001 hi\n", 2*time.Hour)
	}
	// The control file is the newest, so it is claimed after anything the
	// rules failed to skip: once it is stored, a wrongly taken file would
	// have left outgoing/ already.
	r.dropOld("ok.txt", "447700900001 hi\n", time.Hour)
	r.start()
	testutil.Eventually(t, 10*time.Second, "ok.txt stored", func() bool { _, ok := r.store.batchFor("ok.txt"); return ok })
	left := r.names(r.layout.Outgoing)
	for _, name := range skipped {
		if !slices.Contains(left, name) {
			t.Errorf("%s was taken; the pickup rules skip it", name)
		}
	}
	if n := r.store.count(); n != 1 {
		t.Errorf("%d batches stored, want 1", n)
	}

	// Removing the lock releases the file.
	if err := os.Remove(filepath.Join(r.layout.Outgoing, "a.txt.LOCK")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "a.txt stored after its lock went away", func() bool { _, ok := r.store.batchFor("a.txt"); return ok })
}

func TestIntake_UnusualNames(t *testing.T) {
	r := newRig(t, func(o *spool.Options) { o.Archive = true }).start()
	names := []string{"my message file.txt", "Grüße aus Köln.txt", "短信 2.txt", "emoji-📨.txt", "no-extension"}
	for _, name := range names {
		r.dropRenamed(name, "447700900001 hi\n")
	}
	for _, name := range names {
		testutil.Eventually(t, 10*time.Second, name+" stored", func() bool { _, ok := r.store.batchFor(name); return ok })
		b, _ := r.store.batchFor(name)
		if b.Messages[0].File != name {
			t.Errorf("message File = %q, want %q", b.Messages[0].File, name)
		}
		if spool.OriginalName(b.Claim) != name {
			t.Errorf("claim %q does not recover the name %q", b.Claim, name)
		}
		testutil.Eventually(t, 10*time.Second, name+" archived", func() bool { return exists(filepath.Join(r.layout.Sent, name)) })
	}
}

func TestIntake_SameContentTwoNames(t *testing.T) {
	r := newRig(t, nil)
	r.dropOld("one.txt", "447700900001 same\n", time.Hour)
	r.dropOld("two.txt", "447700900001 same\n", time.Hour)
	r.start()
	testutil.Eventually(t, 10*time.Second, "two batches", func() bool { return r.store.count() == 2 })
	bs := r.store.snapshot()
	if bs[0].Claim == bs[1].Claim {
		t.Errorf("both files stored under claim %q", bs[0].Claim)
	}
	testutil.Eventually(t, 5*time.Second, "counters", func() bool { return r.intake.Stats().Taken == 2 })
	if st := r.intake.Stats(); st.Messages != 2 || st.Bytes != 2*uint64(len("447700900001 same\n")) {
		t.Errorf("Stats: messages %d bytes %d", st.Messages, st.Bytes)
	}
	// And the same name dropped again later is a new file, too.
	r.dropRenamed("one.txt", "447700900001 same\n")
	testutil.Eventually(t, 10*time.Second, "third batch", func() bool { return r.store.count() == 3 })
}

func TestIntake_FailedPairs(t *testing.T) {
	r := newRig(t, func(o *spool.Options) {
		o.Check = func(m *smsagent.Message) error {
			if m.Text == "unencodable" {
				return errors.New("text cannot be encoded")
			}
			return nil
		}
	}).start()

	r.dropRenamed("bad.txt", "447700900001 fine\n!oops\n")
	first := filepath.Join(r.layout.Failed, "bad.txt")
	testutil.Eventually(t, 10*time.Second, "bad.txt quarantined", func() bool { return exists(first) })
	rep := readReport(t, first+".error.json")
	if rep["file"] != "bad.txt" || !strings.Contains(rep["error"].(string), "bad line 2") {
		t.Errorf("report file %q error %q", rep["file"], rep["error"])
	}
	problems, _ := rep["problems"].([]any)
	if len(problems) != 1 || problems[0].(map[string]any)["line"] != float64(2) || problems[0].(map[string]any)["field"] != "to" {
		t.Errorf("problems %v, want line 2 field to", rep["problems"])
	}
	if at, err := time.Parse(time.RFC3339Nano, rep["failed_at"].(string)); err != nil || time.Since(at) > time.Minute {
		t.Errorf("failed_at %v: %v", rep["failed_at"], err)
	}

	// The same name again: a numbered pair, the first pair untouched.
	r.dropRenamed("bad.txt", "447700900001 fine\n447700900002 unencodable\n447700900003 unencodable\n")
	second := filepath.Join(r.layout.Failed, "bad.1.txt")
	testutil.Eventually(t, 10*time.Second, "bad.1.txt quarantined", func() bool { return exists(second) })
	rep = readReport(t, second+".error.json")
	if msg := rep["error"].(string); !strings.Contains(msg, "message 2 of 3: text cannot be encoded (and 1 more problems)") {
		t.Errorf("error %q", msg)
	}
	if problems, _ := rep["problems"].([]any); len(problems) != 2 || problems[1].(map[string]any)["index"] != float64(3) {
		t.Errorf("problems %v, want indexes 2 and 3", rep["problems"])
	}
	if data, _ := os.ReadFile(first); string(data) != "447700900001 fine\n!oops\n" {
		t.Errorf("first quarantined file overwritten: %q", data)
	}
	if r.store.count() != 0 {
		t.Error("a message of a rejected file was stored: intake is all or nothing")
	}
	// The counter moves just after the file does.
	testutil.Eventually(t, 5*time.Second, "Stats.Rejected = 2", func() bool { return r.intake.Stats().Rejected == 2 })

	// An empty file is a bad file too.
	r.dropRenamed("empty.txt", "\n")
	testutil.Eventually(t, 10*time.Second, "empty.txt quarantined", func() bool { return exists(filepath.Join(r.layout.Failed, "empty.txt.error.json")) })
}

func TestIntake_Archive(t *testing.T) {
	for _, archive := range []bool{false, true} {
		t.Run(fmt.Sprint("archive=", archive), func(t *testing.T) {
			r := newRig(t, func(o *spool.Options) { o.Archive = archive }).start()
			r.dropRenamed("a.txt", "447700900001 one\n")
			testutil.Eventually(t, 10*time.Second, "a.txt stored", func() bool { return r.store.count() == 1 })
			testutil.Eventually(t, 10*time.Second, ".work/ empty", func() bool { return len(r.names(r.layout.Work)) == 0 })
			r.dropRenamed("a.txt", "447700900001 two\n")
			testutil.Eventually(t, 10*time.Second, "second a.txt stored", func() bool { return r.store.count() == 2 })
			testutil.Eventually(t, 10*time.Second, ".work/ empty", func() bool { return len(r.names(r.layout.Work)) == 0 })
			sent := r.names(r.layout.Sent)
			if !archive {
				if len(sent) != 0 {
					t.Errorf("sent/ holds %v with archiving off", sent)
				}
				return
			}
			if !slices.Equal(sent, []string{"a.1.txt", "a.txt"}) {
				t.Fatalf("sent/ holds %v, want a.txt and a.1.txt", sent)
			}
			one, _ := os.ReadFile(filepath.Join(r.layout.Sent, "a.txt"))
			two, _ := os.ReadFile(filepath.Join(r.layout.Sent, "a.1.txt"))
			if string(one) != "447700900001 one\n" || string(two) != "447700900001 two\n" {
				t.Errorf("archive overwrote or mixed files: %q, %q", one, two)
			}
		})
	}
}

// TestIntake_Recover is the crash story: files left in .work/ by a run that
// died are finished when stored and processed again when not.
func TestIntake_Recover(t *testing.T) {
	for _, archive := range []bool{false, true} {
		t.Run(fmt.Sprint("archive=", archive), func(t *testing.T) {
			r := newRig(t, func(o *spool.Options) { o.Archive = archive })
			const stored, lost = "1700000000000000000-0a1b2c3d-1-stored.txt", "1700000000000000000-0a1b2c3d-2-lost.txt"
			for _, claim := range []string{stored, lost} {
				if err := os.WriteFile(filepath.Join(r.layout.Work, claim), []byte("447700900001 hi\n"), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			// A temporary file of a quarantine report cut short.
			if err := os.WriteFile(filepath.Join(r.layout.Work, ".x.error.json.1-1.tmp"), nil, 0o640); err != nil {
				t.Fatal(err)
			}
			r.store.taken[stored] = true
			r.start()
			testutil.Eventually(t, 10*time.Second, ".work/ empty", func() bool { return len(r.names(r.layout.Work)) == 0 })
			bs := r.store.snapshot()
			if len(bs) != 1 || bs[0].Claim != lost || bs[0].File != "lost.txt" {
				t.Fatalf("stored %+v, want only the lost claim, as lost.txt", bs)
			}
			if r.parser.total() != 1 {
				t.Errorf("parser called %d times, want 1: a stored claim is not parsed again", r.parser.total())
			}
			if st := r.intake.Stats(); st.Recovered != 2 {
				t.Errorf("Stats.Recovered = %d, want 2", st.Recovered)
			}
			if archive {
				testutil.Eventually(t, 10*time.Second, "both archived", func() bool {
					return slices.Equal(r.names(r.layout.Sent), []string{"lost.txt", "stored.txt"})
				})
			}
		})
	}
}

// TestIntake_RecoverQuarantineSameNames: a crash between writing
// failed/X.error.json and moving the file repeats the failure under the
// same names.
func TestIntake_RecoverQuarantineSameNames(t *testing.T) {
	r := newRig(t, nil)
	const claim = "1700000000000000000-0a1b2c3d-7-bad.txt"
	if err := os.WriteFile(filepath.Join(r.layout.Work, claim), []byte("!bad\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	stale := `{"file":"bad.txt","error":"bad line 1","problems":[],"failed_at":"2026-01-01T00:00:00Z","claim":"` + claim + `"}`
	if err := os.WriteFile(filepath.Join(r.layout.Failed, "bad.txt.error.json"), []byte(stale), 0o640); err != nil {
		t.Fatal(err)
	}
	// Someone else's report with no file: its name is not free.
	if err := os.WriteFile(filepath.Join(r.layout.Failed, "other.txt.error.json"), []byte(`{"claim":"x"}`), 0o640); err != nil {
		t.Fatal(err)
	}
	r.start()
	testutil.Eventually(t, 10*time.Second, "bad.txt quarantined", func() bool { return exists(filepath.Join(r.layout.Failed, "bad.txt")) })
	want := []string{"bad.txt", "bad.txt.error.json", "other.txt.error.json"}
	if got := r.names(r.layout.Failed); !slices.Equal(got, want) {
		t.Errorf("failed/ holds %v, want %v", got, want)
	}
	if rep := readReport(t, filepath.Join(r.layout.Failed, "bad.txt.error.json")); rep["failed_at"] == "2026-01-01T00:00:00Z" {
		t.Error("the report was not rewritten")
	}
}

func TestIntake_EnqueueErrorRetries(t *testing.T) {
	r := newRig(t, nil)
	var mu sync.Mutex
	failing := true
	r.store.fail = func(smsagent.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return errDiskFull
		}
		return nil
	}
	r.start()
	r.dropRenamed("a.txt", "447700900001 hi\n")
	if err := r.nextHealth(); !errors.Is(err, errDiskFull) {
		t.Fatalf("health = %v, want the store's error", err)
	}
	if st := r.intake.Stats(); !strings.Contains(st.Stalled, "disk full") {
		t.Errorf("Stats.Stalled = %q", st.Stalled)
	}
	work := r.names(r.layout.Work)
	if len(work) != 1 || spool.OriginalName(work[0]) != "a.txt" {
		t.Fatalf(".work/ holds %v; the file must stay there", work)
	}
	// While stalled, new files are not claimed.
	r.dropRenamed("b.txt", "447700900001 hi\n")
	testutil.Eventually(t, 10*time.Second, "a second failed attempt", func() bool {
		r.store.mu.Lock()
		defer r.store.mu.Unlock()
		return r.store.calls >= 2
	})
	if !exists(filepath.Join(r.layout.Outgoing, "b.txt")) {
		t.Error("b.txt was claimed while intake was stalled")
	}

	mu.Lock()
	failing = false
	mu.Unlock()
	if err := r.nextHealth(); err != nil {
		t.Fatalf("health = %v, want nil after the store recovered", err)
	}
	testutil.Eventually(t, 10*time.Second, "both stored", func() bool { return r.store.count() == 2 })
	testutil.Eventually(t, 10*time.Second, ".work/ empty", func() bool { return len(r.names(r.layout.Work)) == 0 })
	if st := r.intake.Stats(); st.Stalled != "" || st.Taken != 2 {
		t.Errorf("Stats: stalled %q taken %d", st.Stalled, st.Taken)
	}
}

func TestIntake_CloseStopsPromptly(t *testing.T) {
	r := newRig(t, nil)
	r.store.block = true
	r.store.entered = make(chan struct{}, 1)
	in, err := spool.New(r.opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(); err != nil {
		t.Fatal(err)
	}
	r.dropRenamed("a.txt", "447700900001 hi\n")
	<-r.store.entered
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := in.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	if work := r.names(r.layout.Work); len(work) != 1 {
		t.Errorf(".work/ holds %v; the interrupted file must stay for the next run", work)
	}
	select {
	case err := <-r.health:
		t.Errorf("health reported %v at shutdown", err)
	default:
	}
}

func TestIntake_RunTwice(t *testing.T) {
	r := newRig(t, nil).start()
	if err := r.intake.Run(context.Background()); !errors.Is(err, spool.ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
}

func TestNew_Validates(t *testing.T) {
	layout := spool.NewLayout(t.TempDir())
	parse := newLineParser().Parse
	for name, o := range map[string]spool.Options{
		"no store":  {Layout: layout, Parse: parse},
		"no parser": {Layout: layout, Store: newFakeStore()},
		"no layout": {Store: newFakeStore(), Parse: parse},
		"negative":  {Layout: layout, Store: newFakeStore(), Parse: parse, Settle: -1},
	} {
		if _, err := spool.New(o); err == nil {
			t.Errorf("%s: New accepted the options", name)
		}
	}
}

// TestIntake_SettleWithoutOrderedEvents: where events carry no ordering
// (the fake watcher stands for Windows and macOS), a new file waits for the
// settle time even when it was renamed in.
func TestIntake_SettleWithoutOrderedEvents(t *testing.T) {
	const settle = 400 * time.Millisecond
	w := spool.NewFakeWatcher()
	r := newRig(t, func(o *spool.Options) {
		o.Settle = settle
		spool.UseWatcher(o, w)
	}).start()
	start := time.Now()
	r.dropRenamed("a.txt", "447700900001 hi\n")
	w.Ev <- fsnotify.Event{Name: filepath.Join(r.layout.Outgoing, "a.txt"), Op: fsnotify.Create}
	testutil.Eventually(t, 10*time.Second, "a.txt stored", func() bool { _, ok := r.store.batchFor("a.txt"); return ok })
	if d := time.Since(start); d < settle {
		t.Errorf("taken after %v, before the settle time %v", d, settle)
	}
	// A Write restarts the count.
	r.dropRenamed("b.txt", "447700900001 hi\n")
	w.Ev <- fsnotify.Event{Name: filepath.Join(r.layout.Outgoing, "b.txt"), Op: fsnotify.Create}
	half := time.Now()
	time.Sleep(settle / 2) // the writer's pause: part of the scenario
	write := time.Now()
	w.Ev <- fsnotify.Event{Name: filepath.Join(r.layout.Outgoing, "b.txt"), Op: fsnotify.Write}
	testutil.Eventually(t, 10*time.Second, "b.txt stored", func() bool { _, ok := r.store.batchFor("b.txt"); return ok })
	if d := time.Since(write); d < settle {
		t.Errorf("taken %v after its last Write (%v after it appeared); the settle time is %v", d, time.Since(half), settle)
	}
}

func TestIntake_PeriodicRescan(t *testing.T) {
	w := spool.NewFakeWatcher() // delivers nothing: only scans find files
	r := newRig(t, func(o *spool.Options) {
		o.RescanInterval = 100 * time.Millisecond
		spool.UseWatcher(o, w)
	}).start()
	testutil.Eventually(t, 5*time.Second, "initial scan", func() bool { return r.intake.Stats().Rescans > 0 })
	r.dropOld("a.txt", "447700900001 hi\n", time.Hour)
	testutil.Eventually(t, 10*time.Second, "a.txt stored by a periodic scan", func() bool { _, ok := r.store.batchFor("a.txt"); return ok })
}

func TestIntake_ParserPanicRejectsFile(t *testing.T) {
	r := newRig(t, nil)
	r.opts.Parse = func(rd io.Reader, name string) ([]smsagent.Message, error) {
		if name == "evil.txt" {
			var counts []int
			counts[len(name)]++ // an index out of range: the parser bug a hostile file found
		}
		return r.parser.Parse(rd, name)
	}
	r.dropOld("evil.txt", "447700900001 hi\n", time.Hour)
	r.dropOld("good.txt", "447700900001 hi\n", 2*time.Hour)
	r.start()
	testutil.Eventually(t, 10*time.Second, "evil.txt quarantined", func() bool { return exists(filepath.Join(r.layout.Failed, "evil.txt")) })
	testutil.Eventually(t, 10*time.Second, "good.txt stored", func() bool { _, ok := r.store.batchFor("good.txt"); return ok })
	rep := readReport(t, filepath.Join(r.layout.Failed, "evil.txt.error.json"))
	if msg := rep["error"].(string); !strings.Contains(msg, "parser failed") {
		t.Errorf("reason %q", msg)
	}
}

// TestIntake_QuarantineFailureStalls: when failed/ cannot take a bad file,
// the file stays in .work/, intake reports the stall, and it goes on once
// failed/ works again.
func TestIntake_QuarantineFailureStalls(t *testing.T) {
	r := newRig(t, nil).start()
	testutil.Eventually(t, 5*time.Second, "initial scan", func() bool { return r.intake.Stats().Rescans > 0 })
	// A file where the folder should be makes every move into it fail.
	if err := os.Remove(r.layout.Failed); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.layout.Failed, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	r.dropRenamed("bad.txt", "!bad\n")
	if err := r.nextHealth(); err == nil || !strings.Contains(err.Error(), "quarantine bad.txt") {
		t.Fatalf("health = %v, want the quarantine failure", err)
	}
	if work := r.names(r.layout.Work); len(work) != 1 {
		t.Fatalf(".work/ holds %v; the bad file must wait there", work)
	}
	if err := os.Remove(r.layout.Failed); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(r.layout.Failed, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := r.nextHealth(); err != nil {
		t.Fatalf("health = %v, want nil once failed/ works", err)
	}
	testutil.Eventually(t, 10*time.Second, "bad.txt quarantined", func() bool { return exists(filepath.Join(r.layout.Failed, "bad.txt")) })
}

func TestIntake_StartFailsThenWorks(t *testing.T) {
	r := newRig(t, nil)
	if err := os.Rename(r.layout.Outgoing, r.layout.Outgoing+".away"); err != nil {
		t.Fatal(err)
	}
	in, err := spool.New(r.opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(); err == nil || !strings.Contains(err.Error(), "outgoing") {
		t.Fatalf("Start without outgoing/ = %v, want an error naming it", err)
	}
	if err := os.Rename(r.layout.Outgoing+".away", r.layout.Outgoing); err != nil {
		t.Fatal(err)
	}
	if err := in.Start(); err != nil {
		t.Fatalf("Start after the fix = %v", err)
	}
	r.dropRenamed("a.txt", "447700900001 hi\n")
	testutil.Eventually(t, 10*time.Second, "a.txt stored", func() bool { return r.store.count() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
