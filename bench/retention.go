package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/internal/fsutil"
	"github.com/smsagent/smsagent/outbox"
)

// Retention is steady traffic under a retention limit: Cycles rounds of
// PerCycle messages (receipts requested), each sent, reported and then
// pruned. The agent's clock jumps past store.retention after each round,
// so pruning happens at once instead of after a minute of real time.
type Retention struct {
	Cycles   int `json:"cycles"`
	PerCycle int `json:"per_cycle"`
	Sessions int `json:"sessions"`
	Window   int `json:"window"`
}

// RetentionResult is the database file's size after each round's pruning,
// and after `queue compact` (outbox.Compact) with the agent stopped.
type RetentionResult struct {
	Retention Retention `json:"retention"`
	Sizes     []int64   `json:"sizes_bytes"`
	Compacted int64     `json:"compacted_bytes"`
}

// Flat says whether the file stopped growing after the first round: every
// later size within 10% of the first, since pruning frees pages for reuse.
func (r *RetentionResult) Flat() bool {
	if len(r.Sizes) < 2 {
		return false
	}
	for _, s := range r.Sizes[1:] {
		if float64(s) > 1.1*float64(r.Sizes[0]) {
			return false
		}
	}
	return true
}

// retentionLimit is store.retention for the run: the smallest the
// configuration allows.
const retentionLimit = time.Minute

// RunRetention runs the rounds and compacts the database at the end.
func RunRetention(ctx context.Context, rt Retention, o Options) (*RetentionResult, error) {
	if rt.Cycles < 2 || rt.PerCycle < 1 || rt.Sessions < 1 || rt.Window < 1 {
		return nil, errors.New("bench: retention needs at least 2 cycles of at least 1 message, and sessions and window of at least 1")
	}
	o, done, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	defer done()
	w, cfg, closeSim, err := simulatedSetup(ctx, o, rt.PerCycle, rt.Sessions, rt.Window, nil)
	if err != nil {
		return nil, err
	}
	defer closeSim()
	cfg.Store.Retention = retentionLimit

	var skew atomic.Int64 // how far the agent's clock is ahead of the real one
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	a, err := agent.New(cfg, agent.Options{Logger: o.Logger, Clock: clock, SweepInterval: 50 * time.Millisecond})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	stopAgent := startAgent(ctx, a)
	defer func() { _ = stopAgent() }()
	if err := waitReady(ctx, a); err != nil {
		return nil, err
	}

	res := &RetentionResult{Retention: rt}
	outgoing := filepath.Join(cfg.Spool.Dir, "outgoing")
	for c := range rt.Cycles {
		if err := dropRound(outgoing, w, c); err != nil {
			return nil, err
		}
		want := uint64((c + 1) * rt.PerCycle)
		if err := waitFor(ctx, o.Stall, fmt.Sprintf("round %d: %d reports", c+1, want), func() (bool, error) {
			st, err := a.Status(ctx)
			return err == nil && st.Inbox.Written >= want, err
		}); err != nil {
			return nil, err
		}
		// Every message of the round is final and reported: past the
		// retention the sweeper prunes them all.
		skew.Add(int64(retentionLimit + time.Second))
		if err := waitFor(ctx, o.Stall, fmt.Sprintf("round %d pruned", c+1), func() (bool, error) {
			st, err := a.Outbox().Stats(ctx)
			total := 0
			for _, n := range st.ByState {
				total += n
			}
			return err == nil && total == 0 && st.Events == 0, err
		}); err != nil {
			return nil, err
		}
		fi, err := os.Stat(cfg.Store.Path)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		res.Sizes = append(res.Sizes, fi.Size())
		if o.Progress != nil {
			o.Progress(Progress{Phase: "retention", Done: c + 1, Total: rt.Cycles})
		}
	}
	if err := stopAgent(); err != nil {
		return nil, fmt.Errorf("bench: stopping the agent: %w", err)
	}
	compacted := cfg.Store.Path + ".compact"
	if err := outbox.Compact(cfg.Store.Path, compacted); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	fi, err := os.Stat(compacted)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	res.Compacted = fi.Size()
	return res, nil
}

// dropRound renames an NDJSON file of round c's messages into outgoing/.
func dropRound(outgoing string, w Workload, c int) error {
	var b bytes.Buffer
	_ = w.writeNDJSON(&b, c*w.Messages, (c+1)*w.Messages) // a bytes.Buffer does not fail
	if err := fsutil.WriteFile(filepath.Join(outgoing, fmt.Sprintf("round-%d.ndjson", c)), b.Bytes(), 0o640, ""); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// waitFor polls cond every 10 ms until it holds, fails, or stall passes.
func waitFor(ctx context.Context, stall time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(stall)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("bench: %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s: not within %s", what, stall)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond): // polling with a deadline
		}
	}
}

// WriteTable prints the result for a person.
func (r *RetentionResult) WriteTable(out io.Writer) error {
	var b strings.Builder
	sizes := make([]string, len(r.Sizes))
	for i, s := range r.Sizes {
		sizes[i] = mib(s)
	}
	fmt.Fprintf(&b, "retention        %d rounds of %d messages, each pruned: database %s\n",
		r.Retention.Cycles, r.Retention.PerCycle, strings.Join(sizes, ", "))
	fmt.Fprintf(&b, "compact          %s after queue compact (agent stopped)\n", mib(r.Compacted))
	_, err := io.WriteString(out, b.String())
	return err
}

// StandardRetention is the retention run `make bench` does: target 6.
func StandardRetention() Retention {
	return Retention{Cycles: 5, PerCycle: 20_000, Sessions: 4, Window: 50}
}

// EvaluateRetention checks target 6.
func EvaluateRetention(r *RetentionResult) []Outcome {
	last := int64(0)
	if len(r.Sizes) > 0 {
		last = r.Sizes[len(r.Sizes)-1]
	}
	return []Outcome{
		{Target: "retention: database size flat across rounds of steady traffic",
			Measured: fmt.Sprintf("%s first, %s last", mib(r.Sizes[0]), mib(last)), Pass: r.Flat()},
		{Target: "  ... and queue compact shrinks the file", Measured: mib(r.Compacted),
			Pass: r.Compacted > 0 && r.Compacted < last},
	}
}
