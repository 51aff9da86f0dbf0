package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/coding"
	"github.com/smsagent/smsagent/smpp/dlr"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// inbound is one request of the SMSC on its way to the applier: a receipt
// or an incoming SMS part, and the request to answer once it is stored.
type inbound struct {
	req     smpp.Request
	receipt *smsagent.Receipt
	mo      *smsagent.MOPart
}

// receiver is the pool's Handler: it reads deliver_sm and data_sm (SMPP 3.4
// §4.6.1, §4.7.1) into the agent's terms and hands them to the applier. It
// runs on the sessions' handler goroutines, stores nothing and answers
// nothing but what needs no storing; it never blocks.
type receiver struct {
	rule  dlr.Rule
	clock func() time.Time
	log   *slog.Logger
	out   *mailbox[inbound]
}

// short is what deliver_sm and data_sm have in common for us.
type short struct {
	esm          byte
	dataCoding   byte
	source, dest string
	data         []byte // short_message, or message_payload when that is empty
	tlvs         pdu.TLVs
}

func (h *receiver) handle(req smpp.Request) {
	var m short
	switch p := req.PDU.(type) {
	case *pdu.DeliverSM:
		m = short{esm: byte(p.ESMClass), dataCoding: byte(p.DataCoding), source: number(p.Source), dest: number(p.Dest),
			data: p.ShortMessage, tlvs: p.TLVs}
	case *pdu.DataSM:
		m = short{esm: byte(p.ESMClass), dataCoding: byte(p.DataCoding), source: number(p.Source), dest: number(p.Dest),
			tlvs: p.TLVs}
	default:
		// alert_notification (§4.12) says a handset is reachable again;
		// there is nothing to store and no response to send.
		h.log.Debug("agent: request from the SMSC ignored", "command", req.Header.ID)
		_ = req.Ack(pdu.StatusOK)
		return
	}
	if len(m.data) == 0 {
		if pl, ok := m.tlvs.MessagePayload(); ok {
			m.data = pl // §5.3.2.32: the content came in message_payload with sm_length 0
		}
	}
	now := h.clock()
	if dlr.IsReceipt(m.esm) {
		rc := h.receipt(&m, now)
		h.out.put(inbound{req: req, receipt: &rc})
		return
	}
	mo := moPart(&m, req.PDU, now)
	h.out.put(inbound{req: req, mo: &mo})
}

// number writes an address the way reports and incoming SMS show numbers:
// "+" before an international one (TON 1, §5.2.5), as a person writes it.
func number(a pdu.Address) string {
	if a.TON == pdu.TONInternational && a.Addr != "" && a.Addr[0] != '+' {
		return "+" + a.Addr
	}
	return a.Addr
}

// receipt reads a delivery receipt (SMPP 3.4 Appendix B, with the TLVs of
// §5.3.2.12, §5.3.2.31 and §5.3.2.35 winning over the text). A receipt
// without a readable id is kept all the same, with no keys: it matches
// nothing and becomes an "unmatched" report that shows what the SMSC sent,
// rather than vanishing.
func (h *receiver) receipt(m *short, now time.Time) smsagent.Receipt {
	in := dlr.Input{ESMClass: m.esm, DataCoding: m.dataCoding, Message: m.data}
	if id, ok := m.tlvs.ReceiptedMessageID(); ok {
		in.TLVs.ReceiptedMessageID = id
	}
	if st, ok := m.tlvs.MessageState(); ok {
		in.TLVs.MessageState, in.TLVs.HasMessageState = uint8(st), true
	}
	if v, ok := m.tlvs.Get(pdu.TagNetworkErrorCode); ok {
		in.TLVs.NetworkErrorCode = v
	}
	rc := smsagent.Receipt{Received: now, Source: m.source, Dest: m.dest}
	r, err := dlr.Parse(in, dlr.Options{})
	if err != nil {
		h.log.Warn("agent: delivery receipt without a usable message id; reported as unmatched",
			"from", m.source, "err", err)
		rc.State = smsagent.StateFailed
		rc.Text, _, _ = coding.Decode(m.dataCoding, m.data)
		return rc
	}
	rc.SMSCID = r.ID
	rc.Keys = dlr.Candidates(r.ID, h.rule)
	rc.State = receiptState(r.Status)
	rc.Stat, rc.Err = r.Fields.Stat, r.Fields.Err
	if rc.Stat == "" && r.HasMessageState {
		rc.Stat = dlr.StateName(r.MessageState)
	}
	if rc.Err == "" && r.NetworkError != nil {
		rc.Err = r.NetworkError.String()
	}
	rc.Done = r.Done
	rc.Text = r.Raw
	return rc
}

// receiptState maps a receipt's status onto the domain: the final words
// are the names of the domain's states; an intermediate receipt leaves the
// part sent.
func receiptState(s dlr.Status) smsagent.State {
	if !s.Final() {
		return smsagent.StateSent
	}
	st, err := smsagent.ParseState(s.String())
	if err != nil {
		return smsagent.StateFailed
	}
	return st
}

// moPart reads one incoming SMS part: its concatenation from the UDH (3GPP
// TS 23.040 §9.2.3.24.1, 8-bit, and §9.2.3.24.8, 16-bit reference) or the
// SAR TLVs (SMPP 3.4 §5.3.2.22-24), its user data without the header. A
// part whose numbers make no sense is, as 23.040 prescribes, a message of
// its own.
func moPart(m *short, p pdu.PDU, now time.Time) smsagent.MOPart {
	mo := smsagent.MOPart{From: m.source, To: m.dest, Total: 1, Seq: 1, DataCoding: m.dataCoding,
		Data: m.data, Received: now, Fingerprint: fingerprint(p)}
	var c coding.Concat
	if pdu.ESMClass(m.esm).UDHI() {
		if udh, rest, err := coding.ParseUDH(m.data); err == nil {
			mo.Data = rest
			c, _ = udh.Concat()
		}
	} else if ref, ok := m.tlvs.SARMsgRefNum(); ok {
		total, ok1 := m.tlvs.SARTotalSegments()
		seq, ok2 := m.tlvs.SARSegmentSeqnum()
		if ok1 && ok2 {
			c = coding.Concat{Kind: coding.RefSAR, Ref: ref, Total: int(total), Seq: int(seq)}
		}
	}
	if c.Kind != 0 && c.Total > 1 && c.Valid() {
		mo.Key = coding.ConcatKey(m.source, m.dest, c.Kind, c.Ref, c.Total)
		mo.Total, mo.Seq = c.Total, c.Seq
	}
	return mo
}

// fingerprint identifies a deliver_sm the SMSC sends again after our
// deliver_sm_resp was lost: everything it carries but the sequence number.
// The outbox drops a part whose fingerprint it saw within MODedupWindow.
func fingerprint(p pdu.PDU) string {
	body, err := p.AppendBody(nil)
	if err != nil {
		return "" // a PDU we decoded encodes; without a print it is only never deduplicated
	}
	h := sha256.New()
	h.Write([]byte{byte(p.CommandID() >> 8), byte(p.CommandID())})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// applier stores receipts and incoming SMS, then answers the SMSC. One
// goroutine (run) owns it; it takes everything queued since its last commit
// into one outbox transaction.
type applier struct {
	store  *outbox.Store
	obs    Observer
	log    *slog.Logger
	health *health
	sent   *sentTimes
	rates  *rates
	in     *mailbox[inbound]

	receipts []smsagent.Receipt
	rreqs    []smpp.Request
	mos      []smsagent.MOPart
	mreqs    []smpp.Request
}

// run applies until quit is closed, then applies what is still queued and
// returns.
func (a *applier) run(ctx context.Context, quit <-chan struct{}) {
	for {
		select {
		case <-a.in.ready:
			a.apply(ctx, a.in.take())
		case <-quit:
			a.apply(ctx, a.in.take())
			return
		case <-ctx.Done():
			return
		}
	}
}

// apply commits a batch and answers each request: ESME_ROK once what it
// carries is committed, ESME_RX_T_APPN (0x64, a temporary error: the SMSC
// offers it again later) when the commit failed.
//
// Crash story: the SMSC hears ESME_ROK only after the commit. A crash
// before: no answer, the SMSC offers the receipt or part again on the next
// session and it is applied then. A crash after the commit and before the
// answer: the redelivery is recognised (a repeated final receipt, a parked
// twin, an MO fingerprint) and creates nothing.
func (a *applier) apply(ctx context.Context, batch []inbound) {
	if len(batch) == 0 {
		return
	}
	a.receipts, a.rreqs, a.mos, a.mreqs = a.receipts[:0], a.rreqs[:0], a.mos[:0], a.mreqs[:0]
	for _, in := range batch {
		if in.receipt != nil {
			a.receipts = append(a.receipts, *in.receipt)
			a.rreqs = append(a.rreqs, in.req)
		} else {
			a.mos = append(a.mos, *in.mo)
			a.mreqs = append(a.mreqs, in.req)
		}
	}
	if len(a.receipts) > 0 {
		outcomes, err := a.store.ApplyReceipts(ctx, a.receipts)
		a.answer(a.rreqs, err)
		if err == nil {
			a.observe(outcomes)
		}
	}
	if len(a.mos) > 0 {
		err := a.store.AddMOParts(ctx, a.mos)
		if errors.Is(err, outbox.ErrInvalid) {
			// One malformed part refuses the whole call; store the others
			// one by one so it cannot hold them hostage.
			a.oneByOne(ctx)
			return
		}
		a.answer(a.mreqs, err)
	}
}

func (a *applier) oneByOne(ctx context.Context) {
	for i := range a.mos {
		err := a.store.AddMOParts(ctx, a.mos[i:i+1])
		if errors.Is(err, outbox.ErrInvalid) {
			// Offering it again cannot help: acknowledged and dropped, with
			// the reason in the log.
			a.log.Error("agent: incoming SMS part refused by the outbox; dropped", "from", a.mos[i].From, "err", err)
			err = nil
		}
		a.answer(a.mreqs[i:i+1], err)
	}
}

// answer acknowledges requests after their commit, or asks the SMSC to
// offer them again.
func (a *applier) answer(reqs []smpp.Request, err error) {
	st := pdu.StatusOK
	if err != nil {
		st = pdu.StatusXTAppn
		a.health.set(healthInbound, fmt.Sprintf("outbox: cannot store receipts and incoming SMS: %v", err))
		a.log.Error("agent: receipts or incoming SMS not stored; the SMSC will offer them again",
			"count", len(reqs), "err", err)
	} else {
		a.health.clear(healthInbound)
	}
	for _, r := range reqs {
		if e := r.Ack(st); e != nil {
			// The session ended meanwhile: the SMSC offers it again on
			// another, and the outbox recognises it.
			a.log.Debug("agent: answer to the SMSC not sent", "err", e)
		}
	}
}

func (a *applier) observe(outcomes []smsagent.ReceiptOutcome) {
	a.rates.receipts.Add(uint64(len(outcomes)))
	for i, o := range outcomes {
		rc := &a.receipts[i]
		stat := rc.Stat
		if stat == "" {
			stat = "none"
		}
		a.obs.ReceiptApplied(stat, o.String())
		if o == smsagent.ReceiptMatched && rc.State.Final() {
			if t, ok := a.sent.take(rc.Keys); ok {
				a.obs.SubmitToReceipt(rc.Received.Sub(t))
			}
		}
	}
}
