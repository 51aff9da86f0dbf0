package smpp

import (
	"sync"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// kind says who waits for a request's response.
type kind uint8

const (
	kindUser        kind = iota // Send: done, window slot, response timeout
	kindBind                    // Bind waits on ch
	kindUnbind                  // Close waits on ch
	kindEnquireLink             // the keeper watches elSeq
)

// request is one entry of the pending map: a request sent (or about to be)
// whose response has not arrived.
type request struct {
	seq  uint32
	id   pdu.CommandID
	kind kind
	mode BindMode // kindBind: the mode asked for

	done func(Result) // kindUser
	ch   chan Result  // kindBind, kindUnbind
	end  uint64       // wbuf offset just past the PDU: was it handed to the network?
	// prev and next link the waiting list, oldest first: user requests
	// until they time out.
	prev, next *request
	// sent is when Send queued it and deadline when its response timeout
	// passes, on the session's clock.
	sent, deadline int64
	// queued: in the waiting list, holding a window slot. timedOut: the
	// Pending call was made; the slot is free, a late response is awaited.
	queued, timedOut bool
}

var requestPool = sync.Pool{New: func() any { return new(request) }}

// newRequestLocked takes the next free sequence number and registers the
// request under it, before a single octet of it is written.
func (s *Session) newRequestLocked(id pdu.CommandID, k kind) *request {
	r := requestPool.Get().(*request)
	*r = request{id: id, kind: k, seq: s.nextSeqLocked()}
	s.pending[r.seq] = r
	return r
}

// nextSeqLocked returns the next sequence number, 1 to 0x7FFFFFFF with a
// wrap to 1, skipping numbers still waiting for a response so that a late
// answer cannot be matched to the wrong request (funbox/smppex#50).
func (s *Session) nextSeqLocked() uint32 {
	for {
		s.seq++
		if s.seq > maxSequence || s.seq == 0 {
			s.seq = 1
		}
		if _, busy := s.pending[s.seq]; !busy {
			return s.seq
		}
	}
}

// appendRequestLocked encodes the registered request into the write
// buffer. On failure it unregisters it.
func (s *Session) appendRequestLocked(r *request, p pdu.PDU) error {
	start := len(s.wbuf)
	var err error
	s.wbuf, err = pdu.Append(s.wbuf, p, pdu.StatusOK, r.seq)
	if err != nil {
		delete(s.pending, r.seq)
		requestPool.Put(r)
		return err
	}
	n := len(s.wbuf) - start
	s.appended += uint64(n)
	r.end = s.appended
	s.traceLocked(Out, pdu.Header{Length: uint32(n), ID: r.id, Sequence: r.seq}, p)
	return nil
}

// pushLocked appends r to the waiting list. Every user request has the
// same timeout, so the list is in deadline order and the keeper expires
// from its front: one timer for all requests.
func (s *Session) pushLocked(r *request) {
	r.queued = true
	r.prev = s.tail
	if s.tail != nil {
		s.tail.next = r
	} else {
		s.head = r
	}
	s.tail = r
}

func (s *Session) unlinkLocked(r *request) {
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		s.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		s.tail = r.prev
	}
	r.prev, r.next = nil, nil
	r.queued = false
}

// finish delivers the final result to whoever waits and recycles r. The
// caller holds cbMu for user requests.
func (r *request) finish(res Result) {
	switch r.kind {
	case kindUser:
		r.done(res)
	case kindBind, kindUnbind:
		r.ch <- res // buffered for exactly this one send
	}
	*r = request{}
	requestPool.Put(r)
}
