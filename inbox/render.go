package inbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smsagent/smsagent"
)

// Format is the layout of inbox files.
type Format uint8

const (
	// FormatJSON writes the event as indented JSON in "<name>.json".
	FormatJSON Format = iota
	// FormatSMSTools writes the smstools3 text layout in "<name>", for
	// scripts that read smstools' incoming/ and report/ folders.
	FormatSMSTools
	// FormatNDJSON appends each event as one line of JSON to a file that
	// is closed and renamed into the inbox by count or age
	// ("<time>-e<first>-e<last>.events.ndjson"), for integrations that
	// take reports in bulk.
	FormatNDJSON
)

func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "json"
	case FormatSMSTools:
		return "smstools"
	case FormatNDJSON:
		return "ndjson"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat reads the words String gives.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "json", "":
		return FormatJSON, nil
	case "smstools":
		return FormatSMSTools, nil
	case "ndjson":
		return FormatNDJSON, nil
	}
	return 0, fmt.Errorf("inbox: unknown format %q: want json, smstools or ndjson", s)
}

// ErrUnsafeName is returned by Render when an event's file name could not
// be created safely on every supported file system.
var ErrUnsafeName = errors.New("unsafe file name")

// Render gives the file name and content of one event. The content depends
// only on the event, so a crash followed by a rewrite produces the same
// bytes.
func Render(e smsagent.Event, format Format) (name string, data []byte, err error) {
	name = e.FileName()
	if format == FormatJSON {
		name += ".json"
	}
	if err := CheckName(name); err != nil {
		return "", nil, fmt.Errorf("inbox: event %d: %w", e.Seq, err)
	}
	switch format {
	case FormatJSON:
		data, err = renderJSON(&e)
	case FormatSMSTools:
		data, err = renderSMSTools(&e)
	default:
		err = fmt.Errorf("unknown format %d", format)
	}
	if err != nil {
		return "", nil, fmt.Errorf("inbox: event %d: %w", e.Seq, err)
	}
	return name, data, nil
}

// payloadError reports an event whose Kind and payload disagree.
func payloadError(e *smsagent.Event) error {
	return fmt.Errorf("%s event without its payload", e.Kind)
}

// RenderLine is an event as one line of JSON, newline included: the same
// object FormatJSON writes, compacted (FormatNDJSON).
func RenderLine(e smsagent.Event) ([]byte, error) {
	data, err := renderJSON(&e)
	if err != nil {
		return nil, fmt.Errorf("inbox: event %d: %w", e.Seq, err)
	}
	var buf bytes.Buffer
	buf.Grow(len(data))
	if err := json.Compact(&buf, data); err != nil {
		return nil, fmt.Errorf("inbox: event %d: %w", e.Seq, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func renderJSON(e *smsagent.Event) ([]byte, error) {
	var v any
	switch e.Kind {
	case smsagent.EventReport:
		if e.Report == nil {
			return nil, payloadError(e)
		}
		r := utcReport(*e.Report)
		v = &r
	case smsagent.EventMO:
		if e.MO == nil {
			return nil, payloadError(e)
		}
		m := *e.MO
		m.Type, m.Received = "mo", m.Received.UTC()
		v = &m
	case smsagent.EventDuplicate:
		if e.Duplicate == nil {
			return nil, payloadError(e)
		}
		d := *e.Duplicate
		d.Type, d.Time = "duplicate", d.Time.UTC()
		v = &d
	case smsagent.EventCallbackFailed:
		if e.CallbackFailed == nil {
			return nil, payloadError(e)
		}
		n := *e.CallbackFailed
		n.Type, n.Since, n.GaveUp = "callback_failed", n.Since.UTC(), n.GaveUp.UTC()
		v = &n
	default:
		return nil, fmt.Errorf("unknown event kind %s", e.Kind)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Texts are shown to people and read by scripts, not embedded in HTML:
	// keep "<" and "&" readable.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return escapeControls(buf.Bytes()), nil
}

// escapeControls escapes DEL and the C1 controls (U+0080-U+009F), which
// encoding/json leaves raw but a terminal showing the file may obey. In
// valid JSON they can only occur inside strings, where \u escapes mean the
// same.
func escapeControls(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] != 0x7f && !(b[i] == 0xc2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] < 0xa0) {
		i++
	}
	if i == len(b) {
		return b
	}
	out := append(make([]byte, 0, len(b)+32), b[:i]...)
	for ; i < len(b); i++ {
		switch {
		case b[i] == 0x7f:
			out = append(out, `\u007f`...)
		case b[i] == 0xc2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] < 0xa0:
			out = fmt.Appendf(out, `\u%04x`, b[i+1])
			i++
		default:
			out = append(out, b[i])
		}
	}
	return out
}

// utcReport copies a report with its type set and its times in UTC, so
// that the file does not depend on the zone the outbox decoded them in.
func utcReport(r smsagent.Report) smsagent.Report {
	r.Type = "report"
	r.Done = r.Done.UTC()
	if r.Submitted != nil {
		t := r.Submitted.UTC()
		r.Submitted = &t
	}
	return r
}

// smstoolsTime is smstools' default datetime_format, "yy-mm-dd HH:MM:SS".
const smstoolsTime = "06-01-02 15:04:05"

func stamp(t time.Time) string { return t.UTC().Format(smstoolsTime) }

// headerWriter writes "Name: value" lines, keeping every value on its line.
type headerWriter struct{ bytes.Buffer }

func (h *headerWriter) add(name, value string) {
	h.WriteString(name)
	h.WriteString(": ")
	h.WriteString(headerValue(value))
	h.WriteByte('\n')
}

// addIf writes the header only when the value is not empty.
func (h *headerWriter) addIf(name, value string) {
	if value != "" {
		h.add(name, value)
	}
}

// headerValue makes a string safe for one header line: anything that could
// end the line or confuse a reader (control characters, Unicode line and
// paragraph separators, invalid UTF-8) becomes U+FFFD.
func headerValue(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == utf8.RuneError
}

// smstoolsNumber writes a number as smstools does: international numbers
// without the "+".
func smstoolsNumber(s string) string { return strings.TrimPrefix(s, "+") }

func renderSMSTools(e *smsagent.Event) ([]byte, error) {
	var h headerWriter
	switch e.Kind {
	case smsagent.EventReport:
		if e.Report == nil {
			return nil, payloadError(e)
		}
		statusReport(&h, e.Report)
	case smsagent.EventMO:
		if e.MO == nil {
			return nil, payloadError(e)
		}
		incoming(&h, e.MO)
	case smsagent.EventDuplicate:
		if e.Duplicate == nil {
			return nil, payloadError(e)
		}
		duplicates(&h, e.Duplicate)
	case smsagent.EventCallbackFailed:
		if e.CallbackFailed == nil {
			return nil, payloadError(e)
		}
		callbackFailed(&h, e.CallbackFailed)
	default:
		return nil, fmt.Errorf("unknown event kind %s", e.Kind)
	}
	return h.Bytes(), nil
}

// statusReport writes the smstools "report" file: the header block of a
// received message, then the status report body. Headers after Received
// are ours; smstools readers skip headers they do not know.
func statusReport(h *headerWriter, r *smsagent.Report) {
	from, smscID, msgID := r.To, "", r.MessageID.String()
	if r.Parts != nil && len(r.Parts.Items) > 0 {
		smscID = r.Parts.Items[0].SMSCID
	}
	if rc := r.Receipt; rc != nil {
		// An unmatched receipt: all we know is what the SMSC said.
		if from == "" {
			from = rc.Source
		}
		smscID = rc.SMSCID
		if r.MessageID == 0 {
			msgID = rc.SMSCID
		}
	}
	h.addIf("From", smstoolsNumber(from))
	if r.Submitted != nil {
		h.add("Sent", stamp(*r.Submitted))
	}
	h.add("Received", stamp(r.Done))
	h.add("Report_status", r.Status)
	h.addIf("Stat", r.Stat)
	h.addIf("Err", r.Err)
	h.addIf("Error", r.Error)
	h.addIf("Id", r.ID)
	h.addIf("SMSC_id", smscID)
	if r.Parts != nil {
		h.add("Parts", strconv.Itoa(r.Parts.Count))
	}
	h.addIf("Sender", r.From)
	h.addIf("File", r.File)
	if len(r.Meta) > 0 {
		var meta bytes.Buffer
		if json.Compact(&meta, r.Meta) == nil {
			h.add("Meta", meta.String())
		}
	}
	code, text := tpStatus(r.Status, r.Stat)
	h.WriteString("\nSMS STATUS REPORT\n")
	h.add("Message_id", msgID)
	h.add("Discharge_timestamp", stamp(r.Done))
	h.add("Status", strconv.Itoa(code)+","+text)
}

// incoming writes the smstools "incoming" file of a received SMS. The body
// is UTF-8 whatever the SMS's alphabet, as smstools writes it with
// incoming_utf8 = yes.
func incoming(h *headerWriter, m *smsagent.MO) {
	h.add("From", smstoolsNumber(m.From))
	h.addIf("To", smstoolsNumber(m.To))
	h.add("Received", stamp(m.Received))
	alphabet := "ISO"
	switch m.Encoding {
	case "ucs2":
		alphabet = "UCS2"
	case "", "gsm7", "latin1":
	default:
		alphabet = m.Encoding
	}
	text := strings.ToValidUTF8(m.Text, "\uFFFD")
	h.add("Alphabet", alphabet)
	h.add("Length", strconv.Itoa(utf8.RuneCountInString(text)))
	if m.Parts > 1 {
		h.add("Parts", strconv.Itoa(m.Parts))
	}
	if m.Incomplete {
		h.add("Incomplete", "yes")
	}
	h.WriteByte('\n')
	h.WriteString(text)
	if !strings.HasSuffix(text, "\n") {
		h.WriteByte('\n')
	}
}

// duplicates lists the messages of a file that were not stored again. It
// has no smstools counterpart; it follows the same header-block layout.
func duplicates(h *headerWriter, d *smsagent.Duplicate) {
	h.add("File", d.File)
	h.add("Received", stamp(d.Time))
	h.add("Duplicates", strconv.Itoa(len(d.Messages)))
	h.WriteString("\nDUPLICATE MESSAGES\n")
	for i, m := range d.Messages {
		if i > 0 {
			h.WriteByte('\n')
		}
		h.add("Id", m.ID)
		h.add("Message_id", m.MessageID.String())
		h.add("To", m.To)
	}
}

// callbackFailed notes a callback given up. It has no smstools
// counterpart; it follows the same header-block layout.
func callbackFailed(h *headerWriter, n *smsagent.CallbackFailed) {
	h.add("Message_id", n.MessageID.String())
	h.addIf("Id", n.ID)
	h.addIf("File", n.File)
	h.add("Method", n.Method)
	h.add("URL", n.URL)
	h.add("Attempts", strconv.Itoa(n.Attempts))
	h.add("Owed_since", stamp(n.Since))
	h.add("Gave_up", stamp(n.GaveUp))
	h.addIf("Last_error", n.LastError)
	h.WriteString("\nCALLBACK FAILED\n")
	h.WriteString(n.Reason + "\n")
}

// tpStatus maps a final report to the TP-Status octet of 3GPP TS 23.040
// §9.2.3.15 and smstools' wording of it (src/pdu.c explain_status). Our
// status decides where it can; the receipt's stat word refines it.
func tpStatus(status, stat string) (int, string) {
	switch status {
	case "delivered":
		return 0, "Ok,short message received by the SME"
	case "sent":
		// Accepted by the SMSC, no receipt requested or none came.
		return 1, "Ok,short message forwarded by the SC to the SME but the SC is unable to confirm delivery"
	case "expired":
		return 70, "Error,SM validity period expired"
	case "canceled":
		return 71, "Error,SM deleted by originating SME"
	}
	switch stat {
	case "DELIVRD":
		return 0, "Ok,short message received by the SME"
	case "ACCEPTD", "ENROUTE":
		return 32, "Still trying,congestion"
	case "EXPIRED":
		return 70, "Error,SM validity period expired"
	case "DELETED":
		return 72, "Error,SM deleted by SC administration"
	}
	// UNDELIV, REJECTD, UNKNOWN, a refused submit, any other failure.
	return 64, "Error,remote procedure error"
}

// CheckName accepts only names made of letters, digits and ".-_+": every
// name Event.FileName makes from our own timestamp, ids and kind. It also
// applies the Windows rules, so that a change of FileName cannot silently
// produce a name that fails or means a device there. Errors wrap
// ErrUnsafeName.
func CheckName(name string) error {
	if name == "" || len(name) > 200 {
		return fmt.Errorf("%w: %d bytes", ErrUnsafeName, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-_+", c) >= 0) {
			return fmt.Errorf("%w: %q has %q", ErrUnsafeName, name, c)
		}
	}
	if name[0] == '.' || name[len(name)-1] == '.' {
		return fmt.Errorf("%w: %q starts or ends with a dot", ErrUnsafeName, name)
	}
	stem, _, _ := strings.Cut(name, ".")
	if reservedName(stem) {
		return fmt.Errorf("%w: %q is a Windows device name", ErrUnsafeName, name)
	}
	return nil
}

// reservedName reports the Windows device names (CON, PRN, AUX, NUL,
// COM0-9, LPT0-9), which mean the device whatever the extension.
func reservedName(stem string) bool {
	switch s := strings.ToUpper(stem); {
	case s == "CON", s == "PRN", s == "AUX", s == "NUL":
		return true
	case len(s) == 4 && (strings.HasPrefix(s, "COM") || strings.HasPrefix(s, "LPT")) && s[3] >= '0' && s[3] <= '9':
		return true
	}
	return false
}
