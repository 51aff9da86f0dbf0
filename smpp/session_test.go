package smpp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// The bind goes out byte for byte as §4.1.5 lays it out, nothing precedes
// it, and what the SMSC says about itself is kept.
func TestSession_Bind(t *testing.T) {
	checkNoLeak(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, p := pipeSession(t, smpp.SessionOptions{Logger: logger})

	if err := s.Send(context.Background(), submit("1"), func(smpp.Result) { t.Error("done called") }); !errors.Is(err, smpp.ErrNotBound) {
		t.Fatalf("Send before Bind: %v, want ErrNotBound", err)
	}
	errc := make(chan error, 1)
	go func() {
		errc <- s.Bind(context.Background(), smpp.BindRequest{
			Mode: smpp.Transceiver, SystemID: "agent", Password: "secret", AddrTON: 1, AddrNPI: 1,
		})
	}()
	p.expectBytes("00000022 00000009 00000000 00000001" +
		"6167656E7400 73656372657400 00 34 01 01 00")
	resp := &pdu.BindResp{ID: pdu.BindTransceiverRespID, SystemID: "SMSC"}
	resp.TLVs.SetSCInterfaceVersion(0x34)
	p.write(resp, pdu.StatusOK, 1)
	if err := <-errc; err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if got := s.Mode(); got != smpp.Transceiver {
		t.Errorf("Mode = %s", got)
	}
	if got := s.PeerSystemID(); got != "SMSC" {
		t.Errorf("PeerSystemID = %q", got)
	}
	if v, ok := s.PeerInterfaceVersion(); !ok || v != 0x34 {
		t.Errorf("PeerInterfaceVersion = %#x, %v", v, ok)
	}
	if err := s.Bind(context.Background(), smpp.BindRequest{Mode: smpp.Transceiver}); err == nil {
		t.Error("second Bind succeeded")
	}
	if strings.Contains(logs.String(), "secret") {
		t.Errorf("password in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "cmd=bind_transceiver") || !strings.Contains(logs.String(), "********") {
		t.Errorf("bind not logged with a redacted password:\n%s", logs.String())
	}
}

// Every refusal is a *BindError with the status, so the pool can tell bad
// credentials from a busy slot; a generic_nack is a refusal too; the
// session ends either way.
func TestSession_Bind_refused(t *testing.T) {
	checkNoLeak(t)
	for _, tc := range []struct {
		name   string
		answer pdu.PDU
		status pdu.Status
		class  pdu.Class
		nack   bool
	}{
		{"wrong password", &pdu.BindResp{ID: pdu.BindTransmitterRespID}, pdu.StatusInvPaswd, pdu.ClassBadCredentials, false},
		{"already bound", &pdu.BindResp{ID: pdu.BindTransmitterRespID}, pdu.StatusAlyBnd, pdu.ClassBindBusy, false},
		{"generic_nack", &pdu.GenericNack{}, pdu.StatusInvBndSts, pdu.ClassRebind, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, p := pipeSession(t, smpp.SessionOptions{})
			errc := make(chan error, 1)
			go func() {
				errc <- s.Bind(context.Background(), smpp.BindRequest{Mode: smpp.Transmitter, SystemID: "agent"})
			}()
			h, _ := p.expect(pdu.BindTransmitterID)
			p.write(tc.answer, tc.status, h.Sequence)
			err := <-errc
			var be *smpp.BindError
			if !errors.As(err, &be) || be.Status != tc.status || be.Nack != tc.nack {
				t.Fatalf("Bind = %v, want BindError %s nack=%v", err, tc.status.String(), tc.nack)
			}
			var st pdu.Status
			if !errors.As(err, &st) || st.Class() != tc.class {
				t.Errorf("status class = %s, want %s", st.Class(), tc.class)
			}
			if end := waitDone(t, s); !errors.As(end, &be) {
				t.Errorf("session ended with %v, want the BindError", end)
			}
		})
	}
}

func TestSession_Bind_timeout(t *testing.T) {
	s, p := pipeSession(t, smpp.SessionOptions{BindTimeout: 50 * time.Millisecond})
	errc := make(chan error, 1)
	go func() { errc <- s.Bind(context.Background(), smpp.BindRequest{Mode: smpp.Receiver}) }()
	p.expect(pdu.BindReceiverID)
	if err := <-errc; !errors.Is(err, smpp.ErrBindTimeout) {
		t.Fatalf("Bind = %v, want ErrBindTimeout", err)
	}
	if err := waitDone(t, s); !errors.Is(err, smpp.ErrBindTimeout) {
		t.Errorf("session ended with %v", err)
	}
}

// submit_sm goes out as §4.4.1 lays it out; its response is matched by
// sequence number AND command id, so a stray response with the right
// number but the wrong id settles nothing.
func TestSession_Submit(t *testing.T) {
	checkNoLeak(t)
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.bind(s, smpp.Transmitter)

	type out struct {
		resp *pdu.SubmitSMResp
		err  error
	}
	outc := make(chan out, 1)
	go func() {
		resp, err := s.Submit(context.Background(), submit("358401234567"))
		outc <- out{resp, err}
	}()
	p.expectBytes("00000033 00000004 00000000 00000002" +
		"00 0500 41434D4500 0101 33353834303132333435363700 000000 00 00 00 00 00 00 02 6869")
	p.write(&pdu.QuerySMResp{MessageID: "wrong"}, pdu.StatusOK, 2)
	p.write(&pdu.SubmitSMResp{MessageID: "5f3c9a1e"}, pdu.StatusOK, 2)
	o := <-outc
	if o.err != nil || o.resp.MessageID != "5f3c9a1e" {
		t.Fatalf("Submit = %+v, %v", o.resp, o.err)
	}
}

// A refused submit_sm_resp has no body (§4.4.2: 16 octets); the status
// still reaches the caller, as does a generic_nack in place of the
// response.
func TestSession_Submit_refused(t *testing.T) {
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.bind(s, smpp.Transmitter)

	errc := make(chan error, 1)
	go func() { _, err := s.Submit(context.Background(), submit("1")); errc <- err }()
	h, _ := p.expect(pdu.SubmitSMID)
	p.writeRaw(mustHex(t, "00000010 80000004 00000058")) // length 16, ESME_RTHROTTLED ...
	p.writeRaw(seqBytes(h.Sequence))                     // ... split across writes
	var re *smpp.RequestError
	if err := <-errc; !errors.As(err, &re) || re.Status != pdu.StatusThrottled || re.Nack {
		t.Fatalf("Submit = %v, want ESME_RTHROTTLED", err)
	}
	if st := pdu.Status(0); !errors.As(re, &st) || st.Class() != pdu.ClassThrottle {
		t.Errorf("class %s", st.Class())
	}

	go func() { _, err := s.Submit(context.Background(), submit("1")); errc <- err }()
	h, _ = p.expect(pdu.SubmitSMID)
	p.write(&pdu.GenericNack{}, pdu.StatusInvCmdID, h.Sequence)
	if err := <-errc; !errors.As(err, &re) || re.Status != pdu.StatusInvCmdID || !re.Nack {
		t.Fatalf("Submit = %v, want generic_nack ESME_RINVCMDID", err)
	}
}

func seqBytes(seq uint32) []byte {
	return []byte{byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq)}
}

// The session answers enquire_link with the peer's own sequence number
// (any value, above 0x7FFFFFFF included), bound or not.
func TestSession_enquireLinkAnswered(t *testing.T) {
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.writeRaw(mustHex(t, "00000010 00000015 00000000 FFFFFFF0"))
	p.expectBytes("00000010 80000015 00000000 FFFFFFF0")
	p.bind(s, smpp.Transceiver)
	p.writeRaw(mustHex(t, "00000010 00000015 00000000 00000000"))
	p.expectBytes("00000010 80000015 00000000 00000000")
}

// An unknown command id gets generic_nack ESME_RINVCMDID with its
// sequence number, and the session carries on (gosmpp#62).
func TestSession_unknownCommand(t *testing.T) {
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.bind(s, smpp.Transceiver)
	p.writeRaw(mustHex(t, "00000014 00000111 00000000 0000002A DEADBEEF")) // broadcast_sm (5.0)
	p.expectBytes("00000010 80000000 00000003 0000002A")
	// A known request this side does not take: submit_sm to an ESME.
	p.write(submit("1"), pdu.StatusOK, 43)
	p.expectBytes("00000010 80000000 00000003 0000002B")
	// A malformed known request: its own response with the specific status.
	p.writeRaw(mustHex(t, "00000012 00000005 00000000 0000002C 0000")) // deliver_sm cut short
	p.expectBytes("00000010 80000005 00000002 0000002C")
	// An unsolicited response is dropped without an answer.
	p.write(&pdu.SubmitSMResp{MessageID: "x"}, pdu.StatusOK, 99)
	p.writeRaw(mustHex(t, "00000010 00000015 00000000 00000007"))
	p.expectBytes("00000010 80000015 00000000 00000007")
	select {
	case <-s.Done():
		t.Fatalf("session ended: %v", s.Err())
	default:
	}
}

// The peer's unbind is answered with unbind_resp, then the session ends
// with ErrUnbound and requests still waiting hear it.
func TestSession_peerUnbind(t *testing.T) {
	checkNoLeak(t)
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.bind(s, smpp.Transceiver)
	res := newResults(1)
	if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
		t.Fatal(err)
	}
	p.expect(pdu.SubmitSMID)
	p.writeRaw(mustHex(t, "00000010 00000006 00000000 00000009"))
	p.expectBytes("00000010 80000006 00000000 00000009")
	if err := waitDone(t, s); !errors.Is(err, smpp.ErrUnbound) {
		t.Fatalf("Err = %v, want ErrUnbound", err)
	}
	if r := res.next(t); !errors.Is(r.Err, smpp.ErrUnbound) || errors.Is(r.Err, smpp.ErrNotSent) {
		t.Errorf("pending request: %+v", r)
	}
	if err := s.Send(context.Background(), submit("1"), res.done); !errors.Is(err, smpp.ErrUnbound) {
		t.Errorf("Send after the end = %v", err)
	}
	res.none(t)
}

// Close sends unbind and reads on until unbind_resp: a response that
// arrives in between still reaches its caller; what is left hears
// ErrClosed.
func TestSession_Close(t *testing.T) {
	checkNoLeak(t)
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.bind(s, smpp.Transmitter)
	res := newResults(2)
	for range 2 {
		if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
			t.Fatal(err)
		}
	}
	h1, _ := p.expect(pdu.SubmitSMID)
	h2, _ := p.expect(pdu.SubmitSMID)
	closed := make(chan error, 1)
	go func() { closed <- s.Close(context.Background()) }()
	p.expectBytes("00000010 00000006 00000000 00000004")
	if err := s.Send(context.Background(), submit("1"), res.done); !errors.Is(err, smpp.ErrClosed) {
		t.Errorf("Send while closing = %v", err)
	}
	p.write(&pdu.SubmitSMResp{MessageID: "A"}, pdu.StatusOK, h1.Sequence)
	p.writeRaw(mustHex(t, "00000010 80000006 00000000 00000004"))
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v", err)
	}
	r := res.next(t)
	if r.Seq != h1.Sequence || r.Err != nil || r.Resp.(*pdu.SubmitSMResp).MessageID != "A" {
		t.Errorf("first: %+v", r)
	}
	r = res.next(t)
	if r.Seq != h2.Sequence || !errors.Is(r.Err, smpp.ErrClosed) {
		t.Errorf("second: %+v", r)
	}
	if !errors.Is(s.Err(), smpp.ErrClosed) {
		t.Errorf("Err = %v", s.Err())
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := p.conn.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open")
	}
}

// Close gives up waiting for unbind_resp when its context ends, and the
// session is closed all the same.
func TestSession_Close_noUnbindResp(t *testing.T) {
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.bind(s, smpp.Transmitter)
	go func() {
		for {
			if _, err := p.r.ReadFrame(); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want the deadline", err)
	}
	if err := waitDone(t, s); !errors.Is(err, smpp.ErrClosed) {
		t.Errorf("Err = %v", err)
	}
}

// A command_length beyond the limit, or an HTTP server on the other end:
// framing is lost, so generic_nack ESME_RINVCMDLEN with sequence 0, then
// close, with an error that says what the peer was.
func TestSession_framingLost(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     pdu.FramingReason
	}{
		{"oversized", "7FFFFFFF 00000004 00000000 00000001", pdu.FramingTooLong},
		{"http", "48545450 2F312E31 20343030", pdu.FramingHTTP}, // "HTTP/1.1 400"
		{"tls", "15030300 02022800 00000000 00000000", pdu.FramingTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, p := pipeSession(t, smpp.SessionOptions{MaxPDULength: 4096})
			p.bind(s, smpp.Transceiver)
			res := newResults(1)
			if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
				t.Fatal(err)
			}
			p.expect(pdu.SubmitSMID)
			go p.writeRaw(mustHex(t, tc.in))
			p.expectBytes("00000010 80000000 00000002 00000000")
			err := waitDone(t, s)
			var fe *pdu.FramingError
			if !errors.As(err, &fe) || fe.Reason != tc.want {
				t.Fatalf("Err = %v, want framing reason %d", err, tc.want)
			}
			if r := res.next(t); !errors.As(r.Err, &fe) {
				t.Errorf("pending request ended with %v", r.Err)
			}
		})
	}
}

// A connection that ends inside a PDU is an unexpected EOF; every request
// waiting hears it.
func TestSession_eofMidFrame(t *testing.T) {
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.bind(s, smpp.Transmitter)
	res := newResults(1)
	if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
		t.Fatal(err)
	}
	h, _ := p.expect(pdu.SubmitSMID)
	frame, _ := pdu.Encode(&pdu.SubmitSMResp{MessageID: "abc"}, pdu.StatusOK, h.Sequence)
	p.writeRaw(frame[:len(frame)-2])
	_ = p.conn.Close()
	if err := waitDone(t, s); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Err = %v", err)
	}
	if r := res.next(t); !errors.Is(r.Err, io.ErrUnexpectedEOF) || r.Resp != nil {
		t.Errorf("pending: %+v", r)
	}
}

// A generic_nack with sequence 0 means the peer lost our framing: the
// session cannot go on.
func TestSession_nackSequenceZero(t *testing.T) {
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.bind(s, smpp.Transmitter)
	p.writeRaw(mustHex(t, "00000010 80000000 00000002 00000000"))
	var st pdu.Status
	if err := waitDone(t, s); !errors.As(err, &st) || st != pdu.StatusInvCmdLen {
		t.Fatalf("Err = %v", err)
	}
}

// Never more than Window requests outstanding: Send blocks on the next
// one and resumes when a response frees a slot; a context ends the wait
// without sending.
func TestSession_Send_window(t *testing.T) {
	const window = 3
	s, p := pipeSession(t, smpp.SessionOptions{Window: window})
	p.bind(s, smpp.Transmitter)
	res := newResults(10)
	var seqs []uint32
	for range window {
		if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
			t.Fatal(err)
		}
		h, _ := p.expect(pdu.SubmitSMID)
		seqs = append(seqs, h.Sequence)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Send(ctx, submit("1"), res.done); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send on a full window = %v, want the deadline", err)
	}
	sent := make(chan error, 1)
	go func() { sent <- s.Send(context.Background(), submit("1"), res.done) }()
	select {
	case err := <-sent:
		t.Fatalf("Send returned %v with the window full", err)
	default:
	}
	p.write(&pdu.SubmitSMResp{MessageID: "1"}, pdu.StatusOK, seqs[1])
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	h, _ := p.expect(pdu.SubmitSMID)
	if r := res.next(t); r.Seq != seqs[1] {
		t.Errorf("result for seq %d, want %d", r.Seq, seqs[1])
	}
	for _, seq := range []uint32{seqs[0], seqs[2], h.Sequence} {
		p.write(&pdu.SubmitSMResp{MessageID: "x"}, pdu.StatusOK, seq)
		if r := res.next(t); r.Seq != seq || r.Err != nil {
			t.Errorf("result %+v, want seq %d", r, seq)
		}
	}
	res.none(t)
}

// Sequence numbers run 1..0x7FFFFFFF, wrap to 1 and skip a number whose
// request is still waiting.
func TestSession_sequenceWrap(t *testing.T) {
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.bind(s, smpp.Transmitter) // seq 1, answered: free again
	res := newResults(4)
	s.SetNextSequence(2)
	if err := s.Send(context.Background(), submit("1"), res.done); err != nil { // 2: stays pending
		t.Fatal(err)
	}
	p.expect(pdu.SubmitSMID)
	s.SetNextSequence(0x7FFFFFFF)
	var got []uint32
	for range 3 {
		if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
			t.Fatal(err)
		}
		h, _ := p.expect(pdu.SubmitSMID)
		got = append(got, h.Sequence)
	}
	if want := []uint32{0x7FFFFFFF, 1, 3}; !slices.Equal(got, want) {
		t.Errorf("sequences %x, want %x", got, want)
	}
}

// Requests still in the write buffer when the session dies are marked
// ErrNotSent: safe to send elsewhere. The one the kernel had is not.
func TestSession_notSent(t *testing.T) {
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.bind(s, smpp.Transmitter)
	res := newResults(3)
	if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
		t.Fatal(err)
	}
	// Reading the first octets proves the writer is inside a write with
	// the first PDU alone; the next two queue behind it.
	_ = p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(p.conn, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
			t.Fatal(err)
		}
	}
	_ = p.conn.Close()
	waitDone(t, s)
	for i := range 3 {
		r := res.next(t)
		if got, want := errors.Is(r.Err, smpp.ErrNotSent), i > 0; got != want || r.Err == nil {
			t.Errorf("request %d: %v (ErrNotSent %v, want %v)", i, r.Err, got, want)
		}
	}
}

// The peer's deliver_sm reaches the Handler; the response goes out when
// the Handler acks, from another goroutine, once. data_sm_resp carries a
// message id; alert_notification has nothing to answer.
func TestSession_Handler(t *testing.T) {
	checkNoLeak(t)
	reqs := make(chan smpp.Request, 4)
	s, p := pipeSession(t, smpp.SessionOptions{Handler: func(r smpp.Request) { reqs <- r }})
	p.bind(s, smpp.Receiver)

	dlr := &pdu.DeliverSM{ESMClass: pdu.ESMTypeDeliveryReceipt, ShortMessage: []byte("id:1 stat:DELIVRD")}
	p.write(dlr, pdu.StatusOK, 0) // sequence 0: accepted from the peer
	r := <-reqs
	if d, ok := r.PDU.(*pdu.DeliverSM); !ok || string(d.ShortMessage) != "id:1 stat:DELIVRD" {
		t.Fatalf("handler got %+v", r.PDU)
	}
	go func() { _ = r.Ack(pdu.StatusOK) }()
	p.expectBytes("00000011 80000005 00000000 00000000 00")
	if err := r.Ack(pdu.StatusOK); !errors.Is(err, smpp.ErrAnswered) {
		t.Errorf("second Ack = %v", err)
	}

	p.write(&pdu.DataSM{Source: pdu.Address{Addr: "1"}, Dest: pdu.Address{Addr: "2"}}, pdu.StatusOK, 5)
	r = <-reqs
	if err := r.Respond(pdu.StatusOK, &pdu.DeliverSMResp{}); err == nil {
		t.Error("Respond with the wrong response type succeeded")
	}
	if err := r.Respond(pdu.StatusOK, &pdu.DataSMResp{MessageID: "m7"}); err != nil {
		t.Fatal(err)
	}
	p.expectBytes("00000013 80000103 00000000 00000005 6D3700")

	p.write(&pdu.AlertNotification{Source: pdu.Address{Addr: "1"}, ESMEAddr: pdu.Address{Addr: "2"}}, pdu.StatusOK, 6)
	r = <-reqs
	if err := r.Ack(pdu.StatusOK); err != nil {
		t.Errorf("Ack of alert_notification = %v", err)
	}
	// Refusing a deliver_sm: header only, the status the SMSC retries on.
	p.write(dlr, pdu.StatusOK, 7)
	r = <-reqs
	if err := r.Ack(pdu.StatusXTAppn); err != nil {
		t.Fatal(err)
	}
	// Nothing was written for the alert: the next PDU is this response.
	p.expectBytes("00000010 80000005 00000064 00000007")
}

// deliver_sm on a transmitter bind, or with no Handler, is refused with a
// status the SMSC understands.
func TestSession_inboundRefused(t *testing.T) {
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.bind(s, smpp.Transmitter)
	p.write(&pdu.DeliverSM{}, pdu.StatusOK, 3)
	p.expectBytes("00000010 80000005 00000004 00000003") // ESME_RINVBNDSTS

	s2, p2 := pipeSession(t, smpp.SessionOptions{})
	p2.bind(s2, smpp.Transceiver)
	p2.write(&pdu.DeliverSM{}, pdu.StatusOK, 4)
	p2.expectBytes("00000010 80000005 00000064 00000004") // ESME_RX_T_APPN
	if err := s2.Send(context.Background(), submit("1"), func(smpp.Result) {}); err != nil {
		t.Errorf("Send on a transceiver: %v", err)
	}

	s3, p3 := pipeSession(t, smpp.SessionOptions{})
	p3.bind(s3, smpp.Receiver)
	if err := s3.Send(context.Background(), submit("1"), func(smpp.Result) { t.Error("done called") }); err == nil {
		t.Error("submit_sm on a receiver bind was sent")
	}
}

// A flood of deliver_sm that the Handler never acknowledges: beyond
// InboundWindow the session answers ESME_RTHROTTLED itself, and the
// responses to our own submits keep flowing meanwhile.
func TestSession_InboundWindow(t *testing.T) {
	const window = 4
	held := make(chan smpp.Request, 16)
	s, p := pipeSession(t, smpp.SessionOptions{InboundWindow: window, Handler: func(r smpp.Request) { held <- r }})
	p.bind(s, smpp.Transceiver)
	res := newResults(1)
	if err := s.Send(context.Background(), submit("1"), res.done); err != nil {
		t.Fatal(err)
	}
	sub, _ := p.expect(pdu.SubmitSMID)
	const flood = 10
	go func() {
		for i := range flood {
			p.write(&pdu.DeliverSM{ShortMessage: []byte("mo")}, pdu.StatusOK, uint32(100+i))
		}
		p.write(&pdu.SubmitSMResp{MessageID: "ok"}, pdu.StatusOK, sub.Sequence)
	}()
	for i := window; i < flood; i++ {
		h, _ := p.expect(pdu.DeliverSMRespID)
		if h.Status != pdu.StatusThrottled || h.Sequence != uint32(100+i) {
			t.Errorf("got %s, want ESME_RTHROTTLED for seq %d", h, 100+i)
		}
	}
	if r := res.next(t); r.Err != nil || r.Resp.(*pdu.SubmitSMResp).MessageID != "ok" {
		t.Errorf("submit: %+v", r)
	}
	// The handler got the first four, in order; acknowledging one frees
	// the window again.
	var first smpp.Request
	for i := range window {
		r := <-held
		if r.Header.Sequence != uint32(100+i) {
			t.Errorf("handler got seq %d, want %d", r.Header.Sequence, 100+i)
		}
		if i == 0 {
			first = r
		}
	}
	if err := first.Ack(pdu.StatusOK); err != nil {
		t.Fatal(err)
	}
	if h, _ := p.expect(pdu.DeliverSMRespID); h.Status != pdu.StatusOK || h.Sequence != 100 {
		t.Errorf("got %s", h)
	}
	p.write(&pdu.DeliverSM{}, pdu.StatusOK, 200)
	if r := <-held; r.Header.Sequence != 200 {
		t.Errorf("after the ack the handler got seq %d, want 200", r.Header.Sequence)
	}
	select {
	case r := <-held:
		t.Errorf("handler got seq %d beyond the window", r.Header.Sequence)
	default:
	}
}

// An SMSC that says yes with a system_id longer than the spec allows is
// still a yes: the bind succeeds, the odd body is only logged.
func TestSession_Bind_malformedAcceptance(t *testing.T) {
	s, p := pipeSession(t, smpp.SessionOptions{})
	errc := make(chan error, 1)
	go func() { errc <- s.Bind(context.Background(), smpp.BindRequest{Mode: smpp.Transceiver}) }()
	h, _ := p.expect(pdu.BindTransceiverID)
	p.writeRaw(append(mustHex(t, "00000025 80000009 00000000"), seqBytes(h.Sequence)...))
	p.writeRaw([]byte("ABCDEFGHIJKLMNOPQRST\x00"))
	if err := <-errc; err != nil {
		t.Fatalf("Bind = %v", err)
	}
	if s.Mode() != smpp.Transceiver {
		t.Errorf("mode %s", s.Mode())
	}
}

// A peer that sends and never reads cannot make the session buffer its
// answers without end: past the backlog limit the session ends.
func TestSession_peerNotReading(t *testing.T) {
	defer smpp.SetMaxBacklog(1024)()
	s, p := pipeSession(t, smpp.SessionOptions{})
	p.bind(s, smpp.Transceiver)
	go func() {
		for seq := uint32(1); ; seq++ {
			frame, _ := pdu.Encode(&pdu.EnquireLink{}, pdu.StatusOK, seq)
			_ = p.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := p.conn.Write(frame); err != nil {
				return
			}
		}
	}()
	if err := waitDone(t, s); !errors.Is(err, smpp.ErrNotReading) {
		t.Fatalf("Err = %v", err)
	}
}
