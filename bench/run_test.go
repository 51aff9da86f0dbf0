package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/bench"
)

// tiny is a workload small enough for CI: a second or two per arrival.
func tiny(arrival bench.Arrival, mix bench.Mix) bench.Workload {
	return bench.Workload{Messages: 200, Arrival: arrival, Mix: mix, Receipts: true, Sessions: 2, Window: 20}
}

// TestRun_arrivals pushes 200 messages by each arrival through the agent
// and the simulator: every message is counted as sent and reported, every
// latency row has one sample per message (or part), and the table has its
// rows.
func TestRun_arrivals(t *testing.T) {
	for _, w := range []bench.Workload{
		tiny(bench.ArrivalNDJSON, bench.MixShort),
		tiny(bench.ArrivalFiles, bench.MixMixed),
		{Arrival: bench.ArrivalRate, Rate: 400, Duration: 500 * time.Millisecond, Mix: bench.MixUCS2,
			Sessions: 1, Window: 10},
	} {
		t.Run(string(w.Arrival), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var phases []string
			r, err := bench.Run(ctx, w, bench.Options{Dir: t.TempDir(), Stall: 20 * time.Second,
				Progress: func(p bench.Progress) { phases = append(phases, p.Phase) }})
			if err != nil {
				t.Fatal(err)
			}
			const n = 200
			if r.Messages != n || r.Sent != n || r.Reports != n {
				t.Errorf("messages %d, sent %d, reports %d, want %d each", r.Messages, r.Sent, r.Reports, n)
			}
			if r.FileToSubmit.Count != n {
				t.Errorf("file->submit has %d samples, want one per message (%d)", r.FileToSubmit.Count, n)
			}
			if r.RTT.Count != uint64(r.Parts) {
				t.Errorf("submit->response has %d samples, want one per part (%d)", r.RTT.Count, r.Parts)
			}
			if r.SubmitToReport.Count != n {
				t.Errorf("submit->report has %d samples, want one per message (%d)", r.SubmitToReport.Count, n)
			}
			if r.MessagesPerSec() <= 0 || r.ReportsPerSec() <= 0 || r.RawPerSec <= 0 || r.DBSize <= 0 {
				t.Errorf("a figure is missing: %+v", r)
			}
			if len(phases) == 0 || phases[len(phases)-1] != "raw" {
				t.Errorf("progress phases %v, want the raw phase last", phases)
			}
			var table bytes.Buffer
			if err := r.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			for _, row := range []string{
				`(?m)^workload +200 messages \(\d+ parts\), `,
				`(?m)^end to end +[\d,]+ msgs/s  \(200 sent in `,
				`(?m)^reports +[\d,]+ reports/s  \(200 written to inbox/ in `,
				`(?m)^  file->submit( +[\d.]+ ms){4} +200$`,
				`(?m)^  submit->response( +[\d.]+ ms){4} +\d+$`,
				`(?m)^  submit->report( +[\d.]+ ms){4} +200$`,
				`(?m)^cost +[\d.]+ s CPU .*, peak RSS [\d.]+ MiB \(process\), database [\d.]+ MiB$`,
				`(?m)^raw ceiling +[\d,]+ msgs/s .*; (end to end is \d+% of it|the workload offers 400/s)$`,
			} {
				if !regexp.MustCompile(row).MatchString(table.String()) {
					t.Errorf("no row matching %s in\n%s", row, table.String())
				}
			}
			if strings.Contains(table.String(), "note") {
				t.Errorf("the run had refusals or timeouts:\n%s", table.String())
			}
			var back bench.Result
			js, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(js, &back); err != nil || back.Sent != n || back.RawPerSec != r.RawPerSec {
				t.Errorf("JSON round trip: %v, %+v", err, back)
			}
		})
	}
}

// TestWorkload_Validate: every mistake is named at once.
func TestWorkload_Validate(t *testing.T) {
	err := bench.Workload{Arrival: "ftp", Mix: "emoji"}.Validate()
	if err == nil {
		t.Fatal("no error for a bad workload")
	}
	for _, want := range []string{`arrival "ftp"`, `mix "emoji"`, "sessions and window"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not mention %s", err, want)
		}
	}
	if err := (bench.Workload{Arrival: bench.ArrivalRate, Rate: 10, Mix: bench.MixShort, Sessions: 1, Window: 1}).Validate(); err == nil {
		t.Error("a rate workload without a duration passed")
	}
}
