package msgfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smsagent/smsagent"
)

// parseJSONFile reads a .json file: one object or an array of objects,
// handing each message to f. The document is checked with json.Valid first,
// so the walkers below only ever see valid JSON and need no error paths of
// their own. The walk stops at the limit of messages or when f's callback
// fails.
func parseJSONFile(data []byte, f *jsonFile) {
	ps := f.ps
	data = bytes.TrimPrefix(data, bomUTF8)
	if msg, bad := utf16Problem(data); bad {
		ps.add(Problem{Message: msg})
		return
	}
	start := skipSpace(data, 0)
	if start == len(data) {
		ps.add(Problem{Message: "file is empty"})
		return
	}
	if c := data[start]; c != '{' && c != '[' {
		ps.add(Problem{Line: lineAt(data, start), Message: "file is .json but does not start with { or ["})
		return
	}
	if !json.Valid(data) {
		ps.add(syntaxProblem(data))
		return
	}
	// Each entry is copied into a string of its own, which its messages'
	// strings slice: a caller that keeps the messages in a form of its own
	// lets each copy go at once, where one string of the whole file would
	// stay until the file's last message went.
	if data[start] == '{' {
		end := skipValue(data, start)
		f.parseEntry(data[start:end], string(data[start:end]), lineAt(data, start), 0)
		return
	}
	// An array: walk its elements, keeping the line count incrementally so
	// that a 100,000-entry file is not rescanned for every entry.
	line, counted := 1, 0
	index := 0
	i := start + 1
	for !f.done() {
		i = skipSpace(data, i)
		if data[i] == ']' {
			break
		}
		end := skipValue(data, i)
		index++
		line += bytes.Count(data[counted:i], []byte{'\n'})
		counted = i
		if data[i] != '{' {
			if f.tally(0, line) {
				ps.add(Problem{Line: line, Index: index, Message: "not a JSON object but " + kindOf(data[i:end])})
			}
		} else {
			f.parseEntry(data[i:end], string(data[i:end]), line, index)
		}
		i = skipSpace(data, end)
		if data[i] == ',' {
			i++
		}
	}
	if index == 0 {
		ps.add(Problem{Line: lineAt(data, start), Message: "the array holds no messages"})
	}
}

// syntaxProblem locates the error json.Valid found.
func syntaxProblem(data []byte) Problem {
	var v struct{}
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return Problem{Message: "invalid JSON"}
	}
	off := int(se.Offset)
	if off > len(data) {
		off = len(data)
	}
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return Problem{Line: lineAt(data, off), Message: fmt.Sprintf("invalid JSON at column %d: %s", col, se)}
}

// jsonFile is what the entries of one file share.
type jsonFile struct {
	name string // base name, for Message.File
	ps   *problems
	fn   func(smsagent.Message) error // receives each message of a good file
	// fnErr is fn's error, which ends the walk.
	fnErr error
	// max is Options.MaxMessages; count the messages so far (one per
	// recipient, one per entry that has none); over is set once count
	// passed max, which ends the walk.
	max   int
	count int
	over  bool
	// The last sender parsed: bulk files repeat one sender, and parsing an
	// alphanumeric one costs a failed number parse first.
	sender     string
	senderAddr smsagent.Address
	senderErr  error
}

// emit hands a message to fn while the file has no problem.
func (f *jsonFile) emit(m smsagent.Message) {
	if f.fnErr == nil && !f.ps.any() {
		f.fnErr = f.fn(m)
	}
}

// done reports whether the walk must stop.
func (f *jsonFile) done() bool { return f.over || f.fnErr != nil }

// tally counts the messages of one entry (its recipients; one for an entry
// that has none, such as a line that is not JSON) and reports whether the
// file is still within the limit. Past it, the limit becomes the file's
// only problem: the file must be split whatever else is wrong with it.
func (f *jsonFile) tally(recipients, line int) bool {
	f.count += max(recipients, 1)
	if f.count <= f.max {
		return true
	}
	*f.ps = problems{}
	f.ps.add(tooManyMessages(line, f.max))
	f.over = true
	return false
}

func (f *jsonFile) parseSender(s string) (smsagent.Address, error) {
	if s != f.sender || f.sender == "" {
		f.sender = s
		f.senderAddr, f.senderErr = smsagent.ParseSender(s)
	}
	return f.senderAddr, f.senderErr
}

// JSON field names, as a bit each so an entry can tell a repeated field.
const (
	fTo = 1 << iota
	fText
	fFrom
	fID
	fReport
	fEncoding
	fFlash
	fValidity
	fSendAt
	fPriority
	fMeta
	fReportURL
	fSMSC
	fReportMask
)

// entry is what one JSON message object says, before it becomes one
// message per recipient.
type entry struct {
	f     *jsonFile
	obj   []byte
	src   string // obj as a string, to slice values from
	line  int    // line of obj[0]
	index int    // 1-based position in an array, else 0
	bad   bool

	seen  uint16 // fields present
	nulls uint16 // fields given as null
	taken uint16 // fields with a valid value
	to    []smsagent.Address
	toSet map[smsagent.Address]bool // for lists, to find a number given twice
	msg   smsagent.Message
}

func (e *entry) problem(off int, field, format string, args ...any) {
	e.bad = true
	line := e.line
	if off > 0 {
		line += bytes.Count(e.obj[:off], []byte{'\n'})
	}
	e.f.ps.add(Problem{Line: line, Index: e.index, Field: field, Message: fmt.Sprintf(format, args...)})
}

// parseEntry reads one message object (valid JSON starting with '{'; src
// is the same bytes as a string) and emits one message per recipient if the
// object has no problem.
func (f *jsonFile) parseEntry(obj []byte, src string, line, index int) {
	e := entry{f: f, obj: obj, src: src, line: line, index: index}
	e.msg.Report = true
	e.msg.Encoding = smsagent.EncodingAuto
	e.msg.File = f.name
	i := 1
	for {
		i = skipSpace(obj, i)
		if obj[i] == '}' {
			break
		}
		keyStart := i
		keyEnd := skipString(obj, i)
		i = skipSpace(obj, keyEnd) + 1 // past ':'
		i = skipSpace(obj, i)
		valStart := i
		i = skipValue(obj, i)
		if name, ok := e.key(obj[keyStart:keyEnd], keyStart); ok {
			e.field(name, obj[valStart:i], valStart)
		}
		i = skipSpace(obj, i)
		if obj[i] == ',' {
			i++
		}
	}
	if !f.tally(len(e.to), line) {
		return
	}
	if e.seen&fTo == 0 || e.nulls&fTo != 0 {
		e.problem(0, "to", "missing: give a number or a list of numbers")
	}
	if e.seen&fText == 0 || e.nulls&fText != 0 {
		e.problem(0, "text", "missing")
	} else if e.taken&fText != 0 && e.msg.Text == "" {
		e.problem(0, "text", "must not be empty")
	}
	if e.bad {
		return
	}
	for _, to := range e.to {
		m := e.msg
		m.To = to
		if err := m.Validate(); err != nil {
			e.problem(0, "", "%v", err)
			return
		}
		f.emit(m)
	}
}

// key decodes a member name and rejects unknown and repeated ones. Names
// are compared exactly: encoding/json would also accept "TO" for "to".
func (e *entry) key(raw []byte, off int) (string, bool) {
	name, err := e.decode(raw, off)
	if err != nil {
		e.problem(off, "", "field name %s: %v", raw, err)
		return "", false
	}
	bit := fieldBit(name)
	if bit == 0 {
		e.problem(off, name, "unknown field %s", quote(name))
		return "", false
	}
	if e.seen&bit != 0 {
		e.problem(off, name, "field appears twice")
		return "", false
	}
	e.seen |= bit
	return name, true
}

func fieldBit(name string) uint16 {
	switch name {
	case "to":
		return fTo
	case "text":
		return fText
	case "from":
		return fFrom
	case "id":
		return fID
	case "report":
		return fReport
	case "encoding":
		return fEncoding
	case "flash":
		return fFlash
	case "validity":
		return fValidity
	case "send_at":
		return fSendAt
	case "priority":
		return fPriority
	case "meta":
		return fMeta
	case "report_url":
		return fReportURL
	case "smsc":
		return fSMSC
	case "report_mask":
		return fReportMask
	}
	return 0
}

// field applies one member; null counts as absent for every field.
func (e *entry) field(name string, v []byte, off int) {
	if v[0] == 'n' {
		e.nulls |= fieldBit(name)
		return
	}
	if e.value(name, v, off) {
		e.taken |= fieldBit(name)
	}
}

// value decodes a member's value into the entry and reports whether it was
// valid.
func (e *entry) value(name string, v []byte, off int) bool {
	switch name {
	case "to":
		e.recipients(v, off)
		return true
	case "meta":
		if v[0] != '{' {
			e.problem(off, name, "must be a JSON object, not %s", kindOf(v))
			return false
		}
		if err := checkText(v); err != nil {
			e.problem(off, name, "%v", err)
			return false
		}
		e.msg.Meta = bytes.Clone(v)
		return true
	case "report", "flash":
		b, ok := e.boolean(name, v, off)
		if !ok {
			return false
		}
		if name == "report" {
			e.msg.Report = b
		} else {
			e.msg.Flash = b
		}
		return true
	case "report_mask":
		n, err := strconv.Atoi(string(v))
		if err != nil || n&^smsagent.ReportMaskBits != 0 || n < 0 {
			e.problem(off, name, "%s: want a sum of 1, 2, 4, 8 and 16 (Kannel's dlr-mask bits; 4 and 8 ask for intermediate reports)", v)
			return false
		}
		e.msg.Callback.ReportMask = n
		return true
	}
	s, ok := e.str(name, v, off)
	if !ok {
		return false
	}
	var err error
	switch name {
	case "text":
		e.msg.Text = s
	case "from":
		e.msg.From, err = e.f.parseSender(s)
	case "id":
		if len(s) > smsagent.MaxClientIDLen {
			err = fmt.Errorf("longer than %d bytes", smsagent.MaxClientIDLen)
		}
		e.msg.ClientID = s
	case "encoding":
		e.msg.Encoding, err = smsagent.ParseEncoding(s)
	case "validity":
		e.msg.Validity, err = parseValidity(s)
	case "send_at":
		e.msg.SendAt, err = time.Parse(time.RFC3339, s)
		if err != nil {
			err = fmt.Errorf("%s is not an RFC 3339 time with a zone, such as 2026-11-25T18:00:00Z or 2026-11-25T20:00:00+02:00", quote(s))
		}
	case "report_url":
		e.msg.Callback.URL = s
		err = e.msg.Callback.Check()
	case "smsc":
		e.msg.SMSC = s
		err = smsagent.CheckAccountName(s)
	case "priority":
		switch s {
		case "high":
			e.msg.Priority = smsagent.PriorityHigh
		case "normal":
			e.msg.Priority = smsagent.PriorityNormal
		default:
			err = fmt.Errorf("%s: want \"high\" or \"normal\"", quote(s))
		}
	}
	if err != nil {
		e.problem(off, name, "%v", err)
		return false
	}
	return true
}

// recipients reads "to": one number or a list of them.
func (e *entry) recipients(v []byte, off int) {
	add := func(raw []byte, at int) {
		s, ok := e.str("to", raw, at)
		if !ok {
			return
		}
		a, err := smsagent.ParseNumber(s)
		if err != nil {
			e.problem(at, "to", "%v", err)
			return
		}
		if e.toSet != nil {
			if e.toSet[a] {
				e.problem(at, "to", "%s is listed twice", a)
				return
			}
			e.toSet[a] = true
		}
		e.to = append(e.to, a)
	}
	switch v[0] {
	case '"':
		add(v, off)
	case '[':
		e.toSet = make(map[smsagent.Address]bool)
		n := 0
		for i := skipSpace(v, 1); v[i] != ']'; {
			end := skipValue(v, i)
			add(v[i:end], off+i)
			n++
			if i = skipSpace(v, end); v[i] == ',' {
				i = skipSpace(v, i+1)
			}
		}
		if n == 0 {
			e.problem(off, "to", "the list is empty")
		}
	default:
		hint := ""
		if kindOf(v) == "a number" {
			// A JSON number loses the "+" and leading zeros that make a
			// phone number what it is.
			hint = ` (write numbers in quotes: "+358401234567")`
		}
		e.problem(off, "to", "must be a string or an array of strings, not %s%s", kindOf(v), hint)
	}
}

func (e *entry) str(name string, v []byte, off int) (string, bool) {
	if v[0] != '"' {
		e.problem(off, name, "must be a string, not %s", kindOf(v))
		return "", false
	}
	s, err := e.decode(v, off)
	if err != nil {
		e.problem(off, name, "%v", err)
		return "", false
	}
	return s, true
}

func (e *entry) boolean(name string, v []byte, off int) (bool, bool) {
	switch v[0] {
	case 't':
		return true, true
	case 'f':
		return false, true
	}
	e.problem(off, name, "must be true or false, not %s", kindOf(v))
	return false, false
}

// kindOf names the JSON type of a valid value for error messages.
func kindOf(v []byte) string {
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// decode decodes the valid JSON string literal raw found at obj[off:],
// refusing what encoding/json would silently replace by U+FFFD: invalid
// UTF-8 and lone surrogate escapes. Without escapes the result is a slice of
// the entry's string, not a copy.
func (e *entry) decode(raw []byte, off int) (string, error) {
	body := raw[1 : len(raw)-1]
	if err := checkText(body); err != nil {
		return "", err
	}
	if bytes.IndexByte(body, '\\') < 0 {
		return e.src[off+1 : off+len(raw)-1], nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// checkText reports invalid UTF-8 and unpaired UTF-16 surrogate escapes in
// valid JSON text.
func checkText(b []byte) error {
	if !utf8.Valid(b) {
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return fmt.Errorf("not valid UTF-8 (byte 0x%02X at position %d)", b[i], i+1)
			}
			i += n
		}
	}
	for i := bytes.IndexByte(b, '\\'); i >= 0 && i+1 < len(b); {
		if b[i+1] != 'u' {
			i += 2
		} else {
			r := hex4(b[i+2:])
			switch {
			case r >= 0xD800 && r < 0xDC00:
				if i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
					return fmt.Errorf("lone UTF-16 surrogate \\u%04X", r)
				}
				if lo := hex4(b[i+8:]); lo < 0xDC00 || lo > 0xDFFF {
					return fmt.Errorf("lone UTF-16 surrogate \\u%04X", r)
				}
				i += 12
			case r >= 0xDC00 && r <= 0xDFFF:
				return fmt.Errorf("lone UTF-16 surrogate \\u%04X", r)
			default:
				i += 6
			}
		}
		j := bytes.IndexByte(b[min(i, len(b)):], '\\')
		if j < 0 {
			break
		}
		i += j
	}
	return nil
}

// hex4 reads the four hex digits of a \u escape (valid JSON guarantees them).
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 16)
	if err != nil {
		return -1
	}
	return rune(n)
}

// maxValidityDays keeps days*24h inside time.Duration.
const maxValidityDays = math.MaxInt64 / int64(24*time.Hour)

// parseValidity reads a Go duration that may start with a whole number of
// days: "90m", "24h", "2d", "1d12h".
func parseValidity(s string) (time.Duration, error) {
	var days int64
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 || s[0] == '+' {
			return 0, fmt.Errorf("%s: days must be a whole number before \"d\", as in \"2d\" or \"1d12h\"", quote(s))
		}
		if n > maxValidityDays {
			return 0, fmt.Errorf("%s is too long", quote(s))
		}
		days, rest = n, s[i+1:]
	}
	var d time.Duration
	if rest != "" || days == 0 {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, fmt.Errorf("%s is not a duration such as \"90m\", \"24h\" or \"2d\"", quote(s))
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("%s must not be negative", quote(s))
	}
	total := time.Duration(days)*24*time.Hour + d
	if total < d {
		return 0, fmt.Errorf("%s is too long", quote(s))
	}
	if total <= 0 {
		return 0, fmt.Errorf("%s must be greater than zero", quote(s))
	}
	return total, nil
}

// The walkers below run only on input json.Valid accepted.

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string literal starting at b[i].
func skipString(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexAny(b[i:], `"\`)
		if j < 0 {
			return len(b)
		}
		i += j
		if b[i] == '"' {
			return i + 1
		}
		i += 2
	}
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
}
