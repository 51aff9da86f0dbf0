package msgfile

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/smsagent/smsagent"
)

// headerRule says what the smstools3 reader does with a header.
type headerRule uint8

const (
	ruleUse      headerRule = iota + 1 // supported
	ruleRejectOn                       // refused when its boolean value is true
	ruleReject                         // refused whenever present
	ruleWarn                           // ignored with a warning
	ruleQuiet                          // written by smsd itself; ignored silently
	ruleQueue                          // pins the SMSC account it names, else warned and ignored
)

// smstoolsHeaders is every header smstools 3.1.21 reads or writes
// (doc/fileformat.html). Names are case-sensitive there.
var smstoolsHeaders = map[string]headerRule{
	"To": ruleUse, "To_TOA": ruleUse, "From": ruleUse, "Alphabet": ruleUse,
	"Flash": ruleUse, "Report": ruleUse, "Validity": ruleUse, "Priority": ruleUse,
	"UDH-DATA": ruleUse, "UDH-DUMP": ruleUse, "Autosplit": ruleUse, "Class": ruleUse,

	// Ignoring these would send something else than the file asks for.
	"Binary": ruleRejectOn, "Hex": ruleRejectOn, "Text_is_pdu": ruleRejectOn,
	"Voicecall": ruleRejectOn, "Ping": ruleRejectOn, "System_message": ruleRejectOn,
	"Include": ruleReject, "Macro": ruleReject, "DCS_hex": ruleReject,

	// Modem, routing and TP-level knobs with no SMPP meaning here.
	"Queue": ruleQueue, "Provider": ruleWarn, "SMSC": ruleWarn, "Retries": ruleWarn,
	"Replace": ruleWarn, "Reject_duplicates": ruleWarn, "Reply_path": ruleWarn,
	"Message_reference": ruleWarn, "Language": ruleWarn, "Language_ext": ruleWarn,
	"UDH": ruleWarn, "Smsd_debug": ruleWarn,

	// Result headers smsd adds to files it has handled; a file moved back
	// from sent/ or failed/ carries them.
	"Sent": ruleQuiet, "Received": ruleQuiet, "Message_id": ruleQuiet, "Modem": ruleQuiet,
	"IMSI": ruleQuiet, "IMEI": ruleQuiet, "Number": ruleQuiet, "Sending_time": ruleQuiet,
	"PDU": ruleQuiet, "Fail_reason": ruleQuiet, "Failed": ruleQuiet,
	"Original_filename": ruleQuiet, "Subject": ruleQuiet, "From_TOA": ruleQuiet,
	"From_SMSC": ruleQuiet, "Length": ruleQuiet, "Error": ruleQuiet, "Warning": ruleQuiet,
	"Incomplete": ruleQuiet, "Call_type": ruleQuiet, "Name": ruleQuiet,
}

// foldedHeaders maps lower-case names to their smstools spelling.
var foldedHeaders = func() map[string]string {
	m := make(map[string]string, len(smstoolsHeaders))
	for name := range smstoolsHeaders {
		m[strings.ToLower(name)] = name
	}
	return m
}()

// maxWarnings caps the warnings logged for one file.
const maxWarnings = 20

// header is the last value of one header and the line it was on.
type header struct {
	value string
	line  int
}

type smstoolsReader struct {
	name     string
	opts     *Options
	ps       *problems
	warnings int
	headers  map[string]header
	// mistyped remembers, per known name, a header that differs only in
	// case, to explain a "missing To" in the default case-sensitive mode.
	mistyped map[string]header
}

func (s *smstoolsReader) problem(line int, field, format string, args ...any) {
	s.ps.add(Problem{Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (s *smstoolsReader) warn(line int, header, reason string) {
	s.warnings++
	if s.warnings > maxWarnings {
		return
	}
	s.opts.logger().Warn("msgfile: smstools header ignored",
		"file", s.name, "line", line, "header", truncate(header, 64), "reason", reason)
}

// parseSMSTools reads one smstools3 message file (doc/fileformat.html).
func parseSMSTools(data []byte, name string, opts *Options, ps *problems) []smsagent.Message {
	s := &smstoolsReader{name: name, opts: opts, ps: ps, headers: make(map[string]header)}
	// The byte order mark is skipped in memory; smstools rewrites the file
	// to drop it, we never touch the input.
	data = bytes.TrimPrefix(data, bomUTF8)
	if msg, bad := utf16Problem(data); bad {
		ps.add(Problem{Message: msg})
		return nil
	}
	body, bodyLine := s.readHeaders(data)
	if s.warnings > maxWarnings {
		opts.logger().Warn("msgfile: more smstools headers ignored", "file", name, "count", s.warnings-maxWarnings)
	}
	m := smsagent.Message{Report: true, Encoding: smsagent.EncodingAuto, File: baseName(name)}
	charset := opts.SMSToolsCharset
	if h, ok := s.headers["Alphabet"]; ok {
		switch a := strings.ToLower(h.value); {
		case strings.HasPrefix(a, "gsm"):
			m.Encoding, charset = smsagent.EncodingGSM7, charsetGSM
		case hasAnyPrefix(a, "iso", "lat", "ans"):
			charset = CharsetISO885915
		case hasAnyPrefix(a, "ucs", "uni", "chi"):
			m.Encoding, charset = smsagent.EncodingUCS2, charsetUTF16BE
		case strings.HasPrefix(a, "utf"):
			charset = CharsetUTF8
		case strings.HasPrefix(a, "bin"):
			s.problem(h.line, "Alphabet", "binary messages are not supported")
		default:
			s.problem(h.line, "Alphabet", "%s is not an alphabet: want GSM, ISO, UCS2 or UTF-8", quote(h.value))
		}
	}
	s.recipient(&m)
	if h, ok := s.headers["From"]; ok && h.value != "" {
		var err error
		if m.From, err = smsagent.ParseSender(h.value); err != nil {
			s.problem(h.line, "From", "%v", err)
		}
	}
	if h, ok := s.headers["Flash"]; ok {
		m.Flash = smstoolsBool(h.value)
	}
	if h, ok := s.headers["Queue"]; ok {
		m.SMSC = h.value
	}
	if h, ok := s.headers["Class"]; ok {
		switch h.value {
		case "0":
			m.Flash = true
		case "1", "2", "3", "-1", "":
			s.warn(h.line, "Class", "only class 0 (Flash) is supported; the message is sent without a class")
		default:
			s.problem(h.line, "Class", "%s: want 0, 1, 2 or 3", quote(h.value))
		}
	}
	if h, ok := s.headers["Report"]; ok {
		m.Report = smstoolsBool(h.value)
	}
	if h, ok := s.headers["Priority"]; ok {
		if strings.EqualFold(h.value, "high") || smstoolsBool(h.value) {
			m.Priority = smsagent.PriorityHigh
		}
	}
	if h, ok := s.headers["Validity"]; ok {
		var err error
		if m.Validity, err = smstoolsValidity(h.value); err != nil {
			s.problem(h.line, "Validity", "%v", err)
		}
	}
	if h, ok := s.headers["Autosplit"]; ok {
		switch h.value {
		case "0":
			m.Split = smsagent.SplitNone
		case "1":
			m.Split = smsagent.SplitPlain
		case "2":
			m.Split = smsagent.SplitNumbered
		case "3":
			m.Split = smsagent.SplitDefault
		default:
			s.problem(h.line, "Autosplit", "%s: want 0, 1, 2 or 3", quote(h.value))
		}
	}
	for _, name := range []string{"UDH-DUMP", "UDH-DATA"} {
		if h, ok := s.headers[name]; ok {
			var err error
			if m.UDH, err = parseUDH(h.value); err != nil {
				s.problem(h.line, name, "%v", err)
			}
		}
	}
	if body == nil {
		s.problem(bodyLine, "", "no blank line after the headers, so the message has no text")
	} else {
		m.Text = s.text(body, bodyLine, charset)
	}
	if ps.any() {
		// Headers are checked by meaning, not in file order; report them
		// in the order a person reads the file.
		slices.SortStableFunc(ps.list, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
		return nil
	}
	if err := m.Validate(); err != nil {
		s.problem(0, "", "%v", err)
		return nil
	}
	return []smsagent.Message{m}
}

// readHeaders reads header lines up to the first blank one and returns
// what follows it; body is nil when there is no blank line.
func (s *smstoolsReader) readHeaders(data []byte) (body []byte, bodyLine int) {
	line := 0
	for rest := data; ; {
		line++
		if len(rest) == 0 {
			return nil, line - 1
		}
		var l []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			l, rest = rest[:i], rest[i+1:]
		} else {
			l, rest = rest, nil
		}
		if len(bytes.Trim(l, " \t\r")) == 0 {
			if rest == nil {
				// A last line of blanks with no line end: still the
				// separator, followed by an empty body.
				rest = []byte{}
			}
			return rest, line + 1
		}
		s.header(l, line)
	}
}

// header records one header line, or a problem when the header refuses the
// file.
func (s *smstoolsReader) header(l []byte, line int) {
	colon := bytes.IndexByte(l, ':')
	if colon <= 0 {
		s.warn(line, string(l), "not a header line (no name before a colon)")
		return
	}
	name := string(l[:colon])
	value := trimHeaderValue(string(l[colon+1:]))
	rule, known := smstoolsHeaders[name]
	if !known {
		if canon, ok := foldedHeaders[strings.ToLower(name)]; ok {
			if !s.opts.FoldHeaderCase {
				s.warn(line, name, fmt.Sprintf("header names are case-sensitive; did you mean %q?", canon))
				if s.mistyped == nil {
					s.mistyped = make(map[string]header)
				}
				s.mistyped[canon] = header{value, line}
				return
			}
			s.opts.logger().Warn("msgfile: smstools header name in the wrong case",
				"file", s.name, "line", line, "header", name, "read_as", canon)
			name, rule, known = canon, smstoolsHeaders[canon], true
		}
	}
	switch {
	case !known:
		s.warn(line, name, "unknown header")
	case rule == ruleUse:
		s.headers[name] = header{value, line}
	case rule == ruleRejectOn:
		if smstoolsBool(value) || (name == "System_message" && (value == "2" || strings.EqualFold(value, "ToSIM"))) {
			s.problem(line, name, "%s", rejectReasons[name])
		}
	case rule == ruleReject:
		s.problem(line, name, "%s", rejectReasons[name])
	case rule == ruleWarn:
		s.warn(line, name, "has no effect over SMPP")
	case rule == ruleQueue:
		// smsd's provider queue; here the SMSC accounts are the providers.
		// A queue name of the smstools3 installation a site moves from
		// is not refused: it is ignored with a warning, as before.
		if slices.Contains(s.opts.Accounts, value) {
			s.headers[name] = header{value, line}
		} else {
			reason := quote(value) + " names no SMSC account here; ignored"
			if len(s.opts.Accounts) > 0 {
				reason += " (the accounts: " + strings.Join(s.opts.Accounts, ", ") + ")"
			}
			s.warn(line, name, reason)
		}
	case rule == ruleQuiet:
		s.opts.logger().Debug("msgfile: smstools result header ignored", "file", s.name, "line", line, "header", name)
	}
}

var rejectReasons = map[string]string{
	"Binary":         "binary messages are not supported",
	"Hex":            "hex-coded bodies are not supported; write the text itself",
	"Text_is_pdu":    "ready-made PDUs cannot be sent over SMPP",
	"Voicecall":      "voice calls cannot be made over SMPP",
	"Ping":           "silent (ping) messages are not supported; the message would arrive as a visible SMS",
	"System_message": "system messages are not supported; the message would arrive as a normal SMS",
	"Include":        "Include is not supported; put the headers and text in this file",
	"Macro":          "Macro is not supported; the text would go out with its placeholders unreplaced",
	"DCS_hex":        "a raw data coding is not supported; use Alphabet and Flash",
}

// recipient reads To: and To_TOA: with smstools' number rules, except that
// a stray character is an error instead of the silent end of the number.
func (s *smstoolsReader) recipient(m *smsagent.Message) {
	h, ok := s.headers["To"]
	if !ok || h.value == "" {
		msg := "missing: the file needs a \"To:\" header"
		if mt, ok := s.mistyped["To"]; ok {
			msg = fmt.Sprintf("missing: line %d is not read as \"To:\" because header names are case-sensitive", mt.line)
		}
		s.problem(h.line, "To", "%s", msg)
		return
	}
	if short, ok := strings.CutPrefix(h.value, "s"); ok {
		digits := strings.NewReplacer(" ", "", "-", "").Replace(short)
		if digits == "" || strings.Trim(digits, "0123456789") != "" || len(digits) > smsagent.MaxNumberDigits {
			s.problem(h.line, "To", "%s is not a short number: want \"s\" and up to %d digits", quote(h.value), smsagent.MaxNumberDigits)
			return
		}
		m.To = smsagent.Address{Value: digits, Kind: smsagent.AddrUnknown}
	} else {
		a, err := smsagent.ParseNumber(h.value)
		if err != nil {
			s.problem(h.line, "To", "%v", err)
			return
		}
		// smstools sends a number without a prefix as international (its
		// files carry "To: 358401234567"), so we do too; but no country
		// code starts with 0, so "0401234567" is a national number.
		if a.Kind == smsagent.AddrUnknown && a.Value[0] != '0' {
			a.Kind = smsagent.AddrInternational
		}
		m.To = a
	}
	if t, ok := s.headers["To_TOA"]; ok {
		switch strings.ToLower(t.value) {
		case "international":
			m.To.Kind = smsagent.AddrInternational
		case "national", "unknown":
			m.To.Kind = smsagent.AddrUnknown
		default:
			s.problem(t.line, "To_TOA", "%s: want unknown, international or national", quote(t.value))
		}
	}
}

// text decodes the body: trailing 0x1A bytes (a DOS end-of-file mark) go,
// then trailing white space unless nothing would be left.
func (s *smstoolsReader) text(body []byte, line int, cs Charset) string {
	var text string
	switch cs {
	case charsetUTF16BE:
		if len(body)%2 != 0 {
			s.problem(line, "", "the UTF-16BE body has an odd number of bytes (%d)", len(body))
			return ""
		}
		u := make([]uint16, 0, len(body)/2)
		for i := 0; i < len(body); i += 2 {
			u = append(u, uint16(body[i])<<8|uint16(body[i+1]))
		}
		if len(u) > 0 && u[0] == 0xFEFF {
			u = u[1:]
		}
		for i := 0; i < len(u); i++ {
			switch {
			case utf16.IsSurrogate(rune(u[i])) && (i+1 == len(u) || utf16.DecodeRune(rune(u[i]), rune(u[i+1])) == utf8.RuneError):
				s.problem(line, "", "the UTF-16BE body has a lone surrogate 0x%04X at byte %d", u[i], 2*i+1)
				return ""
			case utf16.IsSurrogate(rune(u[i])):
				i++
			}
		}
		text = strings.TrimRight(string(utf16.Decode(u)), "\x1a")
	case CharsetISO885915:
		text = decodeISO885915(bytes.TrimRight(body, "\x1a"))
	case charsetGSM:
		b := bytes.TrimRight(body, "\x1a")
		var bad int
		if text, bad = decodeGSM(b); bad >= 0 {
			s.problem(line+bytes.Count(b[:bad], []byte{'\n'}), "",
				"byte 0x%02X is not a GSM 7-bit character (Alphabet: GSM means the body is written in the GSM alphabet); for UTF-8 text use \"Alphabet: UTF-8\"", b[bad])
			return ""
		}
	default:
		b := bytes.TrimRight(body, "\x1a")
		if !utf8.Valid(b) {
			off := 0
			for off < len(b) {
				r, n := utf8.DecodeRune(b[off:])
				if r == utf8.RuneError && n == 1 {
					break
				}
				off += n
			}
			s.problem(line+bytes.Count(b[:off], []byte{'\n'}), "",
				"the body is not valid UTF-8 (byte 0x%02X); for ISO-8859-15 text add \"Alphabet: ISO\"", b[off])
			return ""
		}
		text = string(b)
	}
	// A body saved on Windows sends the same SMS as one saved on Linux: a
	// CR would cost a character and shows as a stray symbol on some phones.
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if trimmed := strings.TrimRight(text, " \t\r\n\v\f"); trimmed != "" {
		text = trimmed
	}
	if text == "" {
		s.problem(line, "", "the message has no text")
	}
	return text
}

// trimHeaderValue drops leading and trailing blanks and control characters,
// as smstools does.
func trimHeaderValue(v string) string {
	return strings.TrimFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

// smstoolsBool is smstools' yes-test: a value starting with 1, y, Y, t or T,
// or "on"/"On".
func smstoolsBool(v string) bool {
	if v == "on" || v == "On" {
		return true
	}
	return v != "" && strings.IndexByte("1yYtT", v[0]) >= 0
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// smstoolsValidity reads Validity: as a relative validity-period octet
// (3GPP TS 23.040 §9.2.3.12.1) or as "<n> <unit>" where a unit alone means
// one of it.
func smstoolsValidity(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 || n > 255 {
			return 0, fmt.Errorf("%s: a validity period octet is 0 to 255", quote(v))
		}
		return relativeValidity(byte(n)), nil
	}
	num := strings.TrimRight(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
	unit := strings.ToLower(v[len(num):])
	num = strings.TrimSpace(num)
	n := 1
	if num != "" {
		var err error
		if n, err = strconv.Atoi(num); err != nil || n <= 0 || n > 1000 {
			return 0, fmt.Errorf("%s: want 0-255 or a count from 1 to 1000 and a unit, such as \"2 day\"", quote(v))
		}
	}
	var per time.Duration
	switch strings.TrimSuffix(unit, "s") {
	case "min", "minute":
		per = time.Minute
	case "hour":
		per = time.Hour
	case "day":
		per = 24 * time.Hour
	case "week":
		per = 7 * 24 * time.Hour
	case "month":
		per = 30 * 24 * time.Hour
	case "year":
		per = 365 * 24 * time.Hour
	default:
		return 0, fmt.Errorf("%s: want 0-255 or a count and a unit: min, hour, day, week, month or year", quote(v))
	}
	return time.Duration(n) * per, nil
}

// relativeValidity decodes TP-VP in relative format (23.040 §9.2.3.12.1).
func relativeValidity(vp byte) time.Duration {
	switch {
	case vp <= 143:
		return time.Duration(vp+1) * 5 * time.Minute
	case vp <= 167:
		return 12*time.Hour + time.Duration(vp-143)*30*time.Minute
	case vp <= 196:
		return time.Duration(vp-166) * 24 * time.Hour
	default:
		return time.Duration(vp-192) * 7 * 24 * time.Hour
	}
}

// parseUDH reads "05 00 03 5F 02 01": hex octets separated by spaces, the
// first being the length of the rest (23.040 §9.2.3.24, UDHL).
func parseUDH(v string) ([]byte, error) {
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return nil, fmt.Errorf("empty")
	}
	udh := make([]byte, len(fields))
	for i, f := range fields {
		if len(f) != 2 {
			return nil, fmt.Errorf("%s is not a hex octet: write two hex digits per octet, separated by spaces", quote(f))
		}
		if _, err := hex.Decode(udh[i:i+1], []byte(f)); err != nil {
			return nil, fmt.Errorf("%s is not a hex octet", quote(f))
		}
	}
	if int(udh[0]) != len(udh)-1 {
		return nil, fmt.Errorf("the first octet says %d more octets follow, but %d do", udh[0], len(udh)-1)
	}
	if len(udh) > 140 {
		return nil, fmt.Errorf("%d octets do not fit in one SMS", len(udh))
	}
	return udh, nil
}

// Body charsets only an Alphabet: header selects.
const (
	charsetGSM Charset = iota + 100
	charsetUTF16BE
)

// gsmDefault is the GSM 7-bit default alphabet, 3GPP TS 23.038 §6.2.1: the
// character each septet value stands for.
var gsmDefault = [128]rune([]rune("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"))

// gsmExtension is the extension table reached by the escape septet 0x1B
// (23.038 §6.2.1.1).
var gsmExtension = map[byte]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\', 0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
}

// decodeGSM reads a body written in the GSM 7-bit alphabet, one septet per
// byte as smstools expects with "Alphabet: GSM". bad is the offset of the
// first byte that is no GSM character, or -1.
func decodeGSM(b []byte) (text string, bad int) {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 0x80 {
			return "", i
		}
		if c != 0x1B {
			sb.WriteRune(gsmDefault[c])
			continue
		}
		if i+1 == len(b) {
			return "", i
		}
		r, ok := gsmExtension[b[i+1]]
		if !ok {
			return "", i
		}
		sb.WriteRune(r)
		i++
	}
	return sb.String(), -1
}

// iso885915 holds the eight code points where ISO-8859-15 differs from
// Latin-1.
var iso885915 = map[byte]rune{
	0xA4: '€', 0xA6: 'Š', 0xA8: 'š', 0xB4: 'Ž', 0xB8: 'ž', 0xBC: 'Œ', 0xBD: 'œ', 0xBE: 'Ÿ',
}

func decodeISO885915(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/4)
	for _, c := range b {
		if r, ok := iso885915[c]; ok {
			sb.WriteRune(r)
		} else {
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}
