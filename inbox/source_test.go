package inbox_test

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/inbox"
)

// memSource is an in-memory event store with the outbox's contract: events
// stay until EventsWritten names them.
type memSource struct {
	mu      sync.Mutex
	events  []smsagent.Event
	marks   [][]uint64        // every EventsWritten call
	files   map[uint64]string // the file each event was said to be in
	failAck error             // returned by EventsWritten while set
	done    chan struct{}
	total   int // close done once this many events are written
	written int
}

var _ inbox.Source = (*memSource)(nil)

// fileOf is the file EventsWritten named for seq.
func (s *memSource) fileOf(seq uint64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[seq]
}

func newSource(events ...smsagent.Event) *memSource {
	return &memSource{events: slices.Clone(events), done: make(chan struct{}), total: len(events)}
}

func (s *memSource) Events(_ context.Context, after uint64, max int) ([]smsagent.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []smsagent.Event
	for _, e := range s.events {
		if e.Seq > after && len(out) < max {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *memSource) EventsWritten(_ context.Context, seqs []uint64, files []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAck != nil {
		return s.failAck
	}
	if s.files == nil {
		s.files = make(map[uint64]string)
	}
	for i, seq := range seqs {
		s.files[seq] = files[i]
	}
	s.marks = append(s.marks, slices.Clone(seqs))
	s.events = slices.DeleteFunc(s.events, func(e smsagent.Event) bool { return slices.Contains(seqs, e.Seq) })
	s.written += len(seqs)
	if s.written >= s.total && s.total > 0 {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	}
	return nil
}

func (s *memSource) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

func (s *memSource) setFailAck(err error) {
	s.mu.Lock()
	s.failAck = err
	s.mu.Unlock()
}

var errAck = errors.New("outbox unavailable")
