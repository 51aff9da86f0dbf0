package smsc

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/coding"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// account is one system_id: its bound sessions and the deliver_sm queued
// for them. Receipts and MO messages go to any receiver or transceiver
// session of the account, not necessarily the one that submitted, and wait
// here while none is bound.
type account struct {
	systemID string
	bound    int
	queue    deliveryQueue
	order    uint64
	// wake is closed when something is queued; a waiting pump makes it.
	wake chan struct{}
}

func (s *Server) accountLocked(systemID string) *account {
	a := s.accounts[systemID]
	if a == nil {
		a = &account{systemID: systemID}
		s.accounts[systemID] = a
	}
	return a
}

// delivery is one deliver_sm the simulator owes an account: a receipt or a
// part of an MO message.
type delivery struct {
	pdu      *pdu.DeliverSM
	due      time.Time
	order    uint64
	attempts int
	max      int
	// throttled counts the ESME_RTHROTTLED answers, which do not count as
	// attempts (up to maxThrottled).
	throttled int
	retry     time.Duration
	receipt   *ReceiptRecord
	mo        *MO
	part      int
	// onFinal runs once the delivery is settled: acknowledged, or given
	// up after max attempts.
	onFinal func()
	// then is queued once this delivery is settled: the final receipt
	// after an intermediate one (Rule.Intermediate).
	then *delivery
}

// deliveryQueue is a heap by due time, then queueing order.
type deliveryQueue []*delivery

func (q deliveryQueue) Len() int { return len(q) }
func (q deliveryQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].order < q[j].order
}
func (q deliveryQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *deliveryQueue) Push(x any)   { *q = append(*q, x.(*delivery)) }
func (q *deliveryQueue) Pop() any {
	old := *q
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return d
}

func (a *account) pushLocked(d *delivery) {
	a.order++
	d.order = a.order
	heap.Push(&a.queue, d)
	if a.wake != nil {
		close(a.wake)
		a.wake = nil
	}
}

// popLocked takes the first delivery that is due. Otherwise it returns
// how long until one is (negative when nothing is queued).
func (a *account) popLocked(now time.Time) (*delivery, time.Duration) {
	if len(a.queue) == 0 {
		return nil, -1
	}
	if d := a.queue[0]; d.due.After(now) {
		return nil, d.due.Sub(now)
	}
	return heap.Pop(&a.queue).(*delivery), 0
}

// pump feeds one receiver or transceiver session from its account's
// queue until the session ends. With several sessions bound, each takes
// the next delivery when its window has room.
func (s *Server) pump(c *client, a *account) {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		d, wait := a.popLocked(time.Now())
		var wake chan struct{}
		if d == nil {
			if a.wake == nil {
				a.wake = make(chan struct{})
			}
			wake = a.wake
		}
		s.mu.Unlock()
		if d != nil {
			if !s.deliver(c, a, d) {
				return
			}
			continue
		}
		var due <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			due = timer.C
		}
		select {
		case <-wake:
		case <-due:
		case <-c.sess.Done():
			return
		case <-s.quit:
			return
		}
	}
}

// deliver sends one deliver_sm; it blocks while the session's window is
// full. It reports false when the session can take no more.
func (s *Server) deliver(c *client, a *account, d *delivery) bool {
	d.attempts++
	err := c.sess.Send(context.Background(), d.pdu, func(r smpp.Result) { s.settle(c, a, d, r) })
	if err == nil {
		s.mu.Lock()
		if d.receipt != nil {
			s.stats.ReceiptsSent++
		} else {
			s.stats.MOSent++
		}
		s.mu.Unlock()
		return true
	}
	var ee *pdu.EncodeError
	if errors.As(err, &ee) {
		s.log.Error("smsc: cannot encode a deliver_sm; dropped", "error", err)
		return true
	}
	// Never written: it goes back as it was, for the next session.
	d.attempts--
	s.mu.Lock()
	a.pushLocked(d)
	s.mu.Unlock()
	return false
}

// settle records the ESME's answer to a deliver_sm, which came on c, and
// offers it again when the answer was an error or never came.
func (s *Server) settle(c *client, a *account, d *delivery, r smpp.Result) {
	if r.Pending {
		return
	}
	s.mu.Lock()
	lose := d.mo != nil && r.Err == nil && s.faults.LoseMOResponses > 0
	if lose {
		s.faults.LoseMOResponses--
		r = smpp.Result{Err: errAnswerLost}
		// Dropped before the part is queued again, so that this session
		// is unlikely to take it: its next session should.
		s.log.Info("smsc: fault: answer to an MO part lost; dropping the connection", "system_id", a.systemID)
		c.conn.drop(true)
	}
	ok := r.Err == nil && r.Header.ID != pdu.GenericNackID && r.Header.Status == pdu.StatusOK
	switch {
	case d.receipt != nil:
		if r.Err == nil {
			d.receipt.Responses = append(d.receipt.Responses, r.Header.Status)
		} else {
			d.receipt.Lost++
		}
		d.receipt.Acked = ok
		if ok {
			s.stats.ReceiptsAcked++
		}
	case d.mo != nil:
		if r.Err == nil {
			d.mo.responses[d.part] = append(d.mo.responses[d.part], r.Header.Status)
		} else {
			d.mo.lost++
		}
		if ok {
			d.mo.acked[d.part] = true
			s.stats.MOAcked++
		}
	}
	// ESME_RTHROTTLED (§5.1.3) asks for a pause, not a failure: as an SMSC
	// does, the simulator offers the PDU again after the retry delay without
	// counting an attempt, so that an ESME's full inbound window never costs
	// a receipt. maxThrottled bounds it for an ESME that throttles forever.
	if r.Err == nil && r.Header.Status == pdu.StatusThrottled && d.throttled < maxThrottled {
		d.throttled++
		d.attempts--
	}
	final := ok || d.attempts >= d.max
	if !final {
		d.due = time.Now().Add(d.retry)
		a.pushLocked(d)
	}
	if final && d.then != nil {
		next := d.then
		next.due = time.Now().Add(s.opts.ReceiptDelay)
		s.stats.ReceiptsQueued++
		s.rec.receipt(next.receipt)
		a.pushLocked(next)
	}
	s.mu.Unlock()
	if final {
		if d.mo != nil {
			d.mo.partSettled()
		}
		if d.onFinal != nil {
			d.onFinal()
		}
	}
}

// errAnswerLost is the outcome of an answer Faults.LoseMOResponses took.
var errAnswerLost = errors.New("smsc: fault: deliver_sm_resp lost with the connection")

// maxThrottled is how many ESME_RTHROTTLED answers a deliver_sm may get
// before they count as failed attempts: with the default RetryDelay, ten
// seconds of throttling.
const maxThrottled = 100

// receiptDate is the YYMMDDhhmm of SMPP 3.4 Appendix B.
const receiptDate = "0601021504"

// newReceipt builds the receipt of an accepted message, or returns nil
// when none is due: not asked for (registered_delivery, §5.2.17), asked
// for failures only and the message is delivered, or a NoReceipt rule.
func (s *Server) newReceipt(sub *Submit, receiptID string, rule Rule, now time.Time) *delivery {
	switch sub.RegisteredDelivery.Receipt() {
	case pdu.RegDeliveryNone:
		return nil
	case pdu.RegDeliveryFailure:
		if !rule.Outcome.failed() {
			return nil
		}
	}
	if rule.Outcome == NoReceipt {
		return nil
	}
	stat, state := rule.Outcome.stat()
	dlvrd := "000"
	if rule.Outcome == Delivered {
		dlvrd = "001"
	}
	done := now.Add(s.opts.ReceiptDelay)
	text := receiptText(receiptID, dlvrd, now, done, stat, rule.Err, sub.Text)
	dsm := &pdu.DeliverSM{
		Source:       sub.Dest,
		Dest:         sub.Source,
		ESMClass:     pdu.ESMTypeDeliveryReceipt,
		ShortMessage: []byte(text),
	}
	dsm.TLVs.SetReceiptedMessageID(receiptID)
	dsm.TLVs.SetMessageState(state)
	return &delivery{
		pdu:   dsm,
		due:   time.Now().Add(s.opts.ReceiptDelay),
		max:   s.opts.ReceiptAttempts,
		retry: s.opts.RetryDelay,
		receipt: &ReceiptRecord{
			SystemID: sub.SystemID, MessageID: sub.MessageID, ReceiptID: receiptID,
			Dest: sub.Dest.Addr, Stat: stat, Text: text,
		},
	}
}

// intermediateReceipt is the receipt rule.Intermediate asks for before
// final, the final receipt of the same submission, which goes out once
// this one is settled.
func (s *Server) intermediateReceipt(sub *Submit, receiptID string, rule Rule, now time.Time, final *delivery) *delivery {
	state := pdu.StateEnroute
	if rule.Intermediate == "ACCEPTD" {
		state = pdu.StateAccepted
	}
	text := receiptText(receiptID, "000", now, now, rule.Intermediate, 0, sub.Text)
	dsm := &pdu.DeliverSM{Source: sub.Dest, Dest: sub.Source, ESMClass: pdu.ESMTypeDeliveryReceipt, ShortMessage: []byte(text)}
	dsm.TLVs.SetReceiptedMessageID(receiptID)
	dsm.TLVs.SetMessageState(state)
	rec := *final.receipt
	rec.Stat, rec.Text = rule.Intermediate, text
	return &delivery{pdu: dsm, due: final.due, max: final.max, retry: final.retry, receipt: &rec, then: final}
}

// receiptText is a receipt's short_message (SMPP 3.4 Appendix B).
func receiptText(receiptID, dlvrd string, submitted, done time.Time, stat string, errCode int, text string) string {
	return fmt.Sprintf("id:%s sub:001 dlvrd:%s submit date:%s done date:%s stat:%s err:%03d text:%s",
		receiptID, dlvrd, submitted.Format(receiptDate), done.Format(receiptDate), stat, errCode, snippet(text))
}

// snippet is the receipt's "text:" field: the first 20 characters of the
// message (Appendix B), in characters any parser reads the same whatever
// data_coding it assumes.
func snippet(text string) string {
	out := make([]byte, 0, 20)
	for _, r := range text {
		if len(out) == 20 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == ' ', r == '.', r == ',', r == '-':
			out = append(out, byte(r))
		default:
			out = append(out, '.')
		}
	}
	return string(out)
}

// queueReceipts counts and records receipts, then queues them for the
// account; onFinal, when set, runs after each one's first copy is
// settled. Counting comes first so that the counters already show the
// receipts when the submit_sm_resp goes out, while the receipts
// themselves can only be sent after it.
func (s *Server) queueReceipts(systemID string, rs []*delivery, onFinal func(), respond func()) {
	if len(rs) == 0 {
		if respond != nil {
			respond()
		}
		return
	}
	s.mu.Lock()
	all := make([]*delivery, 0, 2*len(rs))
	for _, d := range rs {
		if onFinal != nil {
			d.due = time.Now()
			d.onFinal = onFinal
		}
		all = append(all, d)
		if s.opts.DuplicateReceipts {
			dup := &delivery{pdu: d.pdu, due: d.due, max: d.max, retry: d.retry}
			rr := *d.receipt
			rr.Duplicate = true
			dup.receipt = &rr
			all = append(all, dup)
		}
	}
	for _, d := range all {
		s.stats.ReceiptsQueued++
		s.rec.receipt(d.receipt)
	}
	s.mu.Unlock()
	if respond != nil {
		respond()
	}
	s.mu.Lock()
	a := s.accountLocked(systemID)
	for _, d := range all {
		a.pushLocked(d)
	}
	s.mu.Unlock()
}

// MOOptions say how InjectMO sends a text.
type MOOptions struct {
	// Encoding is the alphabet; Auto (the zero value) picks GSM 7-bit if
	// it can, else UCS-2.
	Encoding coding.Encoding
	// Method splits a long text: coding.SplitUDH8 (the zero value),
	// SplitUDH16, SplitSAR or SplitPayload.
	Method coding.Method
	// Ref is the concatenation reference; 0 takes the next of a counter.
	Ref uint16
	// Attempts is how many times each part is offered while the ESME
	// answers with an error or the session ends first. Default 3.
	Attempts int
	// RetryDelay is the wait before a part is offered again. Default
	// Options.RetryDelay.
	RetryDelay time.Duration
	// Lose lists part numbers (from 1) that are never sent, as when the
	// network loses them on the way: the ESME gets an incomplete set.
	Lose []int
}

// MO is an injected mobile-originated message and what became of it.
type MO struct {
	SystemID, From, To, Text string
	// Parts is how many deliver_sm carry it.
	Parts int
	// IDs are the parts' ids in the TLV Options.MOIDTag; nil without it.
	IDs []string

	done      chan struct{}
	once      sync.Once
	mu        sync.Mutex // guards left; the rest is under the server's mu
	left      int
	responses [][]pdu.Status
	acked     []bool
	lost      int
	srv       *Server
}

// Done is closed when every part is settled: acknowledged, or given up.
func (m *MO) Done() <-chan struct{} { return m.done }

// Wait waits until Done or ctx ends, and reports whether every part was
// acknowledged with ESME_ROK.
func (m *MO) Wait(ctx context.Context) (acked bool, err error) {
	select {
	case <-m.done:
		return m.Acked(), nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// Acked reports whether every part sent (all but MOOptions.Lose) got
// deliver_sm_resp ESME_ROK.
func (m *MO) Acked() bool {
	m.srv.mu.Lock()
	defer m.srv.mu.Unlock()
	for _, a := range m.acked {
		if !a {
			return false
		}
	}
	return true
}

// Responses are the deliver_sm_resp statuses each part got, in order,
// one per attempt that was answered.
func (m *MO) Responses() [][]pdu.Status {
	m.srv.mu.Lock()
	defer m.srv.mu.Unlock()
	out := make([][]pdu.Status, len(m.responses))
	for i, r := range m.responses {
		out[i] = append([]pdu.Status(nil), r...)
	}
	return out
}

// Lost is how many attempts got no answer at all (the session ended).
func (m *MO) Lost() int {
	m.srv.mu.Lock()
	defer m.srv.mu.Unlock()
	return m.lost
}

func (m *MO) partSettled() {
	m.mu.Lock()
	m.left--
	last := m.left == 0
	m.mu.Unlock()
	if last {
		m.once.Do(func() { close(m.done) })
	}
}

// InjectMO sends a text from a handset (from) to the ESME (to) as
// deliver_sm on a receiver or transceiver session of systemID: one part,
// or several with concatenation headers or SAR TLVs as o says. It queues
// while no such session is bound. A part the ESME answers with anything
// but ESME_ROK is offered again, up to o.Attempts times.
func (s *Server) InjectMO(systemID, from, to, text string, o MOOptions) (*MO, error) {
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = s.opts.RetryDelay
	}
	s.mu.Lock()
	if o.Ref == 0 {
		s.moRef++
		if s.moRef == 0 {
			s.moRef = 1
		}
		o.Ref = s.moRef
	}
	s.mu.Unlock()
	plan, parts, err := coding.Split(text, coding.Options{Encoding: o.Encoding, Method: o.Method, Ref: o.Ref})
	if err != nil {
		return nil, fmt.Errorf("smsc: inject mo: %w", err)
	}
	m := &MO{
		SystemID: systemID, From: from, To: to, Text: text, Parts: len(parts),
		done: make(chan struct{}), left: len(parts), srv: s,
		responses: make([][]pdu.Status, len(parts)), acked: make([]bool, len(parts)),
	}
	s.mu.Lock()
	if s.opts.MOIDTag != 0 {
		for range parts {
			s.moID++
			m.IDs = append(m.IDs, fmt.Sprintf("MO%08X", s.moID))
		}
	}
	s.mu.Unlock()
	ds := make([]*delivery, 0, len(parts))
	for i, part := range parts {
		if slices.Contains(o.Lose, i+1) {
			m.acked[i] = true // never offered: nothing to wait for
			m.left--
			continue
		}
		dsm := &pdu.DeliverSM{Source: address(from), Dest: address(to), DataCoding: pdu.DataCoding(plan.DataCoding)}
		if part.UDHI {
			dsm.ESMClass |= pdu.ESMUDHI
		}
		if o.Method == coding.SplitPayload {
			dsm.TLVs.SetMessagePayload(part.Message)
		} else {
			dsm.ShortMessage = part.Message
		}
		if part.SAR {
			dsm.TLVs.SetSARMsgRefNum(part.Ref)
			dsm.TLVs.SetSARTotalSegments(uint8(part.Total))
			dsm.TLVs.SetSARSegmentSeqnum(uint8(part.Seq))
		}
		if m.IDs != nil {
			dsm.TLVs.SetCString(s.opts.MOIDTag, m.IDs[i])
		}
		ds = append(ds, &delivery{pdu: dsm, due: time.Now(), max: o.Attempts, retry: o.RetryDelay, mo: m, part: i})
	}
	if len(ds) == 0 {
		return nil, errors.New("smsc: inject mo: every part lost")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, errors.New("smsc: inject mo: server closed")
	}
	a := s.accountLocked(systemID)
	for _, d := range ds {
		a.pushLocked(d)
	}
	s.rec.mo(m)
	return m, nil
}

// InjectReceipt queues a delivery receipt (SMPP 3.4 Appendix B) carrying
// receiptID for systemID, as if for a message from handset to the ESME's
// address to: a receipt for an id the simulator never issued, which some
// SMSCs send after a restart or for another account's traffic. Like every
// receipt it waits while no receiver is bound and is offered again after
// an error or ESME_RTHROTTLED (Options.ReceiptAttempts); Stats and
// Receipts count it.
func (s *Server) InjectReceipt(systemID, receiptID, handset, to string, outcome Outcome) error {
	sub := &Submit{
		SystemID: systemID, Source: address(to), Dest: address(handset),
		RegisteredDelivery: pdu.RegDeliveryFinal,
	}
	rule := Rule{Outcome: outcome}
	if outcome != Delivered {
		rule.Err = 1
	}
	d := s.newReceipt(sub, receiptID, rule, time.Now())
	if d == nil {
		return fmt.Errorf("smsc: inject receipt: outcome %s has no receipt", outcome)
	}
	d.due = time.Now()
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return errors.New("smsc: inject receipt: server closed")
	}
	s.queueReceipts(systemID, []*delivery{d}, nil, nil)
	return nil
}

// address is a handset's number (international) or an alphanumeric name.
func address(s string) pdu.Address {
	if digits(s) {
		return pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: s}
	}
	return pdu.Address{TON: pdu.TONAlphanumeric, NPI: pdu.NPIUnknown, Addr: s}
}
