package smsagent_test

import (
	"testing"
	"time"

	"github.com/smsagent/smsagent"
)

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in      string
		want    smsagent.Address
		wantErr bool
	}{
		{in: "+358 40-123 4567", want: smsagent.Address{Value: "358401234567", Kind: smsagent.AddrInternational}},
		{in: "0049301234", want: smsagent.Address{Value: "49301234", Kind: smsagent.AddrInternational}},
		{in: "0401234567", want: smsagent.Address{Value: "0401234567", Kind: smsagent.AddrUnknown}},
		{in: "12345", want: smsagent.Address{Value: "12345", Kind: smsagent.AddrUnknown}},
		{in: "+358(40)1234", wantErr: true},
		{in: "040x1234", wantErr: true},
		{in: "+", wantErr: true},
		{in: "", wantErr: true},
		{in: "123456789012345678901", wantErr: true},
	}
	for _, tt := range tests {
		got, err := smsagent.ParseNumber(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseNumber(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseNumber(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseSender(t *testing.T) {
	tests := []struct {
		in      string
		want    smsagent.Address
		wantErr bool
	}{
		{in: "", want: smsagent.Address{}},
		{in: "ACME Corp", want: smsagent.Address{Value: "ACME Corp", Kind: smsagent.AddrAlphanumeric}},
		{in: "+4412345", want: smsagent.Address{Value: "4412345", Kind: smsagent.AddrInternational}},
		{in: "TwelveChars1", wantErr: true},
		{in: "Bad<Sender>", wantErr: true},
		{in: "   ", wantErr: true},
	}
	for _, tt := range tests {
		got, err := smsagent.ParseSender(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSender(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSender(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestEventFileName(t *testing.T) {
	ts, _ := time.Parse(time.RFC3339Nano, "2026-11-25T18:15:00.123456Z")
	e := smsagent.Event{Kind: smsagent.EventReport, Time: ts, Subject: "42"}
	if got, want := e.FileName(), "20261125T181500.123Z-42.report"; got != want {
		t.Errorf("FileName() = %q, want %q", got, want)
	}
}

func TestState_RoundTrip(t *testing.T) {
	for s := smsagent.StateQueued; s <= smsagent.StateCanceled; s++ {
		got, err := smsagent.ParseState(s.String())
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %v, %v", s.String(), got, err)
		}
	}
}

func TestMessage_ValidateMeta(t *testing.T) {
	for meta, ok := range map[string]bool{`{"a":1}`: true, ` {}`: true, `[1]`: false, `"x"`: false, `{`: false, `null`: false} {
		m := smsagent.Message{To: smsagent.Address{Value: "1"}, Text: "x", Meta: []byte(meta)}
		if err := m.Validate(); (err == nil) != ok {
			t.Errorf("Validate(meta %s) = %v, want ok=%v", meta, err, ok)
		}
	}
}
