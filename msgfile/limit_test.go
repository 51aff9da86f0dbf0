package msgfile_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

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
