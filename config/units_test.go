package config_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/smsagent/smsagent/config"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "30s", want: 30 * time.Second},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "0d", want: 0},
		{in: "0", want: 0},
		{in: "30", err: `"30" is not a duration (use e.g. 30s, 10m, 48h, 7d)`},
		{in: "1.5d", err: `"1.5d" is not a duration (use e.g. 30s, 10m, 48h, 7d)`},
		{in: "-1d", err: `"-1d" is not a duration (use e.g. 30s, 10m, 48h, 7d)`},
		{in: "1d-1h", err: `"1d-1h" is not a duration (use e.g. 30s, 10m, 48h, 7d)`},
		{in: "-5s", err: `"-5s" is negative`},
		{in: "d", err: `"d" is not a duration (use e.g. 30s, 10m, 48h, 7d)`},
		{in: "200000d", err: `"200000d" is too long`},
	}
	for _, tt := range tests {
		got, err := config.ParseDuration(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseDuration(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := map[time.Duration]string{
		0:                          "0s",
		30 * time.Second:           "30s",
		10 * time.Minute:           "10m",
		90 * time.Minute:           "1h30m",
		48 * time.Hour:             "2d",
		36 * time.Hour:             "36h",
		1500 * time.Millisecond:    "1.5s",
		time.Hour + time.Second:    "1h0m1s",
		7*24*time.Hour + time.Hour: "169h",
	}
	for d, want := range tests {
		got := config.FormatDuration(d)
		if got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := config.ParseDuration(got); err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", d, back, err)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want config.ByteSize
		bad  bool
	}{
		{in: "1048576", want: config.MiB},
		{in: "64MiB", want: 64 * config.MiB},
		{in: "512 KiB", want: 512 * config.KiB},
		{in: "2GiB", want: 2 * config.GiB},
		{in: "10B", want: 10},
		{in: "0", want: 0},
		{in: "64MB", bad: true},
		{in: "1.5GiB", bad: true},
		{in: "-1", bad: true},
		{in: "MiB", bad: true},
		{in: "99999999999GiB", bad: true},
	}
	for _, tt := range tests {
		got, err := config.ParseByteSize(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %v, %v", tt.in, got, err)
		}
	}
	for b, want := range map[config.ByteSize]string{0: "0", 1000: "1000", 1024: "1KiB", 64 * config.MiB: "64MiB", 3 * config.GiB: "3GiB", config.MiB + 1: "1048577"} {
		if got := b.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(b), got, want)
		}
	}
}

func TestParseFileMode(t *testing.T) {
	for in, want := range map[string]os.FileMode{"0640": 0o640, "640": 0o640, "0o600": 0o600, "0000": 0} {
		if got, err := config.ParseFileMode(in); err != nil || got != want {
			t.Errorf("ParseFileMode(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"0800", "01777", "rw", ""} {
		if _, err := config.ParseFileMode(in); err == nil {
			t.Errorf("ParseFileMode(%q) succeeded", in)
		}
	}
	if got := config.FormatFileMode(0o640); got != "0640" {
		t.Errorf("FormatFileMode = %q", got)
	}
}

func ExampleParseDuration() {
	d, _ := config.ParseDuration("1d12h")
	fmt.Println(d, config.FormatDuration(d))
	// Output: 36h0m0s 36h
}
