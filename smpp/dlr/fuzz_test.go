package dlr_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/smpp/dlr"
)

// validID is the id rule, written out again independently of the package.
func validID(id string) bool {
	if id == "" || len(id) > dlr.MaxIDLen {
		return false
	}
	for _, r := range id {
		if !strings.ContainsRune("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-.:", r) {
			return false
		}
	}
	return true
}

func FuzzParseText(f *testing.F) {
	f.Add("id:0123456789 sub:001 dlvrd:001 submit date:0610191018 done date:0610191023 stat:DELIVRD err:000 Text:Hello", byte(0x04), byte(0))
	f.Add("ID: 5 stat: ENROUTE", byte(0x20), byte(8))
	f.Add("sub: dlvrd:1 id:a:b.c-d_e", byte(0x44), byte(3))
	f.Add("id:"+strings.Repeat("7", 66), byte(0x04), byte(0))
	f.Add("submit_date:2611251815 donedate:20261125181542 id:x", byte(0x08), byte(0))
	f.Add("\x00i\x00d\x00:\x001", byte(0x04), byte(8))
	f.Fuzz(func(t *testing.T, s string, esm, dc byte) {
		txt, err := dlr.ParseText(s)
		switch {
		case err == nil && !validID(txt.ID):
			t.Fatalf("ParseText(%q) accepted id %q", s, txt.ID)
		case err != nil && !errors.Is(err, dlr.ErrNoID) && !errors.Is(err, dlr.ErrBadID):
			t.Fatalf("ParseText(%q): unexpected error %v", s, err)
		case err != nil && txt.ID != "":
			t.Fatalf("ParseText(%q) failed but returned id %q", s, txt.ID)
		}

		// The same octets as a whole PDU, with and without TLVs.
		in := dlr.Input{ESMClass: esm, DataCoding: dc, Message: []byte(s)}
		r, err := dlr.Parse(in, dlr.Options{})
		if err == nil {
			if !validID(r.ID) {
				t.Fatalf("Parse(%q) accepted id %q", s, r.ID)
			}
			if r.Status == 0 || (r.Status.Final() && r.Status != dlr.Delivered && r.Reason == "") {
				t.Fatalf("Parse(%q): status %v, reason %q", s, r.Status, r.Reason)
			}
		}
		in.TLVs = dlr.TLVs{ReceiptedMessageID: s, MessageState: esm, HasMessageState: true, NetworkErrorCode: []byte(s)}
		if r, err := dlr.Parse(in, dlr.Options{}); err == nil {
			if r.ID == "" || len(r.ID) > dlr.MaxIDLen {
				t.Fatalf("Parse with TLV id %q: id %q", s, r.ID)
			}
			if want, ok := dlr.StateStatus(esm); ok && r.Status != want {
				t.Fatalf("message_state %d gave %v, want %v", esm, r.Status, want)
			}
		}
	})
}

func FuzzCandidates(f *testing.F) {
	f.Add("33E95179", uint8(0))
	f.Add("870928761", uint8(4))
	f.Add("0972660181", uint8(3))
	f.Add("98765432109876543210", uint8(5))
	f.Add("-0x1_0", uint8(0))
	f.Fuzz(func(t *testing.T, id string, rule uint8) {
		r := dlr.Rule(rule % 6)
		cs := dlr.Candidates(id, r)
		key := dlr.Key(id)
		if key == "" {
			if cs != nil {
				t.Fatalf("Candidates(%q) = %q for an empty key", id, cs)
			}
			return
		}
		if dlr.Key(key) != key {
			t.Fatalf("Key is not idempotent: %q -> %q -> %q", id, key, dlr.Key(key))
		}
		if len(cs) == 0 || len(cs) > 3 {
			t.Fatalf("Candidates(%q, %s) = %q", id, r, cs)
		}
		if r != dlr.HexDec && r != dlr.DecHex && cs[0] != key {
			t.Fatalf("Candidates(%q, %s) = %q, want %q first", id, r, cs, key)
		}
		seen := map[string]bool{}
		for _, c := range cs {
			if seen[c] || dlr.Key(c) != c {
				t.Fatalf("Candidates(%q, %s) = %q: repeated or not canonical", id, r, cs)
			}
			seen[c] = true
		}
	})
}
