package smpp_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// FuzzSession_peer feeds whatever the fuzzer makes to a bound transceiver
// session as the SMSC's side of the stream. Whatever arrives, the session
// must not panic, must answer or drop each PDU, and must end cleanly when
// the stream does.
func FuzzSession_peer(f *testing.F) {
	enc := func(p pdu.PDU, status pdu.Status, seq uint32) []byte {
		b, err := pdu.Encode(p, status, seq)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	dlr := &pdu.DeliverSM{ESMClass: pdu.ESMTypeDeliveryReceipt, ShortMessage: []byte("id:1 stat:DELIVRD")}
	dlr.TLVs.SetReceiptedMessageID("1")
	f.Add(enc(dlr, 0, 7))
	f.Add(enc(&pdu.EnquireLink{}, 0, 0xFFFFFFFF))
	f.Add(enc(&pdu.Unbind{}, 0, 3))
	f.Add(enc(&pdu.SubmitSMResp{MessageID: "x"}, 0, 2))
	f.Add(enc(&pdu.GenericNack{}, pdu.StatusInvCmdLen, 0))
	f.Add(enc(&pdu.DataSM{}, 0, 9))
	f.Add(enc(&pdu.AlertNotification{}, 0, 9))
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 1, 0x11, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{0x7F, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, stream []byte) {
		a, b := net.Pipe()
		s := smpp.NewSession(a, smpp.SessionOptions{
			Handler:     func(r smpp.Request) { _ = r.Ack(pdu.StatusOK) },
			EnquireLink: -1,
			IdleTimeout: -1,
		})
		p := newPeer(t, b)
		errc := make(chan error, 1)
		go func() { errc <- s.Bind(context.Background(), smpp.BindRequest{Mode: smpp.Transceiver}) }()
		h, _ := p.expect(pdu.BindTransceiverID)
		p.write(&pdu.BindResp{ID: pdu.BindTransceiverRespID, SystemID: "fuzz"}, pdu.StatusOK, h.Sequence)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		go func() { _, _ = io.Copy(io.Discard, b) }()
		_ = b.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = b.Write(stream)
		_ = b.Close()
		select {
		case <-s.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("session did not end with the stream")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}
