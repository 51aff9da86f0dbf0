package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/smsagent/smsagent"
	bolt "go.etcd.io/bbolt"
)

// DefaultEventPage is the page size of Events when max is not positive.
const DefaultEventPage = 100

// Events returns up to max events with a sequence greater than after, in
// sequence order. Events stay until EventsWritten removes them, so after a
// crash the inbox writer reads them again and writes the same files.
func (s *Store) Events(ctx context.Context, after uint64, max int) ([]smsagent.Event, error) {
	if max <= 0 {
		max = DefaultEventPage
	}
	var out []smsagent.Event
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktEvents).Cursor()
		for k, v := c.Seek(be64(nil, after+1)); k != nil && len(out) < max; k, v = c.Next() {
			seq := beUint64(k)
			ev, err := decodeEvent(seq, v)
			if err != nil {
				return fmt.Errorf("event %d: %w", seq, err)
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: events: %w", err)
	}
	return out, nil
}

// EventsWritten removes events whose files the inbox writer has made
// durable. Unknown sequences (already removed) are ignored, so a repeat
// after a crash is harmless.
//
// hooks are the event command's runs owed for some of them, queued (in
// the hook-runs bucket) in the same commit, each only if its event was still
// there. Crash story: the file is durable before this commit; a crash
// before it writes the file again (same name, same bytes) and owes the run
// then; a crash after it leaves the run owed, made at the next start (at
// least once: a run cut short by the crash is made again).
func (s *Store) EventsWritten(ctx context.Context, seqs []uint64, hooks ...HookRun) error {
	if len(seqs) == 0 {
		return nil
	}
	if err := s.do(ctx, &writtenOp{seqs: seqs, hooks: hooks}); err != nil {
		return fmt.Errorf("outbox: events written: %w", err)
	}
	return nil
}

// HookRun is a run of the event command owed for the event Seq once its
// file is durable: Run's Method is MethodHook. It is due Delay after the
// commit.
type HookRun struct {
	Seq   uint64
	Run   Callback
	Delay time.Duration
}

type writtenOp struct {
	seqs  []uint64
	hooks []HookRun
}

func (o *writtenOp) apply(w *wtx) error {
	removed := make(map[uint64]bool, len(o.hooks))
	for _, seq := range o.seqs {
		k := be64(nil, seq)
		if w.value(w.events, k) == nil {
			continue
		}
		if err := w.del(w.events, k); err != nil {
			return err
		}
		w.c.Events--
		if len(o.hooks) > 0 {
			removed[seq] = true
		}
	}
	for i := range o.hooks {
		h := &o.hooks[i]
		if !removed[h.Seq] {
			continue
		}
		run := h.Run // addCallback sets Created; the caller's copy stays as given
		run.Method = MethodHook
		if err := w.addCallbackAt(&run, w.now.Add(h.Delay)); err != nil {
			return err
		}
	}
	return nil
}
