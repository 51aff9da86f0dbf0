package smpp_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/coding"
	"github.com/smsagent/smsagent/smpp/dlr"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// mixedText returns the i-th text of the acceptance mix: plain GSM, GSM
// with extension characters (two septets each, never cut between parts),
// UCS-2 with emoji (surrogate pairs, never cut), and long texts of both
// that need several parts.
func mixedText(rng *rand.Rand, i int) string {
	gsm := []string{"hello", "Grüße", "Øresund", "ÆØÅ", "è", "Ñandú", "@home", "$5", "_", "100%", "¿qué?", "ΔΦΓ"}
	ext := []string{"€", "{", "}", "[", "]", "~", "^", "|", "\\"}
	wide := []string{"😀", "你好", "Ω", "🚀", "ab", "ק", "€", "é"}
	pick := func(words []string, n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
		}
		return b.String()
	}
	mixed := func(n int) string {
		var b strings.Builder
		for range n {
			if rng.IntN(3) == 0 {
				b.WriteString(ext[rng.IntN(len(ext))])
			} else {
				b.WriteString(gsm[rng.IntN(len(gsm))])
			}
			b.WriteByte(' ')
		}
		return b.String()
	}
	switch i % 5 {
	case 0:
		return fmt.Sprintf("Message %d: %s", i, pick(gsm, 1+rng.IntN(10)))
	case 1:
		return fmt.Sprintf("Ext %d %s", i, mixed(1+rng.IntN(12)))
	case 2:
		return fmt.Sprintf("Wide %d %s", i, pick(wide, 1+rng.IntN(10)))
	case 3:
		return fmt.Sprintf("Long %d %s", i, mixed(60+rng.IntN(60)))
	}
	return fmt.Sprintf("Long wide %d %s", i, pick(wide, 30+rng.IntN(40)))
}

// The acceptance test: 10,000 messages of mixed alphabets and lengths,
// split with smpp/coding, go through ONE transceiver session with a window
// of 50 to the simulator. Every message joined at the simulator is the
// text sent, and every part's receipt comes back on the same session and
// leads to its submit_sm_resp id through smpp/dlr, although the simulator
// writes receipt ids in decimal and response ids in hexadecimal.
func TestSession_acceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 messages")
	}
	checkNoLeak(t)
	const messages = 10000
	srv := smsc.New(smsc.Options{MessageID: smsc.HexID, ReceiptID: smsc.DecimalID})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close(context.Background()) }()

	var mu sync.Mutex
	receipts := make(map[string]int) // lookup key -> times a receipt named it
	receiptErrs := 0
	gotReceipt := make(chan struct{}, 1<<16)
	handler := func(r smpp.Request) {
		d := r.PDU.(*pdu.DeliverSM)
		in := dlr.Input{ESMClass: byte(d.ESMClass), DataCoding: byte(d.DataCoding), Message: d.ShortMessage}
		in.TLVs.ReceiptedMessageID, _ = d.TLVs.ReceiptedMessageID()
		rc, err := dlr.Parse(in, dlr.Options{})
		mu.Lock()
		if err != nil || !dlr.IsReceipt(byte(d.ESMClass)) || rc.Status != dlr.Delivered {
			receiptErrs++
		} else {
			for _, k := range dlr.Candidates(rc.ID, dlr.HexDec) {
				receipts[k]++
			}
		}
		mu.Unlock()
		_ = r.Ack(pdu.StatusOK) // after "storing"
		gotReceipt <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := smpp.Dial(ctx, "tcp", srv.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := smpp.NewSession(conn, smpp.SessionOptions{Window: 50, Handler: handler, InboundWindow: 100})
	defer func() { _ = s.Close(context.Background()) }()
	if err := s.Bind(ctx, smpp.BindRequest{Mode: smpp.Transceiver, SystemID: "agent"}); err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	texts := make([]string, messages)
	submitKeys := make([][]string, messages)
	var wg sync.WaitGroup
	var failures []string
	parts := 0
	for i := range messages {
		texts[i] = mixedText(rng, i)
		dest := fmt.Sprintf("3584%08d", i)
		plan, ps, err := coding.Split(texts[i], coding.Options{Ref: uint16(i)})
		if err != nil {
			t.Fatalf("split %q: %v", texts[i], err)
		}
		submitKeys[i] = make([]string, len(ps))
		for j, part := range ps {
			sm := &pdu.SubmitSM{
				Source:             pdu.Address{TON: pdu.TONAlphanumeric, Addr: "ACME"},
				Dest:               pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: dest},
				DataCoding:         pdu.DataCoding(plan.DataCoding),
				RegisteredDelivery: pdu.RegDeliveryFinal,
				ShortMessage:       part.Message,
			}
			if part.UDHI {
				sm.ESMClass = pdu.ESMUDHI
			}
			wg.Add(1)
			parts++
			err := s.Send(ctx, sm, func(r smpp.Result) {
				if r.Pending {
					return
				}
				defer wg.Done()
				mu.Lock()
				defer mu.Unlock()
				if resp, ok := r.Resp.(*pdu.SubmitSMResp); ok && r.Err == nil && r.Header.Status == pdu.StatusOK {
					submitKeys[i][j] = dlr.Key(resp.MessageID)
				} else {
					failures = append(failures, fmt.Sprintf("message %d part %d: %v %s", i, j+1, r.Err, r.Header))
				}
			})
			if err != nil {
				t.Fatalf("send: %v", err)
			}
		}
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d parts refused, first: %s", len(failures), failures[0])
	}
	for n := 0; n < parts; n++ {
		select {
		case <-gotReceipt:
		case <-ctx.Done():
			t.Fatalf("%d receipts of %d", n, parts)
		}
	}

	byDest := make(map[string]smsc.Message, messages)
	for _, m := range srv.Messages() {
		if _, dup := byDest[m.To]; dup {
			t.Errorf("two messages to %s", m.To)
		}
		byDest[m.To] = m
	}
	for i, text := range texts {
		m := byDest[fmt.Sprintf("3584%08d", i)]
		if !m.Complete || m.Text != text || m.Duplicates != 0 || m.Parts != len(submitKeys[i]) {
			t.Fatalf("message %d: complete %v, %d parts, %d dups\n got %q\nwant %q", i, m.Complete, m.Parts, m.Duplicates, m.Text, text)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if receiptErrs > 0 {
		t.Errorf("%d receipts did not parse as DELIVRD", receiptErrs)
	}
	for i, keys := range submitKeys {
		for j, k := range keys {
			if receipts[k] != 1 {
				t.Fatalf("message %d part %d (id key %s): %d receipts lead to it, want 1", i, j+1, k, receipts[k])
			}
		}
	}
	// The last acknowledgements may still be on their way to the
	// simulator when the last receipt has reached us.
	st, _ := srv.WaitFor(ctx, func(st smsc.Stats) bool { return st.ReceiptsAcked >= parts })
	t.Logf("%d messages in %d parts; simulator: %+v", messages, parts, st)
	if st.Accepted != parts || st.ReceiptsAcked != parts || st.Duplicates != 0 {
		t.Errorf("simulator stats %+v, want %d parts accepted and receipted", st, parts)
	}
}
