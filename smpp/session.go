package smpp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// maxSequence is the largest sequence number we send (§3.2: 0x00000001 to
// 0x7FFFFFFF); after it the counter wraps to 1.
const maxSequence = 0x7FFFFFFF

// flushTimeout bounds the last write of a session that ends with something
// still to say (unbind_resp, the generic_nack for a lost framing).
const flushTimeout = time.Second

type state uint8

const (
	stateOpen    state = iota // connected, not bound
	stateBinding              // bind sent (ESME) or handed to the Handler (SMSC)
	stateBound
	stateClosing // Close sent unbind and waits for unbind_resp
	stateEnded
)

// Result is the outcome of a request sent with Send.
type Result struct {
	// Seq is the sequence number the request went out with.
	Seq uint32
	// Header is the response's header: Header.Status is the peer's
	// verdict, Header.ID the response's command id (generic_nack when the
	// peer refused the command outright). Zero when no response came.
	Header pdu.Header
	// Resp is the decoded response body (*pdu.SubmitSMResp, ...); nil when
	// no response came or its body could not be decoded.
	Resp pdu.PDU
	// Err is nil when a response arrived and decoded. Otherwise it says
	// why there is no (usable) response: the session's end cause (joined
	// with ErrNotSent when the request never left the write buffer), or a
	// *pdu.DecodeError for a response whose body was malformed (Header is
	// still valid then).
	Err error
	// Pending is set on the first of two calls when the response timeout
	// passed: the outcome is unknown and the window slot is free again. A
	// second, final Result follows: the late response, or the session's
	// end.
	Pending bool
	// RTT is the time from Send to the response; zero without one.
	RTT time.Duration
}

// Session is one SMPP 3.4 session over a connection: the ESME side that
// binds and submits (the default), or the SMSC side the simulator plays.
// Its methods are safe for concurrent use.
type Session struct {
	conn  net.Conn
	opts  SessionOptions
	log   *slog.Logger
	epoch time.Time

	sem         chan struct{} // window slots: a send takes one, the answer or the timeout frees it
	wake        chan struct{} // tells the writer the buffer has something
	kick        chan struct{} // tells the keeper a deadline may have moved earlier
	queue       chan Request  // inbound requests for the Handler
	quit        chan struct{} // closed when the session starts to end
	done        chan struct{} // closed when it has ended and every done was called
	handlerDone chan struct{} // closed when the Handler goroutine has returned
	aux         sync.WaitGroup
	flush       bool // written by fail before quit is closed: writer flushes before closing

	// lastRecv is when the last PDU arrived, in nanoseconds since epoch.
	lastRecv atomic.Int64
	// lastOddity is when the last protocol oddity was logged at warn.
	lastOddity atomic.Int64

	// cbMu orders the calls of done: the keeper holds it from the moment
	// it times a request out until its Pending call returned, so a late
	// response cannot overtake the Pending. It is always taken before mu,
	// never while holding it, so done may call Send.
	cbMu sync.Mutex

	mu         sync.Mutex
	state      state
	mode       BindMode
	err        error
	closeCalls int
	seq        uint32
	pending    map[uint32]*request
	head, tail *request // requests waiting for a response, oldest first
	unanswered int      // timed out, still waiting for a late response
	// late lists the timed-out requests in the order they timed out, for
	// MaxPendingAge; entries answered meanwhile are dropped lazily when
	// they reach the front. The timer goroutine owns it (under mu).
	late       []lateEntry
	elSeq      uint32 // the enquire_link outstanding, 0 when none
	elDeadline int64
	wbuf       []byte
	appended   uint64 // octets ever appended to wbuf
	handed     uint64 // octets ever handed to conn.Write
	in         []inSlot
	inFree     []int32
	peerID     string
	peerVer    uint8
	peerVerOK  bool
}

// NewSession starts a session on conn, which it owns from now on: it is
// closed when the session ends. An ESME session must Bind before it can
// Send; an SMSC session waits for the peer's bind.
func NewSession(conn net.Conn, opts SessionOptions) *Session {
	opts = opts.withDefaults()
	s := &Session{
		conn:        conn,
		opts:        opts,
		log:         opts.Logger,
		epoch:       time.Now(),
		sem:         make(chan struct{}, opts.Window),
		wake:        make(chan struct{}, 1),
		kick:        make(chan struct{}, 1),
		queue:       make(chan Request, opts.InboundWindow),
		quit:        make(chan struct{}),
		done:        make(chan struct{}),
		handlerDone: make(chan struct{}),
		pending:     make(map[uint32]*request, opts.Window+opts.MaxUnanswered+4),
		wbuf:        make([]byte, 0, 4096),
		in:          make([]inSlot, opts.InboundWindow),
		inFree:      make([]int32, opts.InboundWindow),
	}
	for i := range s.inFree {
		s.inFree[i] = int32(len(s.inFree) - 1 - i)
	}
	s.lastOddity.Store(-int64(oddityInterval))
	s.aux.Add(2)
	go s.writeLoop()
	go s.keep()
	if opts.Handler != nil {
		go s.handleLoop()
	} else {
		close(s.handlerDone)
	}
	go s.run()
	return s
}

// now is the session's monotonic clock: nanoseconds since it started.
func (s *Session) now() int64 { return int64(time.Since(s.epoch)) }

// Done is closed when the session has ended and every request's done has
// had its final call.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err says why the session ended (ErrClosed, ErrUnbound, ErrLinkDead,
// ErrIdle, a *BindError, a *pdu.FramingError, a network error, ...); nil
// while it runs.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Mode is the bind mode once bound, else 0.
func (s *Session) Mode() BindMode {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateBound && s.state != stateClosing {
		return 0
	}
	return s.mode
}

// PeerSystemID is the system_id the peer gave in the bind exchange: the
// SMSC's from bind_*_resp, or the ESME's from its bind.
func (s *Session) PeerSystemID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peerID
}

// PeerInterfaceVersion is the SMPP version the peer declared: the
// sc_interface_version TLV of the bind response (absent from many SMSCs:
// ok is false then, and 3.3 is to be assumed, §5.3.2.25), or an ESME's
// interface_version.
func (s *Session) PeerInterfaceVersion() (version uint8, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peerVer, s.peerVerOK
}

// LocalAddr and RemoteAddr are the connection's.
func (s *Session) LocalAddr() net.Addr  { return s.conn.LocalAddr() }
func (s *Session) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// BindRequest is what an ESME binds with (§4.1.1).
type BindRequest struct {
	Mode       BindMode
	SystemID   string // at most 15 characters
	Password   string // at most 8 characters
	SystemType string // at most 12 characters; often empty
	// InterfaceVersion defaults to pdu.InterfaceVersion34.
	InterfaceVersion uint8
	AddrTON          pdu.TON
	AddrNPI          pdu.NPI
	AddressRange     string // at most 40 characters; usually empty
}

// Bind binds an ESME session (§2.2, §4.1). It returns once the peer
// accepted, or with a *BindError carrying the refusal's status (a
// generic_nack included), ErrBindTimeout, or the context's error. A
// session binds once: after a refusal, a timeout or an ended context it is
// closed, and the caller dials again. A request that cannot be encoded (a
// system_id over 15 characters) fails before anything is sent.
func (s *Session) Bind(ctx context.Context, req BindRequest) error {
	if s.opts.Role != ESME {
		return errors.New("smpp: bind: an SMSC session does not bind; it answers binds")
	}
	id := req.Mode.CommandID()
	if id == 0 {
		return fmt.Errorf("smpp: bind: unknown mode %s", req.Mode)
	}
	if req.InterfaceVersion == 0 {
		req.InterfaceVersion = pdu.InterfaceVersion34
	}
	p := &pdu.Bind{
		ID:               id,
		SystemID:         req.SystemID,
		Password:         req.Password,
		SystemType:       req.SystemType,
		InterfaceVersion: req.InterfaceVersion,
		AddressRange:     pdu.Address{TON: req.AddrTON, NPI: req.AddrNPI, Addr: req.AddressRange},
	}
	s.mu.Lock()
	switch s.state {
	case stateOpen:
	case stateEnded:
		err := s.err
		s.mu.Unlock()
		return fmt.Errorf("smpp: bind: %w", err)
	default:
		s.mu.Unlock()
		return errors.New("smpp: bind: session already bound or binding")
	}
	r := s.newRequestLocked(id, kindBind)
	r.mode = req.Mode
	r.ch = make(chan Result, 1)
	if err := s.appendRequestLocked(r, p); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("smpp: bind: %w", err)
	}
	s.state = stateBinding
	ch := r.ch
	s.mu.Unlock()
	s.wakeWriter()

	timer := time.NewTimer(s.opts.BindTimeout)
	defer timer.Stop()
	var res Result
	select {
	case res = <-ch:
	case <-timer.C:
		s.fail(ErrBindTimeout, false)
		return ErrBindTimeout
	case <-ctx.Done():
		err := fmt.Errorf("smpp: bind: %w", ctx.Err())
		s.fail(err, false)
		return err
	case <-s.quit:
		// A peer that refuses and hangs up at once ends the session
		// with the answer already delivered: the answer is the news.
		select {
		case res = <-ch:
		default:
			return fmt.Errorf("smpp: bind: %w", s.Err())
		}
	}
	switch {
	case res.Header.ID == pdu.GenericNackID || (res.Header.ID != 0 && res.Header.Status != pdu.StatusOK):
		be := &BindError{Status: res.Header.Status, Nack: res.Header.ID == pdu.GenericNackID}
		if be.Status == pdu.StatusOK {
			// A generic_nack that claims success is still a refusal.
			be.Status = pdu.StatusBindFail
		}
		s.fail(be, true)
		return be
	case res.Header.ID == 0:
		err := fmt.Errorf("smpp: bind: %w", res.Err)
		s.fail(err, false)
		return err
	case res.Err != nil:
		// Accepted, with a body we cannot read (a system_id over 15
		// characters, say): the SMSC said yes, and that is what counts.
		s.log.Warn("smpp: bind accepted with a malformed response body", "error", res.Err.Error())
	}
	s.kickKeeper()
	return nil
}

// Send sends a request and returns once it is queued for the wire. It
// blocks only while the window is full, or until ctx ends. It returns an
// error, and done is never called, when the request was not sent: ctx
// ended, the session is not bound or has ended, the bind mode does not
// allow the command, or the PDU cannot be encoded.
//
// Otherwise done is called exactly once with the final Result, from a
// session goroutine; it must not block (hand the result to another
// goroutine). The one exception: when ResponseTimeout passes first, done is
// called with Result{Pending: true} and then a second, final time, with the
// late response or with the session's end.
//
// The pending entry is registered before the PDU is written, so no
// response can arrive unexpected, and responses are matched by sequence
// number and command id (the request's response, or generic_nack).
func (s *Session) Send(ctx context.Context, req pdu.PDU, done func(Result)) error {
	if done == nil {
		return errors.New("smpp: send: done is nil")
	}
	id := req.CommandID()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("smpp: send %s: %w", id, err)
	}
	// Take a window slot: without waiting when one is free (the common
	// case under load), else until one frees up or we must give up.
	select {
	case s.sem <- struct{}{}:
	default:
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("smpp: send %s: %w", id, ctx.Err())
		case <-s.quit:
			return fmt.Errorf("smpp: send %s: %w", id, s.Err())
		}
	}
	s.mu.Lock()
	if err := s.mayRequestLocked(id); err != nil {
		s.mu.Unlock()
		<-s.sem
		return fmt.Errorf("smpp: send %s: %w", id, err)
	}
	r := s.newRequestLocked(id, kindUser)
	r.done = done
	r.sent = s.now()
	r.deadline = r.sent + int64(s.opts.ResponseTimeout)
	if err := s.appendRequestLocked(r, req); err != nil {
		s.mu.Unlock()
		<-s.sem
		return fmt.Errorf("smpp: send: %w", err)
	}
	first := s.head == nil
	s.pushLocked(r)
	s.mu.Unlock()
	s.wakeWriter()
	if first {
		s.kickKeeper()
	}
	return nil
}

// mayRequestLocked says whether a request with this id may be sent now
// (§2.3: which PDUs each bind state allows).
func (s *Session) mayRequestLocked(id pdu.CommandID) error {
	switch s.state {
	case stateBound:
	case stateEnded:
		return s.err
	case stateClosing:
		return ErrClosed
	default:
		return ErrNotBound
	}
	if id.IsResponse() || !id.ExpectsResponse() {
		return fmt.Errorf("%s is not a request with a response", id)
	}
	switch id {
	case pdu.BindTransmitterID, pdu.BindReceiverID, pdu.BindTransceiverID:
		return errors.New("use Bind")
	case pdu.UnbindID:
		return errors.New("use Close")
	case pdu.EnquireLinkID:
		return nil
	}
	if s.opts.Role == SMSC {
		switch id {
		case pdu.DeliverSMID, pdu.DataSMID:
			if s.mode.receives() {
				return nil
			}
		}
		return fmt.Errorf("not allowed to an ESME bound as %s", s.mode)
	}
	switch id {
	case pdu.SubmitSMID, pdu.SubmitMultiID, pdu.DataSMID, pdu.QuerySMID, pdu.CancelSMID, pdu.ReplaceSMID:
		if s.mode.transmits() {
			return nil
		}
	}
	return fmt.Errorf("not allowed when bound as %s", s.mode)
}

// Submit sends one submit_sm and waits for its response: a convenience for
// tests and tools. A refusal is a *RequestError (it unwraps to the
// pdu.Status); a context that ends after the PDU was sent leaves the
// outcome unknown and returns the context's error.
func (s *Session) Submit(ctx context.Context, sm *pdu.SubmitSM) (*pdu.SubmitSMResp, error) {
	res, err := s.do(ctx, sm)
	if err != nil {
		return nil, err
	}
	resp, _ := res.Resp.(*pdu.SubmitSMResp)
	if res.Header.ID == pdu.GenericNackID || res.Header.Status != pdu.StatusOK {
		return resp, &RequestError{ID: pdu.SubmitSMID, Status: res.Header.Status, Nack: res.Header.ID == pdu.GenericNackID}
	}
	return resp, nil
}

// do sends a request and waits for its final Result.
func (s *Session) do(ctx context.Context, req pdu.PDU) (Result, error) {
	ch := make(chan Result, 1)
	err := s.Send(ctx, req, func(r Result) {
		if !r.Pending {
			ch <- r
		}
	})
	if err != nil {
		return Result{}, err
	}
	select {
	case r := <-ch:
		if r.Err != nil {
			return r, fmt.Errorf("smpp: %s: %w", req.CommandID(), r.Err)
		}
		return r, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("smpp: %s: sent, outcome unknown: %w", req.CommandID(), ctx.Err())
	}
}

// Close ends the session: it sends unbind if bound, keeps reading until
// the unbind_resp arrives, ctx ends or ResponseTimeout passes (responses
// arriving meanwhile still reach their done: reading on is what keeps a
// message from being counted lost and sent twice), then closes the
// connection and ends every request still waiting with ErrClosed. It waits
// for the session's goroutines (the Handler's included) up to ctx.
//
// Close is idempotent. It must not be called from a Handler or a done
// function, which it would wait for.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closeCalls++
	first := s.closeCalls == 1
	var ch chan Result
	if first && s.state == stateBound {
		r := s.newRequestLocked(pdu.UnbindID, kindUnbind)
		r.ch = make(chan Result, 1)
		if err := s.appendRequestLocked(r, &pdu.Unbind{}); err == nil {
			ch = r.ch
			s.state = stateClosing
		}
	}
	s.mu.Unlock()

	var err error
	if ch != nil {
		s.wakeWriter()
		timer := time.NewTimer(s.opts.ResponseTimeout)
		select {
		case <-ch:
		case <-s.quit:
		case <-ctx.Done():
			err = fmt.Errorf("smpp: close: no unbind_resp: %w", ctx.Err())
		case <-timer.C:
			err = fmt.Errorf("smpp: close: no unbind_resp within %v", s.opts.ResponseTimeout)
		}
		timer.Stop()
	}
	if first {
		s.fail(ErrClosed, true)
	}
	for _, c := range []<-chan struct{}{s.done, s.handlerDone} {
		select {
		case <-c:
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("smpp: close: %w", ctx.Err())
			}
			return err
		}
	}
	return err
}

// fail starts the end of the session with cause, unless it is ending
// already. With flush, the writer gets flushTimeout to send what is queued
// (an unbind_resp, a generic_nack) before the connection closes; without,
// the connection closes now, which also unblocks the reader and writer.
func (s *Session) fail(cause error, flush bool) {
	s.mu.Lock()
	if s.state == stateEnded {
		s.mu.Unlock()
		return
	}
	s.state = stateEnded
	s.err = cause
	s.mu.Unlock()
	s.log.Debug("smpp session ending", "cause", cause.Error(), "flush", flush)
	s.flush = flush
	if flush {
		_ = s.conn.SetWriteDeadline(time.Now().Add(flushTimeout))
	} else {
		_ = s.conn.Close()
	}
	close(s.quit)
}

// run reads until the connection fails, then waits for the writer and the
// keeper and gives every request still waiting its final Result.
func (s *Session) run() {
	s.readLoop()
	s.aux.Wait()
	_ = s.conn.Close()

	s.cbMu.Lock()
	s.mu.Lock()
	cause := s.err
	handed := s.handed
	rs := make([]*request, 0, len(s.pending))
	for _, r := range s.pending {
		rs = append(rs, r)
	}
	clear(s.pending)
	s.head, s.tail = nil, nil
	s.mu.Unlock()
	// In the order they were written, which is the order the caller sent
	// them in.
	slices.SortFunc(rs, func(a, b *request) int { return cmp.Compare(a.end, b.end) })
	notSent := errors.Join(ErrNotSent, cause)
	for _, r := range rs {
		res := Result{Seq: r.seq, Err: cause}
		if r.end > handed {
			res.Err = notSent
		}
		r.finish(res)
	}
	s.cbMu.Unlock()
	close(s.done)
}

func (s *Session) wakeWriter() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Session) kickKeeper() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// lateEntry is the sequence of a request that timed out at since
// (Session.now). Not the request itself: requests are pooled, and an
// answered one may be back in use under another sequence.
type lateEntry struct {
	seq   uint32
	since int64
}
