package msgfile_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/msgfile"
)

// ndjsonFile makes an NDJSON file of n lines shaped like a bulk campaign:
// a client id, a sender, some text and a small meta object.
func ndjsonFile(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"id":"campaign-7-%d","to":"+35840%07d","from":"ACME","text":"Hello customer %d, your parcel is ready for pickup at the usual place.","meta":{"customer":%d}}`+"\n", i, i, i, i)
	}
	return b.Bytes()
}

func benchNDJSON(b *testing.B, parse func([]byte) int) {
	const lines = 100_000
	data := ndjsonFile(lines)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if n := parse(data); n != lines {
			b.Fatalf("parsed %d messages, want %d", n, lines)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkParseNDJSON parses a 100,000-line file into a slice.
func BenchmarkParseNDJSON(b *testing.B) {
	benchNDJSON(b, func(data []byte) int {
		msgs, err := msgfile.Parse(bytes.NewReader(data), "bulk.ndjson", msgfile.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return len(msgs)
	})
}

// BenchmarkScanNDJSON streams the same file, holding one message at a time.
func BenchmarkScanNDJSON(b *testing.B) {
	benchNDJSON(b, func(data []byte) int {
		n := 0
		err := msgfile.ScanNDJSON(bytes.NewReader(data), "bulk.ndjson", msgfile.Options{}, func(smsagent.Message) error {
			n++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return n
	})
}
