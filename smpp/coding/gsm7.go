package coding

import (
	"strings"
	"unicode/utf8"
)

// esc is the GSM 7-bit escape septet: the septet after it is read in the
// extension table (23.038 §6.2.1.1).
const esc = 0x1B

// cr is the septet 23.038 §6.1.2.3.1 prescribes as padding when a packed
// message would otherwise end in seven zero bits, which a receiver would show
// as '@'.
const cr = 0x0D

// basicTable is the GSM 7-bit default alphabet (23.038 §6.2.1), indexed by
// septet. Index 0x1B is the escape; it never decodes through this table.
// Note the traps: 0x00 is '@', 0x02 is '$', 0x24 is '¤' (not '$'), 0x40 is
// '¡' (not '@'), and 0x09 is 'Ç' (capital, per the current edition).
var basicTable = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 0x1B, 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// extTable is the default alphabet extension table (23.038 §6.2.1.1): the
// character an escape followed by the index stands for, or 0 where the table
// defines none.
var extTable = [128]rune{
	0x0A: '\f', // page break
	0x14: '^',
	0x28: '{',
	0x29: '}',
	0x2F: '\\',
	0x3C: '[',
	0x3D: '~',
	0x3E: ']',
	0x40: '|',
	0x65: '€',
}

// gsmCode describes how one rune is written: gsmPresent set when the rune has
// a code, gsmExt set when that code is in the extension table (two septets),
// the low seven bits the septet itself.
type gsmCode uint16

const (
	gsmPresent gsmCode = 0x100
	gsmExt     gsmCode = 0x200
)

// gsmLatin covers every rune below 256 with a direct index, which is where
// almost all GSM text lives; gsmHigh holds the few others (Greek capitals and
// the euro sign). Both are derived from the decode tables above so that the
// two directions cannot disagree.
var (
	gsmLatin [256]gsmCode
	gsmHigh  = make(map[rune]gsmCode, 12)
)

func init() {
	add := func(r rune, c gsmCode) {
		if r < 256 {
			gsmLatin[r] = c
		} else {
			gsmHigh[r] = c
		}
	}
	for code, r := range basicTable {
		if code != esc {
			add(r, gsmPresent|gsmCode(code))
		}
	}
	for code, r := range extTable {
		if r != 0 {
			add(r, gsmPresent|gsmExt|gsmCode(code))
		}
	}
}

// gsmLookup returns the code of r in the default alphabet or its extension.
func gsmLookup(r rune) (gsmCode, bool) {
	var c gsmCode
	if r >= 0 && r < 256 {
		c = gsmLatin[r]
	} else {
		c = gsmHigh[r]
	}
	return c, c&gsmPresent != 0
}

// septets is the cost of a code in septets.
func (c gsmCode) septets() int {
	if c&gsmExt != 0 {
		return 2
	}
	return 1
}

// appendTo writes the code as unpacked septets.
func (c gsmCode) appendTo(dst []byte) []byte {
	if c&gsmExt != 0 {
		return append(dst, esc, byte(c&0x7F))
	}
	return append(dst, byte(c&0x7F))
}

// DecodeGSM7 reads unpacked GSM 7-bit septets (one per octet, as data_coding
// 0 carries them over SMPP) into text. It never fails: an escape followed by a
// code the extension table does not define shows the basic-table character
// (23.038 §6.2.1.1), an escape followed by another escape, or a lone escape
// at the end, shows as a space, and an octet with the high bit set (not a
// septet) becomes U+FFFD.
func DecodeGSM7(septets []byte) string {
	var b strings.Builder
	b.Grow(len(septets) + len(septets)/4)
	for i := 0; i < len(septets); i++ {
		c := septets[i]
		if c >= 0x80 {
			b.WriteRune(utf8.RuneError)
			continue
		}
		if c != esc {
			b.WriteRune(basicTable[c])
			continue
		}
		if i+1 == len(septets) {
			b.WriteByte(' ')
			continue
		}
		i++
		n := septets[i]
		switch {
		case n >= 0x80:
			b.WriteRune(utf8.RuneError)
		case n == esc:
			// Reserved for a further extension table: "display a space"
			// until one is defined.
			b.WriteByte(' ')
		case extTable[n] != 0:
			b.WriteRune(extTable[n])
		default:
			b.WriteRune(basicTable[n])
		}
	}
	return b.String()
}

// FillBits is the number of zero bits that follow a user data header of
// udhLen octets (the UDHL octet included) in packed 7-bit user data, so that
// the first character starts on a septet boundary (23.040 §9.2.3.24): a 6-octet
// header is 48 bits, one short of 49 = 7×7, so one fill bit; a 7-octet header is
// 56 = 8×7 bits, so none.
func FillBits(udhLen int) int {
	if udhLen <= 0 {
		return 0
	}
	return (7 - (udhLen*8)%7) % 7
}

// Pack packs unpacked septets into octets, least significant bit first
// (23.038 §6.1.2.1.1), as the user data that follows a header of udhLen octets
// (0 when there is none): the first septet starts after FillBits(udhLen) zero
// bits. The header itself is not part of the result.
//
// Per 23.038 §6.1.2.3.1, when the last octet would end in seven spare bits a CR
// fills them, so that a receiver does not read seven zero bits as '@'; and when
// the text ends in a CR exactly on an octet boundary a second CR is added, so
// that the receiver does not take the wanted CR for that padding. That section
// is written for USSD, whose length counts octets; a packed short_message is
// counted in octets too (sm_length), so it has the same ambiguity. Octets of
// septets above 0x7F lose their high bit.
func Pack(septets []byte, udhLen int) []byte {
	return appendPacked(nil, septets, FillBits(udhLen))
}

func appendPacked(dst, septets []byte, fill int) []byte {
	n := len(septets)
	if n == 0 {
		return dst
	}
	var pad int // extra CR septets, 0 or 1
	switch spare := (8 - (fill+7*n)%8) % 8; {
	case spare == 7:
		pad = 1
	case spare == 0 && septets[n-1]&0x7F == cr:
		pad = 1
	}
	bits := fill + 7*(n+pad)
	start := len(dst)
	dst = append(dst, make([]byte, (bits+7)/8)...)
	out := dst[start:]
	bit := fill
	put := func(s byte) {
		s &= 0x7F
		idx, off := bit/8, bit%8
		out[idx] |= s << off
		if off > 1 {
			out[idx+1] |= s >> (8 - off)
		}
		bit += 7
	}
	for _, s := range septets {
		put(s)
	}
	if pad == 1 {
		put(cr)
	}
	return dst
}

// Unpack is the inverse of Pack: it reads the packed user data that follows a
// header of udhLen octets into unpacked septets, skipping the fill bits. The
// septet count is whatever the octets hold; when the last septet is a CR that
// ends exactly on the last octet's boundary it is the padding of 23.038
// §6.1.2.3.1 and is dropped.
func Unpack(data []byte, udhLen int) []byte {
	fill := FillBits(udhLen)
	if 8*len(data) <= fill {
		return []byte{}
	}
	n := (8*len(data) - fill) / 7
	out := make([]byte, n)
	for i := range out {
		bit := fill + 7*i
		idx, off := bit/8, bit%8
		v := data[idx] >> off
		if off > 1 {
			v |= data[idx+1] << (8 - off)
		}
		out[i] = v & 0x7F
	}
	if n > 0 && out[n-1] == cr && (fill+7*n)%8 == 0 {
		out = out[:n-1]
	}
	return out
}
