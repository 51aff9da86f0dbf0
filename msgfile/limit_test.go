package msgfile_test

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/msgfile"
)

// endlessNDJSON yields minimal NDJSON messages for ever and counts the
// bytes read.
type endlessNDJSON struct {
	n, read int
	pending []byte
}

func (e *endlessNDJSON) Read(p []byte) (int, error) {
	if len(e.pending) == 0 {
		e.n++
		e.pending = fmt.Appendf(nil, `{"to":"+4179%07d","text":"x"}`+"\n", e.n)
	}
	k := copy(p, e.pending)
	e.pending = e.pending[k:]
	e.read += k
	return k, nil
}

// TestParse_MaxMessages: a file of more messages than MaxMessages is
// refused with a reason that names the limit, and an NDJSON file stops
// being read at the first message past it: an endless file returns.
func TestParse_MaxMessages(t *testing.T) {
	r := &endlessNDJSON{}
	msgs, err := msgfile.Parse(r, "big.ndjson", msgfile.Options{MaxMessages: 1000})
	var fe *msgfile.FileError
	if msgs != nil || !errors.As(err, &fe) || len(fe.Problems()) != 1 || fe.Problems()[0].Line != 1001 ||
		!strings.Contains(err.Error(), "more than 1000 messages in one file (the agent's spool.max_messages)") {
		t.Fatalf("Parse = %d messages, %v", len(msgs), err)
	}
	if r.read > 1<<20 {
		t.Errorf("read %d bytes of the file, want it to stop at the limit", r.read)
	}

	var b strings.Builder
	b.WriteString("[")
	for i := range 4 {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"to":"+4179%07d","text":"x"}`, i)
	}
	b.WriteString("]")
	if _, err := msgfile.Parse(strings.NewReader(b.String()), "a.json", msgfile.Options{MaxMessages: 3}); err == nil ||
		!strings.Contains(err.Error(), "line 4: more than 3 messages") {
		t.Errorf("JSON array of 4 with a limit of 3: %v", err)
	}
	if msgs, err := msgfile.Parse(strings.NewReader(b.String()), "a.json", msgfile.Options{MaxMessages: 4}); err != nil || len(msgs) != 4 {
		t.Errorf("JSON array of 4 with a limit of 4: %d, %v", len(msgs), err)
	}
}

// TestParse_MaxMessagesCountsRecipients: the limit counts messages, one per
// recipient, not entries: a file of few lines with many numbers each is
// refused at the line that passes the limit, in both JSON formats, and an
// NDJSON file stops being read there.
func TestParse_MaxMessagesCountsRecipients(t *testing.T) {
	entry := func(i int) string {
		var to []string
		for k := range 10 {
			to = append(to, fmt.Sprintf(`"+4179%03d%04d"`, i, k))
		}
		return `{"to":[` + strings.Join(to, ",") + `],"text":"x"}`
	}
	var nd, arr strings.Builder
	arr.WriteString("[")
	for i := range 1000 {
		nd.WriteString(entry(i) + "\n")
		if i > 0 {
			arr.WriteString(",\n")
		}
		arr.WriteString(entry(i))
	}
	arr.WriteString("]")
	read := &countingReader{r: strings.NewReader(nd.String())}
	for _, c := range []struct {
		name string
		r    io.Reader
	}{{"list.ndjson", read}, {"list.json", strings.NewReader(arr.String())}} {
		msgs, err := msgfile.Parse(c.r, c.name, msgfile.Options{MaxMessages: 25})
		var fe *msgfile.FileError
		if msgs != nil || !errors.As(err, &fe) || len(fe.Problems()) != 1 || fe.Problems()[0].Line != 3 ||
			!strings.Contains(err.Error(), "more than 25 messages in one file (the agent's spool.max_messages)") {
			t.Errorf("%s: Parse = %d messages, %v; want refused at line 3, where the 30th recipient passes 25", c.name, len(msgs), err)
		}
	}
	if read.n > 128<<10 {
		t.Errorf("read %d bytes of the NDJSON file, want it to stop at the limit", read.n)
	}
	// At the limit exactly: 30 messages in 3 lines.
	three := strings.Join(strings.Split(nd.String(), "\n")[:3], "\n")
	if msgs, err := msgfile.Parse(strings.NewReader(three), "list.ndjson", msgfile.Options{MaxMessages: 30}); err != nil || len(msgs) != 30 {
		t.Errorf("30 recipients with a limit of 30: %d, %v", len(msgs), err)
	}
	// Lines that are not messages count one each, so a file of garbage
	// stops at the limit too.
	garbage := strings.Repeat("not json\n", 1000)
	if _, err := msgfile.Parse(strings.NewReader(garbage), "g.ndjson", msgfile.Options{MaxMessages: 5}); err == nil ||
		!strings.Contains(err.Error(), "line 6: more than 5 messages") {
		t.Errorf("garbage past the limit: %v", err)
	}
}

// TestScan_SameAsParse: Scan hands over, one by one, exactly the messages
// Parse returns, for every format, and stops when its callback fails.
func TestScan_SameAsParse(t *testing.T) {
	files := map[string]string{
		"a.ndjson": `{"to":"+358401","text":"one"}` + "\n" + `{"to":["+358402","+358403"],"text":"two","id":"x"}` + "\n",
		"a.json":   `[{"to":"+358401","text":"one"},{"to":["+358402","+358403"],"text":"two","id":"x"}]`,
		"a.sms":    "To: 358401\n\nthe text\n",
	}
	for name, body := range files {
		want, err := msgfile.Parse(strings.NewReader(body), name, msgfile.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []smsagent.Message
		if err := msgfile.Scan(strings.NewReader(body), name, msgfile.Options{}, func(m smsagent.Message) error {
			got = append(got, m)
			return nil
		}); err != nil {
			t.Fatalf("%s: Scan: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Scan gave %+v, Parse %+v", name, got, want)
		}
		stop := errors.New("enough")
		calls := 0
		err = msgfile.Scan(strings.NewReader(body), name, msgfile.Options{}, func(smsagent.Message) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("%s: a failing callback: %d calls, %v", name, calls, err)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
