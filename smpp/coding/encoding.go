package coding

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Encoding is the alphabet a text is sent in.
type Encoding uint8

const (
	// Auto picks GSM7 when every character of the text is in the GSM 7-bit
	// default alphabet or its extension table, else UCS2.
	Auto Encoding = iota
	// GSM7 is the GSM 7-bit default alphabet (23.038 §6.2.1), data_coding 0.
	GSM7
	// Latin1 is ISO-8859-1, data_coding 3.
	Latin1
	// UCS2 is UTF-16BE with surrogate pairs, data_coding 8.
	UCS2
)

var encodingNames = [...]string{Auto: "auto", GSM7: "gsm7", Latin1: "latin1", UCS2: "ucs2"}

// String returns the word ParseEncoding reads; the same words name the
// encodings of the message file formats.
func (e Encoding) String() string {
	if int(e) < len(encodingNames) {
		return encodingNames[e]
	}
	return fmt.Sprintf("encoding(%d)", uint8(e))
}

// ParseEncoding reads "auto", "gsm7", "latin1" or "ucs2"; the empty string
// means auto.
func ParseEncoding(s string) (Encoding, error) {
	if s == "" {
		return Auto, nil
	}
	for i, n := range encodingNames {
		if n == s {
			return Encoding(i), nil
		}
	}
	return Auto, fmt.Errorf("coding: unknown encoding %q: want auto, gsm7, latin1 or ucs2", s)
}

// ErrNoFlash is returned for a flash (class 0) message in Latin-1: the
// data_coding values with a message class exist only for the GSM 7-bit, 8-bit
// data and UCS-2 alphabets (23.038 §4), so Latin-1 has no class 0 form.
var ErrNoFlash = errors.New("coding: latin1 has no flash (class 0) data_coding; use gsm7 or ucs2")

// DataCoding returns the SMPP data_coding octet for a concrete encoding
// (SMPP 3.4 §5.2.19): 0x00 GSM 7-bit, 0x03 Latin-1, 0x08 UCS-2. A flash
// message uses the 23.038 general data coding group with message class 0:
// 0x10 for GSM 7-bit and 0x18 for UCS-2.
func DataCoding(e Encoding, flash bool) (byte, error) {
	switch e {
	case GSM7:
		if flash {
			return 0x10, nil
		}
		return 0x00, nil
	case UCS2:
		if flash {
			return 0x18, nil
		}
		return 0x08, nil
	case Latin1:
		if flash {
			return 0, ErrNoFlash
		}
		return 0x03, nil
	}
	return 0, fmt.Errorf("coding: data_coding of %s: not a concrete encoding", e)
}

// CharError reports a character that the chosen encoding cannot carry, or a
// byte sequence that is not UTF-8. The text is never sent with a substitute.
type CharError struct {
	Char     rune     // the character; utf8.RuneError for invalid UTF-8
	Pos      int      // 1-based position in characters
	Encoding Encoding // the encoding that was asked for
	Invalid  bool     // the text is not valid UTF-8 at Pos
}

func (e *CharError) Error() string {
	if e.Invalid {
		return fmt.Sprintf("coding: invalid UTF-8 at character %d", e.Pos)
	}
	return fmt.Sprintf("coding: character %q (U+%04X) at position %d cannot be encoded in %s", e.Char, e.Char, e.Pos, e.Encoding)
}

// resolve checks that every character of text fits enc and returns the
// concrete encoding (Auto becomes GSM7 or UCS2) and the text's length in
// units of that encoding: septets, octets or UTF-16 code units. It reads the
// text once and does not allocate unless it fails.
func resolve(text string, enc Encoding) (Encoding, int, error) {
	switch enc {
	case Auto, GSM7:
		septets, pos := 0, 0
		for i, r := range text {
			pos++
			if r == utf8.RuneError && isInvalid(text, i) {
				return enc, 0, &CharError{Char: r, Pos: pos, Encoding: enc, Invalid: true}
			}
			c, ok := gsmLookup(r)
			if !ok {
				if enc == GSM7 {
					return enc, 0, &CharError{Char: r, Pos: pos, Encoding: enc}
				}
				return resolve(text, UCS2)
			}
			septets += c.septets()
		}
		return GSM7, septets, nil
	case Latin1:
		n := 0
		for i, r := range text {
			n++
			if r == utf8.RuneError && isInvalid(text, i) {
				return enc, 0, &CharError{Char: r, Pos: n, Encoding: enc, Invalid: true}
			}
			if r > 0xFF {
				return enc, 0, &CharError{Char: r, Pos: n, Encoding: enc}
			}
		}
		return Latin1, n, nil
	case UCS2:
		units, pos := 0, 0
		for i, r := range text {
			pos++
			if r == utf8.RuneError && isInvalid(text, i) {
				return enc, 0, &CharError{Char: r, Pos: pos, Encoding: enc, Invalid: true}
			}
			units += ucs2Units(r)
		}
		return UCS2, units, nil
	}
	return enc, 0, fmt.Errorf("coding: unknown encoding %s", enc)
}

// isInvalid tells a decoding error at byte i from a literal U+FFFD, which is
// three bytes long and a character like any other.
func isInvalid(text string, i int) bool {
	_, size := utf8.DecodeRuneInString(text[i:])
	return size == 1
}

func ucs2Units(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// units is the cost of r in enc, which must already have been checked to
// carry it.
func units(enc Encoding, r rune) int {
	switch enc {
	case GSM7:
		c, _ := gsmLookup(r)
		return c.septets()
	case UCS2:
		return ucs2Units(r)
	}
	return 1
}

// appendRune writes r in enc, which must already have been checked to carry
// it. GSM 7-bit is written unpacked.
func appendRune(dst []byte, enc Encoding, r rune) []byte {
	switch enc {
	case GSM7:
		c, _ := gsmLookup(r)
		return c.appendTo(dst)
	case UCS2:
		return appendUCS2(dst, r)
	}
	return append(dst, byte(r))
}

// Encode writes the whole text in enc (Auto resolved as documented there)
// and returns the octets and the concrete encoding used. GSM 7-bit comes out
// unpacked, one septet per octet, as SMPP data_coding 0 carries it; use Pack
// for the packed form. A character enc cannot carry is a *CharError.
func Encode(text string, enc Encoding) ([]byte, Encoding, error) {
	used, n, err := resolve(text, enc)
	if err != nil {
		return nil, enc, err
	}
	size := n
	if used == UCS2 {
		size = 2 * n
	}
	out := make([]byte, 0, size)
	for _, r := range text {
		out = appendRune(out, used, r)
	}
	return out, used, nil
}
