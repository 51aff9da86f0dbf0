package smsc

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/coding"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// incoming is a submission in one shape, whichever PDU carried it.
type incoming struct {
	cmd      pdu.CommandID
	source   pdu.Address
	dests    []pdu.Address
	dlNames  int // submit_multi distribution lists: not supported
	esm      pdu.ESMClass
	priority uint8
	replace  uint8
	schedule string
	validity string
	reg      pdu.RegisteredDelivery
	dcs      pdu.DataCoding
	sm       []byte
	tlvs     pdu.TLVs
}

func fromSubmitSM(p *pdu.SubmitSM) *incoming {
	return &incoming{
		cmd: pdu.SubmitSMID, source: p.Source, dests: []pdu.Address{p.Dest}, esm: p.ESMClass,
		priority: p.PriorityFlag, replace: p.ReplaceIfPresent, schedule: p.ScheduleDeliveryTime,
		validity: p.ValidityPeriod, reg: p.RegisteredDelivery, dcs: p.DataCoding, sm: p.ShortMessage, tlvs: p.TLVs,
	}
}

func fromDataSM(p *pdu.DataSM) *incoming {
	return &incoming{
		cmd: pdu.DataSMID, source: p.Source, dests: []pdu.Address{p.Dest}, esm: p.ESMClass,
		reg: p.RegisteredDelivery, dcs: p.DataCoding, tlvs: p.TLVs,
	}
}

func fromSubmitMulti(p *pdu.SubmitMulti) *incoming {
	in := &incoming{
		cmd: pdu.SubmitMultiID, source: p.Source, esm: p.ESMClass,
		priority: p.PriorityFlag, replace: p.ReplaceIfPresent, schedule: p.ScheduleDeliveryTime,
		validity: p.ValidityPeriod, reg: p.RegisteredDelivery, dcs: p.DataCoding, sm: p.ShortMessage, tlvs: p.TLVs,
	}
	for _, d := range p.Dests {
		if d.Flag == pdu.DestSMEAddress {
			in.dests = append(in.dests, d.Address)
		} else {
			in.dlNames++
		}
	}
	return in
}

// parsed is what validation learnt of the user data.
type parsed struct {
	udh     []byte // the header, UDHL included
	data    []byte // user data after it; unpacked septets for packed GSM
	concat  coding.Concat
	sar     bool
	payload bool
	text    string
}

// alphabet is how a data_coding counts toward the 140 octets of an SMS.
type alphabet uint8

const (
	alphaGSM7  alphabet = iota + 1 // septets, 160
	alphaOctet                     // octets, 140
	alphaUCS2                      // octets, 140, even
)

// alphabetOf reads data_coding by SMPP 3.4 §5.2.19 (0x00-0x0F) and the
// 23.038 §4 coding groups; ok is false for a reserved value.
func alphabetOf(dc pdu.DataCoding) (a alphabet, ok bool) {
	d := byte(dc)
	switch {
	case d == 0x00, d == 0x01:
		return alphaGSM7, true
	case d == 0x08:
		return alphaUCS2, true
	case d <= 0x0F:
		return alphaOctet, d != 0x0B && d != 0x0C && d != 0x0F
	case d <= 0x7F: // general data coding, with or without auto deletion
		if d&0x20 != 0 { // compressed
			return alphaOctet, true
		}
		switch d & 0x0C {
		case 0x00:
			return alphaGSM7, true
		case 0x04:
			return alphaOctet, true
		case 0x08:
			return alphaUCS2, true
		}
		return 0, false
	case d <= 0xBF:
		return 0, false
	case d <= 0xDF: // message waiting, GSM 7-bit
		return alphaGSM7, true
	case d <= 0xEF: // message waiting, UCS-2
		return alphaUCS2, true
	}
	if d&0x04 != 0 { // data coding/message class: 8-bit
		return alphaOctet, true
	}
	return alphaGSM7, true
}

// validate checks a submission the way an SMSC does and returns the most
// specific status for the first fault found.
func (s *Server) validate(in *incoming) (parsed, pdu.Status, error) {
	var p parsed
	bad := func(st pdu.Status, format string, args ...any) (parsed, pdu.Status, error) {
		return p, st, fmt.Errorf(format, args...)
	}
	switch {
	case in.priority > 3:
		return bad(pdu.StatusInvPrtFlg, "priority_flag %d", in.priority)
	case in.replace > 1:
		return bad(pdu.StatusInvRepFlag, "replace_if_present_flag %d", in.replace)
	case in.reg&0xE0 != 0 || in.reg.Receipt() == 3:
		return bad(pdu.StatusInvRegDlvFlg, "registered_delivery 0x%02X has reserved bits", uint8(in.reg))
	}
	switch in.esm.Type() {
	case pdu.ESMTypeDefault, pdu.ESMTypeDeliveryAck, pdu.ESMTypeManualAck:
	default:
		return bad(pdu.StatusInvEsmClass, "esm_class 0x%02X: message type 0x%02X is not for submission", uint8(in.esm), uint8(in.esm.Type()))
	}
	if in.schedule != "" {
		if _, err := pdu.ParseTime(in.schedule); err != nil {
			return bad(pdu.StatusInvSched, "%v", err)
		}
	}
	if in.validity != "" {
		if _, err := pdu.ParseTime(in.validity); err != nil {
			return bad(pdu.StatusInvExpiry, "%v", err)
		}
	}
	if st, err := checkSource(in.source); err != nil {
		return bad(st, "%v", err)
	}
	if in.dlNames > 0 {
		return bad(pdu.StatusCntSubDL, "distribution lists are not supported")
	}
	if len(in.dests) == 0 {
		return bad(pdu.StatusInvNumDests, "no destination")
	}
	for _, d := range in.dests {
		if st, err := checkDest(d); err != nil {
			return bad(st, "%v", err)
		}
	}

	ud := in.sm
	if payload, ok := in.tlvs.MessagePayload(); ok {
		if len(in.sm) > 0 {
			// §5.3.2.32: with message_payload, sm_length must be 0.
			return bad(pdu.StatusInvMsgLen, "both short_message (%d octets) and message_payload", len(in.sm))
		}
		ud, p.payload = payload, true
	}
	alpha, ok := alphabetOf(in.dcs)
	if !ok {
		return bad(pdu.StatusSubmitFail, "data_coding 0x%02X is reserved", uint8(in.dcs))
	}
	p.data = ud
	if in.esm.UDHI() {
		udh, rest, err := coding.ParseUDH(ud)
		if err != nil {
			return bad(pdu.StatusInvEsmClass, "esm_class has UDHI but the user data has no valid header: %v", err)
		}
		p.udh = ud[:len(ud)-len(rest)]
		p.data = rest
		if c, ok := udh.Concat(); ok && c.Valid() {
			p.concat = c
		}
	}
	if st, err := s.checkSAR(in.tlvs, &p); err != nil {
		return bad(st, "%v", err)
	}
	if !p.payload {
		if st, err := checkLength(alpha, len(p.udh), len(p.data), s.opts.PackedGSM && in.dcs == pdu.CodingDefault); err != nil {
			return bad(st, "%v", err)
		}
	}
	if alpha == alphaUCS2 && len(p.data)%2 != 0 {
		return bad(pdu.StatusInvMsgLen, "UCS-2 user data of %d octets: odd", len(p.data))
	}
	if s.opts.CountersOnly {
		// Nothing will read the text: save the decoding.
		return p, pdu.StatusOK, nil
	}
	if s.opts.PackedGSM && in.dcs == pdu.CodingDefault {
		p.data = coding.Unpack(p.data, len(p.udh))
	}
	text, _, err := coding.Decode(byte(in.dcs), p.data)
	if errors.Is(err, coding.ErrReservedDataCoding) {
		return bad(pdu.StatusSubmitFail, "data_coding 0x%02X is reserved", uint8(in.dcs))
	}
	p.text = text
	return p, pdu.StatusOK, nil
}

// checkSAR reads the sar_* TLVs (§5.3.2.22-24): all three or none, with
// sensible numbers, and not on top of a concatenation header (Kannel
// refuses SAR with UDHI the same way).
func (s *Server) checkSAR(ts pdu.TLVs, p *parsed) (pdu.Status, error) {
	ref, hasRef := ts.SARMsgRefNum()
	total, hasTotal := ts.SARTotalSegments()
	seq, hasSeq := ts.SARSegmentSeqnum()
	switch n := btoi(hasRef) + btoi(hasTotal) + btoi(hasSeq); n {
	case 0:
		return pdu.StatusOK, nil
	case 3:
	default:
		return pdu.StatusMissingOptParam, errors.New("sar_msg_ref_num, sar_total_segments and sar_segment_seqnum go together")
	}
	c := coding.Concat{Kind: coding.RefSAR, Ref: ref, Total: int(total), Seq: int(seq)}
	if !c.Valid() {
		return pdu.StatusInvOptParamVal, fmt.Errorf("sar segment %d of %d", seq, total)
	}
	if p.concat.Kind != 0 {
		return pdu.StatusInvOptParamVal, errors.New("sar_* TLVs and a concatenation header in one message")
	}
	p.concat, p.sar = c, true
	return pdu.StatusOK, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkLength checks that the user data fits in one SMS (23.040
// §9.2.3.16): 140 octets, or 160 septets of GSM 7-bit sent one per octet,
// the header counting in septets with its fill bits.
func checkLength(a alphabet, udhLen, dataLen int, packed bool) (pdu.Status, error) {
	if a == alphaGSM7 && !packed {
		septets := dataLen
		if udhLen > 0 {
			septets += (8*udhLen + 6) / 7
		}
		if septets > 160 {
			return pdu.StatusInvMsgLen, fmt.Errorf("%d septets (header included), more than the 160 of one SMS", septets)
		}
		return pdu.StatusOK, nil
	}
	if n := udhLen + dataLen; n > 140 {
		return pdu.StatusInvMsgLen, fmt.Errorf("%d octets (header included), more than the 140 of one SMS", n)
	}
	return pdu.StatusOK, nil
}

// validNPI lists the numbering plans of §5.2.6.
func validNPI(n pdu.NPI) bool {
	switch n {
	case pdu.NPIUnknown, pdu.NPIISDN, pdu.NPIData, pdu.NPITelex, pdu.NPILandMobile,
		pdu.NPINational, pdu.NPIPrivate, pdu.NPIERMES, pdu.NPIInternet, pdu.NPIWAPClientID:
		return true
	}
	return false
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// checkSource: empty (the SMSC's default), an alphanumeric sender of at
// most 11 characters (23.040 §9.1.2.5), or digits.
func checkSource(a pdu.Address) (pdu.Status, error) {
	switch {
	case a.TON > pdu.TONAbbreviated:
		return pdu.StatusInvSrcTON, fmt.Errorf("source_addr_ton %d", a.TON)
	case !validNPI(a.NPI):
		return pdu.StatusInvSrcNPI, fmt.Errorf("source_addr_npi %d", a.NPI)
	case a.Addr == "":
		return pdu.StatusOK, nil
	case a.TON == pdu.TONAlphanumeric:
		if len(a.Addr) > 11 {
			return pdu.StatusInvSrcAdr, fmt.Errorf("alphanumeric source_addr %q longer than 11 characters", a.Addr)
		}
		return pdu.StatusOK, nil
	case !digits(a.Addr):
		return pdu.StatusInvSrcAdr, fmt.Errorf("source_addr %q is not a number; alphanumeric senders need TON 5", a.Addr)
	}
	return pdu.StatusOK, nil
}

// checkDest: a number of digits; a handset has no alphanumeric address.
func checkDest(a pdu.Address) (pdu.Status, error) {
	switch {
	case a.TON > pdu.TONAbbreviated || a.TON == pdu.TONAlphanumeric:
		return pdu.StatusInvDstTON, fmt.Errorf("dest_addr_ton %d", a.TON)
	case !validNPI(a.NPI):
		return pdu.StatusInvDstNPI, fmt.Errorf("dest_addr_npi %d", a.NPI)
	case !digits(a.Addr):
		return pdu.StatusInvDstAdr, fmt.Errorf("destination_addr %q is not a number", a.Addr)
	}
	return pdu.StatusOK, nil
}

// submit handles submit_sm, data_sm and submit_multi: faults, validation,
// rules, recording, the response and the receipts.
func (c *client) submit(req smpp.Request, in *incoming) {
	s := c.srv
	c.arrived()
	now := s.opts.Clock()

	s.mu.Lock()
	s.stats.Submits++
	v := s.submitVerdictLocked(now)
	faults := s.faults
	s.mu.Unlock()

	if v == verdictDisconnect {
		s.log.Info("smsc: fault: dropping the connection on a submission", "system_id", c.systemID, "rst", faults.DisconnectRST)
		req.Drop()
		c.answered()
		c.conn.drop(faults.DisconnectRST)
		return
	}
	p, status, err := s.validate(in)
	if status != pdu.StatusOK {
		s.log.Info("smsc: submission refused", "system_id", c.systemID, "status", status.String(), "reason", err.Error())
		c.respond(req, status, nil)
		return
	}
	rules := make([]Rule, len(in.dests))
	for i, d := range in.dests {
		rules[i] = s.opts.rule(d.Addr)
	}
	if len(in.dests) == 1 && rules[0].Outcome == Refused {
		c.respond(req, rules[0].Status, nil)
		return
	}
	switch v {
	case verdictNack:
		c.respond(req, faults.NackStatus, &pdu.GenericNack{})
		return
	case verdictThrottle:
		c.respond(req, pdu.StatusThrottled, nil)
		return
	}

	n := s.nextID.Add(1)
	s.mu.Lock()
	id, rid := s.messageID(n), s.receiptID(n)
	s.mu.Unlock()

	var unsuccess []pdu.UnsuccessSME
	var receipts []*delivery
	for i, d := range in.dests {
		if rules[i].Outcome == Refused {
			unsuccess = append(unsuccess, pdu.UnsuccessSME{Address: d, Status: rules[i].Status})
			continue
		}
		sub := Submit{
			Conn: c.id, SystemID: c.systemID, Command: in.cmd, MessageID: id, Source: in.source, Dest: d,
			ESMClass: in.esm, DataCoding: in.dcs, RegisteredDelivery: in.reg,
			UDH: p.udh, Concat: p.concat, SAR: p.sar, Payload: p.payload, Data: p.data, Text: p.text,
			Outcome: rules[i].Outcome, At: now,
		}
		s.record(&sub)
		if s.opts.OnAccept != nil {
			s.opts.OnAccept(&sub)
		}
		if r := s.newReceipt(&sub, rid, rules[i], now); r != nil {
			if rules[i].Intermediate != "" {
				r = s.intermediateReceipt(&sub, rid, rules[i], now, r)
			}
			receipts = append(receipts, r)
		}
	}

	var resp pdu.PDU
	switch in.cmd {
	case pdu.SubmitSMID:
		resp = &pdu.SubmitSMResp{MessageID: id}
	case pdu.DataSMID:
		resp = &pdu.DataSMResp{MessageID: id}
	default:
		resp = &pdu.SubmitMultiResp{MessageID: id, Unsuccess: unsuccess}
	}
	if v == verdictDrop {
		s.log.Info("smsc: fault: submission accepted, response dropped", "system_id", c.systemID, "message_id", id)
		s.mu.Lock()
		s.stats.Dropped++
		s.mu.Unlock()
		req.Drop()
		c.answered()
		s.queueReceipts(c.systemID, receipts, nil, nil)
		return
	}
	if s.opts.ReceiptsFirst && len(receipts) > 0 {
		// The response waits for the last receipt's deliver_sm_resp.
		left := atomic.Int32{}
		left.Store(int32(len(receipts)))
		s.queueReceipts(c.systemID, receipts, func() {
			if left.Add(-1) == 0 {
				c.respond(req, pdu.StatusOK, resp)
			}
		}, nil)
		return
	}
	// The receipts are queued after the response is: an SMSC reports on
	// a message it has acknowledged.
	s.queueReceipts(c.systemID, receipts, nil, func() { c.respond(req, pdu.StatusOK, resp) })
}

// respond answers a submission now, or after the Delay fault.
func (c *client) respond(req smpp.Request, status pdu.Status, resp pdu.PDU) {
	s := c.srv
	s.mu.Lock()
	switch {
	case resp != nil && resp.CommandID() == pdu.GenericNackID:
		s.stats.Nacked++
	case status == pdu.StatusThrottled:
		s.stats.Throttled++
		s.stats.Refused++
	case status != pdu.StatusOK:
		s.stats.Refused++
	}
	delay := s.faults.Delay
	s.mu.Unlock()
	if delay > 0 {
		time.AfterFunc(delay, func() {
			c.answered()
			_ = req.Respond(status, resp)
		})
		return
	}
	c.answered()
	_ = req.Respond(status, resp)
}

// arrived and answered keep the count of submissions a connection has
// waiting for their response; its high-water mark shows the ESME's window
// at work.
func (c *client) arrived() {
	n := c.outstanding.Add(1)
	s := c.srv
	for {
		m := s.maxOutstanding.Load()
		if n <= m || s.maxOutstanding.CompareAndSwap(m, n) {
			return
		}
	}
}

func (c *client) answered() { c.outstanding.Add(-1) }
