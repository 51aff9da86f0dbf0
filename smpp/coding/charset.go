package coding

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeLatin1 reads ISO-8859-1 (data_coding 3): every octet is the code
// point of the same value.
func decodeLatin1(b []byte) string {
	var s strings.Builder
	s.Grow(len(b) + len(b)/2)
	for _, c := range b {
		s.WriteRune(rune(c))
	}
	return s.String()
}

// decodeASCII reads IA5 (data_coding 1, ITU-T T.50, which is ASCII); an octet
// with the high bit set is not IA5 and becomes U+FFFD.
func decodeASCII(b []byte) string {
	var s strings.Builder
	s.Grow(len(b))
	for _, c := range b {
		if c < 0x80 {
			s.WriteByte(c)
		} else {
			s.WriteRune(utf8.RuneError)
		}
	}
	return s.String()
}

// decodeUCS2 reads UTF-16BE (data_coding 8). Strictly the SMPP and 23.038
// name is UCS-2, but handsets and SMSCs send surrogate pairs for characters
// outside the BMP, so pairs are joined; an unpaired half and a trailing odd
// octet become U+FFFD.
func decodeUCS2(b []byte) string {
	var s strings.Builder
	s.Grow(len(b) + len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u := rune(b[i])<<8 | rune(b[i+1])
		if utf16.IsSurrogate(u) {
			if u < 0xDC00 && i+3 < len(b) {
				lo := rune(b[i+2])<<8 | rune(b[i+3])
				if r := utf16.DecodeRune(u, lo); r != utf8.RuneError {
					s.WriteRune(r)
					i += 2
					continue
				}
			}
			u = utf8.RuneError
		}
		s.WriteRune(u)
	}
	if len(b)%2 == 1 {
		s.WriteRune(utf8.RuneError)
	}
	return s.String()
}

// appendUCS2 writes r as UTF-16BE: one code unit, or a surrogate pair for a
// character outside the BMP.
func appendUCS2(dst []byte, r rune) []byte {
	if r >= 0x10000 {
		hi, lo := utf16.EncodeRune(r)
		return append(dst, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
	}
	return append(dst, byte(r>>8), byte(r))
}

// decodeCyrillic reads ISO-8859-5 (SMPP 3.4 §5.2.19 data_coding 6). The upper
// half is the Cyrillic block in order, except the soft hyphen (0xAD), the
// numero sign (0xF0) and the section sign (0xFD).
func decodeCyrillic(b []byte) string {
	var s strings.Builder
	s.Grow(2 * len(b))
	for _, c := range b {
		r := rune(c)
		switch {
		case c <= 0xA0, c == 0xAD:
			// Same as Latin-1.
		case c == 0xF0:
			r = '№'
		case c == 0xFD:
			r = '§'
		default:
			r = rune(c) - 0xA0 + 0x0400
		}
		s.WriteRune(r)
	}
	return s.String()
}

// decodeHebrew reads ISO-8859-8 (SMPP 3.4 §5.2.19 data_coding 7). Positions
// the standard leaves undefined become U+FFFD.
func decodeHebrew(b []byte) string {
	var s strings.Builder
	s.Grow(2 * len(b))
	for _, c := range b {
		r := rune(c)
		switch {
		case c <= 0xA0, c >= 0xA2 && c <= 0xBE && c != 0xAA && c != 0xBA:
			// Same as Latin-1.
		case c == 0xAA:
			r = '×'
		case c == 0xBA:
			r = '÷'
		case c == 0xDF:
			r = '‗'
		case c >= 0xE0 && c <= 0xFA:
			r = rune(c) - 0xE0 + 0x05D0 // alef .. tav
		case c == 0xFD:
			r = '\u200E' // left-to-right mark
		case c == 0xFE:
			r = '\u200F' // right-to-left mark
		default:
			r = utf8.RuneError
		}
		s.WriteRune(r)
	}
	return s.String()
}
