package coding_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/smpp/coding"
)

// wantPart is a part as the wire shows it: header octets in hex, then the
// text, written as the unpacked/UTF-16 octets the test expects.
type wantPart struct {
	hdr  string
	body []byte
}

func rep(s string, n int) []byte { return []byte(strings.Repeat(s, n)) }

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func ucs2(t *testing.T, s string) []byte {
	t.Helper()
	b, _, err := coding.Encode(s, coding.UCS2)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSplit(t *testing.T) {
	a := func(n int) []byte { return rep("a", n) }
	tests := []struct {
		name  string
		text  string
		o     coding.Options
		plan  coding.Plan
		parts []wantPart
	}{
		{
			name:  "160 gsm characters fit one part",
			text:  strings.Repeat("a", 160),
			plan:  coding.Plan{Encoding: coding.GSM7, DataCoding: 0x00, Units: 160, Parts: 1},
			parts: []wantPart{{"", a(160)}},
		},
		{
			name: "161 gsm characters need two parts of 153 with the 8-bit header",
			text: strings.Repeat("a", 161),
			o:    coding.Options{Ref: 0x1234},
			plan: coding.Plan{Encoding: coding.GSM7, Units: 161, Parts: 2},
			parts: []wantPart{
				{"05 00 03 34 02 01", a(153)},
				{"05 00 03 34 02 02", a(8)},
			},
		},
		{
			name:  "extension character counts two septets",
			text:  strings.Repeat("a", 140) + "{",
			plan:  coding.Plan{Encoding: coding.GSM7, Units: 142, Parts: 1},
			parts: []wantPart{{"", cat(a(140), []byte{0x1B, 0x28})}},
		},
		{
			// Septets 1-152 are 'a'; the euro sign would be septets 153
			// and 154, so it opens part 2 whole.
			name: "escape pair never straddles parts",
			text: strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10),
			o:    coding.Options{Ref: 7},
			plan: coding.Plan{Encoding: coding.GSM7, Units: 164, Parts: 2},
			parts: []wantPart{
				{"05 00 03 07 02 01", a(152)},
				{"05 00 03 07 02 02", cat([]byte{0x1B, 0x65}, rep("b", 10))},
			},
		},
		{
			name: "16-bit reference: 152 septets per part",
			text: strings.Repeat("a", 161),
			o:    coding.Options{Method: coding.SplitUDH16, Ref: 0x1234},
			plan: coding.Plan{Encoding: coding.GSM7, Units: 161, Parts: 2},
			parts: []wantPart{
				{"06 08 04 12 34 02 01", a(152)},
				{"06 08 04 12 34 02 02", a(9)},
			},
		},
		{
			name:  "latin1 e acute is E9",
			text:  "café",
			o:     coding.Options{Encoding: coding.Latin1},
			plan:  coding.Plan{Encoding: coding.Latin1, DataCoding: 0x03, Units: 4, Parts: 1},
			parts: []wantPart{{"", []byte("caf\xe9")}},
		},
		{
			name: "latin1 splits at 134 octets",
			text: strings.Repeat("é", 141),
			o:    coding.Options{Encoding: coding.Latin1, Ref: 1},
			plan: coding.Plan{Encoding: coding.Latin1, DataCoding: 0x03, Units: 141, Parts: 2},
			parts: []wantPart{
				{"05 00 03 01 02 01", rep("\xe9", 134)},
				{"05 00 03 01 02 02", rep("\xe9", 7)},
			},
		},
		{
			name: "latin1 splits at 133 octets with the 16-bit header",
			text: strings.Repeat("x", 141),
			o:    coding.Options{Encoding: coding.Latin1, Method: coding.SplitUDH16, Ref: 0x0102},
			plan: coding.Plan{Encoding: coding.Latin1, DataCoding: 0x03, Units: 141, Parts: 2},
			parts: []wantPart{
				{"06 08 04 01 02 02 01", rep("x", 133)},
				{"06 08 04 01 02 02 02", rep("x", 8)},
			},
		},
		{
			// Units 1-66 are 'a'; the emoji is units 67-68, which part 1
			// (67 units) cannot hold whole.
			name: "surrogate pair never straddles parts",
			text: strings.Repeat("a", 66) + "😀" + "bbbbb",
			o:    coding.Options{Ref: 9},
			plan: coding.Plan{Encoding: coding.UCS2, DataCoding: 0x08, Units: 73, Parts: 2},
			parts: []wantPart{
				{"05 00 03 09 02 01", cat(bytes.Repeat([]byte{0, 'a'}, 66))},
				{"05 00 03 09 02 02", cat([]byte{0xD8, 0x3D, 0xDE, 0x00}, bytes.Repeat([]byte{0, 'b'}, 5))},
			},
		},
		{
			name: "ucs2 with the 16-bit header holds 66 units",
			text: strings.Repeat("ж", 71),
			o:    coding.Options{Method: coding.SplitUDH16, Ref: 0xABCD},
			plan: coding.Plan{Encoding: coding.UCS2, DataCoding: 0x08, Units: 71, Parts: 2},
			parts: []wantPart{
				{"06 08 04 AB CD 02 01", bytes.Repeat([]byte{0x04, 0x36}, 66)},
				{"06 08 04 AB CD 02 02", bytes.Repeat([]byte{0x04, 0x36}, 5)},
			},
		},
		{
			name:  "70 ucs2 units fit one part",
			text:  strings.Repeat("ж", 70),
			plan:  coding.Plan{Encoding: coding.UCS2, DataCoding: 0x08, Units: 70, Parts: 1},
			parts: []wantPart{{"", bytes.Repeat([]byte{0x04, 0x36}, 70)}},
		},
		{
			name:  "flash gsm is class 0",
			text:  "hi",
			o:     coding.Options{Flash: true},
			plan:  coding.Plan{Encoding: coding.GSM7, DataCoding: 0x10, Units: 2, Parts: 1},
			parts: []wantPart{{"", []byte("hi")}},
		},
		{
			name:  "flash ucs2 is class 0",
			text:  "ж",
			o:     coding.Options{Flash: true},
			plan:  coding.Plan{Encoding: coding.UCS2, DataCoding: 0x18, Units: 1, Parts: 1},
			parts: []wantPart{{"", []byte{0x04, 0x36}}},
		},
		{
			name: "plain parts of 160 without header",
			text: strings.Repeat("a", 161),
			o:    coding.Options{Method: coding.SplitPlain, Ref: 5},
			plan: coding.Plan{Encoding: coding.GSM7, Units: 161, Parts: 2},
			parts: []wantPart{
				{"", a(160)},
				{"", a(1)},
			},
		},
		{
			name: "numbered prefix counts against the capacity",
			text: strings.Repeat("a", 161),
			o:    coding.Options{Method: coding.SplitNumbered},
			plan: coding.Plan{Encoding: coding.GSM7, Units: 161, Parts: 2},
			parts: []wantPart{
				{"", cat([]byte("1/2 "), a(156))},
				{"", cat([]byte("2/2 "), a(5))},
			},
		},
		{
			name: "numbered ucs2 prefix is ucs2",
			text: strings.Repeat("ж", 71),
			o:    coding.Options{Method: coding.SplitNumbered},
			plan: coding.Plan{Encoding: coding.UCS2, DataCoding: 0x08, Units: 71, Parts: 2},
			parts: []wantPart{
				{"", cat(ucs2(t, "1/2 "), bytes.Repeat([]byte{0x04, 0x36}, 66))},
				{"", cat(ucs2(t, "2/2 "), bytes.Repeat([]byte{0x04, 0x36}, 5))},
			},
		},
		{
			name:  "numbered text that fits one SMS carries no prefix",
			text:  strings.Repeat("a", 160),
			o:     coding.Options{Method: coding.SplitNumbered},
			plan:  coding.Plan{Encoding: coding.GSM7, Units: 160, Parts: 1},
			parts: []wantPart{{"", a(160)}},
		},
		{
			name: "sar parts carry no header and hold 153",
			text: strings.Repeat("a", 161),
			o:    coding.Options{Method: coding.SplitSAR, Ref: 0x1234},
			plan: coding.Plan{Encoding: coding.GSM7, Units: 161, Parts: 2},
			parts: []wantPart{
				{"", a(153)},
				{"", a(8)},
			},
		},
		{
			name:  "payload is one part",
			text:  strings.Repeat("a", 1000),
			o:     coding.Options{Method: coding.SplitPayload},
			plan:  coding.Plan{Encoding: coding.GSM7, Units: 1000, Parts: 1},
			parts: []wantPart{{"", a(1000)}},
		},
		{
			// A WAP push port header (16-bit ports 0B84, 23F0) is 7 octets.
			name:  "explicit UDH is prepended and reduces the capacity",
			text:  strings.Repeat("a", 152),
			o:     coding.Options{UDH: unhex(t, "06 05 04 0B 84 23 F0")},
			plan:  coding.Plan{Encoding: coding.GSM7, Units: 152, Parts: 1},
			parts: []wantPart{{"06 05 04 0B 84 23 F0", a(152)}},
		},
		{
			name:  "explicit UDH with ucs2",
			text:  strings.Repeat("ж", 66),
			o:     coding.Options{UDH: unhex(t, "06 05 04 0B 84 23 F0")},
			plan:  coding.Plan{Encoding: coding.UCS2, DataCoding: 0x08, Units: 66, Parts: 1},
			parts: []wantPart{{"06 05 04 0B 84 23 F0", bytes.Repeat([]byte{0x04, 0x36}, 66)}},
		},
		{
			name:  "explicit UDH with an empty text",
			text:  "",
			o:     coding.Options{UDH: unhex(t, "02 70 00")},
			plan:  coding.Plan{Encoding: coding.GSM7, Parts: 1},
			parts: []wantPart{{"02 70 00", nil}},
		},
		{
			name:  "explicit UDH in message_payload",
			text:  strings.Repeat("a", 500),
			o:     coding.Options{Method: coding.SplitPayload, UDH: unhex(t, "06 05 04 0B 84 23 F0")},
			plan:  coding.Plan{Encoding: coding.GSM7, Units: 500, Parts: 1},
			parts: []wantPart{{"06 05 04 0B 84 23 F0", a(500)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, parts, err := coding.Split(tt.text, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if plan != tt.plan {
				t.Errorf("plan = %+v, want %+v", plan, tt.plan)
			}
			if counted, err := coding.Count(tt.text, tt.o); err != nil || counted != plan {
				t.Errorf("Count = %+v, %v; Split planned %+v", counted, err, plan)
			}
			if len(parts) != len(tt.parts) {
				t.Fatalf("%d parts, want %d", len(parts), len(tt.parts))
			}
			for i, p := range parts {
				hdr := unhex(t, tt.parts[i].hdr)
				want := cat(hdr, tt.parts[i].body)
				if !bytes.Equal(p.Message, want) {
					t.Errorf("part %d:\n got % X\nwant % X", i+1, p.Message, want)
				}
				if p.Seq != i+1 || p.Total != len(tt.parts) {
					t.Errorf("part %d: seq %d/%d", i+1, p.Seq, p.Total)
				}
				if p.UDHI != (len(hdr) > 0) {
					t.Errorf("part %d: UDHI %v with header % X", i+1, p.UDHI, hdr)
				}
				sar := tt.o.Method == coding.SplitSAR && len(parts) > 1
				if p.SAR != sar {
					t.Errorf("part %d: SAR %v, want %v", i+1, p.SAR, sar)
				}
			}
		})
	}
}

func TestSplit_refs(t *testing.T) {
	text := strings.Repeat("a", 200)
	tests := []struct {
		method coding.Method
		ref    uint16
		want   uint16
	}{
		{coding.SplitUDH8, 0x1234, 0x34}, // the header has one octet for it
		{coding.SplitUDH16, 0x1234, 0x1234},
		{coding.SplitSAR, 0x1234, 0x1234},
		{coding.SplitPlain, 0x1234, 0},
		{coding.SplitNumbered, 0x1234, 0},
	}
	for _, tt := range tests {
		_, parts, err := coding.Split(text, coding.Options{Method: tt.method, Ref: tt.ref})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			if p.Ref != tt.want {
				t.Errorf("%s: part %d Ref = %#x, want %#x", tt.method, p.Seq, p.Ref, tt.want)
			}
		}
	}
	// A single part is not concatenated and carries no reference.
	_, parts, _ := coding.Split("short", coding.Options{Method: coding.SplitSAR, Ref: 3})
	if p := parts[0]; p.Ref != 0 || p.SAR || p.UDHI {
		t.Errorf("single SAR part = %+v", p)
	}
}

func TestSplit_numberedAcrossDigitBoundary(t *testing.T) {
	// Nine parts of "n/9 " hold 9×156 = 1404 septets. One more makes ten
	// parts, and "n/10 " takes one more septet from every part:
	// 9×155 + the last part's "10/10 " leaves 154; 1395 + 10 fits.
	text := strings.Repeat("a", 1405)
	plan, parts, err := coding.Split(text, coding.Options{Method: coding.SplitNumbered})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Parts != 10 || len(parts) != 10 {
		t.Fatalf("parts = %d/%d, want 10", plan.Parts, len(parts))
	}
	if got := string(parts[0].Message); got != "1/10 "+strings.Repeat("a", 155) {
		t.Errorf("part 1 = %q", got)
	}
	if got := string(parts[9].Message); got != "10/10 "+strings.Repeat("a", 10) {
		t.Errorf("part 10 = %q", got)
	}
}

func TestSplit_packed(t *testing.T) {
	text := strings.Repeat("a", 153) + "hellohello"
	_, parts, err := coding.Split(text, coding.Options{Packed: true, Ref: 0x42})
	if err != nil {
		t.Fatal(err)
	}
	// 6 header octets + 1 fill bit + 153×7 bits = 1120 bits: exactly the 140
	// octets of an SMS.
	want1 := cat(unhex(t, "05 00 03 42 02 01"), coding.Pack(rep("a", 153), 6))
	if len(parts[0].Message) != 140 || !bytes.Equal(parts[0].Message, want1) {
		t.Errorf("part 1 (%d octets) = % X", len(parts[0].Message), parts[0].Message)
	}
	// "hellohello" after the 6-octet header with its fill bit. The first four
	// octets are those of "hello" in TestPack; octet 4 holds bits 3-6 of 'o'
	// (1,0,1,1 = 0x0D) and bits 0-3 of the second 'h' (0,0,0,1 << 4 = 0x80).
	// 1 + 70 bits leave one spare bit: no CR.
	want2 := unhex(t, "05 00 03 42 02 02 D0 65 36 FB 8D 2E B3 D9 6F")
	if !bytes.Equal(parts[1].Message, want2) {
		t.Errorf("part 2 = % X, want % X", parts[1].Message, want2)
	}
	// Packing leaves UCS-2 alone.
	_, parts, err = coding.Split("ж", coding.Options{Packed: true})
	if err != nil || !bytes.Equal(parts[0].Message, []byte{0x04, 0x36}) {
		t.Errorf("packed ucs2 = % X, %v", parts[0].Message, err)
	}
}

func TestSplit_packedFinalCR(t *testing.T) {
	// 159 'a' and a CR are 160 septets: 1120 bits, exactly 140 octets. A
	// final CR on an octet boundary must be followed by a second CR (23.038
	// §6.1.2.3.1), which would make 141 octets, so the CR opens part 2.
	text := strings.Repeat("a", 159) + "\r"
	_, parts, err := coding.Split(text, coding.Options{Packed: true, Ref: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || len(parts[0].Message) != 140 {
		t.Fatalf("%d parts, first of %d octets", len(parts), len(parts[0].Message))
	}
	// Part 2 is "aaaaaa\r" after the header and its fill bit: 1 + 49 = 50
	// bits in 7 octets, 6 spare bits, so no padding.
	want2 := cat(unhex(t, "05 00 03 01 02 02"), coding.Pack([]byte("aaaaaa\r"), 6))
	if !bytes.Equal(parts[1].Message, want2) || len(want2) != 13 {
		t.Errorf("part 2 = % X, want % X", parts[1].Message, want2)
	}
	// Unpacked, the same text is one part of 160 septets.
	if p, err := coding.Count(text, coding.Options{}); err != nil || p.Parts != 1 {
		t.Errorf("unpacked Count = %+v, %v", p, err)
	}
	// One septet less leaves 7 spare bits, which the CR padding fills: still
	// 140 octets in one part.
	_, parts, err = coding.Split(strings.Repeat("a", 158)+"\r", coding.Options{Packed: true})
	if err != nil || len(parts) != 1 || len(parts[0].Message) != 140 {
		t.Fatalf("158+CR: %d parts, %v", len(parts), err)
	}
	if got := coding.Unpack(parts[0].Message, 0); string(got) != strings.Repeat("a", 158)+"\r" {
		t.Errorf("158+CR unpacks to %q", got)
	}
	// Without splitting, the error names the cause.
	_, _, err = coding.Split(text, coding.Options{Packed: true, Method: coding.SplitNone})
	if !errors.Is(err, coding.ErrTooLong) || !strings.Contains(err.Error(), "second CR") {
		t.Errorf("SplitNone: err = %v", err)
	}
}

func TestSplit_errors(t *testing.T) {
	tests := []struct {
		name string
		text string
		o    coding.Options
		is   error
		msg  string
	}{
		{"none refuses a second part", strings.Repeat("a", 161), coding.Options{Method: coding.SplitNone}, coding.ErrTooLong, "161 units, one SMS holds 160"},
		{"payload limit", strings.Repeat("a", coding.MaxPayload+1), coding.Options{Method: coding.SplitPayload}, coding.ErrTooLong, "message_payload holds 65535"},
		{"explicit UDH allows one part", strings.Repeat("a", 154), coding.Options{UDH: unhex(t, "05 00 03 01 02 01")}, coding.ErrTooLong, "6-octet header holds 153"},
		{"more than 255 parts", strings.Repeat("a", 153*255+1), coding.Options{}, coding.ErrTooLong, "need 256 parts"},
		{"latin1 has no flash", "hi", coding.Options{Encoding: coding.Latin1, Flash: true}, coding.ErrNoFlash, "flash"},
		{"UDH shorter than its UDHL", "hi", coding.Options{UDH: unhex(t, "05 00 03 01")}, coding.ErrUDH, "UDHL 5"},
		{"UDH longer than its UDHL", "hi", coding.Options{UDH: unhex(t, "03 24 01 01 99")}, coding.ErrUDH, "UDHL 3 but 5 octets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, parts, err := coding.Split(tt.text, tt.o)
			if !errors.Is(err, tt.is) || !strings.Contains(fmt.Sprint(err), tt.msg) {
				t.Fatalf("err = %v, want %v with %q", err, tt.is, tt.msg)
			}
			if parts != nil || plan.Parts != 0 {
				t.Errorf("failed split returned %d parts, plan %+v", len(parts), plan)
			}
			if _, cerr := coding.Count(tt.text, tt.o); !errors.Is(cerr, tt.is) {
				t.Errorf("Count err = %v, Split err = %v", cerr, err)
			}
		})
	}
	_, _, err := coding.Split("ж", coding.Options{Encoding: coding.GSM7})
	var ce *coding.CharError
	if !errors.As(err, &ce) || ce.Char != 'ж' {
		t.Errorf("gsm7 cyrillic: err = %v", err)
	}
}

func TestSplit_reproducible(t *testing.T) {
	text := strings.Repeat("Grüße {x} 😀 ", 30)
	for _, m := range []coding.Method{coding.SplitUDH8, coding.SplitUDH16, coding.SplitSAR, coding.SplitNumbered} {
		_, a, err := coding.Split(text, coding.Options{Method: m, Ref: 77})
		if err != nil {
			t.Fatal(err)
		}
		_, b, _ := coding.Split(text, coding.Options{Method: m, Ref: 77})
		if len(a) != len(b) {
			t.Fatalf("%s: %d vs %d parts", m, len(a), len(b))
		}
		for i := range a {
			if !bytes.Equal(a[i].Message, b[i].Message) {
				t.Errorf("%s part %d differs between two splits", m, i+1)
			}
		}
	}
}

func TestCount_doesNotAllocate(t *testing.T) {
	long := strings.Repeat("Grüße {x} ", 100)
	for _, o := range []coding.Options{{}, {Method: coding.SplitNumbered}, {Encoding: coding.UCS2}} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := coding.Count(long, o); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Count with %+v allocates %.0f times", o, allocs)
		}
	}
}

func TestParseMethod(t *testing.T) {
	for _, m := range []coding.Method{coding.SplitUDH8, coding.SplitUDH16, coding.SplitSAR, coding.SplitPayload, coding.SplitPlain, coding.SplitNumbered, coding.SplitNone} {
		got, err := coding.ParseMethod(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMethod(%q) = %v, %v", m, got, err)
		}
	}
	if m, err := coding.ParseMethod("udh8"); err != nil || m != coding.SplitUDH8 {
		t.Errorf("udh8 = %v, %v", m, err)
	}
	if _, err := coding.ParseMethod("UDH"); err == nil {
		t.Error("ParseMethod is case-sensitive like the rest of the configuration")
	}
}

func TestParseEncoding(t *testing.T) {
	for in, want := range map[string]coding.Encoding{"": coding.Auto, "auto": coding.Auto, "gsm7": coding.GSM7, "latin1": coding.Latin1, "ucs2": coding.UCS2} {
		if got, err := coding.ParseEncoding(in); err != nil || got != want {
			t.Errorf("ParseEncoding(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := coding.ParseEncoding("utf8"); err == nil {
		t.Error("utf8 accepted")
	}
}
