package coding

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Method is how a text longer than one SMS is sent.
type Method uint8

const (
	// SplitUDH8 concatenates with the 8-bit reference header
	// 05 00 03 ref total seq (23.040 §9.2.3.24.1): 153 septets, 134 octets or
	// 67 UCS-2 units per part. The zero Method.
	SplitUDH8 Method = iota
	// SplitUDH16 concatenates with the 16-bit reference header
	// 06 08 04 refHi refLo total seq (23.040 §9.2.3.24.8): 152, 133 or 66.
	SplitUDH16
	// SplitSAR puts no header in the parts; the caller sends Part.Ref,
	// Total and Seq as the sar_msg_ref_num, sar_total_segments and
	// sar_segment_seqnum TLVs (SMPP 3.4 §5.3.2.22-24). Parts hold as much as
	// with SplitUDH8, because the SMSC adds that header on the air.
	SplitSAR
	// SplitPayload sends one part of up to MaxPayload octets in the
	// message_payload TLV (SMPP 3.4 §5.3.2.32) and leaves splitting to the
	// SMSC.
	SplitPayload
	// SplitPlain sends independent SMS of 160 septets, 140 octets or 70 UCS-2
	// units, without concatenation header.
	SplitPlain
	// SplitNumbered sends independent SMS, each starting with "n/m ", which
	// counts against its capacity.
	SplitNumbered
	// SplitNone refuses a text that does not fit in one SMS.
	SplitNone
)

var methodNames = [...]string{
	SplitUDH8:     "udh",
	SplitUDH16:    "udh16",
	SplitSAR:      "sar",
	SplitPayload:  "payload",
	SplitPlain:    "plain",
	SplitNumbered: "numbered",
	SplitNone:     "none",
}

// String returns the word ParseMethod reads.
func (m Method) String() string {
	if int(m) < len(methodNames) {
		return methodNames[m]
	}
	return fmt.Sprintf("method(%d)", uint8(m))
}

// ParseMethod reads "udh" (also "udh8"), "udh16", "sar", "payload", "plain",
// "numbered" or "none".
func ParseMethod(s string) (Method, error) {
	if s == "udh8" {
		return SplitUDH8, nil
	}
	for i, n := range methodNames {
		if n == s {
			return Method(i), nil
		}
	}
	return 0, fmt.Errorf("coding: unknown split method %q: want udh, udh16, sar, payload, plain, numbered or none", s)
}

const (
	// MaxParts is the most parts a text may become. A concatenation header
	// counts parts in one octet; for the other methods it is a guard against
	// flooding a handset.
	MaxParts = 255
	// MaxPayload is the most octets message_payload can carry: its TLV
	// length is 16 bits.
	MaxPayload = 0xFFFF
	// smsOctets is the user data of one SMS on the air (23.040 §9.2.3.16).
	smsOctets = 140
)

// ErrTooLong is wrapped by the error for a text that needs more parts than
// the method or MaxParts allows.
var ErrTooLong = errors.New("text too long")

// Options says how to encode and split a text.
type Options struct {
	// Encoding is the alphabet; Auto (the zero value) picks GSM 7-bit when
	// every character fits, else UCS-2.
	Encoding Encoding
	// Method applies when the text does not fit in one SMS.
	Method Method
	// Ref is the concatenation reference. SplitUDH8 sends its low octet.
	// The same text, options and Ref always give the same parts, octet for
	// octet, so a part sent again after a failure is identical.
	Ref uint16
	// Flash asks for a class 0 message (see DataCoding).
	Flash bool
	// Packed packs GSM 7-bit text eight septets into seven octets
	// (23.038 §6.1.2.1.1) with the fill bits a header requires. Most SMSCs
	// expect data_coding 0 unpacked, one septet per octet, which is the
	// default. It has no effect on other encodings.
	Packed bool
	// UDH is a user data header supplied by the submitter, UDHL octet
	// first (smstools3 UDH-DATA). The text is then sent as one part after
	// it, in message_payload for SplitPayload, and its length reduces what
	// the part holds.
	UDH []byte
}

// Plan is what a text becomes under some Options.
type Plan struct {
	// Encoding is the concrete encoding: GSM7, Latin1 or UCS2, never Auto.
	Encoding Encoding
	// DataCoding is the data_coding octet to send.
	DataCoding byte
	// Units is the length of the text in septets (an extension character
	// counts two), octets, or UTF-16 code units (a character outside the
	// BMP counts two).
	Units int
	// Parts is the number of SMS; 0 when the text cannot be sent.
	Parts int
}

// Part is one SMS of a split text.
type Part struct {
	Seq   int // 1-based
	Total int // 1 for a text that fits in one SMS
	// Ref is the reference the part carries: in its header (the low octet
	// for SplitUDH8) or, when SAR is set, for sar_msg_ref_num. 0 when the
	// part is not concatenated.
	Ref uint16
	// UDHI is set when Message starts with a user data header: the caller
	// sets esm_class bit 6 (0x40, SMPP 3.4 §5.2.12).
	UDHI bool
	// SAR is set when the caller must send the sar_* TLVs with Ref, Total
	// and Seq (SplitSAR and more than one part).
	SAR bool
	// Message is what goes in short_message, or in message_payload for
	// SplitPayload: the header, then the encoded text. The parts of one
	// Split share a buffer; treat them as read-only.
	Message []byte
}

// layout is how the parts of one text are built.
type layout struct {
	enc    Encoding
	method Method
	packed bool
	// udh is the header written in front of every part: the submitter's
	// or a concatenation header (whose bytes differ per part).
	udh      []byte
	concat   bool // write a concatenation header
	numbered bool // write "n/m "
	sar      bool
	// capHdr is the header length the capacity allows for: the written
	// header, or 6 for SAR, whose header the SMSC adds.
	capHdr int
	hdr    int // the header length actually written in front of each part
	octets int // octets a part holds: an SMS, or message_payload
	total  int
}

// fits returns how many units of l.enc a part holds after a header of hdr
// octets.
func (l *layout) fits(hdr int) int {
	room := l.octets - hdr
	if room <= 0 {
		return 0
	}
	switch l.enc {
	case GSM7:
		if l.octets == MaxPayload && !l.packed {
			return room
		}
		// On the air, septets are always packed; the header and its fill
		// bits come off the 140 octets first.
		return (8*room - FillBits(hdr)) / 7
	case UCS2:
		return room / 2
	}
	return room
}

// capacity is what part seq holds, in units.
func (l *layout) capacity(seq, total int) int {
	c := l.fits(l.capHdr)
	if l.numbered {
		c -= prefixLen(seq, total)
	}
	return c
}

// prefixLen is the length of "n/m " in characters; every one of them is a
// single unit in every encoding.
func prefixLen(seq, total int) int {
	return digits(seq) + digits(total) + 2
}

func digits(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// crOverflows reports whether a packed part whose text ends in a CR as its
// used-th unit needs one octet more than the part holds. A text ending in CR
// exactly on an octet boundary gets a second CR (see Pack), and a part filled
// to its last septet ends on that boundary: 160 septets are exactly 140
// octets, and so are 153 after the 8-bit header with its fill bit.
func (l *layout) crOverflows(seq, total, used int) bool {
	if !l.packed {
		return false
	}
	septets := used
	if l.numbered {
		septets += prefixLen(seq, total)
	}
	bits := FillBits(l.hdr) + 7*septets
	return bits%8 == 0 && l.hdr+bits/8+1 > l.octets
}

// cutter decides where parts end: a character goes to the next part when it
// does not fit whole, so an escape pair or a surrogate pair is never cut.
type cutter struct {
	l               *layout
	total           int
	seq, used, room int
}

func newCutter(l *layout, total int) cutter {
	return cutter{l: l, total: total, seq: 1, room: l.capacity(1, total)}
}

// take places character r and reports whether it starts a new part.
func (c *cutter) take(r rune) (bool, error) {
	u := units(c.l.enc, r)
	if c.used+u <= c.room && (r != '\r' || !c.l.crOverflows(c.seq, c.total, c.used+u)) {
		c.used += u
		return false, nil
	}
	c.seq++
	c.used, c.room = u, c.l.capacity(c.seq, c.total)
	if u > c.room {
		return true, fmt.Errorf("coding: %w: a part holds %d units, a character needs %d", ErrTooLong, c.room, u)
	}
	return true, nil
}

// count walks the text as split would and returns the number of parts.
func (l *layout) count(text string, total int) (int, error) {
	c := newCutter(l, total)
	for _, r := range text {
		if _, err := c.take(r); err != nil {
			return 0, err
		}
	}
	return c.seq, nil
}

// plan resolves the encoding and the layout. It reads the text at most
// twice (three times for SplitNumbered across a digit boundary) and does not
// allocate.
func plan(text string, o Options) (layout, Plan, error) {
	enc, n, err := resolve(text, o.Encoding)
	if err != nil {
		return layout{}, Plan{Encoding: o.Encoding}, err
	}
	p := Plan{Encoding: enc, Units: n}
	if p.DataCoding, err = DataCoding(enc, o.Flash); err != nil {
		return layout{}, p, err
	}
	if o.Method > SplitNone {
		return layout{}, p, fmt.Errorf("coding: unknown split method %s", o.Method)
	}
	l := layout{enc: enc, method: o.Method, packed: o.Packed && enc == GSM7, octets: smsOctets, total: 1}
	if o.Method == SplitPayload {
		l.octets = MaxPayload
	}
	if len(o.UDH) > 0 {
		if _, rest, err := ParseUDH(o.UDH); err != nil || len(rest) > 0 {
			if err == nil {
				err = fmt.Errorf("coding: %w: UDHL %d but %d octets given", ErrUDH, o.UDH[0], len(o.UDH))
			}
			return layout{}, p, err
		}
		l.udh, l.capHdr, l.hdr = o.UDH, len(o.UDH), len(o.UDH)
	}
	single := l.fits(l.capHdr)
	crFull := n == single && strings.HasSuffix(text, "\r") && l.crOverflows(1, 1, n)
	if n <= single && !crFull {
		p.Parts = 1
		return l, p, nil
	}
	if crFull && (len(o.UDH) > 0 || o.Method == SplitPayload || o.Method == SplitNone) {
		// Counting units alone would say the text fits: name the real cause.
		return l, p, fmt.Errorf("coding: %w: a packed text of %d septets ending in CR needs a second CR (23.038 §6.1.2.3.1), one part holds %d", ErrTooLong, n, single)
	}
	switch {
	case len(o.UDH) > 0:
		return l, p, fmt.Errorf("coding: %w: %d units, one part with a %d-octet header holds %d", ErrTooLong, n, len(o.UDH), single)
	case o.Method == SplitPayload:
		return l, p, fmt.Errorf("coding: %w: %d units, message_payload holds %d", ErrTooLong, n, single)
	case o.Method == SplitNone:
		return l, p, fmt.Errorf("coding: %w: %d units, one SMS holds %d and splitting is off", ErrTooLong, n, single)
	case o.Method == SplitUDH8:
		l.concat, l.capHdr, l.hdr = true, concat8HeaderLen, concat8HeaderLen
	case o.Method == SplitUDH16:
		l.concat, l.capHdr, l.hdr = true, concat16HeaderLen, concat16HeaderLen
	case o.Method == SplitSAR:
		l.sar, l.capHdr = true, concat8HeaderLen
	case o.Method == SplitNumbered:
		l.numbered = true
	}
	total := 2
	for {
		got, err := l.count(text, total)
		if err != nil {
			return l, p, err
		}
		// Only the numbered prefix makes the count depend on the total, and
		// only upward: a longer total can only need more parts, so this
		// climbs to the fixed point in a step or two.
		if !l.numbered || got <= total {
			total = got
			break
		}
		total = got
	}
	if total > MaxParts {
		return l, p, fmt.Errorf("coding: %w: %d units need %d parts, at most %d", ErrTooLong, n, total, MaxParts)
	}
	l.total, p.Parts = total, total
	return l, p, nil
}

// Count tells how many parts a text needs under o, without building them:
// the intake check calls it for every message. It fails like Split.
func Count(text string, o Options) (Plan, error) {
	_, p, err := plan(text, o)
	if err != nil {
		p.Parts = 0
	}
	return p, err
}

// Split encodes a text and cuts it into parts under o. A character the
// encoding cannot carry is a *CharError; a text too long for the method
// wraps ErrTooLong. Parts never cut an escape pair or a surrogate pair.
func Split(text string, o Options) (Plan, []Part, error) {
	l, p, err := plan(text, o)
	if err != nil {
		p.Parts = 0
		return p, nil, err
	}
	w := newPartWriter(&l, o.Ref, p.Units)
	c := newCutter(&l, l.total)
	w.begin(1)
	for _, r := range text {
		if next, _ := c.take(r); next {
			w.end()
			w.begin(c.seq)
		}
		w.text = appendRune(w.text, l.enc, r)
	}
	w.end()
	return p, w.parts, nil
}

// partWriter lays the parts out in one buffer.
type partWriter struct {
	l     *layout
	ref   uint16
	buf   []byte
	text  []byte // the current part's text, unpacked
	seq   int
	parts []Part
}

func newPartWriter(l *layout, ref uint16, units int) *partWriter {
	unit := 1
	if l.enc == UCS2 {
		unit = 2
	}
	size := l.total*l.hdr + unit*units
	if l.numbered {
		for i := 1; i <= l.total; i++ {
			size += unit * prefixLen(i, l.total)
		}
	}
	if l.packed {
		size += l.total // the CR padding septet may add an octet
	}
	w := &partWriter{l: l, ref: ref, buf: make([]byte, 0, size), parts: make([]Part, 0, l.total)}
	if l.method == SplitUDH8 && l.concat {
		w.ref &= 0xFF
	}
	if !l.concat && !l.sar {
		w.ref = 0
	}
	if l.packed {
		w.text = make([]byte, 0, l.fits(l.capHdr))
	}
	return w
}

// begin starts part seq: the header, the numbered prefix, then room for the
// text, which goes straight into the buffer unless it is packed later.
func (w *partWriter) begin(seq int) {
	w.seq = seq
	start := len(w.buf)
	switch {
	case w.l.concat:
		w.buf = appendConcatUDH(w.buf, w.l.method, w.ref, w.l.total, seq)
	case len(w.l.udh) > 0:
		w.buf = append(w.buf, w.l.udh...)
	}
	w.parts = append(w.parts, Part{
		Seq: seq, Total: w.l.total, Ref: w.ref,
		UDHI: len(w.buf) > start, SAR: w.l.sar,
		Message: w.buf[start:len(w.buf)],
	})
	if w.l.packed {
		w.text = w.text[:0]
	} else {
		w.text = w.buf
	}
	if w.l.numbered {
		var d [24]byte
		pre := strconv.AppendInt(d[:0], int64(seq), 10)
		pre = append(pre, '/')
		pre = strconv.AppendInt(pre, int64(w.l.total), 10)
		pre = append(pre, ' ')
		for _, c := range pre {
			// Digits, '/' and ' ' have their ASCII codes in all three
			// encodings.
			w.text = appendRune(w.text, w.l.enc, rune(c))
		}
	}
}

// end closes the current part.
func (w *partWriter) end() {
	p := &w.parts[len(w.parts)-1]
	start := len(w.buf) - len(p.Message)
	if w.l.packed {
		w.buf = appendPacked(w.buf, w.text, FillBits(len(p.Message)))
	} else {
		w.buf = w.text
	}
	p.Message = w.buf[start:len(w.buf):len(w.buf)]
}
