package agent

import (
	"context"
	"sync"
	"time"
)

// mailbox hands items from callbacks that must never block (a session's
// done function, its Handler) to the one goroutine that owns what they
// carry. put appends and signals; the owner takes everything queued at
// once, which is what turns a burst of responses into one group commit.
//
// It is unbounded by design and bounded by its producers: the dispatcher
// never has more parts in flight than its budget (each yields at most two
// results), and the sessions never have more than InboundWindow requests
// unanswered.
type mailbox[T any] struct {
	mu    sync.Mutex
	items []T
	spare []T
	ready chan struct{} // capacity 1: "something was put since the last take"
}

func newMailbox[T any]() *mailbox[T] {
	return &mailbox[T]{ready: make(chan struct{}, 1)}
}

func (m *mailbox[T]) put(v T) {
	m.mu.Lock()
	m.items = append(m.items, v)
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
}

// len is the number of items queued.
func (m *mailbox[T]) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// gather waits, after an item arrived, until n are queued or linger has
// passed, or until quit or ctx ends: a group sized by time as well as by
// count. When the SMSC sets the pace (a round trip of tens of
// milliseconds) answers trickle in, and committing each alone would cost
// an fsync per message; a few milliseconds gather them into one commit.
// Nothing waits on the group meanwhile: the budget lets the dispatcher
// submit on.
func (m *mailbox[T]) gather(ctx context.Context, quit <-chan struct{}, n int, linger time.Duration) {
	if linger <= 0 || m.len() >= n {
		return
	}
	t := time.NewTimer(linger)
	defer t.Stop()
	for m.len() < n {
		select {
		case <-m.ready:
		case <-t.C:
			return
		case <-quit:
			return
		case <-ctx.Done():
			return
		}
	}
}

// take returns everything queued, or nil. The slice is the caller's until
// its next take: the two buffers alternate, so a steady stream allocates
// nothing.
func (m *mailbox[T]) take() []T {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.items
	clear(m.spare) // drop references the previous batch held
	m.items = m.spare[:0]
	m.spare = out
	return out
}
