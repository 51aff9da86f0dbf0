package inbox_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/inbox"
	"github.com/smsagent/smsagent/internal/testutil"
)

// start runs a Writer until the test ends (or stop is called) and returns it.
func start(t *testing.T, src inbox.Source, opts inbox.Options) (w *inbox.Writer, stop func()) {
	t.Helper()
	w, err := inbox.New(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return w, stop
}

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func syncModes(t *testing.T, f func(t *testing.T, mode inbox.SyncMode)) {
	t.Run("fsync", func(t *testing.T) { f(t, inbox.SyncFiles) })
	t.Run("auto", func(t *testing.T) { f(t, inbox.SyncAuto) })
}

func TestWriter_WritesEveryKind(t *testing.T) {
	syncModes(t, func(t *testing.T, mode inbox.SyncMode) {
		events := []smsagent.Event{deliveredReport(), unmatchedReport(), moEvent(), duplicateEvent()}
		src := newSource(events...)
		dir := filepath.Join(t.TempDir(), "inbox")
		w, _ := start(t, src, inbox.Options{Dir: dir, TmpDir: dir + ".tmp", Sync: mode})
		<-src.done
		// The delivered report is compared with the reviewed golden file,
		// the others with their rendering.
		golden, err := os.ReadFile(filepath.Join("testdata", "delivered.json.golden"))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "20261125T181500.123Z-42.report.json")); !bytes.Equal(got, golden) {
			t.Errorf("delivered report file:\n%s\nwant\n%s", got, golden)
		}
		for _, e := range events {
			name, want, err := inbox.Render(e, inbox.FormatJSON)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %v\n%s\nwant\n%s", name, err, got, want)
			}
			if f := src.fileOf(e.Seq); f != name {
				t.Errorf("event %d written to %s, said to be in %q", e.Seq, name, f)
			}
		}
		if n := len(listDir(t, dir)); n != len(events) {
			t.Errorf("%d files in inbox, want %d", n, len(events))
		}
		// done closes inside EventsWritten, just before the Writer counts.
		testutil.Eventually(t, 5*time.Second, "Written to count every file", func() bool { return w.Written() == uint64(len(events)) })
		if w.Err() != nil {
			t.Errorf("Err = %v", w.Err())
		}
	})
}

// TestWriter_HostileReceiptStaysInside writes an unmatched receipt whose
// strings try to escape the folder: the file is named by us, inside inbox/.
func TestWriter_HostileReceiptStaysInside(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "inbox")
	e := unmatchedReport()
	e.Report.Receipt.SMSCID = "../../x" + string(bytes.Repeat([]byte{'\\', 0, 1, '/'}, 2560))
	src := newSource(e)
	start(t, src, inbox.Options{Dir: dir, TmpDir: filepath.Join(root, ".inbox-tmp")})
	<-src.done
	names := listDir(t, dir)
	if want := []string{"20261125T181500.123Z-e8.report.json"}; !slices.Equal(names, want) {
		t.Errorf("inbox holds %q, want %q", names, want)
	}
	if rootNames := listDir(t, root); !slices.Equal(rootNames, []string{".inbox-tmp", "inbox"}) {
		t.Errorf("a file escaped the inbox: %q", rootNames)
	}
}

// TestWriter_CrashBeforeEventsWritten: the first run writes the files but
// "crashes" before the outbox hears of it (EventsWritten fails, then the run
// stops), leaving junk in .tmp. The second run writes the same names with
// the same bytes: one file per event, nothing in .tmp.
func TestWriter_CrashBeforeEventsWritten(t *testing.T) {
	syncModes(t, func(t *testing.T, mode inbox.SyncMode) {
		dir := t.TempDir()
		events := []smsagent.Event{deliveredReport(), moEvent(), duplicateEvent()}
		first := newSource(events...)
		first.setFailAck(errAck)
		opts := inbox.Options{Dir: dir, TmpDir: dir + ".tmp", Sync: mode, RetryMin: time.Millisecond, RetryMax: time.Millisecond}
		w, stop := start(t, first, opts)
		testutil.Eventually(t, 5*time.Second, "the first run to fail marking events", func() bool { return errors.Is(w.Err(), errAck) })
		stop()
		firstRun := map[string][]byte{}
		for _, name := range listDir(t, dir) {
			firstRun[name], _ = os.ReadFile(filepath.Join(dir, name))
		}
		if len(firstRun) != len(events) || first.pending() != len(events) {
			t.Fatalf("first run: %d files, %d events pending; want %d and %d", len(firstRun), first.pending(), len(events), len(events))
		}
		if err := os.WriteFile(filepath.Join(dir+".tmp", "9.tmp"), []byte("half a fi"), 0o640); err != nil {
			t.Fatal(err)
		}

		second := newSource(events...)
		start(t, second, opts)
		<-second.done
		names := listDir(t, dir)
		if len(names) != len(events) {
			t.Errorf("after the rerun the inbox holds %q", names)
		}
		for _, name := range names {
			got, _ := os.ReadFile(filepath.Join(dir, name))
			if !bytes.Equal(got, firstRun[name]) {
				t.Errorf("%s changed between runs", name)
			}
		}
		if tmp, _ := os.ReadDir(dir + ".tmp"); len(tmp) != 0 {
			t.Errorf(".tmp holds %v", tmp)
		}
	})
}

// fullDisk is a CreateFile seam: while full, every write puts half of its
// bytes on disk and fails with ENOSPC, as a real full disk does.
type fullDisk struct {
	full    atomic.Bool
	creates atomic.Int64
}

type halfFile struct {
	*os.File
	disk *fullDisk
}

func (f halfFile) Write(p []byte) (int, error) {
	if f.disk.full.Load() {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Write(p)
}

func (d *fullDisk) create(path string, perm os.FileMode) (inbox.File, error) {
	d.creates.Add(1)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return nil, err
	}
	return halfFile{f, d}, nil
}

func TestWriter_DiskFull(t *testing.T) {
	syncModes(t, func(t *testing.T, mode inbox.SyncMode) {
		dir := t.TempDir()
		disk := &fullDisk{}
		disk.full.Store(true)
		events := reportEvents(40, 0)
		src := newSource(events...)
		w, _ := start(t, src, inbox.Options{Dir: dir, TmpDir: dir + ".tmp", Sync: mode, PageSize: 16, SyncWorkers: 4,
			RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, CreateFile: disk.create})

		// Several attempts fail; each leaves nothing behind and marks
		// nothing written.
		testutil.Eventually(t, 5*time.Second, "three failed attempts", func() bool { return disk.creates.Load() >= 12 })
		if err := w.Err(); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Err() = %v, want ENOSPC", err)
		}
		src.mu.Lock()
		marks := len(src.marks)
		src.mu.Unlock()
		if marks != 0 || w.Written() != 0 {
			t.Fatalf("%d EventsWritten calls, %d files counted while the disk was full", marks, w.Written())
		}
		if names := listDir(t, dir); len(names) != 0 {
			t.Fatalf("inbox holds %q while the disk is full", names)
		}

		disk.full.Store(false)
		<-src.done
		if n := len(listDir(t, dir)); n != len(events) {
			t.Errorf("%d files after the disk recovered, want %d", n, len(events))
		}
		if tmp, _ := os.ReadDir(dir + ".tmp"); len(tmp) != 0 {
			t.Errorf("partial temporary files left: %v", tmp)
		}
		testutil.Eventually(t, 5*time.Second, "health to recover", func() bool { return w.Err() == nil })
	})
}

// TestWriter_PartialFailureRemovesTemps checks the window between a failed
// write and the retry: no temporary file of the failed batch survives.
func TestWriter_PartialFailureRemovesTemps(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int64
	release := make(chan struct{})
	create := func(path string, perm os.FileMode) (inbox.File, error) {
		if calls.Add(1) == 5 {
			return nil, &os.PathError{Op: "open", Path: path, Err: syscall.ENOSPC}
		}
		if calls.Load() > 5 {
			<-release
		}
		return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	}
	src := newSource(reportEvents(8, 0)...)
	w, _ := start(t, src, inbox.Options{Dir: dir, TmpDir: dir + ".tmp", SyncWorkers: 1, Sync: inbox.SyncFiles, CreateFile: create,
		RetryMin: time.Millisecond, RetryMax: time.Millisecond})
	testutil.Eventually(t, 5*time.Second, "the failure to be reported", func() bool { return w.Err() != nil })
	if tmp, _ := os.ReadDir(dir + ".tmp"); len(tmp) != 0 {
		t.Errorf("after the failure .tmp holds %d files", len(tmp))
	}
	close(release)
	<-src.done
}

func TestWriter_PagesInOrder(t *testing.T) {
	src := newSource(reportEvents(600, 0)...)
	dir := t.TempDir()
	start(t, src, inbox.Options{Dir: dir, TmpDir: dir + ".tmp", PageSize: 256})
	<-src.done
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.marks) != 3 || len(src.marks[0]) != 256 || len(src.marks[2]) != 88 || src.marks[2][87] != 600 {
		t.Errorf("EventsWritten pages: %d calls", len(src.marks))
	}
	if n := len(listDir(t, dir)); n != 600 {
		t.Errorf("%d files, want 600", n)
	}
}

// TestWriter_WakesUpOnReady: with a poll interval far beyond the test, an
// event added later is written because Ready fires.
func TestWriter_WakesUpOnReady(t *testing.T) {
	src := newSource()
	src.total = 1
	ready := make(chan struct{}, 1)
	dir := t.TempDir()
	start(t, src, inbox.Options{Dir: dir, TmpDir: dir + ".tmp", Ready: ready, PollInterval: time.Hour})
	src.mu.Lock()
	src.events = append(src.events, deliveredReport())
	src.mu.Unlock()
	ready <- struct{}{}
	select {
	case <-src.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the event was not written after the wake-up")
	}
}

func TestWriter_UnsafeSubjectFallsBack(t *testing.T) {
	e := deliveredReport()
	e.Subject = "../evil"
	twin := deliveredReport() // same name as the next one: a clash in the batch
	twin.Seq = 21
	other := deliveredReport()
	other.Seq = 22
	bad := smsagent.Event{Seq: 23, Kind: smsagent.EventMO, Time: t0, Subject: "e23"} // no payload: dropped
	src := newSource(e, twin, other, bad)
	dir := t.TempDir()
	start(t, src, inbox.Options{Dir: dir, TmpDir: dir + ".tmp"})
	<-src.done
	want := []string{"20261125T181500.123Z-42.report.json", "20261125T181500.123Z-e22.report.json", "20261125T181500.123Z-e7.report.json"}
	if got := listDir(t, dir); !slices.Equal(got, want) {
		t.Errorf("inbox holds %q, want %q", got, want)
	}
	if src.pending() != 0 {
		t.Errorf("%d events still pending; the undrawable one must not block the rest", src.pending())
	}
}

// flakySource fails Events a few times, then behaves.
type flakySource struct {
	*memSource
	fails atomic.Int64
}

func (s *flakySource) Events(ctx context.Context, after uint64, max int) ([]smsagent.Event, error) {
	if s.fails.Add(-1) >= 0 {
		return nil, errors.New("database busy")
	}
	return s.memSource.Events(ctx, after, max)
}

func TestWriter_SourceErrorsAreRetried(t *testing.T) {
	src := &flakySource{memSource: newSource(deliveredReport())}
	src.fails.Store(3)
	w, _ := start(t, src, inbox.Options{Dir: t.TempDir(), TmpDir: t.TempDir(), RetryMin: time.Millisecond, RetryMax: time.Millisecond})
	<-src.done
	testutil.Eventually(t, 5*time.Second, "health to recover", func() bool { return w.Err() == nil })
}

func TestWriter_RunStopsOnCancel(t *testing.T) {
	w, err := inbox.New(newSource(), inbox.Options{Dir: t.TempDir(), TmpDir: t.TempDir(), PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestWriter_RunFailsWhenFolderCannotBeMade(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	w, err := inbox.New(newSource(), inbox.Options{Dir: filepath.Join(file, "inbox"), TmpDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(context.Background()); err == nil {
		t.Error("Run succeeded with a file where the folder should be")
	}
}

func TestNew_Validation(t *testing.T) {
	src := newSource()
	for _, tc := range []struct {
		name string
		src  inbox.Source
		opts inbox.Options
	}{
		{"no source", nil, inbox.Options{Dir: "x", TmpDir: "t"}},
		{"no folder", src, inbox.Options{TmpDir: "t"}},
		{"no temporary folder", src, inbox.Options{Dir: "x"}},
		{"bad format", src, inbox.Options{Dir: "x", TmpDir: "t", Format: 9}},
		{"bad sync", src, inbox.Options{Dir: "x", TmpDir: "t", Sync: 9}},
	} {
		if _, err := inbox.New(tc.src, tc.opts); err == nil {
			t.Errorf("%s: New accepted it", tc.name)
		}
	}
}
