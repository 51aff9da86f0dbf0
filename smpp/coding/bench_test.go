package coding_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smsagent/smsagent/smpp/coding"
)

// benchTexts are the two cases the dispatcher meets most: a full single GSM
// SMS, and a long Unicode text that becomes eight UCS-2 parts.
var benchTexts = []struct {
	name  string
	text  string
	chars int
	parts int
}{
	{"gsm7-160", strings.Repeat("Hello world, ", 12) + "1234", 160, 1},
	{"ucs2-500", strings.Repeat("Привет, мир! ", 38) + "Ура!!!", 500, 8},
}

func checkBenchText(b *testing.B, text string, chars, parts int) {
	b.Helper()
	p, err := coding.Count(text, coding.Options{})
	if n := utf8.RuneCountInString(text); err != nil || n != chars || p.Parts != parts {
		b.Fatalf("bench text: %d characters, %+v, %v; want %d characters, %d parts", n, p, err, chars, parts)
	}
}

// BenchmarkSplit measures encoding and splitting one text into its parts, the
// dispatcher's work per message.
func BenchmarkSplit(b *testing.B) {
	for _, bt := range benchTexts {
		b.Run(bt.name, func(b *testing.B) {
			checkBenchText(b, bt.text, bt.chars, bt.parts)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := coding.Split(bt.text, coding.Options{Ref: 42}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCount measures the intake check that runs for every message.
func BenchmarkCount(b *testing.B) {
	for _, bt := range benchTexts {
		b.Run(bt.name, func(b *testing.B) {
			checkBenchText(b, bt.text, bt.chars, bt.parts)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := coding.Count(bt.text, coding.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode measures reading an incoming SMS.
func BenchmarkDecode(b *testing.B) {
	for _, bt := range benchTexts {
		b.Run(bt.name, func(b *testing.B) {
			data, enc, err := coding.Encode(bt.text, coding.Auto)
			if err != nil {
				b.Fatal(err)
			}
			dc, _ := coding.DataCoding(enc, false)
			b.ReportAllocs()
			for b.Loop() {
				coding.Decode(dc, data)
			}
		})
	}
}
