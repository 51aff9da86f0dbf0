package smpp_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// The SMSC role on the wire: the Handler answers the bind, and a
// successful bind_*_resp binds the session; a second bind is refused by
// the session itself; a submission the bind mode does not allow is
// ESME_RINVBNDSTS; the SMSC side sends deliver_sm with Send.
func TestSession_roleSMSC(t *testing.T) {
	checkNoLeak(t)
	reqs := make(chan smpp.Request, 4)
	s, p := pipeSession(t, smpp.SessionOptions{Role: smpp.SMSC, Handler: func(r smpp.Request) { reqs <- r }})
	if err := s.Bind(context.Background(), smpp.BindRequest{Mode: smpp.Receiver}); err == nil {
		t.Error("an SMSC session bound")
	}

	// A refused bind leaves the session open for another try.
	p.write(&pdu.Bind{ID: pdu.BindReceiverID, SystemID: "agent", Password: "bad", InterfaceVersion: 0x34}, pdu.StatusOK, 1)
	r := <-reqs
	if err := r.Ack(pdu.StatusInvPaswd); err != nil {
		t.Fatal(err)
	}
	p.expectBytes("00000010 80000001 0000000E 00000001")
	p.write(&pdu.Bind{ID: pdu.BindReceiverID, SystemID: "agent", Password: "good", InterfaceVersion: 0x34}, pdu.StatusOK, 2)
	r = <-reqs
	if b := r.PDU.(*pdu.Bind); b.Password != "good" {
		t.Fatalf("bind %+v", b)
	}
	if err := r.Respond(pdu.StatusOK, &pdu.BindResp{ID: pdu.BindReceiverRespID, SystemID: "SIM"}); err != nil {
		t.Fatal(err)
	}
	p.expectBytes("00000014 80000001 00000000 00000002 53494D00")
	if s.Mode() != smpp.Receiver || s.PeerSystemID() != "agent" {
		t.Errorf("mode %s, peer %q", s.Mode(), s.PeerSystemID())
	}

	p.write(&pdu.Bind{ID: pdu.BindTransmitterID, SystemID: "agent"}, pdu.StatusOK, 3)
	p.expectBytes("00000010 80000002 00000005 00000003") // ESME_RALYBND
	p.write(&pdu.SubmitSM{Dest: pdu.Address{Addr: "1"}}, pdu.StatusOK, 4)
	p.expectBytes("00000010 80000004 00000004 00000004") // ESME_RINVBNDSTS: a receiver

	res := newResults(1)
	if err := s.Send(context.Background(), &pdu.SubmitSM{}, res.done); err == nil {
		t.Error("an SMSC sent submit_sm")
	}
	if err := s.Send(context.Background(), &pdu.DeliverSM{ShortMessage: []byte("mo")}, res.done); err != nil {
		t.Fatal(err)
	}
	h, _ := p.expect(pdu.DeliverSMID)
	p.write(&pdu.DeliverSMResp{}, pdu.StatusOK, h.Sequence)
	if r := res.next(t); r.Err != nil || r.Header.ID != pdu.DeliverSMRespID {
		t.Errorf("deliver_sm result %+v", r)
	}
}

// Answers after the session ended are refused with ErrAnswered, and so is
// a second answer; Drop answers nothing.
func TestRequest_afterEnd(t *testing.T) {
	reqs := make(chan smpp.Request, 2)
	s, p := pipeSession(t, smpp.SessionOptions{Handler: func(r smpp.Request) { reqs <- r }})
	p.bind(s, smpp.Receiver)
	p.write(&pdu.DeliverSM{}, pdu.StatusOK, 10)
	p.write(&pdu.DeliverSM{}, pdu.StatusOK, 11)
	dropped, late := <-reqs, <-reqs
	dropped.Drop()
	if err := dropped.Ack(pdu.StatusOK); !errors.Is(err, smpp.ErrAnswered) {
		t.Errorf("Ack after Drop = %v", err)
	}
	_ = p.conn.Close()
	waitDone(t, s)
	if err := late.Ack(pdu.StatusOK); !errors.Is(err, smpp.ErrAnswered) {
		t.Errorf("Ack after the end = %v", err)
	}
	var zero smpp.Request
	if err := zero.Ack(pdu.StatusOK); !errors.Is(err, smpp.ErrAnswered) {
		t.Errorf("Ack of a zero Request = %v", err)
	}
}

// OnPDU sees every PDU each way, with its header.
func TestSessionOptions_OnPDU(t *testing.T) {
	var mu sync.Mutex
	seen := map[smpp.Direction][]pdu.CommandID{}
	s, p := pipeSession(t, smpp.SessionOptions{OnPDU: func(d smpp.Direction, h pdu.Header) {
		mu.Lock()
		seen[d] = append(seen[d], h.ID)
		mu.Unlock()
	}})
	p.bind(s, smpp.Transmitter)
	p.writeRaw(mustHex(t, "00000010 00000015 00000000 00000005"))
	p.expect(pdu.EnquireLinkRespID)
	mu.Lock()
	defer mu.Unlock()
	if in := seen[smpp.In]; len(in) != 2 || in[0] != pdu.BindTransmitterRespID || in[1] != pdu.EnquireLinkID {
		t.Errorf("in: %v", in)
	}
	if out := seen[smpp.Out]; len(out) != 2 || out[0] != pdu.BindTransmitterID || out[1] != pdu.EnquireLinkRespID {
		t.Errorf("out: %v", out)
	}
}
