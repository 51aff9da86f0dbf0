package msgfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/msgfile"
)

func parseOne(t *testing.T, name, content string) (smsagent.Message, error) {
	t.Helper()
	msgs, err := msgfile.Parse(strings.NewReader(content), name, msgfile.Options{})
	if err != nil {
		return smsagent.Message{}, err
	}
	if len(msgs) != 1 {
		t.Fatalf("Parse(%s) gave %d messages, want 1", name, len(msgs))
	}
	return msgs[0], nil
}

func TestParse_JSONValidity(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration // 0: an error
	}{
		{"90m", 90 * time.Minute},
		{"24h", 24 * time.Hour},
		{"2d", 48 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"1d30m", 24*time.Hour + 30*time.Minute},
		{"1.5h", 90 * time.Minute},
		{"0s", 0},
		{"0d", 0},
		{"-5m", 0},
		{"-1d", 0},
		{"+1d", 0},
		{"12h1d", 0},
		{"1.5d", 0},
		{"d", 0},
		{"1d-1h", 0},
		{"", 0},
		{"soon", 0},
		{"999999999d", 0},
	}
	for _, tt := range tests {
		m, err := parseOne(t, "v.json", fmt.Sprintf(`{"to":"1","text":"t","validity":%q}`, tt.in))
		if tt.want == 0 {
			if err == nil {
				t.Errorf("validity %q: got %v, want an error", tt.in, m.Validity)
			}
			continue
		}
		if err != nil || m.Validity != tt.want {
			t.Errorf("validity %q = %v, %v; want %v", tt.in, m.Validity, err, tt.want)
		}
	}
}

func TestParse_SMSToolsValidity(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration // 0: an error
	}{
		// Relative TP-VP octet, 23.040 §9.2.3.12.1: the four ranges and
		// their edges.
		{"0", 5 * time.Minute},
		{"143", 12 * time.Hour},
		{"144", 12*time.Hour + 30*time.Minute},
		{"167", day},
		{"168", 2 * day},
		{"196", 30 * day},
		{"197", 5 * 7 * day},
		{"255", 63 * 7 * day},
		{"256", 0},
		{"-1", 0},
		{"90 min", 90 * time.Minute},
		{"2 hours", 2 * time.Hour},
		{"hour", time.Hour},
		{"3day", 3 * day},
		{"1 week", 7 * day},
		{"2 Months", 60 * day},
		{"1 year", 365 * day},
		{"0 day", 0},
		{"2 fortnights", 0},
		{"soon", 0},
		{"1.5 hour", 0},
	}
	for _, tt := range tests {
		m, err := parseOne(t, "v.sms", "To: 1\nValidity: "+tt.in+"\n\nt\n")
		if tt.want == 0 {
			if err == nil {
				t.Errorf("Validity: %s: got %v, want an error", tt.in, m.Validity)
			}
			continue
		}
		if err != nil || m.Validity != tt.want {
			t.Errorf("Validity: %s = %v, %v; want %v", tt.in, m.Validity, err, tt.want)
		}
	}
}

func TestParse_SMSToolsBooleans(t *testing.T) {
	for in, want := range map[string]bool{
		"yes": true, "Yes": true, "1": true, "true": true, "T": true, "on": true, "On": true,
		"no": false, "0": false, "off": false, "ON": false, "": false, "nein": false,
	} {
		m, err := parseOne(t, "b.sms", "To: 1\nFlash: "+in+"\n\nt\n")
		if err != nil || m.Flash != want {
			t.Errorf("Flash: %q = %v, %v; want %v", in, m.Flash, err, want)
		}
	}
}

// TestParse_SMSToolsQueue: a Queue: header naming an SMSC account pins the
// message to it; another name (a queue of the smstools3 installation a
// site moves from) is ignored with a warning naming the accounts.
func TestParse_SMSToolsQueue(t *testing.T) {
	var log bytes.Buffer
	opts := msgfile.Options{Accounts: []string{"mitto", "backup"}, Logger: slog.New(slog.NewTextHandler(&log, nil))}
	for in, want := range map[string]string{"backup": "backup", "mitto": "mitto", "GSM1": "", "Backup": ""} {
		msgs, err := msgfile.Parse(strings.NewReader("To: 1\nQueue: "+in+"\n\nt\n"), "q.sms", opts)
		if err != nil || len(msgs) != 1 || msgs[0].SMSC != want {
			t.Errorf("Queue: %s: %+v, %v; want the account %q", in, msgs, err, want)
		}
	}
	if !strings.Contains(log.String(), `reason="\"GSM1\" names no SMSC account here; ignored (the accounts: mitto, backup)"`) {
		t.Errorf("warning for an unknown queue:\n%s", log.String())
	}
}

func TestParse_SMSToolsRejectedHeaders(t *testing.T) {
	for _, h := range []string{"Binary: yes", "Hex: 1", "Text_is_pdu: true", "Voicecall: yes", "Ping: yes",
		"System_message: 2", "System_message: ToSIM", "Include: /tmp/x", "Macro: a=b", "DCS_hex: 08", "Alphabet: binary"} {
		_, err := parseOne(t, "r.sms", "To: 1\n"+h+"\n\nt\n")
		var fe *msgfile.FileError
		if !errors.As(err, &fe) {
			t.Errorf("%s: error = %v, want a *FileError", h, err)
			continue
		}
		if name, _, _ := strings.Cut(h, ":"); fe.Problems()[0].Field != name {
			t.Errorf("%s: problem %+v does not name the header", h, fe.Problems()[0])
		}
	}
	// The same headers turned off change nothing and are accepted.
	for _, h := range []string{"Binary: no", "Hex: 0", "Voicecall: no", "Ping: no", "System_message: no"} {
		if _, err := parseOne(t, "r.sms", "To: 1\n"+h+"\n\nt\n"); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
}

func TestParse_SMSToolsWarningsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("To: 1\n")
	for i := range 50 {
		fmt.Fprintf(&b, "X-%d: junk\n", i)
	}
	b.WriteString("\nt\n")
	rec := &recorder{}
	if _, err := msgfile.Parse(strings.NewReader(b.String()), "w.sms", msgfile.Options{Logger: slog.New(rec)}); err != nil {
		t.Fatal(err)
	}
	if len(rec.recs) != 21 || rec.recs[20].Attrs["count"] != int64(30) {
		t.Errorf("got %d log records, last %+v; want 20 warnings and one summary of 30 more", len(rec.recs), rec.recs[len(rec.recs)-1])
	}
}

func TestParse_UnsupportedExtension(t *testing.T) {
	_, err := msgfile.Parse(strings.NewReader("{}"), "dir/x.yaml", msgfile.Options{})
	var fe *msgfile.FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), `".yaml"`) {
		t.Errorf("error = %v, want a *FileError naming the extension", err)
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]msgfile.Format{
		"a.json": msgfile.FormatJSON, `C:\spool\B.JSON`: msgfile.FormatJSON, "a.ndjson": msgfile.FormatNDJSON,
		"a.jsonl": msgfile.FormatNDJSON, "a.sms": msgfile.FormatSMSTools, "a.TXT": msgfile.FormatSMSTools,
		"send_xYz12": msgfile.FormatSMSTools, "dir.d/file": msgfile.FormatSMSTools,
	} {
		if got, err := msgfile.FormatOf(name); err != nil || got != want {
			t.Errorf("FormatOf(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
}

func TestParse_TooLarge(t *testing.T) {
	for _, name := range []string{"big.json", "big.sms"} {
		_, err := msgfile.Parse(strings.NewReader(strings.Repeat(" ", 101)), name, msgfile.Options{MaxSize: 100})
		var fe *msgfile.FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "larger than 100 bytes") {
			t.Errorf("%s: error = %v, want a *FileError about the size", name, err)
		}
	}
}

func TestParse_ReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	for _, name := range []string{"x.json", "x.ndjson", "x.sms"} {
		_, err := msgfile.Parse(iotest.ErrReader(boom), name, msgfile.Options{})
		var fe *msgfile.FileError
		if !errors.Is(err, boom) || errors.As(err, &fe) {
			t.Errorf("%s: error = %v, want the read error, not a *FileError", name, err)
		}
	}
}

func TestFileError_Error(t *testing.T) {
	var b strings.Builder
	for i := range 7 {
		fmt.Fprintf(&b, "{\"to\":\"x%d\",\"text\":\"t\"}\n", i)
	}
	_, err := msgfile.Parse(strings.NewReader(b.String()), "seven.ndjson", msgfile.Options{})
	want := `msgfile: seven.ndjson: 7 problems: line 1: to: number "x0": 'x' at position 1 is not a digit; ` +
		`line 2: to: number "x1": 'x' at position 1 is not a digit; line 3: to: number "x2": 'x' at position 1 is not a digit; ` +
		`line 4: to: number "x3": 'x' at position 1 is not a digit; line 5: to: number "x4": 'x' at position 1 is not a digit; and 2 more`
	if err == nil || err.Error() != want {
		t.Errorf("Error() =\n%v\nwant\n%s", err, want)
	}
}

func TestParse_HugeValueKeepsReportSmall(t *testing.T) {
	huge := strings.Repeat("9x", 1<<20)
	_, err := parseOne(t, "h.json", `{"to":"`+huge+`","text":"t","colour":"`+huge+`"}`)
	var fe *msgfile.FileError
	if !errors.As(err, &fe) || len(fe.Problems()) != 2 {
		t.Fatalf("error = %v, want two problems", err)
	}
	if n := len(err.Error()); n > 1000 {
		t.Errorf("error message is %d bytes", n)
	}
}

func TestScanNDJSON_StopsCallingAfterAProblem(t *testing.T) {
	in := `{"to":"1","text":"a"}
{"to":"2","text":"b"}
{"to":"x","text":"c"}
{"to":"4","text":"d"}
{"to":"5","text":"e","bogus":true}
`
	var got []string
	err := msgfile.ScanNDJSON(strings.NewReader(in), "s.ndjson", msgfile.Options{}, func(m smsagent.Message) error {
		got = append(got, m.Text)
		return nil
	})
	var fe *msgfile.FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v, want a *FileError", err)
	}
	if strings.Join(got, "") != "ab" {
		t.Errorf("fn saw %q, want only the messages before the first problem", got)
	}
	if lines := []int{fe.Problems()[0].Line, fe.Problems()[1].Line}; len(fe.Problems()) != 2 || lines[0] != 3 || lines[1] != 5 {
		t.Errorf("problems = %+v, want lines 3 and 5", fe.Problems())
	}
}

func TestScanNDJSON_CallbackError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := msgfile.ScanNDJSON(strings.NewReader(strings.Repeat(`{"to":"1","text":"a"}`+"\n", 5)), "c.ndjson", msgfile.Options{},
		func(smsagent.Message) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("error = %v after %d calls, want fn's error after 2", err, calls)
	}
}

func TestScanNDJSON_LongLine(t *testing.T) {
	long := `{"to":"1","text":"` + strings.Repeat("a", 200<<10) + `"}`
	in := `{"to":"1","text":"ok"}` + "\n" + long + "\n" + `{"to":"x","text":"after"}` + "\n"
	err := msgfile.ScanNDJSON(strings.NewReader(in), "l.ndjson", msgfile.Options{MaxSize: 100 << 10}, func(smsagent.Message) error { return nil })
	var fe *msgfile.FileError
	if !errors.As(err, &fe) || len(fe.Problems()) != 2 || fe.Problems()[0].Line != 2 || fe.Problems()[1].Line != 3 {
		t.Fatalf("error = %v, want line 2 too long and line 3 still checked", err)
	}
	// Within the limit, a line longer than the read buffer is read whole.
	var text string
	err = msgfile.ScanNDJSON(strings.NewReader(long), "l.ndjson", msgfile.Options{}, func(m smsagent.Message) error {
		text = m.Text
		return nil
	})
	if err != nil || len(text) != 200<<10 {
		t.Errorf("long line: %d bytes of text, %v", len(text), err)
	}
}

// TestScanNDJSON_MessagesOwnTheirMemory guards against strings that alias
// the reader's reused line buffer.
func TestScanNDJSON_MessagesOwnTheirMemory(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, `{"to":"%d","text":"text %d","id":"id-%d","meta":{"n":%d}}`+"\n", i+1, i, i, i)
	}
	var msgs []smsagent.Message
	err := msgfile.ScanNDJSON(iotest.HalfReader(strings.NewReader(b.String())), "m.ndjson", msgfile.Options{},
		func(m smsagent.Message) error {
			msgs = append(msgs, m)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if m.Text != fmt.Sprintf("text %d", i) || m.ClientID != fmt.Sprintf("id-%d", i) || string(m.Meta) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("message %d changed after reading on: %+v", i, m)
		}
	}
}

// TestParse_ManyMessagesInOrder covers files larger than one internal chunk.
func TestParse_ManyMessagesInOrder(t *testing.T) {
	const n = 5000
	var nd, arr strings.Builder
	arr.WriteString("[")
	for i := range n {
		line := fmt.Sprintf(`{"to":"%d","text":"m%d"}`, i+1, i)
		nd.WriteString(line + "\n")
		if i > 0 {
			arr.WriteString(",\n")
		}
		arr.WriteString(line)
	}
	arr.WriteString("]")
	for name, content := range map[string]string{"many.ndjson": nd.String(), "many.json": arr.String()} {
		msgs, err := msgfile.Parse(strings.NewReader(content), name, msgfile.Options{})
		if err != nil || len(msgs) != n {
			t.Fatalf("%s: %d messages, %v", name, len(msgs), err)
		}
		for i, m := range msgs {
			if m.Text != fmt.Sprintf("m%d", i) {
				t.Fatalf("%s: message %d has text %q", name, i, m.Text)
			}
		}
	}
}
