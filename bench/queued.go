package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/msgfile"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// Backlog is a restart on a long queue: Queued short messages (receipts
// requested) are stored through the outbox API while no agent runs, as if
// the SMSC had been unreachable, then an agent starts on that database and
// sends. It measures what the queue's length costs: the time from start to
// the first submission, the resident memory while it sends, and the rate
// over the first Sample messages.
type Backlog struct {
	Queued   int `json:"queued"`
	Sample   int `json:"sample"`
	Sessions int `json:"sessions"`
	Window   int `json:"window"`
}

// BacklogResult is what a Backlog run measured.
type BacklogResult struct {
	Backlog Backlog       `json:"backlog"`
	Load    string        `json:"load_average,omitempty"`
	Build   time.Duration `json:"build_ns"` // storing the queue through the outbox API
	DBSize  int64         `json:"db_bytes"`
	// FirstSubmit is from agent.New on the database to the simulator
	// accepting the first submission.
	FirstSubmit time.Duration `json:"first_submit_ns"`
	// MaxRSS is the highest resident set sampled while the agent ran (0
	// where /proc/self/statm does not exist).
	MaxRSS int64 `json:"max_rss_bytes"`
	// Sent messages settled in Elapsed from the first submission.
	Sent    int           `json:"sent"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// MessagesPerSec is the rate over the sample.
func (r *BacklogResult) MessagesPerSec() float64 { return perSec(r.Sent, r.Elapsed) }

// backlogBatch is the messages stored per Enqueue while building the queue.
const backlogBatch = 5000

// RunBacklog builds the queue and measures the restart on it.
func RunBacklog(ctx context.Context, b Backlog, o Options) (*BacklogResult, error) {
	if b.Queued < 1 || b.Sample < 1 || b.Sample > b.Queued || b.Sessions < 1 || b.Window < 1 {
		return nil, errors.New("bench: a backlog needs 1 <= sample <= queued, and sessions and window of at least 1")
	}
	o, done, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	defer done()
	var first atomic.Int64 // unix nanos of the first accepted submission
	w, cfg, closeSim, err := simulatedSetup(ctx, o, b.Queued, b.Sessions, b.Window, func(*smsc.Submit) {
		if first.Load() == 0 {
			first.CompareAndSwap(0, time.Now().UnixNano())
		}
	})
	if err != nil {
		return nil, err
	}
	defer closeSim()
	if err := os.MkdirAll(cfg.Store.Dir(), 0o750); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	res := &BacklogResult{Backlog: b, Load: loadAverage()}
	begun := time.Now()
	if err := buildQueue(ctx, cfg.Store.Path, agent.OutboxOptions(cfg), w); err != nil {
		return nil, err
	}
	res.Build = time.Since(begun)
	if fi, err := os.Stat(cfg.Store.Path); err == nil {
		res.DBSize = fi.Size()
	}
	// What building the queue left on the heap is not the agent's.
	debug.FreeOSMemory()

	started := time.Now()
	a, err := agent.New(cfg, agent.Options{Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	stopAgent := startAgent(ctx, a)
	defer func() { _ = stopAgent() }()

	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	lastMove, lastSettled := time.Now(), -1
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		res.MaxRSS = max(res.MaxRSS, residentSet())
		f := first.Load()
		if f == 0 {
			if time.Since(started) > o.Stall {
				return nil, fmt.Errorf("bench: no submission within %s of the start on %d queued messages", o.Stall, b.Queued)
			}
			continue
		}
		if res.FirstSubmit == 0 {
			res.FirstSubmit = time.Unix(0, f).Sub(started)
		}
		st, err := a.Outbox().Stats(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		settled := b.Queued - st.ByState[smsagent.StateQueued] - st.ByState[smsagent.StateSending]
		now := time.Now()
		if settled >= b.Sample {
			res.Sent, res.Elapsed = settled, now.Sub(time.Unix(0, f))
			return res, nil
		}
		if settled != lastSettled {
			lastSettled, lastMove = settled, now
		} else if now.Sub(lastMove) > o.Stall {
			return nil, fmt.Errorf("bench: no progress for %s: %d of %d sample messages settled", o.Stall, settled, b.Sample)
		}
		if o.Progress != nil {
			o.Progress(Progress{Phase: "backlog", Done: settled, Total: b.Sample, Elapsed: now.Sub(started)})
		}
	}
}

// buildQueue stores w's messages in the outbox at path in batches, the
// way intake would store NDJSON files of backlogBatch lines each.
func buildQueue(ctx context.Context, path string, oo outbox.Options, w Workload) error {
	store, err := outbox.Open(path, oo)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var buf bytes.Buffer
	for from := 0; from < w.Messages; from += backlogBatch {
		buf.Reset()
		_ = w.writeNDJSON(&buf, from, min(from+backlogBatch, w.Messages)) // a bytes.Buffer does not fail
		name := "backlog-" + strconv.Itoa(from) + ".ndjson"
		msgs, err := msgfile.Parse(&buf, name, msgfile.Options{})
		if err == nil {
			_, err = store.Enqueue(ctx, smsagent.Batch{Claim: name, File: name, Messages: msgs})
		}
		if err != nil {
			_ = store.Close(ctx)
			return fmt.Errorf("bench: building the queue: %w", err)
		}
	}
	return store.Close(ctx)
}

// residentSet is the process's resident set now, from /proc/self/statm
// (in pages); 0 where that file does not exist.
func residentSet() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// WriteTable prints the result for a person.
func (r *BacklogResult) WriteTable(out io.Writer) error {
	var w strings.Builder
	fmt.Fprintf(&w, "backlog          %d queued messages (built in %s, database %s), %d sessions × window %d, load %s\n",
		r.Backlog.Queued, r.Build.Round(time.Millisecond), mib(r.DBSize), r.Backlog.Sessions, r.Backlog.Window, or(r.Load, "n/a"))
	fmt.Fprintf(&w, "restart          first submit %s after start, max RSS %s while sending\n",
		r.FirstSubmit.Round(time.Millisecond), mib(r.MaxRSS))
	fmt.Fprintf(&w, "drain            %s msgs/s over the first %d messages\n", thousands(r.MessagesPerSec()), r.Sent)
	_, err := io.WriteString(out, w.String())
	return err
}

// StandardBacklog is the backlog `make bench` runs: target 5.
func StandardBacklog() Backlog {
	return Backlog{Queued: 1_000_000, Sample: 100_000, Sessions: 4, Window: 50}
}

// EvaluateBacklog checks target 5 against a backlog run and the
// empty-queue run it is compared with (nil when that did not run).
func EvaluateBacklog(r *BacklogResult, empty *Result) []Outcome {
	q := thousands(float64(r.Backlog.Queued))
	out := []Outcome{
		{Target: q + " queued: restart to first submit < 2 s", Measured: r.FirstSubmit.Round(time.Millisecond).String(),
			Pass: r.FirstSubmit < 2*time.Second},
		{Target: "  ... RSS < 150 MiB while sending", Measured: mib(r.MaxRSS),
			Pass: r.MaxRSS > 0 && r.MaxRSS < 150<<20},
	}
	drain := Outcome{Target: "  ... throughput within 20% of the empty-queue figure", Measured: "no empty-queue run"}
	if empty != nil && empty.MessagesPerSec() > 0 {
		ratio := r.MessagesPerSec() / empty.MessagesPerSec()
		drain.Measured = fmt.Sprintf("%s msgs/s, %.0f%% of %s", thousands(r.MessagesPerSec()), 100*ratio,
			thousands(empty.MessagesPerSec()))
		drain.Pass = ratio >= 0.8
	}
	return append(out, drain)
}
