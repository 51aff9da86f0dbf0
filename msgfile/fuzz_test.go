package msgfile_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/msgfile"
)

// seed adds every testdata file whose format is f to the corpus.
func seed(f *testing.F, format msgfile.Format) {
	for _, dir := range []string{"good", "bad"} {
		paths, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
		for _, p := range paths {
			if strings.HasSuffix(p, ".golden") {
				continue
			}
			if got, err := msgfile.FormatOf(p); err != nil || got != format {
				continue
			}
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

// checkParse holds the invariants every input must keep: no panic, either
// messages or a *FileError (never both), and only valid messages.
func checkParse(t *testing.T, data []byte, name string) {
	msgs, err := msgfile.Parse(bytes.NewReader(data), name, msgfile.Options{})
	if err != nil {
		var fe *msgfile.FileError
		if !errors.As(err, &fe) {
			t.Fatalf("error %v is not a *FileError", err)
		}
		if msgs != nil || len(fe.Problems()) == 0 || len(fe.Problems()) > msgfile.MaxProblems {
			t.Fatalf("error with %d messages and %d problems", len(msgs), len(fe.Problems()))
		}
		return
	}
	if len(msgs) == 0 {
		t.Fatal("no error and no messages")
	}
	for _, m := range msgs {
		if err := m.Validate(); err != nil {
			t.Fatalf("message fails Validate: %v: %+v", err, m)
		}
	}
}

func FuzzSMSTools(f *testing.F) {
	seed(f, msgfile.FormatSMSTools)
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, "fuzz.sms") })
}

func FuzzJSON(f *testing.F) {
	seed(f, msgfile.FormatJSON)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data, "fuzz.json")
		// Differential check of the hand-written walker: for an accepted
		// single object, encoding/json must read the same strings.
		msgs, err := msgfile.Parse(bytes.NewReader(data), "fuzz.json", msgfile.Options{})
		trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
		if err != nil || len(trimmed) == 0 || trimmed[0] != '{' {
			return
		}
		var ref struct {
			Text string `json:"text"`
			ID   string `json:"id"`
		}
		if err := json.Unmarshal(trimmed, &ref); err != nil {
			t.Fatalf("accepted, but encoding/json says %v", err)
		}
		for _, m := range msgs {
			if m.Text != ref.Text || m.ClientID != ref.ID {
				t.Fatalf("text %q id %q, encoding/json reads %q %q", m.Text, m.ClientID, ref.Text, ref.ID)
			}
		}
	})
}

func FuzzNDJSON(f *testing.F) {
	seed(f, msgfile.FormatNDJSON)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data, "fuzz.ndjson")
		// The streaming form hands out only valid messages, and Parse
		// agrees with it.
		n := 0
		err := msgfile.ScanNDJSON(bytes.NewReader(data), "fuzz.ndjson", msgfile.Options{}, func(m smsagent.Message) error {
			if err := m.Validate(); err != nil {
				t.Fatalf("ScanNDJSON gave an invalid message: %v", err)
			}
			n++
			return nil
		})
		msgs, perr := msgfile.Parse(bytes.NewReader(data), "fuzz.ndjson", msgfile.Options{})
		if (err == nil) != (perr == nil) || (err == nil && n != len(msgs)) {
			t.Fatalf("ScanNDJSON: %d messages, %v; Parse: %d, %v", n, err, len(msgs), perr)
		}
	})
}
