package coding_test

import (
	"errors"
	"testing"

	"github.com/smsagent/smsagent/smpp/coding"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		dc       byte
		data     string
		text     string
		encoding string
		reserved bool
	}{
		{"smsc default is gsm7 unpacked", 0x00, "00 01 02 1B 65", "@£$€", "gsm7", false},
		{"ia5", 0x01, "48 69 E9", "Hi\uFFFD", "ascii", false},
		{"8-bit binary", 0x02, "00 FF", "00ff", "binary", false},
		{"latin1", 0x03, "63 61 66 E9", "café", "latin1", false},
		{"smpp 8-bit binary 0x04", 0x04, "CA FE", "cafe", "binary", false},
		{"jis is shown as hex", 0x05, "24 22", "2422", "binary", false},
		// ISO-8859-5: П р и в е т = BF E0 D8 D2 D5 E2 (Cyrillic block at +0x360).
		{"cyrillic", 0x06, "BF E0 D8 D2 D5 E2 20 F0 FD", "Привет №§", "iso-8859-5", false},
		// ISO-8859-8: ש ל ו ם = F9 EC E5 ED; A1 is undefined.
		{"hebrew", 0x07, "F9 EC E5 ED AA A1", "שלום×\uFFFD", "iso-8859-8", false},
		{"ucs2 with a surrogate pair", 0x08, "00 48 D8 3D DE 00", "H😀", "ucs2", false},
		{"ucs2 lone high surrogate", 0x08, "D8 3D 00 41", "\uFFFDA", "ucs2", false},
		{"ucs2 lone low surrogate", 0x08, "DE 00 00 41", "\uFFFDA", "ucs2", false},
		{"ucs2 high surrogate at the end", 0x08, "00 41 D8 3D", "A\uFFFD", "ucs2", false},
		{"ucs2 odd length", 0x08, "00 41 00", "A\uFFFD", "ucs2", false},
		{"pictogram is shown as hex", 0x09, "01", "01", "binary", false},
		{"reserved 0x0B", 0x0B, "41", "41", "binary", true},
		{"reserved 0x0F", 0x0F, "41", "41", "binary", true},
		{"general group gsm7 class 0", 0x10, "48 69", "Hi", "gsm7", false},
		{"general group gsm7 class 3", 0x13, "48 69", "Hi", "gsm7", false},
		{"general group 8-bit", 0x15, "48 69", "4869", "binary", false},
		{"general group ucs2 class 0", 0x18, "04 36", "ж", "ucs2", false},
		{"general group reserved alphabet", 0x1C, "41", "41", "binary", true},
		{"compressed", 0x24, "41", "41", "binary", false},
		{"automatic deletion gsm7", 0x40, "48 69", "Hi", "gsm7", false},
		{"automatic deletion 8-bit", 0x44, "48", "48", "binary", false},
		{"automatic deletion ucs2", 0x48, "04 36", "ж", "ucs2", false},
		{"automatic deletion reserved alphabet", 0x4C, "41", "41", "binary", true},
		{"reserved group 0x80", 0x80, "41", "41", "binary", true},
		{"reserved group 0xBF", 0xBF, "41", "41", "binary", true},
		{"message waiting discard", 0xC0, "48 69", "Hi", "gsm7", false},
		{"message waiting store", 0xD8, "48 69", "Hi", "gsm7", false},
		{"message waiting store ucs2", 0xE0, "04 36", "ж", "ucs2", false},
		{"class group gsm7", 0xF0, "48 69", "Hi", "gsm7", false},
		{"class group gsm7 class 3", 0xF3, "48 69", "Hi", "gsm7", false},
		{"class group 8-bit", 0xF4, "48 69", "4869", "binary", false},
		{"class group 8-bit class 2", 0xF6, "00", "00", "binary", false},
		{"empty ucs2", 0x08, "", "", "ucs2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, enc, err := coding.Decode(tt.dc, unhex(t, tt.data))
			if text != tt.text || enc != tt.encoding {
				t.Errorf("Decode(0x%02X, %s) = %q, %q; want %q, %q", tt.dc, tt.data, text, enc, tt.text, tt.encoding)
			}
			if reserved := errors.Is(err, coding.ErrReservedDataCoding); reserved != tt.reserved || (err != nil && !reserved) {
				t.Errorf("err = %v, want reserved=%v", err, tt.reserved)
			}
		})
	}
}

func TestJoinDecode(t *testing.T) {
	tests := []struct {
		name  string
		dc    byte
		parts []string // "-" marks a missing part
		text  string
	}{
		{"escape cut between parts", 0x00, []string{"61 62 1B", "65 63"}, "ab€c"},
		{"surrogate pair cut between parts", 0x08, []string{"00 61 D8 3D", "DE 00 00 62"}, "a😀b"},
		{"surrogate pair cut mid-unit", 0x08, []string{"00 61 D8", "3D DE 00"}, "a😀"},
		{"gap: runs decode apart", 0x00, []string{"61 1B", "-", "28 62"}, "a (b"},
		{"leading gap", 0x00, []string{"-", "61"}, "a"},
		{"nothing arrived", 0x00, []string{"-", "-"}, ""},
		{"binary", 0x04, []string{"01", "02"}, "0102"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var parts [][]byte
			for _, p := range tt.parts {
				if p == "-" {
					parts = append(parts, nil)
				} else {
					parts = append(parts, unhex(t, p))
				}
			}
			text, _, err := coding.JoinDecode(tt.dc, parts)
			if err != nil || text != tt.text {
				t.Errorf("JoinDecode = %q, %v; want %q", text, err, tt.text)
			}
		})
	}
	if _, enc, err := coding.JoinDecode(0x0B, [][]byte{{0x41}, nil, {0x42}}); enc != "binary" || !errors.Is(err, coding.ErrReservedDataCoding) {
		t.Errorf("reserved: %q, %v", enc, err)
	}
}

func TestDataCoding(t *testing.T) {
	tests := []struct {
		enc   coding.Encoding
		flash bool
		want  byte
		err   error
	}{
		{coding.GSM7, false, 0x00, nil},
		{coding.GSM7, true, 0x10, nil},
		{coding.Latin1, false, 0x03, nil},
		{coding.Latin1, true, 0, coding.ErrNoFlash},
		{coding.UCS2, false, 0x08, nil},
		{coding.UCS2, true, 0x18, nil},
	}
	for _, tt := range tests {
		got, err := coding.DataCoding(tt.enc, tt.flash)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("DataCoding(%s, %v) = 0x%02X, %v", tt.enc, tt.flash, got, err)
		}
		if err != nil {
			continue
		}
		// What we send, we read back with the same alphabet.
		if _, name, _ := coding.Decode(got, nil); name != tt.enc.String() {
			t.Errorf("Decode reads 0x%02X as %s, want %s", got, name, tt.enc)
		}
	}
	if _, err := coding.DataCoding(coding.Auto, false); err == nil {
		t.Error("DataCoding(Auto) succeeded")
	}
}
