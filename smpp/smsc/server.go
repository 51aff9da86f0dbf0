package smsc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// Server is the SMSC simulator: it accepts ESME connections, answers
// binds and submissions, sends receipts and injected MO messages, and
// records everything for tests to check.
type Server struct {
	opts Options
	log  *slog.Logger
	quit chan struct{}
	wg   sync.WaitGroup

	nextID         atomic.Uint64 // message numbers, from 1
	conns          atomic.Uint64 // connections accepted
	maxOutstanding atomic.Int64  // most submissions one connection had unanswered

	mu       sync.Mutex
	ln       net.Listener
	closing  bool
	clients  map[*client]struct{}
	accounts map[string]*account
	// passwords is Options.Accounts, replaced by SetAccounts.
	passwords map[string]string
	faults    Faults
	faultN    int
	// rateSecond and rateCount count the submissions accepted in the
	// current second for Faults.ThrottleRate.
	rateSecond int64
	rateCount  int
	messageID  func(uint64) string
	receiptID  func(uint64) string
	rec        recorder
	stats      Stats
	moRef      uint16
	moID       uint32 // the last id given with Options.MOIDTag
}

// client is one ESME connection.
type client struct {
	srv  *Server
	conn *faultConn
	sess *smpp.Session

	// Set by the bind, under srv.mu.
	systemID string
	mode     smpp.BindMode
	acct     *account

	// id numbers the connections in the order they were accepted, from 1.
	id          uint64
	outstanding atomic.Int64 // submissions received, not yet answered
}

// New returns a simulator; Listen or Serve starts it.
func New(o Options) *Server {
	o = o.withDefaults()
	return &Server{
		opts:      o,
		log:       o.Logger,
		quit:      make(chan struct{}),
		clients:   make(map[*client]struct{}),
		accounts:  make(map[string]*account),
		passwords: maps.Clone(o.Accounts),
		messageID: o.MessageID,
		receiptID: o.ReceiptID,
		rec:       newRecorder(o.CountersOnly),
	}
}

// Listen listens on addr (use "127.0.0.1:0" in tests) and serves in the
// background; Addr is valid when it returns.
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("smsc: listen: %w", err)
	}
	if !s.setListener(ln) {
		return errors.New("smsc: listen: server closed")
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.serve(ln)
	}()
	return nil
}

// Serve accepts connections on ln until Close. It returns nil after
// Close, else the listener's error.
func (s *Server) Serve(ln net.Listener) error {
	if !s.setListener(ln) {
		return nil
	}
	return s.serve(ln)
}

func (s *Server) setListener(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		_ = ln.Close()
		return false
	}
	s.ln = ln
	return true
}

func (s *Server) serve(ln net.Listener) error {
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-s.quit:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off from 5 ms
				// to 1 s, as net/http and go-smtp do.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("smsc: accept: %w", err)
		}
		backoff = 0
		s.accept(conn)
	}
}

// Addr is the address the server listens on ("127.0.0.1:40417"), or ""
// before Listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// accept starts a session on a new connection.
func (s *Server) accept(conn net.Conn) {
	c := &client{srv: s, conn: newFaultConn(conn), id: s.conns.Add(1)}
	opts := s.opts.Session
	opts.Handler = c.handle
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	c.sess = smpp.NewSession(c.conn, opts)
	s.clients[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		<-c.sess.Done()
		s.detach(c)
	}()
}

// detach forgets an ended session.
func (s *Server) detach(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, c)
	if c.acct != nil {
		c.acct.bound--
		s.stats.Bound--
		c.acct = nil
	}
	s.log.Debug("smsc: session ended", "system_id", c.systemID, "cause", errString(c.sess.Err()))
}

// Close unbinds every session (waiting for the unbind_resp up to ctx),
// stops listening and waits for everything the server started.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	first := !s.closing
	s.closing = true
	ln := s.ln
	clients := s.clientsLocked("")
	s.mu.Unlock()
	if first {
		close(s.quit)
		if ln != nil {
			_ = ln.Close()
		}
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.sess.Close(ctx)
		}()
	}
	wg.Wait()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("smsc: close: %w", ctx.Err())
	}
}

// clientsLocked lists the sessions of systemID, or all when it is "".
func (s *Server) clientsLocked(systemID string) []*client {
	var out []*client
	for c := range s.clients {
		if systemID == "" || c.systemID == systemID {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) clientsOf(systemID string) []*client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clientsLocked(systemID)
}

// Unbind sends unbind on every session of systemID ("" for all) and waits
// for the unbind_resp up to ctx: an SMSC ending the sessions itself.
func (s *Server) Unbind(ctx context.Context, systemID string) error {
	var errs []error
	for _, c := range s.clientsOf(systemID) {
		if err := c.sess.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Drop closes the connections of systemID ("" for all) without unbinding:
// with a RST when rst is set, else a FIN.
func (s *Server) Drop(systemID string, rst bool) {
	for _, c := range s.clientsOf(systemID) {
		c.conn.drop(rst)
	}
}

// GoSilent makes the connections of systemID ("" for all) stop reading
// and writing for d without closing: a half-open link, which only the
// ESME's enquire_link can find out.
func (s *Server) GoSilent(systemID string, d time.Duration) {
	for _, c := range s.clientsOf(systemID) {
		c.conn.goSilent(d)
	}
}

// Inject writes raw octets to the connections of systemID ("" for all),
// between two PDUs: garbage, or a header with an absurd command_length.
func (s *Server) Inject(systemID string, raw []byte) {
	for _, c := range s.clientsOf(systemID) {
		if err := c.conn.inject(raw); err != nil {
			s.log.Debug("smsc: inject", "error", err)
		}
	}
}

// Restart drops every connection as a crashed SMSC would (RST, no unbind)
// and comes back with other message id formats (nil keeps one). Queued
// receipts and MO messages survive, as in an SMSC's store.
func (s *Server) Restart(messageID, receiptID func(uint64) string) {
	s.mu.Lock()
	if messageID != nil {
		s.messageID = messageID
	}
	if receiptID != nil {
		s.receiptID = receiptID
	}
	s.mu.Unlock()
	s.Drop("", true)
}

// Sessions is the number of connections open now.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// handle is every session's Handler: binds, submissions and the rest.
func (c *client) handle(req smpp.Request) {
	switch p := req.PDU.(type) {
	case *pdu.Bind:
		c.bind(req, p)
	case *pdu.SubmitSM:
		c.submit(req, fromSubmitSM(p))
	case *pdu.DataSM:
		c.submit(req, fromDataSM(p))
	case *pdu.SubmitMulti:
		c.submit(req, fromSubmitMulti(p))
	case *pdu.QuerySM:
		_ = req.Ack(pdu.StatusQueryFail)
	case *pdu.CancelSM:
		_ = req.Ack(pdu.StatusCancelFail)
	case *pdu.ReplaceSM:
		_ = req.Ack(pdu.StatusReplaceFail)
	default:
		_ = req.Ack(pdu.StatusInvCmdID)
	}
}

// SetAccounts replaces the accounts binds are checked against
// (Options.Accounts): a password changed at the SMSC, as when a provider
// rotates it. Sessions bound already stay bound; an empty map accepts every
// bind again.
func (s *Server) SetAccounts(accounts map[string]string) {
	s.mu.Lock()
	s.passwords = maps.Clone(accounts)
	s.mu.Unlock()
	s.log.Info("smsc: accounts replaced", "accounts", len(accounts))
}

// bind checks the credentials and the bind count (§4.1), then binds the
// session and, for a receiver, starts delivering to it.
func (c *client) bind(req smpp.Request, b *pdu.Bind) {
	s := c.srv
	mode := smpp.ModeOf(b.ID)
	s.mu.Lock()
	status := pdu.StatusOK
	if st, refused := s.bindRefusalLocked(s.opts.Clock()); refused {
		status = st
	} else if len(s.passwords) > 0 {
		switch pw, known := s.passwords[b.SystemID]; {
		case !known:
			status = pdu.StatusInvSysID
		case pw != b.Password:
			status = pdu.StatusInvPaswd
		}
	}
	if a := s.accounts[b.SystemID]; status == pdu.StatusOK && a != nil && a.bound >= s.opts.MaxBinds {
		status = pdu.StatusAlyBnd
	}
	if status != pdu.StatusOK {
		s.stats.BindsRefused++
		// Hang up once the refusal is out, as SMSCs do; not from the
		// Handler, which Close waits for. The session's watcher holds
		// the wait group above zero, so Add is safe here.
		s.wg.Add(1)
		s.mu.Unlock()
		s.log.Info("smsc: bind refused", "system_id", b.SystemID, "status", status.String())
		_ = req.Ack(status)
		go func() {
			defer s.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = c.sess.Close(ctx)
		}()
		return
	}
	a := s.accountLocked(b.SystemID)
	// Count the bind before answering, so two binds racing for the last
	// slot cannot both win.
	a.bound++
	s.stats.Binds++
	s.stats.Bound++
	c.systemID, c.mode, c.acct = b.SystemID, mode, a
	s.mu.Unlock()

	resp := &pdu.BindResp{ID: b.ID.Response(), SystemID: s.opts.SystemID}
	resp.TLVs.SetSCInterfaceVersion(pdu.InterfaceVersion34)
	if err := req.Respond(pdu.StatusOK, resp); err != nil {
		return // the session ended; detach undoes the count
	}
	s.log.Info("smsc: bound", "system_id", b.SystemID, "mode", mode.String())
	if mode == smpp.Receiver || mode == smpp.Transceiver {
		s.mu.Lock()
		if !s.closing {
			s.wg.Add(1)
			go s.pump(c, a)
		}
		s.mu.Unlock()
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
