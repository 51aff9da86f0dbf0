package spool_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/msgfile"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/spool"
)

// rssChildEnv names the folder a re-executed test binary takes one file
// in, printing its peak resident set, instead of running benchmarks.
const rssChildEnv = "SPOOL_RSS_CHILD_DIR"

// BenchmarkIntake_PeakRSS measures what taking the largest files costs in
// memory, as the agent takes them (the real parser with
// msgfile.DefaultMaxMessages, the real outbox, one transaction per file):
// a fresh process takes one file and reports its peak resident set
// (VmHWM), printed as peak-RSS-MiB. The cases: a file of exactly the
// message limit (taken), a 64 MiB file of minimal messages, the default
// spool.max_file_size (refused at the limit while it is read), and 16
// files at the limit dropped at once (one per worker without the parse
// budget).
// README "A file that is refused" and docs/configuration.md quote the
// figures.
func BenchmarkIntake_PeakRSS(b *testing.B) {
	line := func(i int) string { return fmt.Sprintf(`{"to":"+4179%07d","text":"x"}`+"\n", i%10_000_000) }
	for _, c := range []struct {
		name  string
		files int
		lines int
		bytes int
		taken bool
	}{
		{"limit=100000msgs", 1, msgfile.DefaultMaxMessages, 0, true},
		{"64MiB=minimal", 1, 0, 64 << 20, false},
		// Dropped together: the parse budget takes them in turn.
		{"16files=100000msgs", 16, msgfile.DefaultMaxMessages, 0, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				dir := b.TempDir()
				layout, err := spool.Prepare(filepath.Join(dir, "spool"))
				if err != nil {
					b.Fatal(err)
				}
				f, err := os.Create(filepath.Join(dir, "big.ndjson"))
				if err != nil {
					b.Fatal(err)
				}
				w := bufio.NewWriter(f)
				size, n := 0, 0
				for (c.lines > 0 && n < c.lines) || (c.bytes > 0 && size+len(line(n)) <= c.bytes) {
					k, _ := w.WriteString(line(n))
					size += k
					n++
				}
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
				f.Close()
				for k := range c.files {
					if err := os.Link(f.Name(), filepath.Join(layout.Outgoing, fmt.Sprintf("big-%02d.ndjson", k))); err != nil {
						b.Fatal(err)
					}
				}
				cmd := exec.Command(os.Args[0], "-test.run=^TestRSSChild$", "-test.bench=^$", "-test.count=1")
				cmd.Env = append(os.Environ(), rssChildEnv+"="+dir)
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("child: %v\n%s", err, out)
				}
				var kib int64
				var outcome string
				for _, l := range strings.Split(string(out), "\n") {
					if v, ok := strings.CutPrefix(l, "peak-rss-kib "); ok {
						f := strings.Fields(v)
						kib, _ = strconv.ParseInt(f[0], 10, 64)
						outcome = f[1]
					}
				}
				if kib == 0 || (outcome == "taken") != c.taken {
					b.Fatalf("child said %q\n%s", outcome, out)
				}
				b.ReportMetric(float64(kib)/1024, "peak-RSS-MiB")
				b.ReportMetric(float64(size)/(1<<20), "file-MiB")
				b.ReportMetric(float64(n), "lines")
				b.Logf("%s: %d lines, %.1f MiB: %s, peak RSS %.1f MiB", c.name, n, float64(size)/(1<<20), outcome, float64(kib)/1024)
			}
		})
	}
}

// TestRSSChild is the child of BenchmarkIntake_PeakRSS; it does nothing
// unless run by it.
func TestRSSChild(t *testing.T) {
	dir := os.Getenv(rssChildEnv)
	if dir == "" {
		t.Skip("run by BenchmarkIntake_PeakRSS")
	}
	layout := spool.NewLayout(filepath.Join(dir, "spool"))
	files := len(names(t, layout.Outgoing))
	store, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// As the agent wires it (agent.ParseBudget).
	in, err := spool.New(spool.Options{Layout: layout, Store: store, Settle: time.Nanosecond,
		ParseBudget: int64(msgfile.DefaultMaxMessages) * 32,
		Parse: func(r io.Reader, name string) ([]smsagent.Message, error) {
			return msgfile.Parse(r, name, msgfile.Options{})
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for st := in.Stats(); st.Taken+st.Rejected < uint64(files); st = in.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d files taken or refused in 5 minutes", st.Taken+st.Rejected, files)
		}
		time.Sleep(10 * time.Millisecond)
	}
	outcome := "refused"
	if in.Stats().Taken == uint64(files) {
		outcome = "taken"
	}
	ctx := context.Background()
	_ = in.Close(ctx)
	_ = store.Close(ctx)
	status, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			fmt.Printf("peak-rss-kib %s %s\n", strings.Fields(v)[0], outcome)
		}
	}
}
