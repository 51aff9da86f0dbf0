package pdu_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// typicalSubmitSM is what the agent sends most: one 160-character GSM part
// from an alphanumeric sender to an international number, asking for a
// receipt, with a relative validity.
func typicalSubmitSM() *pdu.SubmitSM {
	return &pdu.SubmitSM{
		Source:             pdu.Address{TON: pdu.TONAlphanumeric, NPI: pdu.NPIUnknown, Addr: "ACME"},
		Dest:               pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "358401234567"},
		ValidityPeriod:     "000002000000000R",
		RegisteredDelivery: pdu.RegDeliveryFinal,
		ShortMessage:       bytes.Repeat([]byte("Hello, world. "), 12)[:160],
	}
}

func BenchmarkSubmitSM_Encode(b *testing.B) {
	sm := typicalSubmitSM()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	var seq uint32
	for b.Loop() {
		seq++
		var err error
		if buf, err = pdu.Append(buf[:0], sm, pdu.StatusOK, seq); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkSubmitSM_Decode(b *testing.B) {
	frame, err := pdu.Encode(typicalSubmitSM(), pdu.StatusOK, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := pdu.Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSubmitSM_DecodeAlias(b *testing.B) {
	frame, err := pdu.Encode(typicalSubmitSM(), pdu.StatusOK, 1)
	if err != nil {
		b.Fatal(err)
	}
	dec := pdu.Decoder{AliasBytes: true}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := dec.Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSubmitSM_RoundTrip(b *testing.B) {
	sm := typicalSubmitSM()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	var seq uint32
	for b.Loop() {
		seq++
		var err error
		if buf, err = pdu.Append(buf[:0], sm, pdu.StatusOK, seq); err != nil {
			b.Fatal(err)
		}
		if _, _, err := pdu.Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkSubmitSMResp_Encode(b *testing.B) {
	resp := &pdu.SubmitSMResp{MessageID: "5f3c9a1e"}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = pdu.Append(buf[:0], resp, pdu.StatusOK, 7)
	}
}

func BenchmarkSubmitSMResp_Decode(b *testing.B) {
	frame, _ := pdu.Encode(&pdu.SubmitSMResp{MessageID: "5f3c9a1e"}, pdu.StatusOK, 7)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := pdu.Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeliverSMResp_Encode(b *testing.B) {
	resp := &pdu.DeliverSMResp{}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = pdu.Append(buf[:0], resp, pdu.StatusOK, 7)
	}
}

// BenchmarkReceipt_Decode decodes the golden delivery receipt: a
// deliver_sm with three TLVs, the other half of the agent's traffic.
func BenchmarkReceipt_Decode(b *testing.B) {
	frame := readHex(b, "testdata/golden/deliver_sm_receipt.hex")
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := pdu.Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// trafficStream is 1000 PDUs in the mix a transceiver sees: submit_sm,
// its response, a receipt, its response, and now and then enquire_link.
func trafficStream(b *testing.B) (stream []byte, frames int) {
	receipt := readHex(b, "testdata/golden/deliver_sm_receipt.hex")
	for i := range 250 {
		seq := uint32(i + 1)
		stream, _ = pdu.Append(stream, typicalSubmitSM(), 0, seq)
		stream, _ = pdu.Append(stream, &pdu.SubmitSMResp{MessageID: "5f3c9a1e"}, 0, seq)
		stream = append(stream, receipt...)
		if i%10 == 0 {
			stream, _ = pdu.Append(stream, &pdu.EnquireLink{}, 0, seq)
		} else {
			stream, _ = pdu.Append(stream, &pdu.DeliverSMResp{}, 0, seq)
		}
	}
	return stream, 1000
}

// BenchmarkReader_ReadFrame frames a stream of mixed PDUs; one op is one
// frame.
func BenchmarkReader_ReadFrame(b *testing.B) {
	stream, _ := trafficStream(b)
	src := bytes.NewReader(stream)
	r := pdu.NewReader(src, 0)
	b.SetBytes(int64(len(stream) / 1000))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadFrame(); err != nil {
			if err != io.EOF {
				b.Fatal(err)
			}
			src.Reset(stream)
		}
	}
}

// BenchmarkReader_ReadDecode frames and decodes the same stream, as the
// session's reader goroutine does; one op is one PDU.
func BenchmarkReader_ReadDecode(b *testing.B) {
	stream, _ := trafficStream(b)
	src := bytes.NewReader(stream)
	r := pdu.NewReader(src, 0)
	b.SetBytes(int64(len(stream) / 1000))
	b.ReportAllocs()
	for b.Loop() {
		frame, err := r.ReadFrame()
		if err == io.EOF {
			src.Reset(stream)
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := pdu.Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}
