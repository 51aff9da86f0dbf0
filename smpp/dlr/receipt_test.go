package dlr_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/smsagent/smsagent/smpp/dlr"
)

// utf16be encodes s as data_coding 8 carries it.
func utf16be(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

func TestParse(t *testing.T) {
	const appendixB = "id:0123456789 sub:001 dlvrd:001 submit date:0610191018 done date:0610191023 stat:DELIVRD err:000 Text:Hello world"
	tests := []struct {
		name string
		in   dlr.Input
		// want: the fields of the result that the case is about.
		id         string
		status     dlr.Status
		reason     string // substring; "" means Reason must be empty
		stat, err  string
		kind       dlr.Kind
		done       time.Time
		networkErr string
	}{
		{
			name:   "SMPP 3.4 Appendix B text",
			in:     dlr.Input{ESMClass: 0x04, Message: []byte(appendixB)},
			id:     "0123456789",
			status: dlr.Delivered, stat: "DELIVRD", err: "000", kind: dlr.KindSMSCReceipt,
			done: time.Date(2006, 10, 19, 10, 23, 0, 0, time.UTC),
		},
		{
			name:   "UCS-2 receipt with data_coding 8",
			in:     dlr.Input{ESMClass: 0x04, DataCoding: 0x08, Message: utf16be("id:A1B2 sub:001 dlvrd:000 submit date:2611251815 done date:2611251816 stat:UNDELIV err:001 text:Привет")},
			id:     "A1B2",
			status: dlr.Undeliverable, reason: "undeliverable: stat UNDELIV, err 001", stat: "UNDELIV", err: "001", kind: dlr.KindSMSCReceipt,
			done: time.Date(2026, 11, 25, 18, 16, 0, 0, time.UTC),
		},
		{
			// node#68, fiorix#14: an ASCII text labelled data_coding 8.
			name:   "ASCII receipt mislabelled data_coding 8",
			in:     dlr.Input{ESMClass: 0x04, DataCoding: 0x08, Message: []byte("id:77 stat:DELIVRD err:000 text:")},
			id:     "77",
			status: dlr.Delivered, stat: "DELIVRD", err: "000", kind: dlr.KindSMSCReceipt,
		},
		{
			name:   "only TLVs and an empty short_message",
			in:     dlr.Input{ESMClass: 0x04, TLVs: dlr.TLVs{ReceiptedMessageID: "5F3A\x00", MessageState: 2, HasMessageState: true}},
			id:     "5F3A",
			status: dlr.Delivered, kind: dlr.KindSMSCReceipt,
		},
		{
			// Jasmin#427: the text's id must not overwrite the TLV's.
			name:   "receipted_message_id wins over the text id",
			in:     dlr.Input{ESMClass: 0x04, Message: []byte("id:999 stat:DELIVRD err:000"), TLVs: dlr.TLVs{ReceiptedMessageID: "abc/123\x00"}},
			id:     "abc/123",
			status: dlr.Delivered, stat: "DELIVRD", err: "000", kind: dlr.KindSMSCReceipt,
		},
		{
			name:   "an unusable receipted_message_id leaves the text id",
			in:     dlr.Input{ESMClass: 0x04, Message: []byte("id:999 stat:DELIVRD"), TLVs: dlr.TLVs{ReceiptedMessageID: "bad id\x00"}},
			id:     "999",
			status: dlr.Delivered, stat: "DELIVRD", kind: dlr.KindSMSCReceipt,
		},
		{
			name: "message_state wins over the stat word",
			in: dlr.Input{ESMClass: 0x04, Message: []byte("id:1 stat:DELIVRD err:000"),
				TLVs: dlr.TLVs{MessageState: 5, HasMessageState: true, NetworkErrorCode: []byte{0x03, 0x00, 0x01}}},
			id:     "1",
			status: dlr.Undeliverable, reason: "undeliverable: message_state 5 (UNDELIVERABLE), err 000, network error GSM:0x0001",
			stat: "DELIVRD", err: "000", kind: dlr.KindSMSCReceipt, networkErr: "GSM:0x0001",
		},
		{
			name:   "a message_state out of range leaves the stat word",
			in:     dlr.Input{ESMClass: 0x04, Message: []byte("id:1 stat:DELIVRD"), TLVs: dlr.TLVs{MessageState: 0, HasMessageState: true}},
			id:     "1",
			status: dlr.Delivered, stat: "DELIVRD", kind: dlr.KindSMSCReceipt,
		},
		{
			name:   "an unrecognised stat word is a final failure naming it",
			in:     dlr.Input{ESMClass: 0x04, Message: []byte("id:1 stat:NACK err:0A1")},
			id:     "1",
			status: dlr.Failed, reason: `unrecognised receipt stat "NACK", err 0A1: treated as failed`,
			stat: "NACK", err: "0A1", kind: dlr.KindSMSCReceipt,
		},
		{
			name:   "a valid message_state overrides an unrecognised word",
			in:     dlr.Input{ESMClass: 0x04, Message: []byte("id:1 stat:WEIRD"), TLVs: dlr.TLVs{MessageState: 1, HasMessageState: true}},
			id:     "1",
			status: dlr.Intermediate, stat: "WEIRD", kind: dlr.KindSMSCReceipt,
		},
		{
			name:   "intermediate stat",
			in:     dlr.Input{ESMClass: 0x04, Message: []byte("id:1 sub:001 dlvrd:000 stat:ENROUTE err:000")},
			id:     "1",
			status: dlr.Intermediate, stat: "ENROUTE", err: "000", kind: dlr.KindSMSCReceipt,
		},
		{
			name:   "expired with a 4-digit err",
			in:     dlr.Input{ESMClass: 0x04, Message: []byte("id:1 stat:EXPIRED err:0000")},
			id:     "1",
			status: dlr.Expired, reason: "expired: stat EXPIRED, err 0000", stat: "EXPIRED", err: "0000", kind: dlr.KindSMSCReceipt,
		},
		{
			name:   "no stat in an intermediate notification",
			in:     dlr.Input{ESMClass: 0x20, Message: []byte("id:1")},
			id:     "1",
			status: dlr.Intermediate, kind: dlr.KindIntermediate,
		},
		{
			name:   "no stat in an SME acknowledgement",
			in:     dlr.Input{ESMClass: 0x08, Message: []byte("id:1")},
			id:     "1",
			status: dlr.Delivered, kind: dlr.KindSMEAck,
		},
		{
			name:   "no stat in an SMSC receipt",
			in:     dlr.Input{ESMClass: 0x04, Message: []byte("id:1 err:0")},
			id:     "1",
			status: dlr.Failed, reason: "neither a stat nor a message_state, err 0", err: "0", kind: dlr.KindSMSCReceipt,
		},
		{
			name:   "network error of the wrong length is kept raw",
			in:     dlr.Input{ESMClass: 0x04, Message: []byte("id:1 stat:REJECTD"), TLVs: dlr.TLVs{NetworkErrorCode: []byte{0x0A, 0x12}}},
			id:     "1",
			status: dlr.Rejected, reason: "rejected: stat REJECTD, network error raw:0a12", stat: "REJECTD", kind: dlr.KindSMSCReceipt,
			networkErr: "raw:0a12",
		},
		{
			name:   "receipt text in message_payload",
			in:     dlr.Input{ESMClass: 0x44, Message: []byte(strings.Repeat(" ", 300) + "id:1 stat:DELIVRD")},
			id:     "1",
			status: dlr.Delivered, stat: "DELIVRD", kind: dlr.KindSMSCReceipt,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := dlr.Parse(tt.in, dlr.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.ID != tt.id || r.Status != tt.status || r.Kind != tt.kind || r.Fields.Stat != tt.stat || r.Fields.Err != tt.err {
				t.Errorf("got id %q status %v kind %v stat %q err %q; want %q %v %v %q %q",
					r.ID, r.Status, r.Kind, r.Fields.Stat, r.Fields.Err, tt.id, tt.status, tt.kind, tt.stat, tt.err)
			}
			if (tt.reason == "") != (r.Reason == "") || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("Reason = %q, want %q", r.Reason, tt.reason)
			}
			if !r.Done.Equal(tt.done) {
				t.Errorf("Done = %v, want %v", r.Done, tt.done)
			}
			if got := ""; r.NetworkError != nil {
				got = r.NetworkError.String()
				if got != tt.networkErr {
					t.Errorf("NetworkError = %q, want %q", got, tt.networkErr)
				}
			} else if tt.networkErr != "" {
				t.Errorf("NetworkError = nil, want %q", tt.networkErr)
			}
		})
	}
}

func TestParse_keepsRawAndTLVs(t *testing.T) {
	in := dlr.Input{
		ESMClass: 0x04,
		Message:  []byte("id:0A sub:001 dlvrd:001 submit date:2611251815 done date:26112518160 stat:DELIVRD err:000 text:x"),
		TLVs:     dlr.TLVs{MessageState: 42, HasMessageState: true},
	}
	r, err := dlr.Parse(in, dlr.Options{Location: time.FixedZone("EET", 2*3600)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Raw != string(in.Message) {
		t.Errorf("Raw = %q", r.Raw)
	}
	if !r.HasMessageState || r.MessageState != 42 || r.Status != dlr.Delivered {
		t.Errorf("state %d/%v, status %v", r.MessageState, r.HasMessageState, r.Status)
	}
	// The submit date is in the SMSC's zone; the done date has 11 digits
	// and stays only in its raw form.
	if want := time.Date(2026, 11, 25, 16, 15, 0, 0, time.UTC); !r.Submitted.Equal(want) {
		t.Errorf("Submitted = %v, want %v", r.Submitted, want)
	}
	if !r.Done.IsZero() || r.Fields.DoneDate != "26112518160" {
		t.Errorf("Done = %v, raw %q", r.Done, r.Fields.DoneDate)
	}
}

func TestParse_errors(t *testing.T) {
	tests := []struct {
		name string
		in   dlr.Input
		is   error
		msg  string
	}{
		{"an MO, not a receipt text", dlr.Input{Message: []byte("See you at 5")}, dlr.ErrNoID, "not a receipt text"},
		{"empty everything", dlr.Input{ESMClass: 0x04}, dlr.ErrNoID, "no id"},
		{"UCS-2 without an id", dlr.Input{ESMClass: 0x04, DataCoding: 0x08, Message: utf16be("stat:DELIVRD")}, dlr.ErrNoID, "no id"},
		{"bad text id, no TLV", dlr.Input{ESMClass: 0x04, Message: []byte("id:12;34 stat:DELIVRD")}, dlr.ErrBadID, "';'"},
		{"bad TLV id, no text id", dlr.Input{ESMClass: 0x04, TLVs: dlr.TLVs{ReceiptedMessageID: strings.Repeat("1", 66)}}, dlr.ErrBadID, "receipted_message_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dlr.Parse(tt.in, dlr.Options{})
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want %v with %q", err, tt.is, tt.msg)
			}
		})
	}
}

func TestNetworkError_String(t *testing.T) {
	for _, tt := range []struct {
		e    dlr.NetworkError
		want string
	}{
		{dlr.NetworkError{Type: 3, Code: 1, Raw: []byte{3, 0, 1}}, "GSM:0x0001"},
		{dlr.NetworkError{Type: 1, Code: 0x1234, Raw: []byte{1, 0x12, 0x34}}, "ANSI-136:0x1234"},
		{dlr.NetworkError{Type: 8, Code: 0xFFFF, Raw: []byte{8, 0xFF, 0xFF}}, "MC:0xFFFF"},
		{dlr.NetworkError{Type: 9, Code: 2, Raw: []byte{9, 0, 2}}, "type9:0x0002"},
		{dlr.NetworkError{Raw: []byte{}}, "raw:"},
	} {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.e, got, tt.want)
		}
	}
}
