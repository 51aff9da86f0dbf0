package dlr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxIDLen is the longest receipt id accepted: the 65 octets of a
// receipted_message_id or submit_sm_resp message_id (SMPP 3.4 §5.3.2.12,
// §4.4.2).
const MaxIDLen = 65

// ErrNoID is wrapped by the error for a text without an "id:" field: it is
// not a receipt text.
var ErrNoID = errors.New("no id: not a receipt text")

// errNoID is built once: most deliver_sm that are not receipts end here.
var errNoID = fmt.Errorf("dlr: %w", ErrNoID)

// ErrBadID is wrapped by the error for an id that is empty, longer than
// MaxIDLen or has a character outside [0-9A-Za-z_.:-].
var ErrBadID = errors.New("invalid receipt id")

// Text holds the fields of a receipt text (SMPP 3.4 Appendix B) as the SMSC
// wrote them. Every field but ID may be empty.
type Text struct {
	ID         string // checked: see ErrBadID
	Sub        string // messages submitted, e.g. "001" or "1"
	Dlvrd      string // messages delivered
	SubmitDate string // the digits as sent; see ParseDate
	DoneDate   string
	Stat       string // the stat word as sent, e.g. "DELIVRD"
	Err        string // the err value as sent, e.g. "000", "0000" or "0"
	Text       string // everything after "text:", trimmed
}

// field names a receipt text field.
type field uint8

const (
	fieldID field = iota
	fieldSub
	fieldDlvrd
	fieldSubmitDate
	fieldDoneDate
	fieldStat
	fieldErr
	fieldText
	numFields
)

// labels are the field labels, each a list of words. Between the words of
// "submit date" and "done date" any run of spaces or underscores is
// accepted, or none ("submit_date", "donedate").
var labels = [numFields][]string{
	fieldID:         {"id"},
	fieldSub:        {"sub"},
	fieldDlvrd:      {"dlvrd"},
	fieldSubmitDate: {"submit", "date"},
	fieldDoneDate:   {"done", "date"},
	fieldStat:       {"stat"},
	fieldErr:        {"err"},
	fieldText:       {"text"},
}

// isSep reports whether c separates fields. NUL counts because SMSCs
// terminate the text with one; other control characters do not, so that
// they make an id invalid instead of silently cutting it short.
func isSep(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '\f', '\v', 0:
		return true
	}
	return false
}

// matchLabel reports whether a label and its colon start at s[i], and where
// its value starts.
func matchLabel(s string, i int) (field, int, bool) {
	for f, words := range labels {
		j := i
		ok := true
		for w, word := range words {
			if w > 0 {
				for j < len(s) && (s[j] == ' ' || s[j] == '_') {
					j++
				}
			}
			if len(s)-j < len(word) || !strings.EqualFold(s[j:j+len(word)], word) {
				ok = false
				break
			}
			j += len(word)
		}
		if ok && j < len(s) && s[j] == ':' {
			return field(f), j + 1, true
		}
	}
	return 0, 0, false
}

// tokenEnd is the index of the first separator at or after i.
func tokenEnd(s string, i int) int {
	for i < len(s) && !isSep(s[i]) {
		i++
	}
	return i
}

// ParseText reads a receipt text field by field. Labels are matched in any
// letter case and any order, each at the start of a word; values may be
// unpadded ("sub:1 err:0") and may follow their colon after spaces. The
// first non-empty value of a field wins; "text:" takes the rest of the
// string. Words that are no known label are skipped. Only the id is required:
// without one the error wraps ErrNoID, with one outside the charset or longer
// than MaxIDLen it wraps ErrBadID. ParseText never panics.
func ParseText(s string) (Text, error) {
	var vals [numFields]string
	for i := 0; i < len(s); {
		if isSep(s[i]) {
			i++
			continue
		}
		f, start, ok := matchLabel(s, i)
		if !ok {
			i = tokenEnd(s, i)
			continue
		}
		if f == fieldText {
			vals[f] = strings.TrimFunc(s[start:], func(r rune) bool { return r < 0x80 && isSep(byte(r)) })
			break
		}
		// "stat: DELIVRD" has its value after a space, but in "sub: dlvrd:1"
		// the space ends an empty value. Without a space the value is the
		// whole word, colons and all ("id:err:5" is the id "err:5").
		j := start
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if _, _, next := matchLabel(s, j); next && j > start {
			i = j
			continue
		}
		end := tokenEnd(s, j)
		if vals[f] == "" {
			vals[f] = s[j:end]
		}
		i = end
	}
	t := Text{
		ID: vals[fieldID], Sub: vals[fieldSub], Dlvrd: vals[fieldDlvrd],
		SubmitDate: vals[fieldSubmitDate], DoneDate: vals[fieldDoneDate],
		Stat: vals[fieldStat], Err: vals[fieldErr], Text: vals[fieldText],
	}
	if t.ID == "" {
		return t, errNoID
	}
	if err := checkID(t.ID); err != nil {
		t.ID = ""
		return t, err
	}
	return t, nil
}

// checkID applies the id rule: 1 to MaxIDLen characters of
// [0-9A-Za-z_.:-], the union of what SMSCs put in ids and nothing that could
// be mistaken for a separator.
func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("dlr: %w: empty", ErrBadID)
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("dlr: %w: %d characters, at most %d", ErrBadID, len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return fmt.Errorf("dlr: %w %q: character %q at position %d", ErrBadID, id, id[i], i+1)
		}
	}
	return nil
}

func idChar(c byte) bool {
	switch {
	case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return true
	}
	return c == '_' || c == '-' || c == '.' || c == ':'
}

// ParseDate reads a receipt date in loc (nil means UTC): YYMMDDhhmm as
// Appendix B writes it, YYMMDDhhmmss, or YYYYMMDDhhmmss. A two-digit year is
// in the 2000s. The text carries no zone; it is the SMSC's local time, which
// only the operator knows.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, fmt.Errorf("dlr: date %q: not all digits", s)
		}
	}
	if loc == nil {
		loc = time.UTC
	}
	var layout string
	switch len(s) {
	case 10:
		s, layout = "20"+s, "200601021504"
	case 12:
		s, layout = "20"+s, "20060102150405"
	case 14:
		layout = "20060102150405"
	default:
		return time.Time{}, fmt.Errorf("dlr: date %q: %d digits, want 10, 12 or 14", s, len(s))
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("dlr: date %q: %w", s, err)
	}
	return t, nil
}
