package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Target is one of the performance targets of a 2-core machine, with the
// workload that measures it.
type Target struct {
	Name     string
	Workload Workload
	// Base, when set, is a second workload the target compares with.
	Base Workload
	// Check reads the measured figure from the run (and base, the run of
	// Base; nil when it has none or it did not run) and says whether it
	// meets the target.
	Check func(r, base *Result) (measured string, pass bool)
}

// Workloads lists the workloads of targets, each once, in order: what a
// run of the set must measure.
func Workloads(targets []Target) []Workload {
	var ws []Workload
	for _, t := range targets {
		for _, w := range []Workload{t.Workload, t.Base} {
			if w != (Workload{}) && !slices.Contains(ws, w) {
				ws = append(ws, w)
			}
		}
	}
	return ws
}

// Standard is the set `make bench` runs: the targets the README's
// Performance section reports. Targets that share a workload share its
// run (Standard lists the workload once, on its first target).
func Standard() []Target {
	bulk := Workload{Messages: 100_000, Arrival: ArrivalNDJSON, Mix: MixShort, Receipts: true, Sessions: 4, Window: 50}
	bulkNDJSON := bulk
	bulkNDJSON.Inbox = "ndjson"
	// The send path alone: no receipts, and the reports (one per message
	// still, "sent") appended to NDJSON files rather than one file each.
	bulkQuiet := bulkNDJSON
	bulkQuiet.Receipts = false
	files := Workload{Messages: 10_000, Arrival: ArrivalFiles, Mix: MixShort, Receipts: true, Sessions: 4, Window: 50}
	steady := Workload{Arrival: ArrivalRate, Rate: 1000, Duration: 10 * time.Second, Mix: MixShort, Receipts: true,
		Sessions: 4, Window: 50}
	near := Workload{Messages: 20_000, Arrival: ArrivalNDJSON, Mix: MixShort, Receipts: true, Sessions: 4, Window: 10}
	far := near
	far.RTT = 20 * time.Millisecond
	return []Target{
		{"100,000 msgs in one NDJSON file, receipts, 4 sessions × 50: >= 20,000 msgs/s end to end", bulk, Workload{},
			func(r, _ *Result) (string, bool) {
				return fmt.Sprintf("%s msgs/s", thousands(r.MessagesPerSec())), r.MessagesPerSec() >= 20_000
			}},
		{"  ... and >= 50% of the raw SMPP ceiling of the same run", bulk, Workload{},
			func(r, _ *Result) (string, bool) {
				share := r.PartsPerSec() / r.RawPerSec
				return fmt.Sprintf("%.0f%% of %s msgs/s", 100*share, thousands(r.RawPerSec)), share >= 0.5
			}},
		{"  ... reports: >= 10,000/s or 80% of the bare file loop, the lower", bulk, Workload{},
			func(r, _ *Result) (string, bool) {
				want := 10_000.0
				if r.FileLoopPerSec > 0 {
					want = min(want, 0.8*r.FileLoopPerSec)
				}
				return fmt.Sprintf("%s reports/s (loop %s files/s)", thousands(r.ReportsPerSec()), thousands(r.FileLoopPerSec)),
					r.ReportsPerSec() >= want
			}},
		{"  ... receipts and report files: extra CPU per message <= 1.3 × the loop's per file", bulk, bulkQuiet,
			func(r, quiet *Result) (string, bool) {
				if quiet == nil || r.FileLoopCPU == 0 {
					return "not run", false
				}
				extra := perMessage(r) - perMessage(quiet)
				return fmt.Sprintf("%s (loop %s)", micros(extra), micros(r.FileLoopCPU)), extra <= r.FileLoopCPU*13/10
			}},
		{"the same, receipts off, ndjson inbox: CPU per message <= 60 µs (simulator included)", bulkQuiet, Workload{},
			func(r, _ *Result) (string, bool) {
				return micros(perMessage(r)), perMessage(r) <= 60*time.Microsecond
			}},
		{"the same, spool.inbox_format ndjson: >= 50,000 reports/s", bulkNDJSON, Workload{},
			func(r, _ *Result) (string, bool) {
				return fmt.Sprintf("%s reports/s", thousands(r.ReportsPerSec())), r.ReportsPerSec() >= 50_000
			}},
		{"4 sessions × 10 at 20 ms round trip: >= 95% of the raw ceiling", far, Workload{},
			func(r, _ *Result) (string, bool) {
				share := r.PartsPerSec() / r.RawPerSec
				return fmt.Sprintf("%.0f%% of %s msgs/s", 100*share, thousands(r.RawPerSec)), share >= 0.95
			}},
		{"  ... CPU per message <= 1.5 × the same at 0 ms", far, near,
			func(r, base *Result) (string, bool) {
				if base == nil {
					return "not run", false
				}
				return fmt.Sprintf("%s (0 ms: %s)", micros(perMessage(r)), micros(perMessage(base))),
					perMessage(r) <= perMessage(base)*3/2
			}},
		{"10,000 single-message JSON files: >= 3,000 files/s", files, Workload{},
			func(r, _ *Result) (string, bool) {
				return fmt.Sprintf("%s files/s", thousands(r.MessagesPerSec())), r.MessagesPerSec() >= 3_000
			}},
		{"steady 1,000 msgs/s of single files: p99 file->submit < 50 ms", steady, Workload{},
			func(r, _ *Result) (string, bool) {
				return ms(r.FileToSubmit.P99), r.FileToSubmit.P99 < 50*time.Millisecond
			}},
	}
}

// perMessage is the process's CPU per message of a run.
func perMessage(r *Result) time.Duration {
	if r.Messages == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Messages)
}

func micros(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

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
			o.Measured, o.Pass = t.Check(r, results[t.Base])
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
