package bindpool_test

import (
	"context"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// Transmitters plus receivers: submissions go out on the transmitter,
// receipts and MO come in on the receiver, all to the one Handler.
func TestPool_Handler_transmitterReceiver(t *testing.T) {
	checkNoLeak(t)
	srv := testutil.Simulator(t, smsc.Options{})
	o := options(srv)
	o.Sessions = 1
	o.Bind.Mode = smpp.Transmitter
	o.Receivers = true
	inbound := make(chan smpp.Request, 10)
	o.Handler = func(r smpp.Request) { inbound <- r }
	p := startPool(t, o)
	testutil.Eventually(t, waitLimit, "both slots bound", func() bool { return allBound(p) })

	st := p.Status()
	if len(st) != 2 || st[0].Mode != "transmitter" || st[1].Mode != "receiver" || st[0].Slot != 0 || st[1].Slot != 1 {
		t.Fatalf("Status %+v: want slot 0 transmitter, slot 1 receiver", st)
	}
	if got := p.Capacity(); got != 10 {
		t.Errorf("Capacity %d, want the transmitter's window of 10 alone", got)
	}

	msg := sm("4915100000001")
	msg.RegisteredDelivery = pdu.RegDeliveryFinal
	r := newResults()
	if err := p.Submit(context.Background(), msg, r.done); err != nil {
		t.Fatal(err)
	}
	res := r.next(t)
	id := res.Resp.(*pdu.SubmitSMResp).MessageID
	select {
	case req := <-inbound:
		d, ok := req.PDU.(*pdu.DeliverSM)
		if !ok || d.ESMClass&0x04 == 0 {
			t.Fatalf("inbound %#v, want a receipt", req.PDU)
		}
		if got, _ := d.TLVs.ReceiptedMessageID(); got != id {
			t.Errorf("receipt for %q, want %q", got, id)
		}
		if err := req.Ack(pdu.StatusOK); err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLimit):
		t.Fatal("no receipt reached the Handler")
	}
	mo, err := srv.InjectMO("agent", "4915100000002", "12345", "hello", smsc.MOOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-inbound:
		if _, ok := req.PDU.(*pdu.DeliverSM); !ok {
			t.Fatalf("inbound %#v, want the MO deliver_sm", req.PDU)
		}
		if err := req.Ack(pdu.StatusOK); err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLimit):
		t.Fatal("no MO reached the Handler")
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if acked, err := mo.Wait(ctx); err != nil || !acked {
		t.Errorf("MO acknowledged %v (%v)", acked, err)
	}
	testutil.Eventually(t, waitLimit, "the receipt's acknowledgement", func() bool { return srv.Stats().ReceiptsAcked == 1 })

	// Receivers reconnect like transmitters.
	srv.Drop("", false)
	testutil.Eventually(t, waitLimit, "both slots bound again", func() bool {
		st := p.Status()
		return allBound(p) && st[0].Reconnects == 1 && st[1].Reconnects == 1
	})
}
