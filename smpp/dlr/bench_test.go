package dlr_test

import (
	"testing"

	"github.com/smsagent/smsagent/smpp/dlr"
)

// BenchmarkParse measures reading one receipt, which the agent does for
// every deliver_sm receipt before it commits.
func BenchmarkParse(b *testing.B) {
	inputs := []struct {
		name string
		in   dlr.Input
	}{
		{"text", dlr.Input{ESMClass: 0x04, Message: []byte("id:0123456789 sub:001 dlvrd:001 submit date:2611251815 done date:2611251816 stat:DELIVRD err:000 text:Hello world")}},
		{"ucs2", dlr.Input{ESMClass: 0x04, DataCoding: 8, Message: utf16be("id:0123456789 sub:001 dlvrd:001 submit date:2611251815 done date:2611251816 stat:DELIVRD err:000 text:Hello world")}},
		{"tlv", dlr.Input{ESMClass: 0x04, TLVs: dlr.TLVs{ReceiptedMessageID: "0123456789\x00", MessageState: 2, HasMessageState: true}}},
	}
	for _, bi := range inputs {
		b.Run(bi.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := dlr.Parse(bi.in, dlr.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCandidates measures the keys of a receipt id under auto, with
// both conversions.
func BenchmarkCandidates(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		dlr.Candidates("870928761", dlr.Auto)
	}
}
