package coding_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/smpp/coding"
)

// unhex reads hex with optional spaces, for readable expected octets.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestDecodeGSM7(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"traps of the basic table", "00 02 24 40", "@$¤¡"},
		{"greek and accents", "10 12 13 1F 7F 09", "ΔΦΓÉàÇ"},
		{"line feed and carriage return", "41 0A 42 0D", "A\nB\r"},
		{"extension table", "1B 28 1B 29 1B 2F 1B 3C 1B 3D 1B 3E 1B 40 1B 14 1B 65 1B 0A", "{}\\[~]|^€\f"},
		{"escape escape shows a space", "41 1B 1B 42", "A B"},
		{"unknown escape falls back to the basic table", "1B 41 1B 00", "A@"},
		{"lone escape at the end shows a space", "41 1B", "A "},
		{"octet with the high bit is not a septet", "41 80 1B C1", "A\uFFFD\uFFFD"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := coding.DecodeGSM7(unhex(t, tt.in)); got != tt.want {
				t.Errorf("DecodeGSM7(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEncode_gsm7EveryCharacter(t *testing.T) {
	// Every defined code decodes to a character that encodes back to the
	// same code: the two directions share one table and must agree.
	for c := 0; c < 128; c++ {
		if c == 0x1B {
			continue
		}
		in := []byte{byte(c)}
		text := coding.DecodeGSM7(in)
		got, enc, err := coding.Encode(text, coding.GSM7)
		if err != nil || enc != coding.GSM7 || !bytes.Equal(got, in) {
			t.Errorf("code 0x%02X: %q encodes to % X, %v, %v", c, text, got, enc, err)
		}
	}
	for _, c := range []byte{0x0A, 0x14, 0x28, 0x29, 0x2F, 0x3C, 0x3D, 0x3E, 0x40, 0x65} {
		in := []byte{0x1B, c}
		text := coding.DecodeGSM7(in)
		got, _, err := coding.Encode(text, coding.GSM7)
		if err != nil || !bytes.Equal(got, in) {
			t.Errorf("extension 0x%02X: %q encodes to % X, %v", c, text, got, err)
		}
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		enc     coding.Encoding
		want    string
		wantEnc coding.Encoding
	}{
		{"gsm7 dollar and at", "$@¤¡", coding.GSM7, "02 00 24 40", coding.GSM7},
		{"gsm7 euro costs an escape", "5€", coding.GSM7, "35 1B 65", coding.GSM7},
		{"auto keeps gsm7 for accents in the alphabet", "é", coding.Auto, "05", coding.GSM7},
		{"auto falls back to ucs2", "ç", coding.Auto, "00 E7", coding.UCS2},
		{"latin1 e acute", "é", coding.Latin1, "E9", coding.Latin1},
		{"ucs2 surrogate pair", "a😀", coding.UCS2, "00 61 D8 3D DE 00", coding.UCS2},
		{"ucs2 literal replacement character is a character", "\uFFFD", coding.UCS2, "FF FD", coding.UCS2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, enc, err := coding.Encode(tt.text, tt.enc)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tt.want); !bytes.Equal(got, want) || enc != tt.wantEnc {
				t.Errorf("Encode(%q, %s) = % X, %s; want % X, %s", tt.text, tt.enc, got, enc, want, tt.wantEnc)
			}
		})
	}
}

func TestEncode_unencodable(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		enc     coding.Encoding
		char    rune
		pos     int
		invalid bool
		msg     string
	}{
		{"cyrillic in gsm7", "abc ж", coding.GSM7, 'ж', 5, false, `character 'ж' (U+0436) at position 5 cannot be encoded in gsm7`},
		{"c cedilla is not in gsm7", "ç", coding.GSM7, 'ç', 1, false, "U+00E7"},
		{"euro in latin1", "1 €", coding.Latin1, '€', 3, false, "latin1"},
		{"invalid utf-8", "ab\xffc", coding.UCS2, '\uFFFD', 3, true, "invalid UTF-8 at character 3"},
		{"invalid utf-8 under auto", "\xc3", coding.Auto, '\uFFFD', 1, true, "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := coding.Encode(tt.text, tt.enc)
			var ce *coding.CharError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *CharError", err)
			}
			if ce.Char != tt.char || ce.Pos != tt.pos || ce.Invalid != tt.invalid {
				t.Errorf("got %+v", *ce)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q lacks %q", err, tt.msg)
			}
		})
	}
}

func TestFillBits(t *testing.T) {
	// fill = (7 - (8n mod 7)) mod 7: the bits that bring the header to the
	// next septet boundary.
	for udh, want := range map[int]int{0: 0, 1: 6, 5: 2, 6: 1, 7: 0, 8: 6, 14: 0, -1: 0} {
		if got := coding.FillBits(udh); got != want {
			t.Errorf("FillBits(%d) = %d, want %d", udh, got, want)
		}
	}
}

func TestPack(t *testing.T) {
	tests := []struct {
		name    string
		septets string
		udh     int
		want    string
	}{
		// "hello" = 68 65 6C 6C 6F. Least significant bit first:
		// octet 0 = 'h' (7 bits) | bit 0 of 'e' << 7      = 68|80 = E8
		// octet 1 = 'e' >> 1 (6 bits) | bits 0-1 of 'l' << 6 = 32|00 = 32
		// octet 2 = 'l' >> 2 | bits 0-2 of 'l' << 5        = 1B|80 = 9B
		// octet 3 = 'l' >> 3 | bits 0-3 of 'o' << 4        = 0D|F0 = FD
		// octet 4 = 'o' >> 4                               = 06
		// 35 bits in 5 octets: 5 spare bits, no padding.
		{"hello", "hello", 0, "E8 32 9B FD 06"},
		// After a 6-octet header (48 bits) one fill bit brings the text to
		// bit 49 = 7×7, so every septet moves up one bit:
		// octet 0 = 'h' << 1 (bit 0 is the fill)           = D0
		// octet 1 = 'e' (bits 0-6) | bit 0 of 'l' << 7      = 65|00 = 65
		// octet 2 = 'l' >> 1 | bits 0-1 of 'l' << 6         = 36|00 = 36
		// octet 3 = 'l' >> 2 | bits 0-2 of 'o' << 5         = 1B|E0 = FB
		// octet 4 = 'o' >> 3                                = 0D
		{"hello after a 6-octet UDH", "hello", 6, "D0 65 36 FB 0D"},
		// A 7-octet header is 56 = 8×7 bits: no fill, same as no header.
		{"hello after a 7-octet UDH", "hello", 7, "E8 32 9B FD 06"},
		// Seven septets are 49 bits: 7 octets with 7 spare bits, which a
		// receiver would read as '@'; a CR fills them: last octet =
		// '7' >> 6 | CR << 1 = 00|1A.
		{"seven spare bits get a CR", "1234567", 0, "31 D9 8C 56 B3 DD 1A"},
		// Eight septets ending in CR end on an octet boundary: a second CR
		// follows so that the wanted one is not taken for padding.
		{"final CR on a boundary is doubled", "abcdefg\r", 0, "61 F1 98 5C 36 9F 1B 0D"},
		{"empty", "", 6, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := coding.Pack([]byte(tt.septets), tt.udh)
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("Pack = % X, want % X", got, want)
			}
			back := coding.Unpack(got, tt.udh)
			want := tt.septets
			if strings.HasSuffix(want, "\r") {
				want += "\r" // the doubled CR survives; 23.038 says CR CR shows as CR
			}
			if string(back) != want {
				t.Errorf("Unpack = %q, want %q", back, want)
			}
		})
	}
}

func TestUnpack_shortInput(t *testing.T) {
	if got := coding.Unpack(nil, 0); len(got) != 0 {
		t.Errorf("Unpack(nil) = %q", got)
	}
	// One octet after a 1-octet header holds 6 fill bits and no septet.
	if got := coding.Unpack([]byte{0xFF}, 1); len(got) != 0 {
		t.Errorf("Unpack(FF, 1) = %q", got)
	}
	// Seven zero bits in the last octet with no CR are an '@', kept.
	if got := coding.Unpack(unhex(t, "31 D9 8C 56 B3 DD 00"), 0); string(got) != "1234567\x00" {
		t.Errorf("Unpack = %q", got)
	}
}
