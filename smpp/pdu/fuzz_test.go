package pdu_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// FuzzDecode feeds arbitrary octets to Decode and the Reader. Nothing may
// panic; every failure must be a typed error with a sensible answer; and
// whatever decodes must encode and decode again to the same value.
func FuzzDecode(f *testing.F) {
	for _, frame := range goldenFrames(f) {
		f.Add(frame)
	}
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	f.Add([]byte{0x16, 0x03, 0x01, 0x00, 0xA5, 0x01})
	f.Add(frameHex(f, "00000000 00000004 00000000 00000001 00 0000 00 0000 00 000000 00 00 00000000 FF"))
	f.Add(frameHex(f, "00000000 00000005 00000000 00000001 00 0000 00 0000 00 040000 00 00 00000000 00 0427 0001 02 001E 0004 414243"))

	f.Fuzz(func(t *testing.T, data []byte) {
		// The Reader over the same octets: frames or a clean error.
		r := pdu.NewReader(bytes.NewReader(data), 4096)
		for {
			frame, err := r.ReadFrame()
			if err != nil {
				break
			}
			if len(frame) < pdu.HeaderLen || len(frame) > 4096 {
				t.Fatalf("ReadFrame returned %d octets", len(frame))
			}
		}

		// Decode with command_length made to match, so that mutations
		// reach the body instead of failing the length check (which the
		// unit tests cover).
		if len(data) >= 4 {
			data = setLength(bytes.Clone(data))
		}
		h, p, err := pdu.Decode(data)
		if err != nil {
			var de *pdu.DecodeError
			if errors.As(err, &de) {
				if reply, ok := de.AppendReply(nil); ok && len(reply) != pdu.HeaderLen {
					t.Fatalf("reply of %d octets", len(reply))
				}
				if de.Action() == pdu.ActionRespond && !de.Header.ID.ExpectsResponse() {
					t.Fatalf("respond to %s, which has no response", de.Header.ID)
				}
			} else if len(data) >= pdu.HeaderLen {
				t.Fatalf("untyped error for a frame with a header: %v", err)
			}
			return
		}
		for _, alias := range []bool{false, true} {
			_, pa, err := pdu.Decoder{AliasBytes: alias}.Decode(data)
			if err != nil || !reflect.DeepEqual(pa, p) {
				t.Fatalf("alias %v decodes differently: %#v, %v", alias, pa, err)
			}
		}
		again, err := pdu.Encode(p, h.Status, h.Sequence)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", p, err)
		}
		h2, p2, err := pdu.Decode(again)
		if err != nil {
			t.Fatalf("re-encoded %X does not decode: %v", again, err)
		}
		if h2.ID != h.ID || h2.Status != h.Status || h2.Sequence != h.Sequence {
			t.Fatalf("header %+v became %+v", h, h2)
		}
		if !reflect.DeepEqual(p2, p) {
			t.Fatalf("value changed:\n%#v\n%#v", p, p2)
		}
	})
}
