package inbox_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/inbox"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	t0   = time.Date(2026, 11, 25, 18, 15, 0, 123_000_000, time.UTC)
	sub  = time.Date(2026, 11, 25, 18, 14, 58, 0, time.FixedZone("EET", 2*3600))
	meta = json.RawMessage(`{"customer": 42, "tags": ["a", "b"]}`)
)

func deliveredReport() smsagent.Event {
	return smsagent.Event{
		Seq: 7, Kind: smsagent.EventReport, Time: t0, Subject: "42",
		Report: &smsagent.Report{
			ID: "order-17", MessageID: 42, To: "+358401234567", From: "ACME", Status: "delivered",
			Stat: "DELIVRD", Err: "000", Submitted: &sub, Done: t0, File: "orders.json", Meta: meta,
			Parts: &smsagent.ReportParts{Count: 2, Items: []smsagent.ReportPart{
				{Seq: 1, SMSCID: "0A1B2C", Status: "delivered", Stat: "DELIVRD", Err: "000"},
				{Seq: 2, SMSCID: "0A1B2D", Status: "delivered", Stat: "DELIVRD", Err: "000"},
			}},
		},
	}
}

// hostile is what a broken or malicious SMSC can put in a receipt.
var hostile = smsagent.RawReceipt{
	SMSCID: "../x\\..\\y\x00<>:\"|?*\r\nStatus: 0,forged",
	Source: "+358401234567\nFrom: 1",
	Dest:   "\x1b[31mred\x7f\u009b\u2028",
	Text:   "id:../x sub:001 dlvrd:001 submit date:2611251815 done date:2611251815 stat:DELIVRD err:000 text:\xff\xfe bad utf8",
}

func unmatchedReport() smsagent.Event {
	rc := hostile
	return smsagent.Event{
		Seq: 8, Kind: smsagent.EventReport, Time: t0, Subject: "e8",
		Report: &smsagent.Report{Status: smsagent.ReportUnmatched, Stat: "DELIVRD\nStatus: 0", Err: "000", Done: t0, Receipt: &rc},
	}
}

func moEvent() smsagent.Event {
	return smsagent.Event{
		Seq: 9, Kind: smsagent.EventMO, Time: t0, Subject: "e9",
		MO: &smsagent.MO{From: "+358401234567", To: "12345", Text: "Hello <agent> & co\nsecond line 😀", Encoding: "ucs2", Parts: 2, Received: t0},
	}
}

func incompleteMO() smsagent.Event {
	return smsagent.Event{
		Seq: 10, Kind: smsagent.EventMO, Time: t0, Subject: "e10",
		MO: &smsagent.MO{From: "ACME", To: "12345", Text: "first part only", Encoding: "gsm7", Parts: 3, Incomplete: true, Received: t0},
	}
}

func duplicateEvent() smsagent.Event {
	return smsagent.Event{
		Seq: 11, Kind: smsagent.EventDuplicate, Time: t0, Subject: "e11",
		Duplicate: &smsagent.Duplicate{File: "orders.json", Time: t0, Messages: []smsagent.DuplicateEntry{
			{ID: "order-17", MessageID: 42, To: "+358401234567"},
			{ID: "order-18", MessageID: 43, To: "+358401234568"},
		}},
	}
}

func callbackFailedEvent() smsagent.Event {
	return smsagent.Event{
		Seq: 12, Kind: smsagent.EventCallbackFailed, Time: t0, Subject: "42",
		CallbackFailed: &smsagent.CallbackFailed{ID: "order-17", MessageID: 42, File: "orders.json", Method: "POST",
			URL: "http://127.0.0.1:8080/reports?shop=7", Attempts: 23, Since: t0.Add(-24 * time.Hour), GaveUp: t0,
			LastError: "answered 503 Service Unavailable",
			Reason:    "no 2xx answer within callbacks.max_age (1d): given up after 23 attempts"},
	}
}

func sentReport() smsagent.Event {
	return smsagent.Event{
		Seq: 12, Kind: smsagent.EventReport, Time: t0, Subject: "43",
		Report: &smsagent.Report{MessageID: 43, To: "0401234567", Status: "sent", Submitted: &sub, Done: t0,
			Error: "no receipt within 48h0m0s"},
	}
}

// TestRender_Golden compares every rendering with testdata/<name>; run
// with -update to rewrite them, then review the diff by hand.
func TestRender_Golden(t *testing.T) {
	events := map[string]smsagent.Event{
		"delivered": deliveredReport(), "unmatched": unmatchedReport(), "mo": moEvent(),
		"mo-incomplete": incompleteMO(), "duplicate": duplicateEvent(), "sent": sentReport(),
		"callback-failed": callbackFailedEvent(),
	}
	for label, e := range events {
		for _, f := range []inbox.Format{inbox.FormatJSON, inbox.FormatSMSTools} {
			t.Run(label+"/"+f.String(), func(t *testing.T) {
				name, data, err := inbox.Render(e, f)
				if err != nil {
					t.Fatal(err)
				}
				wantName := e.FileName()
				if f == inbox.FormatJSON {
					wantName += ".json"
				}
				if name != wantName {
					t.Errorf("name = %q, want %q", name, wantName)
				}
				golden := filepath.Join("testdata", label+"."+f.String()+".golden")
				if *update {
					if err := os.WriteFile(golden, data, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(data, want) {
					t.Errorf("rendering differs from %s:\n--- got\n%s\n--- want\n%s", golden, data, want)
				}
			})
		}
	}
}

// TestRender_HostileStringsStayEscaped checks the promise behind the golden
// files: SMSC strings never reach a file raw, in either format.
func TestRender_HostileStringsStayEscaped(t *testing.T) {
	e := unmatchedReport()
	e.Report.Receipt.SMSCID = strings.Repeat("\x01../", 2500) // 10 KB
	_, data, err := inbox.Render(e, inbox.FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	var back smsagent.Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("not valid JSON: %v", err)
	}
	if back.Receipt.SMSCID != e.Report.Receipt.SMSCID || back.Receipt.Dest != hostile.Dest {
		t.Errorf("strings did not survive the round trip")
	}
	if want := string([]rune(hostile.Text)); back.Receipt.Text != want {
		t.Errorf("text = %q, want invalid UTF-8 replaced: %q", back.Receipt.Text, want)
	}
	if !utf8.Valid(data) {
		t.Error("file is not valid UTF-8")
	}
	for i, c := range data {
		if c < 0x20 && c != '\n' || c == 0x7f || c == 0xc2 && i+1 < len(data) && data[i+1] >= 0x80 && data[i+1] < 0xa0 {
			t.Fatalf("raw control character at byte %d: % x", i, data[i:min(i+2, len(data))])
		}
	}

	_, data, err = inbox.Render(unmatchedReport(), inbox.FormatSMSTools)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "Status:") && line != "Status: 64,Error,remote procedure error" {
			t.Errorf("forged line %q", line)
		}
		if strings.HasPrefix(line, "From:") && line != "From: 358401234567\uFFFDFrom: 1" {
			t.Errorf("header line %q was split", line)
		}
	}
	if n := strings.Count(string(data), "\nStatus: "); n != 1 {
		t.Errorf("%d Status lines, want 1", n)
	}
}

func TestRender_TPStatus(t *testing.T) {
	tests := []struct {
		status, stat string
		want         string
	}{
		{"delivered", "DELIVRD", "0,Ok,short message received by the SME"},
		{"sent", "", "1,Ok,short message forwarded by the SC to the SME but the SC is unable to confirm delivery"},
		{"sent", "ENROUTE", "1,Ok,short message forwarded by the SC to the SME but the SC is unable to confirm delivery"},
		{"expired", "EXPIRED", "70,Error,SM validity period expired"},
		{"expired", "", "70,Error,SM validity period expired"},
		{"canceled", "", "71,Error,SM deleted by originating SME"},
		{"failed", "DELETED", "72,Error,SM deleted by SC administration"},
		{"undeliverable", "UNDELIV", "64,Error,remote procedure error"},
		{"rejected", "REJECTD", "64,Error,remote procedure error"},
		{"rejected", "", "64,Error,remote procedure error"},
		{"failed", "UNKNOWN", "64,Error,remote procedure error"},
		{"unmatched", "DELIVRD", "0,Ok,short message received by the SME"},
		{"unmatched", "ACCEPTD", "32,Still trying,congestion"},
		{"unmatched", "EXPIRED", "70,Error,SM validity period expired"},
		{"unmatched", "garbage", "64,Error,remote procedure error"},
	}
	for _, tt := range tests {
		e := smsagent.Event{Seq: 1, Kind: smsagent.EventReport, Time: t0, Subject: "1",
			Report: &smsagent.Report{MessageID: 1, Status: tt.status, Stat: tt.stat, Done: t0}}
		_, data, err := inbox.Render(e, inbox.FormatSMSTools)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "\nStatus: "+tt.want+"\n") {
			t.Errorf("%s/%s: got\n%s\nwant Status: %s", tt.status, tt.stat, data, tt.want)
		}
	}
}

func TestRender_UnsafeNames(t *testing.T) {
	for _, subject := range []string{"../x", `a\b`, "a:b", "a b", "x\x00", "a/b", "a?"} {
		e := deliveredReport()
		e.Subject = subject
		if _, _, err := inbox.Render(e, inbox.FormatJSON); !errors.Is(err, inbox.ErrUnsafeName) {
			t.Errorf("subject %q: error = %v, want ErrUnsafeName", subject, err)
		}
	}
	// FileName starts with a timestamp, so device names can only reach
	// CheckName directly; they are refused whatever extension follows.
	for _, name := range []string{"CON", "nul.json", "Com1.report", "LPT9.x.y", "aux", ".hidden", "a*b", "a\u00e9"} {
		if err := inbox.CheckName(name); !errors.Is(err, inbox.ErrUnsafeName) {
			t.Errorf("CheckName(%q) = %v, want ErrUnsafeName", name, err)
		}
	}
	if err := inbox.CheckName("20261125T181500.123Z-42.report.json"); err != nil {
		t.Errorf("a normal name is refused: %v", err)
	}
}

func TestRender_MissingPayload(t *testing.T) {
	for _, e := range []smsagent.Event{
		{Seq: 1, Kind: smsagent.EventReport, Time: t0, Subject: "1"},
		{Seq: 2, Kind: smsagent.EventMO, Time: t0, Subject: "e2"},
		{Seq: 3, Kind: smsagent.EventDuplicate, Time: t0, Subject: "e3"},
		{Seq: 4, Kind: 99, Time: t0, Subject: "e4"},
	} {
		for _, f := range []inbox.Format{inbox.FormatJSON, inbox.FormatSMSTools} {
			if _, _, err := inbox.Render(e, f); err == nil {
				t.Errorf("event %d (%s) rendered without a payload", e.Seq, f)
			}
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range []inbox.Format{inbox.FormatJSON, inbox.FormatSMSTools} {
		if got, err := inbox.ParseFormat(f.String()); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f, got, err)
		}
	}
	if _, err := inbox.ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml) accepted")
	}
}
