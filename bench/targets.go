package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Target is one of the performance targets of a 2-core machine, with the
// workload that measures it.
type Target struct {
	Name     string
	Workload Workload
	// Check reads the measured figure from the run and says whether it
	// meets the target.
	Check func(r *Result) (measured string, pass bool)
}

// Standard is the set `make bench` runs: the targets the README's
// Performance section reports. Targets that share a workload share its
// run (Standard lists the workload once, on its first target).
func Standard() []Target {
	bulk := Workload{Messages: 100_000, Arrival: ArrivalNDJSON, Mix: MixShort, Receipts: true, Sessions: 4, Window: 50}
	files := Workload{Messages: 10_000, Arrival: ArrivalFiles, Mix: MixShort, Receipts: true, Sessions: 4, Window: 50}
	steady := Workload{Arrival: ArrivalRate, Rate: 1000, Duration: 10 * time.Second, Mix: MixShort, Receipts: true,
		Sessions: 4, Window: 50}
	return []Target{
		{"100,000 msgs in one NDJSON file, receipts, 4 sessions: >= 20,000 msgs/s end to end", bulk,
			func(r *Result) (string, bool) {
				return fmt.Sprintf("%s msgs/s", thousands(r.MessagesPerSec())), r.MessagesPerSec() >= 20_000
			}},
		{"  ... and >= 50% of the raw SMPP ceiling of the same run", bulk,
			func(r *Result) (string, bool) {
				share := r.PartsPerSec() / r.RawPerSec
				return fmt.Sprintf("%.0f%% of %s msgs/s", 100*share, thousands(r.RawPerSec)), share >= 0.5
			}},
		{"receipts: >= 10,000 reports/s written durably to inbox/", bulk,
			func(r *Result) (string, bool) {
				return fmt.Sprintf("%s reports/s", thousands(r.ReportsPerSec())), r.ReportsPerSec() >= 10_000
			}},
		{"10,000 single-message JSON files: >= 3,000 files/s", files,
			func(r *Result) (string, bool) {
				return fmt.Sprintf("%s files/s", thousands(r.MessagesPerSec())), r.MessagesPerSec() >= 3_000
			}},
		{"steady 1,000 msgs/s of single files: p99 file->submit < 50 ms", steady,
			func(r *Result) (string, bool) {
				return ms(r.FileToSubmit.P99), r.FileToSubmit.P99 < 50*time.Millisecond
			}},
	}
}

// Outcome is a target's measured figure.
type Outcome struct {
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Pass     bool   `json:"pass"`
}

// Evaluate checks every target against the result of its workload.
func Evaluate(targets []Target, results map[Workload]*Result) []Outcome {
	out := make([]Outcome, 0, len(targets))
	for _, t := range targets {
		o := Outcome{Target: t.Name, Measured: "not run"}
		if r := results[t.Workload]; r != nil {
			o.Measured, o.Pass = t.Check(r)
		}
		out = append(out, o)
	}
	return out
}

// WriteSummary prints the targets against the measured figures, one line
// each, and the load average the runs began under.
func WriteSummary(w io.Writer, outcomes []Outcome, load string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "performance targets (2-core machine; load average at start %s)\n", or(load, "n/a"))
	width := 0
	for _, o := range outcomes {
		width = max(width, len(o.Target))
	}
	pass := 0
	for _, o := range outcomes {
		verdict := "MISS"
		if o.Pass {
			verdict = "pass"
			pass++
		}
		fmt.Fprintf(&b, "  %-*s  %-32s %s\n", width, o.Target, o.Measured, verdict)
	}
	fmt.Fprintf(&b, "%d of %d met\n", pass, len(outcomes))
	_, err := io.WriteString(w, b.String())
	return err
}
