package dlr_test

import (
	"testing"

	"github.com/smsagent/smsagent/smpp/dlr"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		esm     byte
		kind    dlr.Kind
		receipt bool
	}{
		{0x00, dlr.KindMessage, false},
		{0x40, dlr.KindMessage, false}, // an MO with a user data header
		{0x03, dlr.KindMessage, false}, // store and forward mode bits only
		{0x04, dlr.KindSMSCReceipt, true},
		{0x44, dlr.KindSMSCReceipt, true}, // receipt with UDHI, as SMSCs send it
		{0x84, dlr.KindSMSCReceipt, true}, // with reply path
		{0x07, dlr.KindSMSCReceipt, true},
		{0x08, dlr.KindSMEAck, true},
		{0x10, dlr.KindUserAck, true},
		{0x20, dlr.KindIntermediate, true},
		{0x60, dlr.KindIntermediate, true},
		{0x18, dlr.KindReserved, false}, // conversation abort
		{0x0C, dlr.KindReserved, false},
		{0x3C, dlr.KindReserved, false},
	}
	for _, tt := range tests {
		if got := dlr.KindOf(tt.esm); got != tt.kind {
			t.Errorf("KindOf(0x%02X) = %v, want %v", tt.esm, got, tt.kind)
		}
		if got := dlr.IsReceipt(tt.esm); got != tt.receipt {
			t.Errorf("IsReceipt(0x%02X) = %v, want %v", tt.esm, got, tt.receipt)
		}
	}
}
