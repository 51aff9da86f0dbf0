package msgfile_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/msgfile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenOptions lists the files read with other than the zero Options.
var goldenOptions = map[string]msgfile.Options{
	"smstools-iso-default.sms": {SMSToolsCharset: msgfile.CharsetISO885915},
	"smstools-folded.sms":      {FoldHeaderCase: true},
}

// messageView is a Message as a person reviews it in a golden file.
type messageView struct {
	ClientID string          `json:"client_id,omitempty"`
	To       string          `json:"to"`
	ToKind   string          `json:"to_kind"`
	From     string          `json:"from,omitempty"`
	FromKind string          `json:"from_kind,omitempty"`
	Text     string          `json:"text"`
	Report   bool            `json:"report"`
	Encoding string          `json:"encoding"`
	Flash    bool            `json:"flash,omitempty"`
	Validity string          `json:"validity,omitempty"`
	SendAt   string          `json:"send_at,omitempty"`
	Priority string          `json:"priority"`
	Split    string          `json:"split"`
	UDH      string          `json:"udh,omitempty"`
	Meta     json.RawMessage `json:"meta,omitempty"`
	File     string          `json:"file"`
	// ReportURL is Callback.URL; message files give no Kannel mask.
	ReportURL string `json:"report_url,omitempty"`
	SMSC      string `json:"smsc,omitempty"`
	// ReportMask is Callback.ReportMask.
	ReportMask int `json:"report_mask,omitempty"`
}

// viewedFields is the number of Message fields: messageView covers all but
// ID, ReceivedAt and Origin, which the parser must leave zero.
const viewedFields = 19

func view(t *testing.T, m smsagent.Message) messageView {
	t.Helper()
	if m.ID != 0 || !m.ReceivedAt.IsZero() || m.Origin != "" {
		t.Errorf("parser set ID, ReceivedAt or Origin: %+v", m)
	}
	v := messageView{
		ClientID: m.ClientID, To: m.To.Value, ToKind: m.To.Kind.String(), Text: m.Text,
		Report: m.Report, Encoding: string(m.Encoding), Flash: m.Flash,
		Priority: m.Priority.String(), Split: m.Split.String(), Meta: m.Meta, File: m.File,
		ReportURL: m.Callback.URL, SMSC: m.SMSC, ReportMask: m.Callback.ReportMask,
	}
	if m.Callback.KannelMask != 0 {
		t.Errorf("parser set a Kannel mask: %+v", m.Callback)
	}
	if !m.From.IsZero() {
		v.From, v.FromKind = m.From.Value, m.From.Kind.String()
	}
	if m.Validity != 0 {
		v.Validity = m.Validity.String()
	}
	if !m.SendAt.IsZero() {
		v.SendAt = m.SendAt.Format(time.RFC3339Nano)
	}
	if m.UDH != nil {
		v.UDH = hex.EncodeToString(m.UDH)
	}
	return v
}

// warning is one log record the parser emitted.
type warning struct {
	Msg   string         `json:"msg"`
	Attrs map[string]any `json:"attrs"`
}

// recorder is a slog.Handler keeping every record for the golden files.
type recorder struct {
	mu   sync.Mutex
	recs []warning
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	w := warning{Msg: rec.Level.String() + " " + rec.Message, Attrs: map[string]any{}}
	rec.Attrs(func(a slog.Attr) bool {
		w.Attrs[a.Key] = a.Value.Any()
		return true
	})
	r.mu.Lock()
	r.recs = append(r.recs, w)
	r.mu.Unlock()
	return nil
}

type golden struct {
	Messages []messageView      `json:"messages,omitempty"`
	Error    *msgfile.FileError `json:"error,omitempty"`
	Warnings []warning          `json:"warnings,omitempty"`
}

func TestMessageView_CoversEveryField(t *testing.T) {
	if n := reflect.TypeFor[smsagent.Message]().NumField(); n != viewedFields {
		t.Fatalf("smsagent.Message has %d fields, the golden view knows %d: add the new ones to messageView", n, viewedFields)
	}
}

// TestParse_Golden parses every file in testdata/good (which must parse) and
// testdata/bad (which must be refused) and compares messages, problems and
// logged warnings with the .golden file next to it. Run with -update to
// rewrite them, then review the diff by hand.
func TestParse_Golden(t *testing.T) {
	for _, dir := range []string{"good", "bad"} {
		entries, err := os.ReadDir(filepath.Join("testdata", dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasSuffix(name, ".golden") {
				continue
			}
			t.Run(dir+"/"+name, func(t *testing.T) {
				path := filepath.Join("testdata", dir, name)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				rec := &recorder{}
				opts := goldenOptions[name]
				opts.Logger = slog.New(rec)
				msgs, err := msgfile.Parse(bytes.NewReader(data), name, opts)
				var got golden
				var fe *msgfile.FileError
				switch {
				case dir == "good" && err != nil:
					t.Fatalf("Parse: %v", err)
				case dir == "bad" && !errors.As(err, &fe):
					t.Fatalf("Parse error = %v (%d messages), want a *FileError", err, len(msgs))
				case err != nil && msgs != nil:
					t.Fatalf("Parse returned %d messages with an error", len(msgs))
				}
				got.Error = fe
				for _, m := range msgs {
					if err := m.Validate(); err != nil {
						t.Errorf("message fails Validate: %v", err)
					}
					got.Messages = append(got.Messages, view(t, m))
				}
				got.Warnings = rec.recs
				var buf bytes.Buffer
				enc := json.NewEncoder(&buf)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				if err := enc.Encode(got); err != nil {
					t.Fatal(err)
				}
				out := buf.Bytes()
				goldenPath := path + ".golden"
				if *update {
					if err := os.WriteFile(goldenPath, out, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(goldenPath)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(out, want) {
					t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, out, want)
				}
			})
		}
	}
}
