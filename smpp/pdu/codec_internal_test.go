package pdu

import "testing"

// TestMayOmitBody_MatchesBodyless keeps the two lists of responses whose
// body an error leaves out in step: mayOmitBody (decoding) and the types
// that implement bodyless (encoding).
func TestMayOmitBody_MatchesBodyless(t *testing.T) {
	for id := range uint32(0x200) {
		for _, cid := range []CommandID{CommandID(id), CommandID(id) | responseBit} {
			p := newBody(cid)
			if p == nil {
				if mayOmitBody(cid) {
					t.Errorf("mayOmitBody(%s) for an unknown id", cid)
				}
				continue
			}
			_, ok := p.(bodyless)
			if ok != mayOmitBody(cid) {
				t.Errorf("%s: implements bodyless %v, mayOmitBody %v", cid, ok, mayOmitBody(cid))
			}
		}
	}
}
