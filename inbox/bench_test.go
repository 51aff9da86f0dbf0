package inbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/inbox"
)

func reportEvents(n int, base uint64) []smsagent.Event {
	t0 := time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)
	events := make([]smsagent.Event, n)
	for i := range events {
		seq := base + uint64(i) + 1
		sub := t0.Add(-time.Minute)
		events[i] = smsagent.Event{
			Seq: seq, Kind: smsagent.EventReport, Time: t0.Add(time.Duration(seq) * time.Millisecond), Subject: strconv.FormatUint(seq, 10),
			Report: &smsagent.Report{
				ID: "order-" + strconv.FormatUint(seq, 10), MessageID: smsagent.MessageID(seq), To: "+358401234567", Status: "delivered",
				Stat: "DELIVRD", Err: "000", Submitted: &sub, Done: t0, File: "orders.json",
				Parts: &smsagent.ReportParts{Count: 1, Items: []smsagent.ReportPart{{Seq: 1, SMSCID: "a1b2c3", Status: "delivered", Stat: "DELIVRD", Err: "000"}}},
			},
		}
	}
	return events
}

// BenchmarkWriter writes report files durably in batches of PageSize and
// reports files/s. Each iteration writes a fresh set of 2,048 files into
// b.TempDir(): set TMPDIR to measure another disk.
func BenchmarkWriter(b *testing.B) {
	for _, tc := range []struct {
		sync          inbox.SyncMode
		page, workers int
	}{
		{inbox.SyncFiles, 256, 1}, {inbox.SyncFiles, 256, 16}, {inbox.SyncFiles, 256, 64},
		{inbox.SyncFS, 256, 1}, {inbox.SyncFS, 256, 2}, {inbox.SyncFS, 256, 16},
	} {
		mode := map[inbox.SyncMode]string{inbox.SyncFiles: "fsync", inbox.SyncFS: "syncfs"}[tc.sync]
		b.Run(fmt.Sprintf("%s/page=%d/workers=%d", mode, tc.page, tc.workers), func(b *testing.B) {
			const perRun = 2048
			dir := b.TempDir()
			files := 0
			var base uint64
			for b.Loop() {
				src := newSource(reportEvents(perRun, base)...)
				base += perRun
				w, err := inbox.New(src, inbox.Options{Dir: dir, TmpDir: dir + ".tmp", PageSize: tc.page, SyncWorkers: tc.workers, Sync: tc.sync})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				errc := make(chan error, 1)
				go func() { errc <- w.Run(ctx) }()
				<-src.done
				cancel()
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
				files += perRun
			}
			b.ReportMetric(float64(files)/b.Elapsed().Seconds(), "files/s")
		})
	}
}

// BenchmarkCreateBaseline creates, writes and closes files with no fsync
// and no rename: the ceiling the file system allows at the moment, to read
// BenchmarkWriter's figures against on a busy machine.
func BenchmarkCreateBaseline(b *testing.B) {
	const perRun = 2048
	data := make([]byte, 700)
	files := 0
	for b.Loop() {
		dir := b.TempDir()
		for i := range perRun {
			f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Write(data); err != nil {
				b.Fatal(err)
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
		}
		files += perRun
	}
	b.ReportMetric(float64(files)/b.Elapsed().Seconds(), "files/s")
}
