package outbox

import (
	"time"

	"github.com/smsagent/smsagent"
)

// Encodings of the other stored values: events, parked receipts and
// incoming SMS parts. Same conventions as the record (codec.go).

// eventVersion 2 appends the accounts: a report's SMSC and then each
// part's, an incoming SMS's SMSC. Version 3 appends a report's node.
const eventVersion = 3

// appendEvent encodes e without its Seq, which is the key.
func appendEvent(b []byte, ev *smsagent.Event) []byte {
	e := encoder{b: b}
	e.u8(eventVersion)
	e.u8(byte(ev.Kind))
	e.time(ev.Time)
	e.str(ev.Subject)
	switch ev.Kind {
	case smsagent.EventReport:
		appendReport(&e, ev.Report)
	case smsagent.EventMO:
		m := ev.MO
		e.str(m.Type)
		e.str(m.From)
		e.str(m.To)
		e.str(m.Text)
		e.str(m.Encoding)
		e.uvarint(uint64(m.Parts))
		e.boolean(m.Incomplete)
		e.time(m.Received)
		e.str(m.SMSC)
	case smsagent.EventDuplicate:
		dup := ev.Duplicate
		e.str(dup.Type)
		e.str(dup.File)
		e.uvarint(uint64(len(dup.Messages)))
		for _, m := range dup.Messages {
			e.str(m.ID)
			e.uvarint(uint64(m.MessageID))
			e.str(m.To)
		}
		e.time(dup.Time)
	case smsagent.EventCallbackFailed:
		n := ev.CallbackFailed
		e.str(n.Type)
		e.str(n.ID)
		e.uvarint(uint64(n.MessageID))
		e.str(n.File)
		e.str(n.Method)
		e.str(n.URL)
		e.uvarint(uint64(n.Attempts))
		e.time(n.Since)
		e.time(n.GaveUp)
		e.str(n.LastError)
		e.str(n.Reason)
	}
	return e.b
}

func appendReport(e *encoder, r *smsagent.Report) {
	e.str(r.Type)
	e.str(r.ID)
	e.uvarint(uint64(r.MessageID))
	e.str(r.To)
	e.str(r.From)
	e.str(r.Status)
	e.str(r.Stat)
	e.str(r.Err)
	e.str(r.Error)
	e.boolean(r.Parts != nil)
	if r.Parts != nil {
		e.uvarint(uint64(r.Parts.Count))
		e.uvarint(uint64(len(r.Parts.Items)))
		for _, p := range r.Parts.Items {
			e.uvarint(uint64(p.Seq))
			e.str(p.SMSCID)
			e.str(p.Status)
			e.str(p.Stat)
			e.str(p.Err)
			e.str(p.Error)
		}
	}
	e.boolean(r.Submitted != nil)
	if r.Submitted != nil {
		e.time(*r.Submitted)
	}
	e.time(r.Done)
	e.str(r.File)
	e.optBytes(r.Meta)
	e.boolean(r.Receipt != nil)
	if r.Receipt != nil {
		e.str(r.Receipt.SMSCID)
		e.str(r.Receipt.Source)
		e.str(r.Receipt.Dest)
		e.str(r.Receipt.Text)
	}
	e.str(r.SMSC)
	if r.Parts != nil {
		for _, p := range r.Parts.Items {
			e.str(p.SMSC)
		}
	}
	e.str(r.Node)
}

func decodeEvent(seq uint64, b []byte) (smsagent.Event, error) {
	d := decoder{b: b}
	v := d.u8()
	if v < 1 || v > eventVersion {
		if d.err != nil {
			return smsagent.Event{}, d.err
		}
		return smsagent.Event{}, corruptf("event version %d is newer than this release reads", v)
	}
	ev := smsagent.Event{Seq: seq}
	ev.Kind = smsagent.EventKind(d.u8())
	ev.Time = d.time()
	ev.Subject = d.str()
	switch ev.Kind {
	case smsagent.EventReport:
		ev.Report = decodeReport(&d, v)
	case smsagent.EventMO:
		m := &smsagent.MO{}
		m.Type = d.str()
		m.From = d.str()
		m.To = d.str()
		m.Text = d.str()
		m.Encoding = d.str()
		m.Parts = d.small(maxParts)
		m.Incomplete = d.boolean()
		m.Received = d.time()
		if v >= 2 {
			m.SMSC = d.str()
		}
		ev.MO = m
	case smsagent.EventDuplicate:
		dup := &smsagent.Duplicate{}
		dup.Type = d.str()
		dup.File = d.str()
		if n := d.small(len(d.b)); n > 0 {
			dup.Messages = make([]smsagent.DuplicateEntry, n)
			for i := range dup.Messages {
				m := &dup.Messages[i]
				m.ID = d.str()
				m.MessageID = smsagent.MessageID(d.uvarint())
				m.To = d.str()
			}
		}
		dup.Time = d.time()
		ev.Duplicate = dup
	case smsagent.EventCallbackFailed:
		n := &smsagent.CallbackFailed{}
		n.Type = d.str()
		n.ID = d.str()
		n.MessageID = smsagent.MessageID(d.uvarint())
		n.File = d.str()
		n.Method = d.str()
		n.URL = d.str()
		n.Attempts = d.small(1 << 30)
		n.Since = d.time()
		n.GaveUp = d.time()
		n.LastError = d.str()
		n.Reason = d.str()
		ev.CallbackFailed = n
	default:
		d.fail("event kind")
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("event end")
	}
	return ev, d.err
}

func decodeReport(d *decoder, v byte) *smsagent.Report {
	r := &smsagent.Report{}
	r.Type = d.str()
	r.ID = d.str()
	r.MessageID = smsagent.MessageID(d.uvarint())
	r.To = d.str()
	r.From = d.str()
	r.Status = d.str()
	r.Stat = d.str()
	r.Err = d.str()
	r.Error = d.str()
	if d.boolean() {
		r.Parts = &smsagent.ReportParts{Count: d.small(maxParts)}
		if n := d.small(maxParts); n > 0 {
			r.Parts.Items = make([]smsagent.ReportPart, n)
			for i := range r.Parts.Items {
				p := &r.Parts.Items[i]
				p.Seq = d.small(maxParts)
				p.SMSCID = d.str()
				p.Status = d.str()
				p.Stat = d.str()
				p.Err = d.str()
				p.Error = d.str()
			}
		}
	}
	if d.boolean() {
		t := d.time()
		r.Submitted = &t
	}
	r.Done = d.time()
	r.File = d.str()
	r.Meta = d.optBytes()
	if d.boolean() {
		r.Receipt = &smsagent.RawReceipt{
			SMSCID: d.str(),
			Source: d.str(),
			Dest:   d.str(),
			Text:   d.str(),
		}
	}
	if v >= 2 {
		r.SMSC = d.str()
		if r.Parts != nil {
			for i := range r.Parts.Items {
				r.Parts.Items[i].SMSC = d.str()
			}
		}
	}
	if v >= 3 {
		r.Node = d.str()
	}
	return r
}

// orphan is a receipt that matched no part, parked until its part is bound
// or the grace period ends.
type orphan struct {
	Parked time.Time // by the store's clock; Sweep measures the grace from it
	smsagent.Receipt
}

// orphanVersion 2 appends the account the receipt came from.
const orphanVersion = 2

func appendOrphan(b []byte, o *orphan) []byte {
	e := encoder{b: b}
	e.u8(orphanVersion)
	e.time(o.Parked)
	e.str(o.SMSCID)
	e.uvarint(uint64(len(o.Keys)))
	for _, k := range o.Keys {
		e.str(k)
	}
	e.u8(byte(o.State))
	e.str(o.Stat)
	e.str(o.Err)
	e.time(o.Done)
	e.time(o.Received)
	e.str(o.Source)
	e.str(o.Dest)
	e.str(o.Text)
	e.str(o.SMSC)
	return e.b
}

func decodeOrphan(b []byte) (*orphan, error) {
	d := decoder{b: b}
	v := d.u8()
	if v < 1 || v > orphanVersion {
		d.fail("receipt version")
		return nil, d.err
	}
	o := &orphan{}
	o.Parked = d.time()
	o.SMSCID = d.str()
	if n := d.small(len(d.b)); n > 0 {
		o.Keys = make([]string, n)
		for i := range o.Keys {
			o.Keys[i] = d.str()
		}
	}
	o.State = smsagent.State(d.u8())
	o.Stat = d.str()
	o.Err = d.str()
	o.Done = d.time()
	o.Received = d.time()
	o.Source = d.str()
	o.Dest = d.str()
	o.Text = d.str()
	if v >= 2 {
		o.SMSC = d.str()
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("receipt end")
	}
	return o, d.err
}

// moSet is the header of a multi-part incoming SMS being reassembled.
type moSet struct {
	First time.Time // first part's arrival by the store's clock
	Total int
	Count int // parts stored
}

const moVersion = 1

func appendMOSet(b []byte, s *moSet) []byte {
	e := encoder{b: b}
	e.u8(moVersion)
	e.time(s.First)
	e.uvarint(uint64(s.Total))
	e.uvarint(uint64(s.Count))
	return e.b
}

func decodeMOSet(b []byte) (*moSet, error) {
	d := decoder{b: b}
	if d.u8() != moVersion {
		d.fail("incoming set version")
		return nil, d.err
	}
	s := &moSet{First: d.time(), Total: d.small(maxParts), Count: d.small(maxParts)}
	if d.err == nil && len(d.b) != 0 {
		d.fail("incoming set end")
	}
	return s, d.err
}

// moPartVersion 2 appends the account the part came from.
const moPartVersion = 2

func appendMOPart(b []byte, p *smsagent.MOPart) []byte {
	e := encoder{b: b}
	e.u8(moPartVersion)
	e.str(p.From)
	e.str(p.To)
	e.uvarint(uint64(p.Total))
	e.uvarint(uint64(p.Seq))
	e.u8(p.DataCoding)
	e.bytes(p.Data)
	e.str(p.Fingerprint)
	e.time(p.Received)
	e.str(p.SMSC)
	return e.b
}

func decodeMOPart(b []byte) (*smsagent.MOPart, error) {
	d := decoder{b: b}
	v := d.u8()
	if v < 1 || v > moPartVersion {
		d.fail("incoming part version")
		return nil, d.err
	}
	p := &smsagent.MOPart{}
	p.From = d.str()
	p.To = d.str()
	p.Total = d.small(maxParts)
	p.Seq = d.small(maxParts)
	p.DataCoding = d.u8()
	p.Data = d.bytes()
	p.Fingerprint = d.str()
	p.Received = d.time()
	if v >= 2 {
		p.SMSC = d.str()
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("incoming part end")
	}
	return p, d.err
}

// printEntry is what mo-fp remembers of the latest stored copy of a
// deliver_sm (see AddMOParts).
type printEntry struct {
	// age is the time of its mo-fp-age key; Sweep removes the entry once
	// that is MODedupWindow past.
	age time.Time
	// answered is when the copy was stored: the agent answers right after
	// the commit.
	answered time.Time
	prompt   bool // stored within moPrompt of its arrival
	lost     bool // its answer could not be sent
}

const printVersion = 1

const (
	printPrompt = 1 << iota
	printLost
)

// appendPrint encodes an entry as [age, 8 bytes][version][answered][flags].
// The age comes first and alone so that Sweep and Check compare it with the
// age key as bytes; an entry of schema 1 is those 8 bytes only.
func appendPrint(b []byte, e *printEntry) []byte {
	enc := encoder{b: be64(b, timeKey(e.age))}
	enc.u8(printVersion)
	enc.time(e.answered)
	var flags byte
	if e.prompt {
		flags |= printPrompt
	}
	if e.lost {
		flags |= printLost
	}
	enc.u8(flags)
	return enc.b
}

// decodePrint reads an entry. One written by schema 1 (its time alone) is
// a copy answered at that time, neither prompt nor lost: the rule then is
// the window alone, as it was.
func decodePrint(b []byte) (printEntry, error) {
	if len(b) < 8 {
		return printEntry{}, corruptf("fingerprint entry of %d octets", len(b))
	}
	e := printEntry{age: fromUnixNano(int64(beUint64(b)))}
	if len(b) == 8 {
		e.answered = e.age
		return e, nil
	}
	d := decoder{b: b[8:]}
	if d.u8() != printVersion {
		d.fail("fingerprint entry version")
		return printEntry{}, d.err
	}
	e.answered = d.time()
	flags := d.u8()
	e.prompt, e.lost = flags&printPrompt != 0, flags&printLost != 0
	if d.err == nil && len(d.b) != 0 {
		d.fail("fingerprint entry end")
	}
	return e, d.err
}
