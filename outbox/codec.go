package outbox

import (
	"encoding/binary"
	"time"

	"github.com/smsagent/smsagent"
)

// Binary value encoding. Every stored value starts with a format version
// byte; numbers are varints, strings and byte slices are length-prefixed,
// times are zig-zag varint Unix nanoseconds with 0 meaning the zero time. A
// decoder for version N reads every earlier version: a layout change bumps
// the version, adds a branch to the decoder and keeps the old branch (and
// its golden file in testdata) for as long as an old database may exist.

type encoder struct{ b []byte }

func (e *encoder) u8(v byte)                { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64)         { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)           { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) time(t time.Time)         { e.varint(unixNano(t)) }
func (e *encoder) boolean(v bool)           { e.u8(b2u(v)) }
func (e *encoder) str(s string)             { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(p []byte)           { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) duration(d time.Duration) { e.varint(int64(d)) }

// optBytes keeps the difference between nil (absent) and empty.
func (e *encoder) optBytes(p []byte) {
	if p == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(p)) + 1)
	e.b = append(e.b, p...)
}

func b2u(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// decoder reads what encoder wrote. The first error sticks: later reads
// return zero values, so a decode function checks d.err once at the end.
// Every length is checked against what remains, so corrupt input yields
// ErrCorrupt, never a panic or a huge allocation.
type decoder struct {
	b   []byte
	err error
	// s, when set, holds the whole value as one string: str then returns
	// substrings of it instead of allocating one string per field (a
	// record has a dozen).
	s    string
	base int // len(s) when s was set; len(s)-len(b) is the read offset
}

// withStrings copies the value into one string for str to slice.
func (d *decoder) withStrings() {
	d.s = string(d.b)
	d.base = len(d.b)
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = corruptf("truncated or malformed %s", what)
	}
}

func (d *decoder) u8() byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail("byte")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// small reads a uvarint that must fit an int no larger than max.
func (d *decoder) small(max int) int {
	v := d.uvarint()
	if v > uint64(max) {
		d.fail("count")
		return 0
	}
	return int(v)
}

func (d *decoder) boolean() bool           { return d.u8() != 0 }
func (d *decoder) time() time.Time         { return fromUnixNano(d.varint()) }
func (d *decoder) duration() time.Duration { return time.Duration(d.varint()) }

func (d *decoder) raw(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("length")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.small(len(d.b))
	if d.s == "" {
		return string(d.raw(n))
	}
	off := d.base - len(d.b)
	if d.raw(n) == nil {
		return ""
	}
	return d.s[off : off+n]
}

func (d *decoder) bytes() []byte {
	p := d.raw(d.small(len(d.b)))
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

func (d *decoder) optBytes() []byte {
	n := d.small(len(d.b) + 1)
	if n == 0 || d.err != nil {
		return nil
	}
	return append([]byte{}, d.raw(n-1)...)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// record is a stored message: the domain Record plus what only the outbox
// needs to keep its indexes and settle rules.
type record struct {
	smsagent.Record
	// Keys holds, per part, the SMSC index key bound when the part was
	// accepted ("" before, or when the SMSC gave no id).
	Keys []string
	// Expires is when the message stops being sendable (max_age or
	// validity); zero means never. Kept in the record so the expiry index
	// key can be rebuilt exactly.
	Expires time.Time
	// Deadline is when a message waiting for its receipt gives up.
	Deadline time.Time
	// RoundTemp is set when a part failed temporarily in the current send
	// round: the round then counts as an attempt even if other parts were
	// only throttled.
	RoundTemp bool
	// RoundFailover is set when a part of the current round was refused
	// with a failover status (OutcomeFailover).
	RoundFailover bool
}

const recordVersion = 4

// Flag bits of the record header.
const (
	flagFinal = 1 << iota
	flagReport
	flagFlash
	flagRoundTemp
	flagRoundFailover
)

// appendRecord encodes r in the current version. Layout of version 1, in
// order: version, id, state, flags, attempts, priority, split, concat ref,
// due, expires, deadline, received, send_at, submitted, done, validity,
// encoding, client id, to (kind, value), from (kind, value), text, udh,
// meta (optional), file, last error, then the part count (0 = not split yet)
// and per part: state, smsc id, index key, stat, err, error, status,
// submitted, done. Version 2 appends the callback: URL, Kannel mask.
// Version 3 appends the callback's report mask, then the accounts: the
// pinned SMSC, the avoided ones (count, names), and per part the account
// it went to. Version 4 appends the origin (the cluster node whose intake
// took the message).
func appendRecord(b []byte, r *record) []byte {
	e := encoder{b: b}
	e.u8(recordVersion)
	e.uvarint(uint64(r.ID))
	e.u8(byte(r.State))
	var flags byte
	if r.Final {
		flags |= flagFinal
	}
	if r.Report {
		flags |= flagReport
	}
	if r.Flash {
		flags |= flagFlash
	}
	if r.RoundTemp {
		flags |= flagRoundTemp
	}
	if r.RoundFailover {
		flags |= flagRoundFailover
	}
	e.u8(flags)
	e.uvarint(uint64(r.Attempts))
	e.u8(byte(r.Priority))
	e.u8(byte(r.Split))
	e.uvarint(uint64(r.ConcatRef))
	e.time(r.Due)
	e.time(r.Expires)
	e.time(r.Deadline)
	e.time(r.ReceivedAt)
	e.time(r.SendAt)
	e.time(r.Submitted)
	e.time(r.Done)
	e.duration(r.Validity)
	e.str(string(r.Encoding))
	e.str(r.ClientID)
	e.u8(byte(r.To.Kind))
	e.str(r.To.Value)
	e.u8(byte(r.From.Kind))
	e.str(r.From.Value)
	e.str(r.Text)
	e.bytes(r.UDH)
	e.optBytes(r.Meta)
	e.str(r.File)
	e.str(r.LastError)
	e.uvarint(uint64(len(r.Parts)))
	for i := range r.Parts {
		p := &r.Parts[i]
		e.u8(byte(p.State))
		e.str(p.SMSCID)
		e.str(r.Keys[i])
		e.str(p.Stat)
		e.str(p.Err)
		e.str(p.Error)
		e.uvarint(uint64(p.Status))
		e.time(p.Submitted)
		e.time(p.Done)
	}
	e.str(r.Callback.URL)
	e.uvarint(uint64(r.Callback.KannelMask))
	e.uvarint(uint64(r.Callback.ReportMask))
	e.str(r.SMSC)
	e.uvarint(uint64(len(r.Avoid)))
	for _, a := range r.Avoid {
		e.str(a)
	}
	for i := range r.Parts {
		e.str(r.Parts[i].SMSC)
	}
	e.str(r.Origin)
	return e.b
}

// maxAvoid bounds the avoided accounts of a record: a route names each
// account once, and there are not more accounts than this.
const maxAvoid = 64

// adopt gives the parts a release with one account sent (accepted or
// tried, with no account named) the account they belong to.
func (r *record) adopt(account string) {
	if account == "" {
		return
	}
	for i := range r.Parts {
		if p := &r.Parts[i]; p.SMSC == "" && (p.SMSCID != "" || p.Status != 0) {
			p.SMSC = account
		}
	}
}

// maxParts bounds the part count: the concatenation header numbers parts
// with one octet (3GPP TS 23.040 §9.2.3.24.1).
const maxParts = 255

func decodeRecord(b []byte) (*record, error) {
	d := decoder{b: b}
	d.withStrings()
	switch v := d.u8(); v {
	case 1, 2, 3, 4:
		return decodeRecordV1(&d, v)
	default:
		if d.err != nil {
			return nil, d.err
		}
		return nil, corruptf("record version %d is newer than this release reads", v)
	}
}

// decodeRecordV1 reads version 1 and, with v 2 or more, the callback
// after it, with v 3 the accounts, with v 4 the origin.
func decodeRecordV1(d *decoder, v byte) (*record, error) {
	r := &record{}
	r.ID = smsagent.MessageID(d.uvarint())
	r.State = smsagent.State(d.u8())
	flags := d.u8()
	r.Final = flags&flagFinal != 0
	r.Report = flags&flagReport != 0
	r.Flash = flags&flagFlash != 0
	r.RoundTemp = flags&flagRoundTemp != 0
	r.RoundFailover = flags&flagRoundFailover != 0
	r.Attempts = d.small(1 << 30)
	r.Priority = smsagent.Priority(d.u8())
	r.Split = smsagent.SplitMode(d.u8())
	r.ConcatRef = uint16(d.small(0xffff))
	r.Due = d.time()
	r.Expires = d.time()
	r.Deadline = d.time()
	r.ReceivedAt = d.time()
	r.SendAt = d.time()
	r.Submitted = d.time()
	r.Done = d.time()
	r.Validity = d.duration()
	r.Encoding = smsagent.Encoding(d.str())
	r.ClientID = d.str()
	r.To.Kind = smsagent.AddrKind(d.u8())
	r.To.Value = d.str()
	r.From.Kind = smsagent.AddrKind(d.u8())
	r.From.Value = d.str()
	r.Text = d.str()
	r.UDH = d.bytes()
	r.Meta = d.optBytes()
	r.File = d.str()
	r.LastError = d.str()
	if n := d.small(maxParts); n > 0 {
		r.Parts = make([]smsagent.Part, n)
		r.Keys = make([]string, n)
		for i := range r.Parts {
			p := &r.Parts[i]
			p.State = smsagent.State(d.u8())
			p.SMSCID = d.str()
			r.Keys[i] = d.str()
			p.Stat = d.str()
			p.Err = d.str()
			p.Error = d.str()
			p.Status = uint32(d.small(1<<32 - 1))
			p.Submitted = d.time()
			p.Done = d.time()
		}
	}
	if v >= 2 {
		r.Callback.URL = d.str()
		r.Callback.KannelMask = d.small(127)
	}
	if v >= 3 {
		r.Callback.ReportMask = d.small(127)
		r.SMSC = d.str()
		if n := d.small(maxAvoid); n > 0 {
			r.Avoid = make([]string, n)
			for i := range r.Avoid {
				r.Avoid[i] = d.str()
			}
		}
		for i := range r.Parts {
			r.Parts[i].SMSC = d.str()
		}
	}
	if v >= 4 {
		r.Origin = d.str()
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, corruptf("%d bytes after record %d", len(d.b), r.ID)
	}
	return r, nil
}

// peekState reads a record's id and state without decoding the rest: List
// filters with it.
func peekState(b []byte) (smsagent.MessageID, smsagent.State, bool) {
	d := decoder{b: b}
	if v := d.u8(); v < 1 || v > recordVersion {
		return 0, 0, false
	}
	id := d.uvarint()
	st := d.u8()
	return smsagent.MessageID(id), smsagent.State(st), d.err == nil
}
