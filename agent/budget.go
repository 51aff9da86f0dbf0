package agent

import (
	"context"
	"sync/atomic"
	"time"
)

// budget bounds the parts submitted to the SMSC and not yet settled: the
// duplicate bound of docs/DESIGN.md ("Delivery semantics"). A crash resends
// exactly the parts whose results were not committed, so whatever kills
// the process, the SMSC sees at most the budget's limit of them twice.
//
// The dispatcher reserves a part before it submits it; the settler gives
// parts back once their results are committed. A part whose response
// timed out (smpp.Result.Pending) leaves the limit at once (timedOut): its
// session's MaxUnanswered bounds those, and keeping them would let a
// silent SMSC stop all sending while its link stays up; it stays open
// until its final result is committed, and a graceful stop waits for the
// open parts (drain).
type budget struct {
	limit int64
	// inflight counts parts reserved and neither committed nor timed out;
	// open counts parts reserved whose final result is not committed.
	inflight, open atomic.Int64
	// freed is poked (capacity 1, never blocking) whenever parts are given
	// back: reserve and drain wait on it.
	freed chan struct{}
	// answered counts the parts whose final result was committed (an
	// answer, or the session's end): the dispatcher's sign that a stalled
	// account answers again. Parts given back unsent or timed out do not
	// count.
	answered atomic.Uint64
}

func newBudget(limit int) *budget {
	return &budget{limit: int64(max(limit, 1)), freed: make(chan struct{}, 1)}
}

// reserve takes one part, waiting for the settler to give some back.
// False when ctx ended first.
func (b *budget) reserve(ctx context.Context) bool {
	for b.inflight.Load() >= b.limit {
		select {
		case <-b.freed:
		case <-ctx.Done():
			return false
		}
	}
	b.inflight.Add(1)
	b.open.Add(1)
	return true
}

// unreserve gives back a part reserved and never submitted.
func (b *budget) unreserve() {
	b.inflight.Add(-1)
	b.open.Add(-1)
	b.poke()
}

// timedOut takes a part whose response timed out out of the limit; it
// stays open.
func (b *budget) timedOut() {
	b.inflight.Add(-1)
	b.poke()
}

// settled gives back parts whose results are committed: inflight of them
// still held a place within the limit, open were open.
func (b *budget) settled(inflight, open int64) {
	if inflight == 0 && open == 0 {
		return
	}
	b.inflight.Add(-inflight)
	b.open.Add(-open)
	b.answered.Add(uint64(open))
	b.poke()
}

// outstanding is the number of parts whose final result is not committed.
func (b *budget) outstanding() int64 { return b.open.Load() }

// drain waits until no part is open, for at most timeout or until stop
// ends, and reports whether none is.
func (b *budget) drain(stop context.Context, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for b.open.Load() > 0 {
		select {
		case <-b.freed:
		case <-t.C:
			return b.open.Load() == 0
		case <-stop.Done():
			return b.open.Load() == 0
		}
	}
	return true
}

func (b *budget) poke() {
	select {
	case b.freed <- struct{}{}:
	default:
	}
}
