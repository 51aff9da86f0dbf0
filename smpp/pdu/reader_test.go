package pdu_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// TestReader_ReadFrame reads every golden PDU from one stream that hands
// out a single octet per Read, and checks each frame and the clean EOF.
func TestReader_ReadFrame(t *testing.T) {
	frames := goldenFrames(t)
	var stream []byte
	for _, g := range goldens() {
		stream = append(stream, frames[g.name]...)
	}
	r := pdu.NewReader(oneByteReader{bytes.NewReader(stream)}, 0)
	for _, g := range goldens() {
		frame, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		if !bytes.Equal(frame, frames[g.name]) {
			t.Fatalf("%s: frame %X, want %X", g.name, frame, frames[g.name])
		}
		h, p, err := pdu.Decode(frame)
		if err != nil || h.Sequence != g.seq || !reflect.DeepEqual(p, g.p) {
			t.Fatalf("%s: decoded %+v %#v %v", g.name, h, p, err)
		}
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Errorf("after the last frame: err = %v, want io.EOF", err)
	}
}

// TestReader_ReusesBuffer checks that frames share one buffer once it is
// large enough: a frame is only valid until the next ReadFrame.
func TestReader_ReusesBuffer(t *testing.T) {
	a, _ := pdu.Encode(&pdu.SubmitSMResp{MessageID: "first"}, 0, 1)
	b, _ := pdu.Encode(&pdu.SubmitSMResp{MessageID: "second"}, 0, 2)
	r := pdu.NewReader(bytes.NewReader(append(a, b...)), 0)
	f1, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	f2, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if &f1[0] != &f2[0] {
		t.Error("second frame got a new buffer")
	}
	if !bytes.Equal(f2, b) {
		t.Errorf("second frame %X, want %X", f2, b)
	}
}

// TestReader_MaxLength checks the limit is inclusive and that the default
// carries a message_payload at its largest.
func TestReader_MaxLength(t *testing.T) {
	p := &pdu.DeliverSM{TLVs: pdu.TLVs{{Tag: pdu.TagMessagePayload, Value: make([]byte, 0xFFFF)}}}
	p.Source.Addr = "12345678901234567890"
	p.Dest.Addr = "12345678901234567890"
	frame, err := pdu.Encode(p, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := pdu.NewReader(bytes.NewReader(frame), 0).ReadFrame(); err != nil || len(got) != len(frame) {
		t.Fatalf("default limit refused a %d-octet deliver_sm with a full message_payload: %v", len(frame), err)
	}
	if _, err := pdu.NewReader(bytes.NewReader(frame), len(frame)).ReadFrame(); err != nil {
		t.Errorf("limit %d refused a frame of that length: %v", len(frame), err)
	}
	_, err = pdu.NewReader(bytes.NewReader(frame), len(frame)-1).ReadFrame()
	var fe *pdu.FramingError
	if !errors.As(err, &fe) || fe.Reason != pdu.FramingTooLong || fe.Length != uint32(len(frame)) {
		t.Errorf("limit %d: err = %v, want FramingTooLong", len(frame)-1, err)
	}
	// A limit below the header is raised to it: header-only PDUs pass.
	el, _ := pdu.Encode(&pdu.EnquireLink{}, 0, 1)
	if _, err := pdu.NewReader(bytes.NewReader(el), 3).ReadFrame(); err != nil {
		t.Errorf("limit 3: %v", err)
	}
}
