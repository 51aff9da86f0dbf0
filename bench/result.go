package bench

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// Result is what a run measured. Rates are per second of wall-clock time
// from the first file renamed into outgoing/.
type Result struct {
	Workload Workload  `json:"workload"`
	At       time.Time `json:"at"`
	// Load is the 1, 5 and 15 minute load average at the start ("" where
	// unknown), CPUs the processors Go sees.
	Load string `json:"load_average,omitempty"`
	CPUs int    `json:"cpus"`
	// Simulated is true against the built-in simulator.
	Simulated bool `json:"simulated"`

	Messages int `json:"messages"`
	Parts    int `json:"parts"`
	// Sent is the messages whose every part was accepted with its SMSC id
	// committed; Reports the report files made durable in inbox/.
	Sent           int           `json:"sent"`
	Reports        int           `json:"reports"`
	Elapsed        time.Duration `json:"elapsed_ns"`
	ReportsElapsed time.Duration `json:"reports_elapsed_ns"`
	Refused        int           `json:"refused"`   // responses other than ESME_ROK (throttles included)
	TimedOut       int           `json:"timed_out"` // responses later than smsc.response_timeout

	FileToSubmit   Latency `json:"file_to_submit"`
	RTT            Latency `json:"submit_to_response"`
	SubmitToReport Latency `json:"submit_to_report"`

	CPU     time.Duration `json:"cpu_ns"`         // user + system, the whole process
	PeakRSS int64         `json:"peak_rss_bytes"` // the whole process
	DBSize  int64         `json:"db_bytes"`

	RawPerSec float64 `json:"raw_msgs_per_sec"`
	// FileLoopPerSec and FileLoopCPU are the bare file loop (fileLoop) of
	// the same run: files per second and CPU per file.
	FileLoopPerSec float64       `json:"file_loop_per_sec,omitempty"`
	FileLoopCPU    time.Duration `json:"file_loop_cpu_ns,omitempty"`
}

// MessagesPerSec is the end-to-end rate: messages sent with their SMSC ids
// committed per second.
func (r *Result) MessagesPerSec() float64 { return perSec(r.Sent, r.Elapsed) }

// ReportsPerSec is report files made durable in inbox/ per second.
func (r *Result) ReportsPerSec() float64 { return perSec(r.Reports, r.ReportsElapsed) }

// PartsPerSec is submit_sm accepted per second end to end: the figure
// comparable with the raw ceiling.
func (r *Result) PartsPerSec() float64 {
	if r.Sent != r.Messages {
		return 0
	}
	return perSec(r.Parts, r.Elapsed)
}

func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// WriteTable prints the result for a person.
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	wl := r.Workload
	fmt.Fprintf(&b, "smsagent bench  %s  %s/%s  %d CPUs  load %s\n", r.At.Format("2006-01-02 15:04 UTC"),
		runtime.GOOS, runtime.GOARCH, r.CPUs, or(r.Load, "n/a"))
	arrival := string(wl.Arrival)
	if wl.Arrival == ArrivalRate {
		arrival = fmt.Sprintf("rate %d/s for %s", wl.Rate, wl.Duration)
	}
	fmt.Fprintf(&b, "workload         %d messages (%d parts), %s, %s, receipts %s, %d sessions × window %d, %s\n",
		r.Messages, r.Parts, arrival, wl.Mix, onOff(wl.Receipts), wl.Sessions, wl.Window, target(r.Simulated))
	fmt.Fprintf(&b, "end to end       %s msgs/s  (%d sent in %s; %s parts/s)\n",
		thousands(r.MessagesPerSec()), r.Sent, r.Elapsed.Round(time.Millisecond), thousands(r.PartsPerSec()))
	if ideal := wl.Ideal(); ideal > 0 {
		fmt.Fprintf(&b, "efficiency       %.0f%% of sessions × window ÷ RTT (%d × %d ÷ %s = %s msgs/s)\n",
			100*r.PartsPerSec()/ideal, wl.Sessions, wl.Window, wl.RTT, thousands(ideal))
	}
	if r.Messages > 0 {
		fmt.Fprintf(&b, "CPU per message  %s (user+sys of the whole process%s ÷ messages)\n",
			(r.CPU / time.Duration(r.Messages)).Round(100*time.Nanosecond), simToo(r.Simulated))
	}
	fmt.Fprintf(&b, "reports          %s reports/s  (%d written to inbox/ in %s)\n",
		thousands(r.ReportsPerSec()), r.Reports, r.ReportsElapsed.Round(time.Millisecond))
	if r.FileLoopPerSec > 0 {
		fmt.Fprintf(&b, "file loop        %s files/s, %s CPU per file (bare create+write+sync+rename in the same folder); reports are %.0f%% of it\n",
			thousands(r.FileLoopPerSec), r.FileLoopCPU.Round(100*time.Nanosecond), 100*r.ReportsPerSec()/r.FileLoopPerSec)
	}
	fmt.Fprintf(&b, "latency          %10s %10s %10s %10s %9s\n", "p50", "p90", "p99", "max", "count")
	from := "file->submit"
	if !r.Simulated {
		from = "intake->submit"
	}
	for _, row := range []struct {
		name string
		l    Latency
	}{{from, r.FileToSubmit}, {"submit->response", r.RTT}, {"submit->report", r.SubmitToReport}} {
		fmt.Fprintf(&b, "  %-16s %10s %10s %10s %10s %9d\n", row.name,
			ms(row.l.P50), ms(row.l.P90), ms(row.l.P99), ms(row.l.Max), row.l.Count)
	}
	fmt.Fprintf(&b, "cost             %s CPU (user+sys, agent%s), peak RSS %s (process), database %s\n",
		cpu(r.CPU), simToo(r.Simulated), mib(r.PeakRSS), mib(r.DBSize))
	share := 0.0
	if r.RawPerSec > 0 {
		share = 100 * r.PartsPerSec() / r.RawPerSec
	}
	verdict := fmt.Sprintf("end to end is %.0f%% of it", share)
	if wl.Arrival == ArrivalRate {
		verdict = fmt.Sprintf("the workload offers %d/s", wl.Rate)
	}
	fmt.Fprintf(&b, "raw ceiling      %s msgs/s  (bare SMPP sessions, same sessions and window, nothing stored); %s\n",
		thousands(r.RawPerSec), verdict)
	if r.Refused > 0 || r.TimedOut > 0 {
		fmt.Fprintf(&b, "note             %d responses other than ESME_ROK, %d timed out\n", r.Refused, r.TimedOut)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func target(simulated bool) string {
	if simulated {
		return "built-in simulator on loopback"
	}
	return "external SMSC"
}

func simToo(simulated bool) string {
	if simulated {
		return " and simulator"
	}
	return ""
}

// ms prints a duration in milliseconds with three significant figures.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

func cpu(d time.Duration) string {
	if d == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// mib prints a size in MiB, or KiB below one MiB (a compacted empty
// database is a few pages).
func mib(n int64) string {
	switch {
	case n == 0:
		return "n/a"
	case n < 1<<20:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// thousands prints a rate rounded to a whole number with thousands
// separators: 21,345.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
