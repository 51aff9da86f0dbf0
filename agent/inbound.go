package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/config"
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
	acct  *account // whose binds the requests come on
	rule  dlr.Rule
	clock func() time.Time
	log   *slog.Logger
	out   *mailbox[inbound]
	// dups is mo.duplicates: which fingerprint an incoming part gets
	// (print), and so which copies the outbox may drop.
	dups config.Duplicates
	// idTag is mo.smsc_id_tag, the TLV of the SMSC's message id.
	idTag pdu.Tag
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
		// Receipts match only what this account accepted: its keys.
		rc.SMSC, rc.Keys = h.acct.name, h.acct.keys(rc.Keys)
		h.out.put(inbound{req: req, receipt: &rc})
		return
	}
	mo := moPart(&m, now)
	mo.Fingerprint = h.print(&m, req.PDU, &mo)
	// Parts join, and copies are dropped, within one account.
	mo.SMSC, mo.Key, mo.Fingerprint = h.acct.name, h.acct.key(mo.Key), h.acct.key(mo.Fingerprint)
	h.out.put(inbound{req: req, mo: &mo})
}

// print is the fingerprint of an incoming part under mo.duplicates (see
// the package documentation, Incoming SMS): the whole deliver_sm but its
// sequence number (window); the SMSC's id of the message with sender,
// recipient and the part's place, none without an id (smsc_id); none at all
// (off). A part without a fingerprint is never dropped.
func (h *receiver) print(m *short, p pdu.PDU, mo *smsagent.MOPart) string {
	switch h.dups {
	case config.DuplicatesOff:
		return ""
	case config.DuplicatesSMSCID:
		id, ok := m.tlvs.Get(h.idTag)
		if id = bytes.TrimRight(id, "\x00"); !ok || len(id) == 0 {
			return ""
		}
		return idPrint(p.CommandID(), mo, id)
	}
	return fingerprint(p)
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
func moPart(m *short, now time.Time) smsagent.MOPart {
	mo := smsagent.MOPart{From: m.source, To: m.dest, Total: 1, Seq: 1, DataCoding: m.dataCoding,
		Data: m.data, Received: now}
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
// deliver_sm_resp was lost: everything it carries but the sequence number,
// which is the session's and changes with every try. Whatever tells two
// messages apart is in it: the SMSC's ids and timestamps when it sends
// them (vendor TLVs, schedule_delivery_time), the concatenation header.
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

// idPrint identifies a part by the SMSC's id of its message (mo.duplicates:
// smsc_id): a redelivery carries the same id even when the SMSC changes
// other fields on a retry. Sender, recipient and the part's place in its
// message go with it, in case an SMSC numbers messages per sender or gives
// all parts one id.
func idPrint(cmd pdu.CommandID, mo *smsagent.MOPart, id []byte) string {
	h := sha256.New()
	field := func(b []byte) {
		h.Write(binary.AppendUvarint(nil, uint64(len(b))))
		h.Write(b)
	}
	field([]byte("smsc_id"))
	field([]byte{byte(cmd >> 8), byte(cmd)})
	field(id)
	field([]byte(mo.From))
	field([]byte(mo.To))
	field([]byte(mo.Key))
	field(binary.AppendUvarint(nil, uint64(mo.Seq)))
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
	// group is the count of requests committed without waiting out
	// commitLinger: half of what the sessions may leave unanswered.
	group int
	// route, when set (store backend jetstream), sends receipts of
	// messages other nodes hold to them, durably, and returns the indexes
	// of those to apply here.
	route func(ctx context.Context, rs []smsagent.Receipt) ([]int, error)

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
			a.in.gather(ctx, quit, a.group, commitLinger)
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
// twin, an MO fingerprint within mo.duplicate_window) and creates nothing.
// An incoming part whose answer could not be sent because its session
// ended is recorded as such (MOAnswersLost), so that its redelivery is
// recognised however late it comes.
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
		a.applyReceipts(ctx)
	}
	if len(a.mos) > 0 {
		for i, r := range a.mreqs {
			// A part whose session is gone cannot be answered: the SMSC
			// owes its redelivery, which may come in this very batch over
			// another session.
			if s := r.Session(); s != nil {
				select {
				case <-s.Done():
					a.mos[i].AnswerLost = true
				default:
				}
			}
		}
		if err := a.storeMO(ctx, a.mos, a.mreqs); err != nil {
			// One malformed part refuses the whole call; store the others
			// one by one so it cannot hold them hostage.
			for i := range a.mos {
				if err := a.storeMO(ctx, a.mos[i:i+1], a.mreqs[i:i+1]); err != nil {
					// Offering it again cannot help: acknowledged and
					// dropped, with the reason in the log.
					a.log.Error("agent: incoming SMS part refused by the outbox; dropped",
						"sequence", a.mreqs[i].Header.Sequence, "err", err)
					a.answer(a.mreqs[i:i+1], nil)
				}
			}
		}
	}
}

// applyReceipts commits the batch's receipts and answers their requests.
// With a route, the receipts of messages other nodes hold are answered
// once they are stored in the cluster, and only the others are applied
// here.
func (a *applier) applyReceipts(ctx context.Context) {
	if a.route != nil {
		local, err := a.route(ctx, a.receipts)
		if err != nil {
			a.answer(a.rreqs, err)
			return
		}
		if len(local) < len(a.receipts) {
			routed := make([]smpp.Request, 0, len(a.receipts)-len(local))
			next := 0
			for i, r := range a.rreqs {
				if next < len(local) && local[next] == i {
					a.receipts[next], a.rreqs[next] = a.receipts[i], r
					next++
					continue
				}
				routed = append(routed, r)
			}
			a.receipts, a.rreqs = a.receipts[:next], a.rreqs[:next]
			a.answer(routed, nil)
			if len(a.receipts) == 0 {
				return
			}
		}
	}
	outcomes, err := a.store.ApplyReceipts(ctx, a.receipts)
	a.answer(a.rreqs, err)
	if err == nil {
		a.observe(outcomes)
	}
}

// storeMO stores incoming parts and answers their requests. It returns
// only outbox.ErrInvalid, answering nothing then; any other failure is
// answered with a temporary error.
func (a *applier) storeMO(ctx context.Context, ps []smsagent.MOPart, reqs []smpp.Request) error {
	outcomes, err := a.store.AddMOParts(ctx, ps)
	if errors.Is(err, outbox.ErrInvalid) {
		return err
	}
	unanswered := a.answer(reqs, err)
	if err != nil {
		return nil
	}
	var lost []string
	for _, i := range unanswered {
		if p := &ps[i]; p.Fingerprint != "" && !p.AnswerLost {
			lost = append(lost, p.Fingerprint)
		}
	}
	if len(lost) > 0 {
		// Without this record the redelivery is still recognised within
		// mo.duplicate_window; later it would be stored a second time.
		if err := a.store.MOAnswersLost(ctx, lost); err != nil {
			a.log.Warn("agent: cannot record incoming SMS whose answer was lost", "count", len(lost), "err", err)
		}
	}
	for i, o := range outcomes {
		p := &ps[i]
		switch {
		case o.Dropped():
			a.obs.MODuplicate(o.String())
			a.log.Info("agent: incoming SMS part is a redelivery of one stored already; dropped",
				"reason", o.String(), "part", strconv.Itoa(p.Seq)+"/"+strconv.Itoa(p.Total),
				"print", shortPrint(p.Fingerprint), "sequence", reqs[i].Header.Sequence)
		case o == smsagent.MONewSet:
			a.log.Info("agent: incoming SMS part contradicts the incomplete set of its reference; "+
				"it starts a new set, the other keeps waiting for its parts",
				"part", strconv.Itoa(p.Seq)+"/"+strconv.Itoa(p.Total), "print", shortPrint(p.Fingerprint),
				"sequence", reqs[i].Header.Sequence)
		}
	}
	return nil
}

// shortPrint is enough of a fingerprint to find the copies of one
// deliver_sm in the log; it shows neither number nor text.
func shortPrint(fp string) string { return fp[:min(len(fp), 12)] }

// answer acknowledges requests after their commit, or asks the SMSC to
// offer them again. It returns the indexes of the requests it could not
// answer: their session had ended.
func (a *applier) answer(reqs []smpp.Request, err error) (unanswered []int) {
	st := pdu.StatusOK
	if err != nil {
		st = pdu.StatusXTAppn
		a.health.set(healthInbound, fmt.Sprintf("outbox: cannot store receipts and incoming SMS: %v", err))
		a.log.Error("agent: receipts or incoming SMS not stored; the SMSC will offer them again",
			"count", len(reqs), "err", err)
	} else {
		a.health.clear(healthInbound)
	}
	for i, r := range reqs {
		if e := r.Ack(st); e != nil {
			// The session ended meanwhile: the SMSC offers it again on
			// another, and the outbox recognises it.
			a.log.Debug("agent: answer to the SMSC not sent", "err", e)
			unanswered = append(unanswered, i)
		}
	}
	return unanswered
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

// decodeMO is outbox.Options.DecodeMO: the joined user data of an incoming
// SMS decoded once by its data_coding (SMPP 3.4 §5.2.19, 23.038 §4).
func decodeMO(dataCoding byte, data []byte) (text, encoding string) {
	text, encoding, _ = coding.Decode(dataCoding, data) // text is usable even for a reserved data_coding
	return text, encoding
}
