package spool

import (
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// lockSuffix is the smstools3 writer lock: while X.LOCK exists, X is not
// taken (smstools3 src/extras.c getfile, src/locking.c islocked).
const lockSuffix = ".LOCK"

// skipName reports whether the pickup rules ignore a name in outgoing/:
// hidden names (our own barrier and probe files among them), smstools3 lock
// files and LOCKED* names, and the temporary names writers use before they
// rename a finished file into place. The suffixes are compared without
// regard to case because Windows tools write ".TMP" as often as ".tmp"; the
// LOCKED prefix is case-sensitive, as in smstools3.
func skipName(name string) bool {
	if name == "" || name[0] == '.' || strings.HasPrefix(name, "LOCKED") {
		return true
	}
	for _, suffix := range [...]string{".tmp", ".part", lockSuffix} {
		if hasSuffixFold(name, suffix) {
			return true
		}
	}
	return false
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// lockedBy returns X when name is the smstools3 lock "X.LOCK" of X. The
// relation is case-sensitive: X.LOCK names exactly X.
func lockedBy(name string) (string, bool) {
	if len(name) > len(lockSuffix) && strings.HasSuffix(name, lockSuffix) {
		return name[:len(name)-len(lockSuffix)], true
	}
	return "", false
}

// maxClaimLen keeps a claim name within every platform's limit for one path
// element: 255 bytes on Linux file systems, 255 UTF-16 units on NTFS (a UTF-8
// byte count is never below the UTF-16 count of the same text).
const maxClaimLen = 240

// claimer makes claim names: <unix-nanos>-<run>-<seq>-<original name>.
//
// DESIGN.md asks for a name unique across runs that derives from nothing a
// crash could reuse. The wall clock alone is not enough on an edge box
// without a real-time clock, whose time can restart from the same value after
// a power cut, and a counter restarts at every run; the run tag is 32 random
// bits drawn once per Intake, so two runs collide only if clock, counter and
// tag all repeat. A collision would make Store.Taken vouch for a file that
// was never stored, so the margin is worth 9 bytes.
//
// The original name comes last so that a claim found in .work/ after a crash
// still tells which file it was. A name too long to fit is cut at a rune
// boundary; only reports about a file recovered after a crash then carry
// the shortened name.
type claimer struct {
	run string
	seq uint64
}

func newClaimer() *claimer {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24: it aborts the program instead
	return &claimer{run: hex.EncodeToString(b[:])}
}

func (c *claimer) next(now time.Time, name string) string {
	c.seq++
	nanos := max(now.UnixNano(), 0)
	prefix := strconv.FormatInt(nanos, 10) + "-" + c.run + "-" + strconv.FormatUint(c.seq, 10) + "-"
	room := maxClaimLen - len(prefix)
	if len(name) > room {
		cut := room
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut]
	}
	return prefix + name
}

// originalName recovers the original file name from a claim. A name in
// .work/ that is not a claim (placed there by hand) stands for itself.
func originalName(claim string) string {
	parts := strings.SplitN(claim, "-", 4)
	if len(parts) != 4 || parts[3] == "" || !allDigits(parts[0]) || !isHex(parts[1]) || !allDigits(parts[2]) {
		return claim
	}
	return parts[3]
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && s != ""
}

// maxNameLen is the longest name of one path element every platform takes:
// 255 bytes on Linux file systems, 255 UTF-16 units on NTFS (a UTF-8 byte
// count is never below the UTF-16 count of the same text).
const maxNameLen = 255

// reportSuffix ends the name of the report beside a file in failed/.
const reportSuffix = ".error.json"

// numbered gives the n-th name tried when name is taken in failed/ or sent/:
// "a.json", "a.1.json", "a.2.json", shortened so that it and suffix (the
// report's ".error.json", or nothing) fit in maxNameLen: the part before
// the extension is cut at a rune boundary. The extension stays last so
// that tools that pick files by extension still see the right one; an
// extension too long to keep counts as part of the name. Any name a file
// system accepted in outgoing/ thus has a quarantine name that fits.
func numbered(name string, n int, suffix string) string {
	ext := filepath.Ext(name)
	if ext == name || len(ext) > 16 {
		ext = ""
	}
	stem, num := name[:len(name)-len(ext)], ""
	if n > 0 {
		num = "." + strconv.Itoa(n)
	}
	if room := maxNameLen - len(suffix) - len(num) - len(ext); len(stem) > room {
		cut := max(room, 0)
		for cut > 0 && !utf8.RuneStart(stem[cut]) {
			cut--
		}
		stem = stem[:cut]
	}
	return stem + num + ext
}
