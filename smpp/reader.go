package smpp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// readBufferSize is large enough that a full window of responses usually
// arrives in one read system call.
const readBufferSize = 32 << 10

// readLoop is the session's only reader. It routes responses straight to
// their waiters and queues the peer's requests for the Handler, so a slow
// Handler never delays the responses to our own requests (the jsmpp#63
// failure). It returns when the connection fails or the session ends.
func (s *Session) readLoop() {
	rd := pdu.NewReader(bufio.NewReaderSize(s.conn, readBufferSize), s.opts.MaxPDULength)
	for {
		frame, err := rd.ReadFrame()
		if err != nil {
			s.readFailed(err)
			return
		}
		s.lastRecv.Store(s.now())
		// Decode copies what it returns: a response goes to a caller that
		// may keep it, a request to the Handler's goroutine.
		h, p, err := pdu.Decode(frame)
		// A type assertion, not errors.As: Decode returns the
		// *DecodeError itself, and a pointer taken for errors.As would
		// cost an allocation per PDU.
		de, isDecodeErr := err.(*pdu.DecodeError)
		if err != nil && !isDecodeErr {
			// Decode fails without a DecodeError only on a frame shorter
			// than a header, which the Reader never returns.
			s.fail(fmt.Errorf("smpp: read: %w", err), false)
			return
		}
		s.trace(In, h, p)
		if h.ID.IsResponse() {
			if !s.onResponse(h, p, err) {
				return
			}
			continue
		}
		if de != nil {
			s.oddity("smpp: malformed request", "cmd", h.ID.String(), "seq", h.Sequence,
				"reply", de.Action().String(), "error", de.Error())
			s.mu.Lock()
			if reply, ok := de.AppendReply(s.wbuf); ok && s.state != stateEnded {
				s.appendRawLocked(reply)
			}
			backlog := len(s.wbuf)
			s.mu.Unlock()
			s.wakeWriter()
			if !s.checkBacklog(backlog) {
				return
			}
			continue
		}
		if !s.onRequest(h, p) {
			return
		}
	}
}

// readFailed ends the session after a failed read. If the session is
// ending already (we closed the connection), this is only the echo of it.
func (s *Session) readFailed(err error) {
	var fe *pdu.FramingError
	switch {
	case errors.As(err, &fe):
		// Framing is lost: nothing after this can be trusted to start a
		// PDU. Say so with generic_nack ESME_RINVCMDLEN and close
		// (§4.3, pdu.FramingError).
		s.mu.Lock()
		if s.state != stateEnded {
			reply, _ := fe.AppendReply(s.wbuf)
			s.appendRawLocked(reply)
		}
		s.mu.Unlock()
		s.wakeWriter()
		s.fail(fmt.Errorf("smpp: %w", err), true)
	case errors.Is(err, io.EOF):
		s.fail(fmt.Errorf("smpp: connection closed by the peer: %w", err), false)
	case errors.Is(err, io.ErrUnexpectedEOF):
		s.fail(fmt.Errorf("smpp: connection closed by the peer inside a PDU: %w", err), false)
	default:
		s.fail(fmt.Errorf("smpp: read: %w", err), false)
	}
}

// appendRawLocked accounts for PDU octets the caller appended to wbuf
// itself (s.wbuf must be a prefix of b).
func (s *Session) appendRawLocked(b []byte) {
	start := len(s.wbuf)
	s.wbuf = b
	s.appended += uint64(len(b) - start)
	if h, err := pdu.ParseHeader(b[start:]); err == nil {
		s.traceLocked(Out, h, nil)
	}
}

// onResponse settles the request a response answers. It reports false
// when the session must end.
func (s *Session) onResponse(h pdu.Header, p pdu.PDU, decodeErr error) bool {
	s.mu.Lock()
	r := s.pending[h.Sequence]
	if r == nil || (h.ID != r.id.Response() && h.ID != pdu.GenericNackID) {
		s.mu.Unlock()
		if h.ID == pdu.GenericNackID && h.Sequence == 0 {
			// We never send sequence 0: the peer could not read a header
			// of ours, so it has lost the framing of our stream.
			s.fail(fmt.Errorf("smpp: peer sent generic_nack with sequence 0 (it lost the framing of our stream): %w", h.Status), false)
			return false
		}
		s.oddity("smpp: response to no request of ours, dropped", "cmd", h.ID.String(), "seq", h.Sequence,
			"status", h.Status.String())
		return true
	}
	delete(s.pending, h.Sequence)
	release := false
	switch {
	case r.queued:
		s.unlinkLocked(r)
		release = true
	case r.timedOut:
		s.unanswered--
	}
	switch r.kind {
	case kindEnquireLink:
		if s.elSeq == r.seq {
			s.elSeq = 0
		}
	case kindBind:
		if h.ID != pdu.GenericNackID && h.Status == pdu.StatusOK && s.state == stateBinding {
			// Bound from this very PDU on: the next one may be a
			// deliver_sm, and the reader must already know.
			br, _ := p.(*pdu.BindResp)
			s.state = stateBound
			s.mode = r.mode
			if br != nil {
				s.peerID = br.SystemID
				s.peerVer, s.peerVerOK = br.TLVs.SCInterfaceVersion()
			}
		}
	}
	s.mu.Unlock()
	if release {
		<-s.sem
	}
	res := Result{Seq: h.Sequence, Header: h, Resp: p, Err: decodeErr}
	switch r.kind {
	case kindUser:
		res.RTT = time.Duration(s.now() - r.sent)
		s.cbMu.Lock()
		r.finish(res)
		s.cbMu.Unlock()
	case kindUnbind:
		r.finish(res)
		// Close's unbind is answered: the session ends here, closed by
		// us, whatever the peer does next (it usually hangs up at once,
		// and that EOF must not become the cause).
		s.fail(ErrClosed, true)
		return false
	default:
		r.finish(res)
	}
	return true
}

// onRequest answers what the session answers itself (enquire_link,
// unbind, commands this side does not take, requests beyond the inbound
// window) and queues the rest for the Handler. It reports false when the
// session must end.
func (s *Session) onRequest(h pdu.Header, p pdu.PDU) bool {
	switch h.ID {
	case pdu.EnquireLinkID:
		// Echo the peer's sequence number (python-smpplib#52).
		return s.checkBacklog(s.reply(&pdu.EnquireLinkResp{}, pdu.StatusOK, h.Sequence))
	case pdu.UnbindID:
		s.reply(&pdu.UnbindResp{}, pdu.StatusOK, h.Sequence)
		s.fail(ErrUnbound, true)
		return false
	case pdu.OutbindID:
		s.oddity("smpp: outbind ignored: this session was dialled", "seq", h.Sequence)
		return true
	}

	s.mu.Lock()
	status, nack := s.admitLocked(h.ID)
	if status == pdu.StatusOK {
		if s.opts.Handler == nil {
			status = pdu.StatusXTAppn
		} else if len(s.inFree) == 0 {
			// Beyond the inbound window: refuse rather than block the
			// reader (jsmpp does the same); the peer retries later.
			status = pdu.StatusThrottled
		}
	}
	if status == pdu.StatusOK {
		slot := s.inFree[len(s.inFree)-1]
		s.inFree = s.inFree[:len(s.inFree)-1]
		in := &s.in[slot]
		in.busy = true
		in.gen++
		gen := in.gen
		if s.opts.Role == SMSC && ModeOf(h.ID) != 0 {
			s.state = stateBinding
		}
		s.mu.Unlock()
		// Never blocks: the queue holds as many as there are slots.
		s.queue <- Request{Header: h, PDU: p, s: s, slot: slot, gen: gen}
		return true
	}
	if h.ID.ExpectsResponse() {
		var resp pdu.PDU = &pdu.GenericNack{}
		if !nack {
			resp = pdu.NewResponse(h.ID)
		}
		s.replyLocked(resp, status, h.Sequence)
	} else {
		s.log.Debug("smpp: request without response dropped", "cmd", h.ID.String(), "status", status.String())
	}
	backlog := len(s.wbuf)
	s.mu.Unlock()
	s.wakeWriter()
	return s.checkBacklog(backlog)
}

// maxBacklog bounds the octets waiting in the write buffer when the
// reader adds an answer of its own. Requests and the Handler's answers are
// bounded by the two windows; these answers are not, so a peer that sends
// enquire_link after enquire_link and never reads would otherwise grow
// the buffer without end.
var maxBacklog = 16 << 20

// checkBacklog ends the session when the peer has stopped reading what we
// answer; it reports whether the reader may go on.
func (s *Session) checkBacklog(queued int) bool {
	if queued <= maxBacklog {
		return true
	}
	s.fail(fmt.Errorf("%w (%d octets of answers queued)", ErrNotReading, queued), false)
	return false
}

// oddityInterval is the least time between two warnings about protocol
// oddities of one session; the ones in between go to debug, so a broken
// or hostile peer cannot fill the disk with logs.
const oddityInterval = time.Second

// oddity logs a protocol oddity at warn, at most once per oddityInterval.
func (s *Session) oddity(msg string, args ...any) {
	now := s.now()
	last := s.lastOddity.Load()
	if now-last >= int64(oddityInterval) && s.lastOddity.CompareAndSwap(last, now) {
		s.log.Warn(msg, args...)
		return
	}
	s.log.Debug(msg, args...)
}

// admitLocked decides whether the Handler gets a request (StatusOK), or
// which status answers it: with generic_nack (nack) for a command this side
// does not take at all, else with the command's own response (§2.3, §4.3).
func (s *Session) admitLocked(id pdu.CommandID) (status pdu.Status, nack bool) {
	bound := s.state == stateBound || s.state == stateClosing
	if s.opts.Role == ESME {
		switch id {
		case pdu.DeliverSMID, pdu.DataSMID, pdu.AlertNotificationID:
			if bound && s.mode.receives() {
				return pdu.StatusOK, false
			}
			return pdu.StatusInvBndSts, false
		}
		return pdu.StatusInvCmdID, true
	}
	switch id {
	case pdu.BindTransmitterID, pdu.BindReceiverID, pdu.BindTransceiverID:
		if s.state == stateOpen {
			return pdu.StatusOK, false
		}
		return pdu.StatusAlyBnd, false
	case pdu.SubmitSMID, pdu.SubmitMultiID, pdu.DataSMID, pdu.QuerySMID, pdu.CancelSMID, pdu.ReplaceSMID:
		if bound && s.mode.transmits() {
			return pdu.StatusOK, false
		}
		return pdu.StatusInvBndSts, false
	}
	return pdu.StatusInvCmdID, true
}

// reply queues a response the session sends on its own and returns the
// octets now waiting to be written.
func (s *Session) reply(p pdu.PDU, status pdu.Status, seq uint32) int {
	s.mu.Lock()
	s.replyLocked(p, status, seq)
	n := len(s.wbuf)
	s.mu.Unlock()
	s.wakeWriter()
	return n
}

func (s *Session) replyLocked(p pdu.PDU, status pdu.Status, seq uint32) {
	if s.state == stateEnded {
		return
	}
	start := len(s.wbuf)
	var err error
	if s.wbuf, err = pdu.Append(s.wbuf, p, status, seq); err != nil {
		// Our own header-only responses always encode.
		s.log.Error("smpp: cannot encode a reply", "cmd", p.CommandID().String(), "error", err)
		return
	}
	n := len(s.wbuf) - start
	s.appended += uint64(n)
	s.traceLocked(Out, pdu.Header{Length: uint32(n), ID: p.CommandID(), Status: status, Sequence: seq}, p)
}
