package spool_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/smsagent/smsagent/spool"
)

func TestSkipName(t *testing.T) {
	for name, want := range map[string]bool{
		"msg.json":           false,
		"msg":                false,
		"Locked.json":        false, // the LOCKED prefix is case-sensitive
		"x.LOCK.json":        false,
		"tmp.json":           false,
		".msg.json":          true,
		"LOCKEDmsg":          true,
		"msg.json.LOCK":      true,
		"msg.json.lock":      true,
		"msg.json.tmp":       true,
		"msg.json.TMP":       true,
		"msg.json.part":      true,
		"msg.json.PART":      true,
		".smsagent-barrier-": true,
		"":                   true,
	} {
		if got := spool.SkipName(name); got != want {
			t.Errorf("SkipName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestClaim_Names(t *testing.T) {
	next := spool.NewClaimer()
	now := time.Unix(1700000000, 5)
	a, b := next(now, "a b.json"), next(now, "a b.json")
	if a == b {
		t.Fatalf("two claims at the same instant are equal: %q", a)
	}
	if other := spool.NewClaimer()(now, "a b.json"); other == a {
		t.Errorf("a second run made the same first claim %q", a)
	}
	if got := spool.OriginalName(a); got != "a b.json" {
		t.Errorf("OriginalName(%q) = %q", a, got)
	}
	if !strings.HasPrefix(a, "1700000000000000005-") {
		t.Errorf("claim %q does not start with the time", a)
	}
	long := strings.Repeat("é", 200) + ".json" // 405 bytes
	c := next(now, long)
	if len(c) > 240 || !utf8.ValidString(c) {
		t.Errorf("claim of a long name: %d bytes, valid UTF-8 %v", len(c), utf8.ValidString(c))
	}
	if !strings.HasPrefix(long, spool.OriginalName(c)) {
		t.Errorf("OriginalName of a shortened claim is not a prefix of the name")
	}
	for _, notClaim := range []string{"hand-placed.json", "1-zz-1-x", "1-ab-x-y"} {
		if got := spool.OriginalName(notClaim); got != notClaim {
			t.Errorf("OriginalName(%q) = %q, want the name itself", notClaim, got)
		}
	}
}

func TestNumbered(t *testing.T) {
	long := strings.Repeat("a", 245) + ".json"
	euro := strings.Repeat("€", 85) + ".json" // 255 bytes
	for _, c := range []struct {
		name   string
		n      int
		suffix string
		want   string
	}{
		{"a.json", 0, "", "a.json"},
		{"a.json", 1, "", "a.1.json"},
		{"a.json", 12, "", "a.12.json"},
		{"noext", 2, "", "noext.2"},
		{"a.b.c", 1, "", "a.b.1.c"},
		{long, 0, "", long},
		{long, 0, ".error.json", strings.Repeat("a", 239) + ".json"},
		{long, 3, ".error.json", strings.Repeat("a", 237) + ".3.json"},
		{long, 3, "", strings.Repeat("a", 245) + ".3.json"},
		// Cut at a rune boundary: 79 euro signs are 237 bytes.
		{euro, 1, ".error.json", strings.Repeat("€", 79) + ".1.json"},
		// An extension too long to keep is part of the name.
		{"a." + strings.Repeat("x", 252), 0, ".error.json", "a." + strings.Repeat("x", 242)},
	} {
		got := spool.Numbered(c.name, c.n, c.suffix)
		if got != c.want {
			t.Errorf("Numbered(%q, %d, %q) = %q, want %q", c.name, c.n, c.suffix, got, c.want)
		}
		if len(got)+len(c.suffix) > 255 || !utf8.ValidString(got) {
			t.Errorf("Numbered(%q, %d, %q) = %q: %d bytes with the suffix, or cut inside a rune", c.name, c.n, c.suffix, got, len(got)+len(c.suffix))
		}
	}
}
