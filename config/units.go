package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// day is the unit "d" adds to Go's duration syntax. A day here is always 24
// hours: retention and ages are measured in elapsed time, not calendar days.
const day = 24 * time.Hour

// ParseDuration reads a Go duration ("30s", "10m", "1h30m") or one with a
// leading day count ("7d", "1d12h"). Negative values are refused.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	days, rest, hasDays := strings.Cut(s, "d")
	if !hasDays {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, durationError(s)
		}
		if d < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		return d, nil
	}
	n, err := strconv.ParseUint(days, 10, 32)
	if err != nil {
		return 0, durationError(s)
	}
	total := time.Duration(n) * day
	if total/day != time.Duration(n) || total < 0 {
		return 0, fmt.Errorf("%q is too long", s)
	}
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil || r < 0 {
			return 0, durationError(s)
		}
		total += r
		if total < 0 {
			return 0, fmt.Errorf("%q is too long", s)
		}
	}
	return total, nil
}

func durationError(s string) error {
	return fmt.Errorf("%q is not a duration (use e.g. 30s, 10m, 48h, 7d)", s)
}

// FormatDuration writes d the way a person would in the file: "7d", "30s",
// "10m", "1h30m". ParseDuration reads it back.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	if d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String() // "1h0m0s", "10m0s", "1.5s"
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// ByteSize is a size in bytes, written in the file as plain bytes or with a
// binary unit: KiB, MiB, GiB.
type ByteSize int64

// Binary size units.
const (
	KiB ByteSize = 1 << 10
	MiB ByteSize = 1 << 20
	GiB ByteSize = 1 << 30
)

var sizeUnits = []struct {
	name string
	size ByteSize
}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1}}

// ParseByteSize reads "64MiB", "512 KiB", "1GiB" or "1048576". Decimal
// units (KB, MB) are refused rather than guessed: 1 MB is 1,000,000 bytes to
// some and 1,048,576 to others.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	unit := ByteSize(1)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(t, u.name); ok {
			t, unit = strings.TrimSpace(num), u.size
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (use bytes or KiB, MiB, GiB, e.g. 64MiB)", s)
	}
	if n > int64(^uint64(0)>>1)/int64(unit) {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return ByteSize(n) * unit, nil
}

// String writes the size with the largest unit that divides it exactly.
func (b ByteSize) String() string {
	for _, u := range sizeUnits {
		if b != 0 && b%u.size == 0 && u.size > 1 {
			return strconv.FormatInt(int64(b/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// ParseFileMode reads an octal permission string such as "0640" or "640".
// Only permission bits are accepted: no setuid, setgid or sticky bits.
func ParseFileMode(s string) (os.FileMode, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "0o")
	n, err := strconv.ParseUint(t, 8, 32)
	if err != nil || n > 0o777 {
		return 0, fmt.Errorf("%q is not an octal file mode between 0000 and 0777", s)
	}
	return os.FileMode(n), nil
}

// FormatFileMode writes a mode as four octal digits: "0640".
func FormatFileMode(m os.FileMode) string {
	return fmt.Sprintf("%04o", uint32(m.Perm()))
}
