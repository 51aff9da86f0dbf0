package inbox_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/inbox"
	"github.com/smsagent/smsagent/internal/testutil"
)

// reports makes n report events, sequence 1 to n.
func reports(n int) []smsagent.Event {
	out := make([]smsagent.Event, n)
	for i := range out {
		e := deliveredReport()
		r := *e.Report
		r.MessageID = smsagent.MessageID(i + 1)
		e.Seq, e.Subject, e.Report = uint64(i+1), strconv.Itoa(i+1), &r
		out[i] = e
	}
	return out
}

// waitLines waits until the closed NDJSON files in dir hold n lines: a
// file is renamed in after its events are marked written.
func waitLines(t *testing.T, dir string, n int) map[string][]int {
	t.Helper()
	var files map[string][]int
	testutil.Eventually(t, 10*time.Second, strconv.Itoa(n)+" events in the inbox", func() bool {
		files = ndjsonLines(t, dir)
		got := 0
		for _, ids := range files {
			got += len(ids)
		}
		return got >= n
	})
	return files
}

// ndjsonLines reads every closed NDJSON file in dir: the message ids of
// its lines, by file name.
func ndjsonLines(t *testing.T, dir string) map[string][]int {
	t.Helper()
	out := map[string][]int{}
	names, _ := filepath.Glob(filepath.Join(dir, "*.events.ndjson"))
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r smsagent.Report
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Type != "report" {
				t.Fatalf("%s: line %q: %v", name, sc.Text(), err)
			}
			out[filepath.Base(name)] = append(out[filepath.Base(name)], int(r.MessageID))
		}
		f.Close()
	}
	return out
}

// TestWriter_NDJSON: events go into files of BatchEvents lines, the last
// closed by age; every event is in exactly one file, once, in order; the
// names carry the first and last sequence.
func TestWriter_NDJSON(t *testing.T) {
	dir := t.TempDir()
	src := newSource(reports(2500)...)
	start(t, src, inbox.Options{Dir: dir, TmpDir: dir + ".tmp", Format: inbox.FormatNDJSON, BatchEvents: 1000,
		BatchAge: time.Second})
	files := waitLines(t, dir, 2500)
	var sizes []int
	var all []int
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	first := func(name string) int {
		n, _ := strconv.Atoi(strings.Split(name, "-e")[1])
		return n
	}
	slices.SortFunc(names, func(a, b string) int { return first(a) - first(b) })
	for _, name := range names {
		sizes = append(sizes, len(files[name]))
		all = append(all, files[name]...)
	}
	if !slices.Equal(sizes, []int{1000, 1000, 500}) {
		t.Errorf("files of %v events (%v), want 1000, 1000, 500", sizes, names)
	}
	for i, id := range all {
		if id != i+1 {
			t.Fatalf("event %d is message %d: lost, doubled or out of order", i+1, id)
		}
	}
	for name, ids := range files {
		for _, id := range ids {
			if f := src.fileOf(uint64(id)); f != name {
				t.Fatalf("event %d is in %s, said to be in %q", id, name, f)
			}
		}
	}
	if !strings.HasSuffix(names[0], "-e1-e1000.events.ndjson") {
		t.Errorf("first file %q", names[0])
	}
	if tmp, _ := os.ReadDir(dir + ".tmp"); len(tmp) != 0 {
		t.Errorf("temporary folder holds %v", tmp)
	}
}

// TestWriter_NDJSONCrash: a closed file left before its events were marked
// written is deleted and its events written again; one left after is
// renamed into the inbox and its events not written again. The inbox then
// holds every event once.
func TestWriter_NDJSONCrash(t *testing.T) {
	dir := t.TempDir()
	tmp := dir + ".tmp"
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	evs := reports(30)
	line := func(es []smsagent.Event) string {
		var b strings.Builder
		for _, e := range es {
			l, err := inbox.RenderLine(e)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(l)
		}
		return b.String()
	}
	// Events 1-10 were marked written before the crash (their file waits
	// in the temporary folder); 11-20 were not (their closed file is
	// stale); 21-30 were never in a file.
	for name, body := range map[string]string{
		"closed-20261125T181500.123Z-e1-e10.events.ndjson":  line(evs[:10]),
		"closed-20261125T181500.123Z-e11-e20.events.ndjson": line(evs[10:20]),
		"open-21.events.ndjson":                             line(evs[20:25]),
	} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	src := newSource(evs[10:]...)
	start(t, src, inbox.Options{Dir: dir, TmpDir: tmp, Format: inbox.FormatNDJSON, BatchEvents: 100,
		BatchAge: 20 * time.Millisecond})
	var all []int
	for _, ids := range waitLines(t, dir, 30) {
		all = append(all, ids...)
	}
	slices.Sort(all)
	for i, id := range all {
		if id != i+1 {
			t.Fatalf("the inbox holds messages %v: want 1 to 30 once each", all)
		}
	}
	if len(all) != 30 {
		t.Fatalf("the inbox holds %d events, want 30", len(all))
	}
}
