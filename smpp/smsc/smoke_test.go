package smsc_test

import (
	"testing"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

func TestSmoke(t *testing.T) {
	srv := startServer(t, smsc.Options{})
	dlrs := make(chan smpp.Request, 1)
	s := bind(t, srv, smpp.Transceiver, smpp.SessionOptions{Handler: func(r smpp.Request) { dlrs <- r }})
	resp, err := s.Submit(ctx10(t), sm("358401234567", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	r := <-dlrs
	d := r.PDU.(*pdu.DeliverSM)
	t.Logf("id %s, receipt %q", resp.MessageID, d.ShortMessage)
	_ = r.Ack(pdu.StatusOK)
	st, err := srv.WaitFor(ctx10(t), func(st smsc.Stats) bool { return st.ReceiptsAcked == 1 })
	t.Logf("%+v %v", st, err)
}
