package smpp

import (
	"fmt"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// inSlot tracks one request from the peer between its arrival and its
// answer. gen tells a Request for an earlier use of the slot from the
// current one, so an answer is sent at most once.
type inSlot struct {
	gen  uint32
	busy bool
}

// Request is a request from the peer, handed to SessionOptions.Handler.
// Answer it exactly once, with Ack or Respond, from any goroutine and at
// any time: the response is written when it is called. A deliver_sm is
// best acknowledged only once what it carries is stored (deliver_sm_resp
// after commit); until then it holds one slot of the inbound window.
type Request struct {
	// Header is the request's header as received.
	Header pdu.Header
	// PDU is the decoded body: *pdu.DeliverSM, *pdu.DataSM,
	// *pdu.AlertNotification for an ESME; *pdu.Bind, *pdu.SubmitSM, ... for
	// an SMSC. It is the Handler's to keep.
	PDU pdu.PDU

	s    *Session
	slot int32
	gen  uint32
}

// Ack answers with the request's response and an empty body:
// deliver_sm_resp, or a data_sm_resp without message_id. For an
// alert_notification, which has no response (§4.12), it does nothing.
func (r Request) Ack(status pdu.Status) error { return r.Respond(status, nil) }

// Respond answers with a response body of the caller's: a data_sm_resp
// carrying a message_id, or, on the SMSC side, submit_sm_resp and the
// bind responses (a successful bind response binds the session). resp
// must be the request's response type or *pdu.GenericNack; nil means the
// empty response. It returns ErrAnswered when the request was answered
// already, or when the session has ended (the peer will send the request
// again on its next session).
func (r Request) Respond(status pdu.Status, resp pdu.PDU) error {
	s := r.s
	if s == nil {
		return ErrAnswered
	}
	if !r.Header.ID.ExpectsResponse() {
		return nil
	}
	if resp == nil {
		resp = pdu.NewResponse(r.Header.ID)
	} else if id := resp.CommandID(); id != r.Header.ID.Response() && id != pdu.GenericNackID {
		return fmt.Errorf("smpp: %s cannot answer %s", id, r.Header.ID)
	}
	s.mu.Lock()
	in := &s.in[r.slot]
	if !in.busy || in.gen != r.gen {
		s.mu.Unlock()
		return ErrAnswered
	}
	if s.state == stateEnded {
		s.freeSlotLocked(r.slot)
		err := s.err
		s.mu.Unlock()
		return fmt.Errorf("%w: %w", ErrAnswered, err)
	}
	start := len(s.wbuf)
	var err error
	if s.wbuf, err = pdu.Append(s.wbuf, resp, status, r.Header.Sequence); err != nil {
		// The slot stays taken: the caller may answer again with a body
		// that encodes.
		s.mu.Unlock()
		return fmt.Errorf("smpp: respond to %s: %w", r.Header.ID, err)
	}
	n := len(s.wbuf) - start
	s.appended += uint64(n)
	s.traceLocked(Out, pdu.Header{Length: uint32(n), ID: resp.CommandID(), Status: status, Sequence: r.Header.Sequence}, resp)
	s.freeSlotLocked(r.slot)
	bound := false
	if s.opts.Role == SMSC {
		if m := ModeOf(r.Header.ID); m != 0 && s.state == stateBinding {
			if status == pdu.StatusOK && resp.CommandID() != pdu.GenericNackID {
				s.state = stateBound
				s.mode = m
				if b, ok := r.PDU.(*pdu.Bind); ok {
					s.peerID = b.SystemID
					s.peerVer, s.peerVerOK = b.InterfaceVersion, true
				}
				bound = true
			} else {
				s.state = stateOpen
			}
		}
	}
	s.mu.Unlock()
	s.wakeWriter()
	if bound {
		s.kickKeeper()
	}
	return nil
}

// Drop releases the request without answering it: the peer's response
// timer will run out. It exists for fault injection in the simulator; an
// ESME should always answer.
func (r Request) Drop() {
	s := r.s
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := &s.in[r.slot]
	if !in.busy || in.gen != r.gen {
		return
	}
	s.freeSlotLocked(r.slot)
	if s.opts.Role == SMSC && ModeOf(r.Header.ID) != 0 && s.state == stateBinding {
		s.state = stateOpen
	}
}

// Session is the session the request came on.
func (r Request) Session() *Session { return r.s }

func (s *Session) freeSlotLocked(slot int32) {
	s.in[slot].busy = false
	s.inFree = append(s.inFree, slot)
}

// handleLoop runs the Handler: one goroutine, requests in arrival order.
func (s *Session) handleLoop() {
	defer close(s.handlerDone)
	for {
		select {
		case <-s.quit:
			return
		case req := <-s.queue:
			if !req.Header.ID.ExpectsResponse() {
				// alert_notification has no answer to wait for: its slot
				// only bounded the queue.
				s.mu.Lock()
				if in := &s.in[req.slot]; in.busy && in.gen == req.gen {
					s.freeSlotLocked(req.slot)
				}
				s.mu.Unlock()
			}
			s.opts.Handler(req)
		}
	}
}
