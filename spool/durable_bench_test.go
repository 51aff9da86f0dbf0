package spool_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/spool"
)

// BenchmarkIntake_durable takes files into the real outbox (bbolt, group
// commits, fsync) through the real parser: one 100,000-line NDJSON file
// (msgs/s, file found by the first scan to its messages committed and the
// file gone from the work folder) and 10,000 single-message JSON files
// renamed into outgoing/ while intake runs (files/s).
func BenchmarkIntake_durable(b *testing.B) {
	b.Run("NDJSON100k", func(b *testing.B) {
		const lines = 100_000
		for range b.N {
			elapsed := runDurable(b, 1, func(dir string) {
				writeBulk(b, filepath.Join(dir, "bulk.ndjson"), lines)
			}, nil)
			b.ReportMetric(lines/elapsed.Seconds(), "msgs/s")
		}
	})
	b.Run("Files10k", func(b *testing.B) {
		const files = 10_000
		for range b.N {
			var staging string
			elapsed := runDurable(b, files, func(dir string) {
				staging = filepath.Join(filepath.Dir(dir), "staging")
				if err := os.Mkdir(staging, 0o750); err != nil {
					b.Fatal(err)
				}
				for i := range files {
					body := fmt.Sprintf(`{"to":"+447700900%03d","text":"file %d"}`, i%1000, i)
					if err := os.WriteFile(filepath.Join(staging, fmt.Sprintf("m%05d.json", i)), []byte(body), 0o640); err != nil {
						b.Fatal(err)
					}
				}
			}, func(dir string) {
				for i := range files {
					name := fmt.Sprintf("m%05d.json", i)
					if err := os.Rename(filepath.Join(staging, name), filepath.Join(dir, name)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(files/elapsed.Seconds(), "files/s")
		}
	})
}

func writeBulk(b *testing.B, path string, lines int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range lines {
		fmt.Fprintf(w, `{"to":"+447700900%03d","text":"bulk message %d","report":true}`+"\n", i%1000, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// runDurable prepares a spool and an outbox, lets before fill outgoing/
// (files found by the first scan), starts intake, lets during drop files
// while it runs, and returns the time until want files are stored and
// finished.
func runDurable(b *testing.B, want int, before, during func(outgoing string)) time.Duration {
	b.StopTimer()
	dir := b.TempDir()
	layout, err := spool.Prepare(filepath.Join(dir, "spool"))
	if err != nil {
		b.Fatal(err)
	}
	store, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := store.Close(context.Background()); err != nil {
			b.Error(err)
		}
	}()
	if before != nil {
		before(layout.Outgoing)
	}
	in, err := spool.New(spool.Options{Layout: layout, Store: store, RescanInterval: time.Hour,
		Parse: parseMsgfile})
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	start := time.Now()
	if err := in.Start(); err != nil {
		b.Fatal(err)
	}
	if during != nil {
		during(layout.Outgoing)
	}
	testutil.Eventually(b, 5*time.Minute, fmt.Sprintf("%d files taken", want), func() bool {
		st := in.Stats()
		return st.Taken+st.Rejected >= uint64(want) && st.InFlight == 0
	})
	elapsed := time.Since(start)
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := in.Close(ctx); err != nil {
		b.Fatal(err)
	}
	if st := in.Stats(); st.Taken != uint64(want) {
		b.Fatalf("taken %d of %d files (%+v)", st.Taken, want, st)
	}
	return elapsed
}
