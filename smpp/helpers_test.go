package smpp_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// peer is the far end of a net.Pipe, scripted by the test: it reads the
// session's PDUs as bytes and writes whatever the test wants, like
// go-smtp's faker connection.
type peer struct {
	t    testing.TB
	conn net.Conn
	r    *pdu.Reader
	// wait bounds every read and write: 10 s of real time, or much longer
	// in a synctest bubble, where it costs nothing and must not fire
	// before the session's own timers.
	wait time.Duration
}

// patience is how long the helpers wait for an event in a synctest
// bubble, where the fake clock makes any length free.
const patience = 24 * time.Hour

func newPeer(t testing.TB, conn net.Conn) *peer {
	return &peer{t: t, conn: conn, r: pdu.NewReader(conn, 0), wait: 10 * time.Second}
}

// pipeSession starts a session on one end of a pipe and returns the
// scripted peer on the other. The session is closed when the test ends.
func pipeSession(t testing.TB, opts smpp.SessionOptions) (*smpp.Session, *peer) {
	t.Helper()
	a, b := net.Pipe()
	s := smpp.NewSession(a, opts)
	p := newPeer(t, b)
	t.Cleanup(func() {
		_ = b.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s, p
}

// readFrame reads the next PDU the session wrote, as a copy.
func (p *peer) readFrame() []byte {
	p.t.Helper()
	_ = p.conn.SetReadDeadline(time.Now().Add(p.wait))
	f, err := p.r.ReadFrame()
	if err != nil {
		p.t.Fatalf("peer: read: %v", err)
	}
	return bytes.Clone(f)
}

// read reads and decodes the next PDU.
func (p *peer) read() (pdu.Header, pdu.PDU) {
	p.t.Helper()
	h, body, err := pdu.Decode(p.readFrame())
	if err != nil {
		p.t.Fatalf("peer: decode: %v", err)
	}
	return h, body
}

// expect reads the next PDU and checks its command id.
func (p *peer) expect(id pdu.CommandID) (pdu.Header, pdu.PDU) {
	p.t.Helper()
	h, body := p.read()
	if h.ID != id {
		p.t.Fatalf("peer: got %s, want %s", h, id)
	}
	return h, body
}

// expectBytes reads the next PDU and compares it with the hex (spaces
// allowed).
func (p *peer) expectBytes(wantHex string) []byte {
	p.t.Helper()
	got := p.readFrame()
	want := mustHex(p.t, wantHex)
	if !bytes.Equal(got, want) {
		p.t.Fatalf("peer: wire bytes\n got %X\nwant %X", got, want)
	}
	return got
}

func (p *peer) write(body pdu.PDU, status pdu.Status, seq uint32) {
	p.t.Helper()
	b, err := pdu.Encode(body, status, seq)
	if err != nil {
		p.t.Fatalf("peer: encode: %v", err)
	}
	p.writeRaw(b)
}

func (p *peer) writeRaw(b []byte) {
	p.t.Helper()
	_ = p.conn.SetWriteDeadline(time.Now().Add(p.wait))
	if _, err := p.conn.Write(b); err != nil {
		p.t.Fatalf("peer: write: %v", err)
	}
}

// bind runs a transceiver bind to completion from both ends.
func (p *peer) bind(s *smpp.Session, mode smpp.BindMode) {
	p.t.Helper()
	errc := make(chan error, 1)
	go func() {
		errc <- s.Bind(context.Background(), smpp.BindRequest{Mode: mode, SystemID: "agent", Password: "secret"})
	}()
	h, _ := p.expect(mode.CommandID())
	p.write(&pdu.BindResp{ID: h.ID.Response(), SystemID: "SMSC"}, pdu.StatusOK, h.Sequence)
	if err := <-errc; err != nil {
		p.t.Fatalf("bind: %v", err)
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// results collects the done calls of Send.
type results struct {
	ch   chan smpp.Result
	wait time.Duration
}

func newResults(n int) *results {
	return &results{ch: make(chan smpp.Result, n), wait: 10 * time.Second}
}

func (r *results) done(res smpp.Result) { r.ch <- res }

func (r *results) next(t testing.TB) smpp.Result {
	t.Helper()
	select {
	case res := <-r.ch:
		return res
	case <-time.After(r.wait):
		t.Fatalf("no result within %v", r.wait)
	}
	return smpp.Result{}
}

func (r *results) none(t testing.TB) {
	t.Helper()
	select {
	case res := <-r.ch:
		t.Fatalf("unexpected result %+v", res)
	default:
	}
}

// waitDone waits for the session to end and returns its cause.
func waitDone(t testing.TB, s *smpp.Session) error {
	t.Helper()
	return waitDoneWithin(t, s, 10*time.Second)
}

func waitDoneWithin(t testing.TB, s *smpp.Session, d time.Duration) error {
	t.Helper()
	select {
	case <-s.Done():
		return s.Err()
	case <-time.After(d):
		t.Fatalf("session did not end within %v", d)
	}
	return nil
}

// checkNoLeak fails if goroutines started during the test outlive it: it
// polls until the count is back to what it was, or a deadline passes.
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines after the test, %d before:\n%s", n, before, buf)
				return
			}
			time.Sleep(10 * time.Millisecond) // polling with a deadline, not waiting for an event
		}
	})
}

func submit(dest string) *pdu.SubmitSM {
	return &pdu.SubmitSM{
		Source:       pdu.Address{TON: pdu.TONAlphanumeric, Addr: "ACME"},
		Dest:         pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: dest},
		ShortMessage: []byte("hi"),
	}
}
