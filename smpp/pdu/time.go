package pdu

import (
	"errors"
	"fmt"
	"time"
)

// SMPP times (§7.1.1) are 16 characters, "YYMMDDhhmmsstnnp":
//
//	YY MM DD hh mm ss  year (2000-2099), month, day, hour, minute, second
//	t                  tenths of a second
//	nn                 offset from UTC in quarter hours, 00-48
//	p                  '+' local time is ahead of UTC, '-' behind,
//	                   'R' the whole value is relative to the SMSC's now
//
// A relative time ("020610233429000R": 2 years, 6 months, 10 days, 23:34:29
// from now) has "000" in place of tnn.

// RelativeTime is the offset a relative SMPP time adds to the SMSC's
// current time. Years, months and days are calendar units.
type RelativeTime struct {
	Years, Months, Days, Hours, Minutes, Seconds int
}

// Time is a parsed SMPP time: absolute or relative.
type Time struct {
	// Relative says which form this is.
	Relative bool
	// Abs is an absolute time, in a fixed zone with the offset the value
	// carried; zero for a relative time.
	Abs time.Time
	// Rel is a relative time's offset; zero for an absolute time.
	Rel RelativeTime
}

// ParseTime reads a 16-character SMPP time. It rejects anything else: a
// wrong length, non-digits, a month 13, February 30th, an hour 24, an offset
// over 48 quarter hours, a relative time whose tnn is not "000". The empty
// string (a NULL field) is an error too: check for it first.
func ParseTime(s string) (Time, error) {
	if len(s) != timeLen {
		return Time{}, fmt.Errorf("pdu: time %q: want %d characters, have %d", s, timeLen, len(s))
	}
	var f [7]int // YY MM DD hh mm ss, then t
	for i := range 6 {
		v, ok := twoDigits(s[2*i:])
		if !ok {
			return Time{}, fmt.Errorf("pdu: time %q: %q at %d is not two digits", s, s[2*i:2*i+2], 2*i+1)
		}
		f[i] = v
	}
	if s[12] < '0' || s[12] > '9' {
		return Time{}, fmt.Errorf("pdu: time %q: tenths %q is not a digit", s, s[12])
	}
	f[6] = int(s[12] - '0')
	nn, ok := twoDigits(s[13:])
	if !ok {
		return Time{}, fmt.Errorf("pdu: time %q: offset %q is not two digits", s, s[13:15])
	}
	switch p := s[15]; p {
	case 'R':
		if f[6] != 0 || nn != 0 {
			return Time{}, fmt.Errorf("pdu: relative time %q: want %q before R, have %q", s, "000", s[12:15])
		}
		return Time{Relative: true, Rel: RelativeTime{f[0], f[1], f[2], f[3], f[4], f[5]}}, nil
	case '+', '-':
		if nn > 48 {
			return Time{}, fmt.Errorf("pdu: time %q: offset of %d quarter hours exceeds 48", s, nn)
		}
		offset := nn * 15 * 60
		if p == '-' {
			offset = -offset
		}
		month := time.Month(f[1])
		if month < time.January || month > time.December || f[2] < 1 || f[2] > daysIn(month, 2000+f[0]) ||
			f[3] > 23 || f[4] > 59 || f[5] > 59 {
			return Time{}, fmt.Errorf("pdu: time %q: not a valid date and time", s)
		}
		zone := time.FixedZone("", offset)
		abs := time.Date(2000+f[0], month, f[2], f[3], f[4], f[5], f[6]*int(100*time.Millisecond), zone)
		return Time{Abs: abs}, nil
	default:
		return Time{}, fmt.Errorf("pdu: time %q: last character %q is not '+', '-' or 'R'", s, p)
	}
}

func twoDigits(s string) (int, bool) {
	a, b := s[0], s[1]
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return 0, false
	}
	return int(a-'0')*10 + int(b-'0'), true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// At resolves the time against now, the SMSC's current time for a relative
// value: calendar years, months and days first (time.AddDate), then the
// clock. An absolute time is returned as it is.
func (t Time) At(now time.Time) time.Time {
	if !t.Relative {
		return t.Abs
	}
	r := t.Rel
	return now.AddDate(r.Years, r.Months, r.Days).
		Add(time.Duration(r.Hours)*time.Hour + time.Duration(r.Minutes)*time.Minute + time.Duration(r.Seconds)*time.Second)
}

// Format gives the 16-character form.
func (t Time) Format() (string, error) {
	if !t.Relative {
		return FormatTime(t.Abs)
	}
	r := t.Rel
	f := [6]int{r.Years, r.Months, r.Days, r.Hours, r.Minutes, r.Seconds}
	b := make([]byte, 0, timeLen)
	for _, v := range f {
		if v < 0 || v > 99 {
			return "", fmt.Errorf("pdu: relative time %+v: every field must be 0-99", r)
		}
		b = append(b, byte('0'+v/10), byte('0'+v%10))
	}
	return string(append(b, "000R"...)), nil
}

// String is Format's result, or a note of the error.
func (t Time) String() string {
	s, err := t.Format()
	if err != nil {
		return "invalid SMPP time: " + err.Error()
	}
	return s
}

// FormatTime gives the absolute SMPP time for t, in t's own zone when its
// offset is a whole number of quarter hours within ±12 hours (what nn can
// say), else in UTC. Tenths of a second are kept; finer parts are cut. The
// year must lie in 2000-2099.
func FormatTime(t time.Time) (string, error) {
	_, off := t.Zone()
	if off%(15*60) != 0 || off > 48*15*60 || off < -48*15*60 {
		t, off = t.UTC(), 0
	}
	if y := t.Year(); y < 2000 || y > 2099 {
		return "", fmt.Errorf("pdu: time %s: SMPP times hold years 2000-2099 only", t)
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	b := make([]byte, 0, timeLen)
	for _, v := range [...]int{t.Year() - 2000, int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()} {
		b = append(b, byte('0'+v/10), byte('0'+v%10))
	}
	nn := off / (15 * 60)
	b = append(b, byte('0'+t.Nanosecond()/int(100*time.Millisecond)), byte('0'+nn/10), byte('0'+nn%10), sign)
	return string(b), nil
}

// maxRelative is the longest duration a relative time holds without
// calendar months: 99 days, 23:59:59.
const maxRelative = 100*24*time.Hour - time.Second

// errDuration is returned for durations a relative time cannot hold.
var errDuration = errors.New("pdu: a relative time holds 1 second to 99 days, 23:59:59")

// FormatDuration gives the relative SMPP time for a validity period: days,
// hours, minutes and seconds from the SMSC's now ("000002030000000R" for
// 2 days 3 hours). A fraction of a second rounds up, so a validity never
// shrinks to nothing. Months and years are not used: their length depends
// on the calendar, and the caller meant an exact duration. Durations below
// 1 ns or of 100 days and more are errors; use FormatTime for those.
func FormatDuration(d time.Duration) (string, error) {
	// Checked before rounding so the rounding cannot overflow.
	if d <= 0 || d > maxRelative {
		return "", fmt.Errorf("%w: have %s", errDuration, d)
	}
	secs := int64((d + time.Second - 1) / time.Second)
	days := secs / 86400
	secs %= 86400
	rel := RelativeTime{Days: int(days), Hours: int(secs / 3600), Minutes: int(secs % 3600 / 60), Seconds: int(secs % 60)}
	return Time{Relative: true, Rel: rel}.Format()
}
