package inbox_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/inbox"
)

// FuzzRenderReceipt feeds arbitrary SMSC strings into an unmatched report
// and checks that neither format lets them out raw: the JSON file parses
// back to the same strings (invalid UTF-8 replaced), and the smstools file
// keeps its shape, one header per line and one Status line.
func FuzzRenderReceipt(f *testing.F) {
	f.Add(hostile.SMSCID, hostile.Source, hostile.Dest, hostile.Text, "DELIVRD\nStatus: 0")
	f.Add("", "", "", "", "")
	f.Fuzz(func(t *testing.T, id, src, dst, text, stat string) {
		e := smsagent.Event{Seq: 5, Kind: smsagent.EventReport, Time: t0, Subject: "e5",
			Report: &smsagent.Report{Status: smsagent.ReportUnmatched, Stat: stat, Done: t0,
				Receipt: &smsagent.RawReceipt{SMSCID: id, Source: src, Dest: dst, Text: text}}}
		name, data, err := inbox.Render(e, inbox.FormatJSON)
		if err != nil || name != "20261125T181500.123Z-e5.report.json" {
			t.Fatalf("Render = %q, %v", name, err)
		}
		var back smsagent.Report
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("not valid JSON: %v\n%s", err, data)
		}
		if back.Receipt.SMSCID != string([]rune(id)) || back.Receipt.Text != string([]rune(text)) || back.Stat != string([]rune(stat)) {
			t.Fatalf("strings changed in the round trip")
		}
		for _, c := range data {
			if c < 0x20 && c != '\n' || c == 0x7f {
				t.Fatalf("raw control byte 0x%02x in %s", c, data)
			}
		}

		_, data, err = inbox.Render(e, inbox.FormatSMSTools)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(data) {
			t.Fatal("smstools file is not valid UTF-8")
		}
		head, body, ok := strings.Cut(string(data), "\n\n")
		if !ok || strings.Count(body, "\n") != 4 || !strings.HasPrefix(body, "SMS STATUS REPORT\nMessage_id: ") {
			t.Fatalf("body lost its shape:\n%s", data)
		}
		for _, line := range strings.Split(head, "\n") {
			if !strings.Contains(line, ": ") {
				t.Fatalf("header line %q in\n%s", line, data)
			}
		}
	})
}
