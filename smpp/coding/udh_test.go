package coding_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smsagent/smsagent/smpp/coding"
)

func TestParseUDH(t *testing.T) {
	tests := []struct {
		name   string
		msg    string
		ies    []coding.IE
		rest   string
		concat coding.Concat
		ok     bool
	}{
		{
			name:   "8-bit reference",
			msg:    "05 00 03 CC 03 02 41 42",
			ies:    []coding.IE{{ID: 0x00, Data: []byte{0xCC, 0x03, 0x02}}},
			rest:   "41 42",
			concat: coding.Concat{Kind: coding.Ref8, Ref: 0xCC, Total: 3, Seq: 2},
			ok:     true,
		},
		{
			name:   "16-bit reference",
			msg:    "06 08 04 12 34 02 01 41",
			ies:    []coding.IE{{ID: 0x08, Data: []byte{0x12, 0x34, 0x02, 0x01}}},
			rest:   "41",
			concat: coding.Concat{Kind: coding.Ref16, Ref: 0x1234, Total: 2, Seq: 1},
			ok:     true,
		},
		{
			name: "ports and national language kept beside the concatenation",
			msg:  "0E 05 04 0B 84 23 F0 25 01 01 00 03 07 02 02 41",
			ies: []coding.IE{
				{ID: coding.IEIPort16, Data: []byte{0x0B, 0x84, 0x23, 0xF0}},
				{ID: coding.IEILockingShift, Data: []byte{0x01}},
				{ID: coding.IEIConcat8, Data: []byte{0x07, 0x02, 0x02}},
			},
			rest:   "41",
			concat: coding.Concat{Kind: coding.Ref8, Ref: 7, Total: 2, Seq: 2},
			ok:     true,
		},
		{
			name: "last concatenation element wins",
			msg:  "0A 00 03 01 02 01 00 03 09 03 03",
			ies: []coding.IE{
				{ID: 0x00, Data: []byte{0x01, 0x02, 0x01}},
				{ID: 0x00, Data: []byte{0x09, 0x03, 0x03}},
			},
			concat: coding.Concat{Kind: coding.Ref8, Ref: 9, Total: 3, Seq: 3},
			ok:     true,
		},
		{
			name: "concatenation element of the wrong length is ignored",
			msg:  "04 00 02 01 02",
			ies:  []coding.IE{{ID: 0x00, Data: []byte{0x01, 0x02}}},
		},
		{
			name: "empty header",
			msg:  "00 41",
			rest: "41",
		},
		{
			name: "empty element",
			msg:  "02 70 00",
			ies:  []coding.IE{{ID: 0x70, Data: []byte{}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := unhex(t, tt.msg)
			h, rest, err := coding.ParseUDH(msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != len(tt.ies) {
				t.Fatalf("%d elements, want %d: %+v", len(h), len(tt.ies), h)
			}
			for i, ie := range h {
				if ie.ID != tt.ies[i].ID || !bytes.Equal(ie.Data, tt.ies[i].Data) {
					t.Errorf("element %d = %+v, want %+v", i, ie, tt.ies[i])
				}
			}
			if !bytes.Equal(rest, unhex(t, tt.rest)) {
				t.Errorf("rest = % X, want %s", rest, tt.rest)
			}
			c, ok := h.Concat()
			if ok != tt.ok || c != tt.concat {
				t.Errorf("Concat = %+v, %v; want %+v, %v", c, ok, tt.concat, tt.ok)
			}
			// Writing the parsed header back gives the original octets.
			out, err := h.AppendTo(nil)
			if err != nil || !bytes.Equal(out, msg[:len(msg)-len(rest)]) || h.Len() != len(out) {
				t.Errorf("AppendTo = % X (Len %d), %v", out, h.Len(), err)
			}
		})
	}
}

func TestParseUDH_malformed(t *testing.T) {
	for name, msg := range map[string]string{
		"empty":                      "",
		"UDHL beyond the data":       "05 00 03 01",
		"element header cut":         "01 00",
		"element overruns UDHL":      "04 00 03 01 02 03",
		"element length beyond data": "03 00 05 01",
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := coding.ParseUDH(unhex(t, msg)); !errors.Is(err, coding.ErrUDH) {
				t.Errorf("ParseUDH(%s) err = %v, want ErrUDH", msg, err)
			}
		})
	}
}

func TestConcat_Valid(t *testing.T) {
	for c, want := range map[coding.Concat]bool{
		{Total: 3, Seq: 1}: true,
		{Total: 3, Seq: 3}: true,
		{Total: 1, Seq: 1}: true,
		{Total: 3, Seq: 0}: false,
		{Total: 3, Seq: 4}: false,
		{Total: 0, Seq: 0}: false,
	} {
		if got := c.Valid(); got != want {
			t.Errorf("%+v.Valid() = %v", c, got)
		}
	}
}

func TestSplit_partsParseBack(t *testing.T) {
	// The headers Split writes are ones ParseUDH reads as the same
	// concatenation.
	for _, m := range []coding.Method{coding.SplitUDH8, coding.SplitUDH16} {
		_, parts, err := coding.Split(string(rep("x", 400)), coding.Options{Method: m, Ref: 0x0A0B})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			h, _, err := coding.ParseUDH(p.Message)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := h.Concat()
			want := coding.Concat{Kind: coding.Ref8, Ref: 0x0B, Total: 3, Seq: p.Seq}
			if m == coding.SplitUDH16 {
				want = coding.Concat{Kind: coding.Ref16, Ref: 0x0A0B, Total: 3, Seq: p.Seq}
			}
			if !ok || c != want {
				t.Errorf("%s part %d: Concat = %+v, want %+v", m, p.Seq, c, want)
			}
		}
	}
}
