package pdu_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// Building a submit_sm and encoding it into a reused buffer.
func ExampleAppend() {
	validity, _ := pdu.FormatDuration(48 * time.Hour)
	sm := &pdu.SubmitSM{
		Source:             pdu.Address{TON: pdu.TONAlphanumeric, Addr: "ACME"},
		Dest:               pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "358401234567"},
		ValidityPeriod:     validity,
		RegisteredDelivery: pdu.RegDeliveryFinal,
		ShortMessage:       []byte("Hello"),
	}
	buf := make([]byte, 0, 512)
	buf, err := pdu.Append(buf[:0], sm, pdu.StatusOK, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	h, _ := pdu.ParseHeader(buf)
	fmt.Println(h)
	// Output: submit_sm seq=3 status=ESME_ROK len=70
}

// The reading side of a session: frame, decode, answer. Malformed PDUs
// are answered as the error says, and a lost framing ends the loop.
func ExampleReader() {
	var in bytes.Buffer
	in.Write(mustEncode(&pdu.EnquireLink{}, 0, 1))
	in.Write([]byte{0, 0, 0, 16, 0, 0, 0x01, 0x11, 0, 0, 0, 0, 0, 0, 0, 2}) // broadcast_sm: not 3.4
	in.Write(mustEncode(&pdu.DeliverSM{ShortMessage: []byte("Hi")}, 0, 3))
	in.WriteString("HTTP/1.1 400 Bad Request\r\n")

	r := pdu.NewReader(&in, 0)
	var out []byte
	for {
		frame, err := r.ReadFrame()
		if err == io.EOF {
			return
		}
		var fe *pdu.FramingError
		if errors.As(err, &fe) {
			out, _ = fe.AppendReply(out[:0])
			fmt.Printf("%v: reply %X and close\n", err, out)
			return
		}
		h, p, err := pdu.Decode(frame)
		var de *pdu.DecodeError
		if errors.As(err, &de) {
			out, _ = de.AppendReply(out[:0])
			fmt.Printf("%s: %s %X\n", h.ID, de.Action(), out)
			continue
		}
		switch p := p.(type) {
		case *pdu.EnquireLink:
			out, _ = pdu.Append(out[:0], &pdu.EnquireLinkResp{}, pdu.StatusOK, h.Sequence)
			fmt.Printf("enquire_link: reply %X\n", out)
		case *pdu.DeliverSM:
			fmt.Printf("deliver_sm %q\n", p.ShortMessage)
		}
	}
	// Output:
	// enquire_link: reply 00000010800000150000000000000001
	// command_id(0x00000111): generic_nack 00000010800000000000000300000002
	// deliver_sm "Hi"
	// pdu: peer speaks HTTP, not SMPP: reply 00000010800000000000000200000000 and close
}

// Reading a delivery receipt's TLVs.
func ExampleTLVs() {
	frame := mustEncode(&pdu.DeliverSM{
		ESMClass: pdu.ESMTypeDeliveryReceipt,
		TLVs: pdu.TLVs{
			{Tag: pdu.TagReceiptedMessageID, Value: []byte("5f3c9a1e\x00")},
			{Tag: pdu.TagMessageState, Value: []byte{byte(pdu.StateDelivered)}},
			{Tag: 0x1401, Value: []byte{0xAA}}, // vendor specific: kept as is
		},
	}, 0, 12)
	_, p, _ := pdu.Decode(frame)
	dlr := p.(*pdu.DeliverSM)
	id, _ := dlr.TLVs.ReceiptedMessageID()
	state, _ := dlr.TLVs.MessageState()
	fmt.Println(dlr.ESMClass.Type() == pdu.ESMTypeDeliveryReceipt, id, state, dlr.TLVs[2].Tag)
	// Output: true 5f3c9a1e DELIVERED tlv(0x1401)
}

// A refused submit_sm_resp carries no body; its status is an error with a
// class for the retry logic.
func ExampleStatus_Class() {
	frame := mustEncode(pdu.NewResponse(pdu.SubmitSMID), pdu.StatusThrottled, 7)
	h, _, _ := pdu.Decode(frame)
	var err error = h.Status
	fmt.Println(len(frame), h.Status.String(), h.Status.Class())
	fmt.Println(err)
	// Output:
	// 16 ESME_RTHROTTLED throttle
	// ESME_RTHROTTLED: throttling error (ESME has exceeded allowed message limits)
}

func ExampleParseTime() {
	abs, _ := pdu.ParseTime("261125181500012+")
	rel, _ := pdu.ParseTime("000002030000000R")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	fmt.Println(abs.Abs.UTC())
	fmt.Println(rel.At(now))
	// Output:
	// 2026-11-25 15:15:00 +0000 UTC
	// 2026-11-27 15:00:00 +0000 UTC
}

func mustEncode(p pdu.PDU, status pdu.Status, seq uint32) []byte {
	b, err := pdu.Encode(p, status, seq)
	if err != nil {
		panic(err)
	}
	return b
}
