package coding_test

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/smsagent/smsagent/smpp/coding"
)

// extCodes are the septets the extension table defines after an escape.
var extCodes = map[byte]bool{0x0A: true, 0x14: true, 0x28: true, 0x29: true, 0x2F: true, 0x3C: true, 0x3D: true, 0x3E: true, 0x40: true, 0x65: true}

// canonicalGSM reports whether septets are what Encode would write for their
// own decoding: no high bits, and every escape followed by a defined
// extension code.
func canonicalGSM(septets []byte) bool {
	for i := 0; i < len(septets); i++ {
		c := septets[i]
		if c >= 0x80 {
			return false
		}
		if c == 0x1B {
			if i+1 == len(septets) || !extCodes[septets[i+1]] {
				return false
			}
			i++
		}
	}
	return true
}

func FuzzDecodeGSM(f *testing.F) {
	f.Add(byte(0), []byte("hello"), 0)
	f.Add(byte(0), []byte{0x1B, 0x65, 0x00, 0x02, 0x24, 0x40}, 6)
	f.Add(byte(0), []byte{0x1B, 0x1B, 0x1B}, 7)
	f.Add(byte(8), []byte{0xD8, 0x3D, 0xDE}, 1)
	f.Add(byte(0x07), []byte{0xA1, 0xFF}, 5)
	f.Add(byte(0), []byte("abcdefg\r"), 0)
	f.Fuzz(func(t *testing.T, dc byte, data []byte, udh int) {
		text, enc, _ := coding.Decode(dc, data)
		if !utf8.ValidString(text) || enc == "" {
			t.Fatalf("Decode(0x%02X, % X) = %q, %q", dc, data, text, enc)
		}
		s := coding.DecodeGSM7(data)
		if !utf8.ValidString(s) {
			t.Fatalf("DecodeGSM7(% X) is not UTF-8: %q", data, s)
		}
		if canonicalGSM(data) {
			back, used, err := coding.Encode(s, coding.GSM7)
			if err != nil || used != coding.GSM7 || !bytes.Equal(back, data) {
				t.Fatalf("Encode(DecodeGSM7(% X)) = % X, %v", data, back, err)
			}
		}

		udh = udh & 0xFF
		septets := make([]byte, len(data))
		for i, c := range data {
			septets[i] = c & 0x7F
		}
		packed := coding.Pack(septets, udh)
		fill := coding.FillBits(udh)
		if len(septets) > 0 && 8*len(packed)-fill-7*len(septets) >= 7+7 {
			t.Fatalf("Pack(%d septets) wasted octets: %d", len(septets), len(packed))
		}
		unpacked := coding.Unpack(packed, udh)
		want := septets
		if n := len(septets); n > 0 && septets[n-1] == 0x0D && (fill+7*n)%8 == 0 {
			want = append(want, 0x0D) // the doubled CR of 23.038 §6.1.2.3.1
		}
		if !bytes.Equal(unpacked, want) {
			t.Fatalf("Unpack(Pack(% X), %d) = % X", septets, udh, unpacked)
		}
	})
}

func FuzzUDH(f *testing.F) {
	f.Add([]byte{0x05, 0x00, 0x03, 0xCC, 0x03, 0x01, 'h', 'i'})
	f.Add([]byte{0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x02})
	f.Add([]byte{0x0E, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x25, 0x01, 0x01, 0x00, 0x03, 0x07, 0x02, 0x02})
	f.Add([]byte{0x04, 0x00, 0x03, 0x01, 0x02, 0x03})
	f.Add([]byte{0xFF})
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, rest, err := coding.ParseUDH(msg)
		if err != nil {
			if !errors.Is(err, coding.ErrUDH) {
				t.Fatalf("error %v does not wrap ErrUDH", err)
			}
			return
		}
		if h.Len() != len(msg)-len(rest) {
			t.Fatalf("Len %d, consumed %d", h.Len(), len(msg)-len(rest))
		}
		out, err := h.AppendTo(nil)
		if err != nil || !bytes.Equal(out, msg[:h.Len()]) {
			t.Fatalf("AppendTo = % X, %v; parsed from % X", out, err, msg)
		}
		if c, ok := h.Concat(); ok && c.Kind != coding.Ref8 && c.Kind != coding.Ref16 {
			t.Fatalf("Concat kind %v", c.Kind)
		}
	})
}

func FuzzReassemble(f *testing.F) {
	const maxSets, maxBytes = 4, 64
	f.Add([]byte{0, 1, 7, 3, 1, 5, 0, 1, 7, 3, 3, 5, 0, 1, 7, 3, 2, 5})
	f.Add([]byte{1, 2, 1, 2, 2, 70, 2, 1, 1, 2, 0, 3, 0x85, 3, 1, 255, 1, 1})
	f.Add([]byte{0, 1, 1, 2, 1, 40, 1, 1, 1, 2, 1, 40, 2, 1, 1, 2, 1, 40})
	f.Fuzz(func(t *testing.T, ops []byte) {
		clock := newClock()
		r := coding.NewReassembler(coding.ReassemblerOptions{
			Clock: clock.Now, Timeout: time.Minute, MaxSets: maxSets, MaxBytes: maxBytes,
		})
		added, delivered := 0, 0
		take := func(out []coding.Reassembled) {
			for _, m := range out {
				if m.Parts < 1 || len(m.Missing) >= m.Parts || m.Incomplete != (len(m.Missing) > 0) {
					t.Fatalf("bad delivery %+v", m)
				}
				for i, n := range m.Missing {
					if n < 1 || n > m.Parts || (i > 0 && n <= m.Missing[i-1]) {
						t.Fatalf("bad missing list %v of %d", m.Missing, m.Parts)
					}
				}
				delivered += m.Parts - len(m.Missing)
			}
		}
		for len(ops) >= 6 {
			op := ops[:6]
			ops = ops[6:]
			if op[0]&0x80 != 0 {
				clock.Advance(time.Duration(op[0]&0x7F) * time.Second)
			}
			s := coding.Segment{
				From:       strconv.Itoa(int(op[0] & 0x03)),
				To:         "9",
				DataCoding: op[1] & 0x08,
				Concat:     coding.Concat{Kind: coding.RefKind(op[1]%3 + 1), Ref: uint16(op[2] % 3), Total: int(op[3] % 5), Seq: int(op[4] % 6)},
				Data:       bytes.Repeat([]byte{op[2]}, int(op[5])%(maxBytes+8)),
			}
			out, dup := r.Add(s)
			if !dup {
				added++
			}
			take(out)
			if sets, n := r.Pending(); sets > maxSets || n > maxBytes || sets < 0 || n < 0 {
				t.Fatalf("bounds broken: %d sets, %d bytes", sets, n)
			}
		}
		clock.Advance(time.Hour)
		take(r.Expire())
		if sets, n := r.Pending(); sets != 0 || n != 0 {
			t.Fatalf("after expiry: %d sets, %d bytes", sets, n)
		}
		// Nothing accepted is lost: every part that was not a duplicate came
		// out in exactly one delivery.
		if added != delivered {
			t.Fatalf("added %d parts, delivered %d", added, delivered)
		}
	})
}

// piece is one part's user data with its header and numbering removed;
// padMaybe says that its final CR may be Pack's padding.
type piece struct {
	data     []byte
	padMaybe bool
}

// joinParts joins pieces into want, reading each ambiguous final CR as text
// or as padding, whichever lets the rest join; ok is false when no reading
// gives want. Dead ends are remembered, so the search stays linear.
func joinParts(want []byte, pieces []piece) (joined []byte, ok bool) {
	type state struct{ piece, offset int }
	dead := map[state]bool{}
	var walk func(i, off int) bool
	walk = func(i, off int) bool {
		if i == len(pieces) {
			return off == len(want)
		}
		if dead[state{i, off}] {
			return false
		}
		p := pieces[i]
		readings := [][]byte{p.data}
		if p.padMaybe {
			readings = append(readings, p.data[:len(p.data)-1])
		}
		for _, d := range readings {
			if bytes.HasPrefix(want[off:], d) && walk(i+1, off+len(d)) {
				return true
			}
		}
		dead[state{i, off}] = true
		return false
	}
	if !walk(0, 0) {
		return nil, false
	}
	return want, true
}

// portUDH is a 7-octet application port header (16-bit ports 0B84, 23F0) the
// split fuzzer uses as a submitter's explicit UDH.
var portUDH = []byte{0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0}

func FuzzSplitJoin(f *testing.F) {
	const flash, packed, userUDH = 1, 2, 4
	f.Add("hello", uint8(0), uint8(0), uint16(1), uint8(0))
	f.Add(string(rep("a", 152))+"€bbbbbbbbbb", uint8(0), uint8(0), uint16(7), uint8(0))
	f.Add(string(rep("a", 66))+"😀bbbbb", uint8(1), uint8(0), uint16(9), uint8(flash))
	f.Add(string(rep("é", 141)), uint8(2), uint8(2), uint16(300), uint8(0))
	f.Add(string(rep("x{", 800)), uint8(5), uint8(1), uint16(2), uint8(packed))
	f.Add(string(rep("ж", 300)), uint8(4), uint8(3), uint16(2), uint8(flash))
	f.Add(string(rep("a", 159))+"\r", uint8(0), uint8(1), uint16(3), uint8(packed))
	f.Add(string(rep("a", 151))+"\r", uint8(6), uint8(1), uint16(3), uint8(packed|userUDH))
	f.Add("abcdefg\r", uint8(3), uint8(0), uint16(0), uint8(packed))
	f.Add("0000000\r\r", uint8(0), uint8(0), uint16(5), uint8(packed))
	f.Fuzz(func(t *testing.T, text string, method, enc uint8, ref uint16, flags uint8) {
		o := coding.Options{
			Encoding: coding.Encoding(enc % 4), Method: coding.Method(method % 7), Ref: ref,
			Flash: flags&flash != 0, Packed: flags&packed != 0,
		}
		if flags&userUDH != 0 {
			o.UDH = portUDH
		}
		plan, parts, err := coding.Split(text, o)
		counted, cerr := coding.Count(text, o)
		if (err == nil) != (cerr == nil) || counted != plan {
			t.Fatalf("Count = %+v, %v; Split = %+v, %v", counted, cerr, plan, err)
		}
		if err != nil {
			var ce *coding.CharError
			if !errors.As(err, &ce) && !errors.Is(err, coding.ErrTooLong) && !errors.Is(err, coding.ErrNoFlash) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(parts) != plan.Parts {
			t.Fatalf("%d parts, plan says %d", len(parts), plan.Parts)
		}
		isPacked := o.Packed && plan.Encoding == coding.GSM7
		var pieces []piece
		for i, p := range parts {
			if p.Seq != i+1 || p.Total != len(parts) {
				t.Fatalf("part %d numbered %d/%d", i+1, p.Seq, p.Total)
			}
			data := p.Message
			if p.UDHI {
				_, rest, err := coding.ParseUDH(p.Message)
				if err != nil {
					t.Fatalf("part %d header: %v", p.Seq, err)
				}
				data = rest
			}
			hdr := len(p.Message) - len(data)
			if o.UDH != nil && !bytes.Equal(p.Message[:hdr], o.UDH) {
				t.Fatalf("part %d header % X, want the submitter's % X", p.Seq, p.Message[:hdr], o.UDH)
			}
			if o.Method != coding.SplitPayload {
				// What goes on the air fits the 140 octets of one SMS.
				air := len(p.Message)
				if plan.Encoding == coding.GSM7 && !isPacked {
					air = hdr + (coding.FillBits(hdr)+7*len(data)+7)/8
				}
				if air > 140 {
					t.Fatalf("part %d needs %d octets on the air", p.Seq, air)
				}
			}
			padMaybe := false
			if isPacked {
				data = coding.Unpack(data, hdr)
				// Pack adds a second CR after a final CR on an octet
				// boundary (23.038 §6.1.2.3.1); the receiver shows both as
				// one line break. A text that really ends in those two CRs
				// packs to the same octets, so either reading may be right.
				n := len(data) - 1
				padMaybe = n >= 1 && data[n] == 0x0D && data[n-1] == 0x0D && (coding.FillBits(hdr)+7*n)%8 == 0
			}
			if o.Method == coding.SplitNumbered && p.Total > 1 {
				pre, _, _ := coding.Encode(strconv.Itoa(p.Seq)+"/"+strconv.Itoa(p.Total)+" ", plan.Encoding)
				if !bytes.HasPrefix(data, pre) {
					t.Fatalf("part %d lacks its prefix: % X", p.Seq, data)
				}
				data = data[len(pre):]
			}
			pieces = append(pieces, piece{data, padMaybe})
		}
		want, _, err := coding.Encode(text, plan.Encoding)
		if err != nil {
			t.Fatalf("encode after a successful split: %v", err)
		}
		joined, ok := joinParts(want, pieces)
		if !ok {
			t.Fatalf("split %q into parts that do not join back to it", text)
		}
		got, _, err := coding.Decode(plan.DataCoding, joined)
		if err != nil || got != text {
			t.Fatalf("split and joined %q, got %q (%v)", text, got, err)
		}
	})
}
