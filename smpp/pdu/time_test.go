package pdu_test

import (
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp/pdu"
)

func TestParseTime_Absolute(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
	}{
		{"261125181500000+", time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)},
		{"261125181500012+", time.Date(2026, 11, 25, 15, 15, 0, 0, time.UTC)},                         // UTC+3
		{"261125181500722-", time.Date(2026, 11, 25, 23, 45, 0, 700*int(time.Millisecond), time.UTC)}, // UTC-5:30, 0.7 s
		{"000229235959948+", time.Date(2000, 2, 29, 11, 59, 59, 900*int(time.Millisecond), time.UTC)},
		{"991231235959048-", time.Date(2100, 1, 1, 11, 59, 59, 0, time.UTC)},
	}
	for _, c := range cases {
		got, err := pdu.ParseTime(c.in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", c.in, err)
			continue
		}
		if got.Relative || !got.Abs.Equal(c.want) {
			t.Errorf("ParseTime(%q) = %+v, want %s", c.in, got, c.want)
		}
		if s := got.String(); s != c.in {
			t.Errorf("ParseTime(%q).String() = %q", c.in, s)
		}
		if !got.At(time.Now()).Equal(c.want) {
			t.Errorf("ParseTime(%q).At(now) = %s, want the absolute time", c.in, got.At(time.Now()))
		}
	}
}

func TestParseTime_Relative(t *testing.T) {
	got, err := pdu.ParseTime("020610233429000R")
	if err != nil {
		t.Fatal(err)
	}
	want := pdu.RelativeTime{Years: 2, Months: 6, Days: 10, Hours: 23, Minutes: 34, Seconds: 29}
	if !got.Relative || got.Rel != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	now := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	if at, want := got.At(now), now.AddDate(2, 6, 10).Add(23*time.Hour+34*time.Minute+29*time.Second); !at.Equal(want) {
		t.Errorf("At = %s, want %s", at, want)
	}
	if s := got.String(); s != "020610233429000R" {
		t.Errorf("String = %q", s)
	}
}

// TestParseTime_Malformed lists values a peer may send that are not times.
func TestParseTime_Malformed(t *testing.T) {
	for _, s := range []string{
		"",                  // NULL: the caller's case
		"26112518150000+",   // 15 characters
		"2611251815000000+", // 17 characters
		"2611251815000a0+",  // tenths not a digit
		"26112518150000 +",  // offset not digits
		"261325181500000+",  // month 13
		"260001181500000+",  // month 0
		"260230181500000+",  // February 30th
		"250229181500000+",  // February 29th of a common year
		"261100181500000+",  // day 0
		"261125241500000+",  // hour 24
		"261125186000000+",  // minute 60
		"261125181560000+",  // second 60
		"261125181500049+",  // offset of 49 quarter hours
		"261125181500000Z",  // neither + nor - nor R
		"000000010000100R",  // relative with tenths
		"000000010000001R",  // relative with an offset
		"0000000100x0000R",  // relative with a letter
	} {
		if got, err := pdu.ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) = %+v, want an error", s, got)
		}
	}
}

func TestFormatTime(t *testing.T) {
	cases := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC), "261125181500000+"},
		{time.Date(2026, 11, 25, 18, 15, 0, 250*int(time.Millisecond), time.FixedZone("EET", 2*3600)), "261125181500208+"},
		{time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.FixedZone("NST", -(3*3600+30*60))), "260102030405914-"},
		// Offsets nn cannot say are converted to UTC.
		{time.Date(2026, 1, 2, 12, 0, 0, 0, time.FixedZone("odd", 20*60)), "260102114000000+"},
		{time.Date(2026, 1, 2, 12, 0, 0, 0, time.FixedZone("LINT", 14*3600)), "260101220000000+"},
	}
	for _, c := range cases {
		got, err := pdu.FormatTime(c.in)
		if err != nil || got != c.want {
			t.Errorf("FormatTime(%s) = %q, %v; want %q", c.in, got, err, c.want)
			continue
		}
		back, err := pdu.ParseTime(got)
		if err != nil || !back.Abs.Equal(c.in.Truncate(100*time.Millisecond)) {
			t.Errorf("ParseTime(FormatTime(%s)) = %s, %v", c.in, back.Abs, err)
		}
	}
	for _, y := range []int{1999, 2100} {
		if s, err := pdu.FormatTime(time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC)); err == nil {
			t.Errorf("FormatTime(year %d) = %q, want an error", y, s)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want string
	}{
		{time.Second, "000000000001000R"},
		{time.Nanosecond, "000000000001000R"}, // rounds up, never to nothing
		{90 * time.Minute, "000000013000000R"},
		{48 * time.Hour, "000002000000000R"},
		{2*24*time.Hour + 3*time.Hour + 500*time.Millisecond, "000002030001000R"},
		{100*24*time.Hour - time.Second, "000099235959000R"},
	}
	for _, c := range cases {
		got, err := pdu.FormatDuration(c.in)
		if err != nil || got != c.want {
			t.Errorf("FormatDuration(%s) = %q, %v; want %q", c.in, got, err, c.want)
			continue
		}
		now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		back, err := pdu.ParseTime(got)
		// The duration rounded up to whole seconds.
		want := (c.in + time.Second - 1).Truncate(time.Second)
		if err != nil || back.At(now).Sub(now) != want {
			t.Errorf("ParseTime(%q).At(now) - now = %s, want %s", got, back.At(now).Sub(now), want)
		}
	}
	for _, d := range []time.Duration{0, -time.Second, 100 * 24 * time.Hour, 100*24*time.Hour - time.Second + 1, 1<<63 - 1} {
		if s, err := pdu.FormatDuration(d); err == nil {
			t.Errorf("FormatDuration(%s) = %q, want an error", d, s)
		}
	}
}

func TestTime_FormatRejectsOutOfRange(t *testing.T) {
	bad := pdu.Time{Relative: true, Rel: pdu.RelativeTime{Days: 100}}
	if s, err := bad.Format(); err == nil {
		t.Errorf("Format of 100 days = %q, want an error", s)
	}
}
