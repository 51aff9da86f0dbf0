package agent

import (
	"fmt"
	"strings"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/smpp/coding"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// encoder turns a stored message into submit_sm PDUs. It holds only the
// configuration, so the intake check (many goroutines) and the dispatcher
// share one.
type encoder struct {
	method coding.Method    // smsc.split, for messages that name no method
	from   smsagent.Address // smsc.default_from
}

// options are the coding options of m with concatenation reference ref.
func (e *encoder) options(m *smsagent.Message, ref uint16) (coding.Options, error) {
	enc, err := coding.ParseEncoding(string(m.Encoding))
	if err != nil {
		return coding.Options{}, err
	}
	method := e.method
	switch m.Split {
	case smsagent.SplitNone:
		method = coding.SplitNone
	case smsagent.SplitPlain:
		method = coding.SplitPlain
	case smsagent.SplitNumbered:
		method = coding.SplitNumbered
	}
	return coding.Options{Encoding: enc, Method: method, Ref: ref, Flash: m.Flash, UDH: m.UDH}, nil
}

// check is spool's Options.Check: a message the dispatcher could not send
// is refused with its file at intake, where a person sees why, rather than
// failing hours later. It counts the parts as the dispatcher will split
// them (the reference does not change the count).
func (e *encoder) check(m *smsagent.Message) error {
	o, err := e.options(m, 0)
	if err == nil {
		_, err = coding.Count(m.Text, o)
	}
	if err != nil {
		return textError(err)
	}
	if m.Validity > 0 {
		if _, err := pdu.FormatDuration(m.Validity); err != nil {
			return fmt.Errorf("validity %s cannot be sent as an SMPP relative time (at most 99 years)", m.Validity)
		}
	}
	return nil
}

// textError words a coding failure for the person who wrote the file.
func textError(err error) error {
	return fmt.Errorf("text: %s", strings.TrimPrefix(err.Error(), "coding: "))
}

// encoded is a message's text as the dispatcher sends it.
type encoded struct {
	plan  coding.Plan
	parts []coding.Part
	// payload puts each part in message_payload (smsc.split: payload)
	// instead of short_message.
	payload bool
}

// split encodes and cuts the text of r the same way on every round: the
// stored concatenation reference, the same options, hence the same octets
// and the same total (coding.Split is deterministic).
func (e *encoder) split(r *smsagent.Record) (encoded, error) {
	o, err := e.options(&r.Message, r.ConcatRef)
	if err != nil {
		return encoded{}, textError(err)
	}
	plan, parts, err := coding.Split(r.Text, o)
	if err != nil {
		return encoded{}, textError(err)
	}
	return encoded{plan: plan, parts: parts, payload: o.Method == coding.SplitPayload}, nil
}

// address gives an SMPP address (§5.2.5-§5.2.8) its TON and NPI from the
// kind of number (3GPP TS 23.040 §9.1.2.5).
func address(a smsagent.Address) pdu.Address {
	switch {
	case a.IsZero():
		return pdu.Address{} // TON 0, NPI 0, empty: the SMSC's default sender
	case a.Kind == smsagent.AddrInternational:
		return pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: a.Value}
	case a.Kind == smsagent.AddrAlphanumeric:
		return pdu.Address{TON: pdu.TONAlphanumeric, NPI: pdu.NPIUnknown, Addr: a.Value}
	}
	return pdu.Address{TON: pdu.TONUnknown, NPI: pdu.NPIISDN, Addr: a.Value}
}

// submit builds the submit_sm (SMPP 3.4 §4.4.1) of one part. The header
// fields are the same on every part and every round, so a part sent again
// is the same PDU but for its sequence number.
func (e *encoder) submit(m *smsagent.Message, enc *encoded, p coding.Part) (*pdu.SubmitSM, error) {
	from := m.From
	if from.IsZero() {
		from = e.from
	}
	sm := &pdu.SubmitSM{
		Source:     address(from),
		Dest:       address(m.To),
		DataCoding: pdu.DataCoding(enc.plan.DataCoding), // class 0 forms for flash (23.038 §4)
	}
	if p.UDHI {
		sm.ESMClass |= pdu.ESMUDHI // §5.2.12: short_message starts with a UDH
	}
	if m.Report {
		sm.RegisteredDelivery = pdu.RegDeliveryFinal // §5.2.17: receipt on success or failure
	}
	if m.Priority == smsagent.PriorityHigh {
		sm.PriorityFlag = 1 // §5.2.14, GSM: priority
	}
	if m.Validity > 0 {
		v, err := pdu.FormatDuration(m.Validity) // §7.1.2 relative time
		if err != nil {
			return nil, fmt.Errorf("validity %s: %w", m.Validity, err)
		}
		sm.ValidityPeriod = v
	}
	if p.SAR {
		// §5.3.2.22-24: the SMSC puts the concatenation header on the air.
		sm.TLVs.SetSARMsgRefNum(p.Ref)
		sm.TLVs.SetSARTotalSegments(uint8(p.Total))
		sm.TLVs.SetSARSegmentSeqnum(uint8(p.Seq))
	}
	if enc.payload {
		sm.TLVs.SetMessagePayload(p.Message) // §5.3.2.32, with sm_length 0
	} else {
		sm.ShortMessage = p.Message
	}
	return sm, nil
}
