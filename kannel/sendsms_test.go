package kannel_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/kannel"
)

var t0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// fakeAgent keeps what it was given, or refuses with err.
type fakeAgent struct {
	got [][]smsagent.Message
	err error
}

func (f *fakeAgent) SubmitMessages(_ context.Context, msgs []smsagent.Message) (smsagent.BatchResult, error) {
	if f.err != nil {
		return smsagent.BatchResult{}, f.err
	}
	f.got = append(f.got, msgs)
	return smsagent.BatchResult{IDs: make([]smsagent.MessageID, len(msgs))}, nil
}

type refused struct{ why string }

func (r refused) Error() string { return r.why }
func (r refused) Problems() []smsagent.Problem {
	return []smsagent.Problem{{Index: 1, Message: "text: a character GSM 03.38 does not have"}}
}

func newServer(t *testing.T) (*kannel.Server, *fakeAgent) {
	t.Helper()
	f := &fakeAgent{}
	s, err := kannel.New(kannel.Options{
		Users:  []kannel.User{{Username: "shop", Password: "pw", DefaultFrom: "ACME"}, {Username: "bare", Password: "pw2"}},
		Submit: f, Clock: func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

// get answers a GET with the query q (already encoded, as a client sends it).
func get(s *kannel.Server, rawQuery string) (int, string, http.Header) {
	r := httptest.NewRequest(http.MethodGet, "/cgi-bin/sendsms?"+rawQuery, nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b), w.Result().Header
}

func TestSendsms_GET(t *testing.T) {
	s, f := newServer(t)
	q := url.Values{"username": {"shop"}, "password": {"pw"}, "to": {"+358401111111 +358402222222"},
		"text": {"Grüße"}, "priority": {"2"}, "validity": {"90"}, "deferred": {"10"}, "mclass": {"0"}}
	code, body, h := get(s, q.Encode())
	if code != http.StatusAccepted || body != "0: Accepted for delivery\n0: Accepted for delivery" {
		t.Fatalf("%d %q", code, body)
	}
	if h.Get("Content-Type") != "text/html" || h.Get("Pragma") != "no-cache" || h.Get("Cache-Control") != "no-cache" {
		t.Errorf("headers %v", h)
	}
	if len(f.got) != 1 || len(f.got[0]) != 2 {
		t.Fatalf("submitted %v", f.got)
	}
	m := f.got[0][1]
	if m.To.String() != "+358402222222" || m.From.String() != "ACME" || m.Text != "Grüße" || !m.Flash ||
		m.Priority != smsagent.PriorityHigh || m.Validity != 90*time.Minute || !m.SendAt.Equal(t0.Add(10*time.Minute)) ||
		m.Encoding != smsagent.EncodingAuto || !m.Report || m.ClientID != "" {
		t.Errorf("message %+v", m)
	}
	// user/pass aliases, coding 2 with the text in UTF-16BE, a + as a space.
	f.got = nil
	code, body, _ = get(s, "user=shop&pass=pw&from=4179&to=%2B358401111111&coding=2&charset=UTF-16BE&text=%00H%00i%D8%3D%DE%00")
	if code != http.StatusAccepted || len(f.got) != 1 {
		t.Fatalf("%d %q", code, body)
	}
	if m := f.got[0][0]; m.Text != "Hi😀" || m.Encoding != smsagent.EncodingUCS2 || m.From.String() != "4179" {
		t.Errorf("message %+v", m)
	}
	// Latin-1 text with coding 0, and a UDH.
	f.got = nil
	code, body, _ = get(s, "username=shop&password=pw&to=358401111111&coding=0&charset=ISO-8859-1&text=caf%E9&udh=%05%00%03%01%02%01")
	if code != http.StatusAccepted {
		t.Fatalf("%d %q", code, body)
	}
	if m := f.got[0][0]; m.Text != "café" || m.Encoding != smsagent.EncodingGSM7 || string(m.UDH) != "\x05\x00\x03\x01\x02\x01" {
		t.Errorf("message %+v", m)
	}
}

func TestSendsms_POST(t *testing.T) {
	s, f := newServer(t)
	post := func(ct, body string, h map[string]string) (int, string) {
		r := httptest.NewRequest(http.MethodPost, "/cgi-bin/sendsms?username=x&to=1", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		b, _ := io.ReadAll(w.Result().Body)
		return w.Code, string(b)
	}
	auth := map[string]string{"X-Kannel-Username": "shop", "X-Kannel-Password": "pw", "X-Kannel-To": "+358401111111"}
	if code, body := post("text/plain; charset=utf-8", "posted text", auth); code != http.StatusAccepted || body != "0: Accepted for delivery" {
		t.Fatalf("%d %q", code, body)
	}
	if m := f.got[0][0]; m.Text != "posted text" || m.To.String() != "+358401111111" {
		t.Errorf("message %+v", m)
	}
	// The query string is ignored on a POST: without the headers, no user.
	if code, body := post("text/plain", "x", nil); code != http.StatusForbidden || body != "Authorization failed for sendsms" {
		t.Errorf("%d %q", code, body)
	}
	if code, body := post("text/xml", "<message/>", auth); code != http.StatusUnsupportedMediaType || body != "Unsupported content-type, rejected" {
		t.Errorf("xml: %d %q", code, body)
	}
	if code, body := post("application/json", "{}", auth); code != http.StatusBadRequest || body != "Invalid content-type" {
		t.Errorf("json: %d %q", code, body)
	}
	noTo := map[string]string{"X-Kannel-Username": "shop", "X-Kannel-Password": "pw"}
	if code, body := post("text/plain", "x", noTo); code != http.StatusBadRequest || body != "Missing receiver(s) number(s), rejected" {
		t.Errorf("no to: %d %q", code, body)
	}
}

// TestSendsms_Refused: every refusal in smsbox's words, nothing stored.
func TestSendsms_Refused(t *testing.T) {
	s, f := newServer(t)
	base := "username=shop&password=pw&to=%2B358401111111&text=x"
	for _, tc := range []struct {
		query string
		code  int
		body  string
	}{
		{"username=shop&password=bad&to=1&text=x", 403, "Authorization failed for sendsms"},
		{"username=nobody&password=pw&to=1&text=x", 403, "Authorization failed for sendsms"},
		{"username=shop&password=pw&text=x", 400, "Missing receiver number, rejected"},
		{"username=shop&password=pw&to=12ab&text=x", 400, "Number(s) has/have been denied by white- and/or black-lists."},
		{"username=bare&password=pw2&to=%2B358401111111&text=x", 400, "Sender missing and no global set, rejected"},
		{base + "&coding=3", 400, "Coding field misformed, rejected"},
		{base + "&coding=1", 400, "Coding field misformed, rejected: 8-bit data (coding 1) is not supported here; give coding 0 or 2"},
		{base + "&udh=%05%00%03", 400, "UDH field misformed, rejected"},
		{base + "&mclass=2", 400, "MClass field misformed, rejected: only class 0 (flash) is supported here"},
		{base + "&mclass=5", 400, "MClass field misformed, rejected"},
		{base + "&priority=4", 400, "Priority field misformed, rejected"},
		{base + "&validity=-5", 400, "Validity field misformed, rejected"},
		{base + "&pid=64", 400, "PID field misformed, rejected: pid is not supported here"},
		{base + "&smsc=Other+One", 400, `SMSC field misformed, rejected: SMSC account name "Other One": want 1 to 32 of a-z, 0-9, _ and -`},
		{base + "&dlr-mask=67&dlr-url=http%3A%2F%2F127.0.0.1%2Fdlr", 400, "DLR-Mask field misformed, rejected"},
		{base + "&dlr-mask=31&dlr-url=ftp%3A%2F%2F127.0.0.1%2Fdlr", 400, "DLR-URL field misformed, rejected"},
		{base + "&dlr-mask=31", 400, "DLR-URL field misformed, rejected: dlr-mask 31 needs a dlr-url (sendsms users have none of their own here)"},
		{base + "&charset=KOI8-R", 400, "Charset or body misformed, rejected"},
		{"username=shop&password=pw&to=1&text=%FF", 400, "Charset or body misformed, rejected"},
	} {
		code, body, _ := get(s, tc.query)
		if code != tc.code || body != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.query, code, body, tc.code, tc.body)
		}
	}
	if len(f.got) != 0 {
		t.Errorf("stored %v", f.got)
	}
	// A dlr-mask of 0 asks for nothing: accepted, no callback.
	if code, body, _ := get(s, base+"&dlr-mask=0&dlr-url=http%3A%2F%2F127.0.0.1%2Fdlr"); code != http.StatusAccepted ||
		f.got[len(f.got)-1][0].Callback != (smsagent.Callback{}) {
		t.Errorf("dlr-mask=0: %d %q", code, body)
	}
	// A mask and a URL: the message's callback, the URL as given (its
	// escapes are filled in for each event).
	if code, body, _ := get(s, base+"&dlr-mask=9&dlr-url=http%3A%2F%2F127.0.0.1%2Fdlr%3Ftype%3D%25d"); code != http.StatusAccepted ||
		f.got[len(f.got)-1][0].Callback != (smsagent.Callback{URL: "http://127.0.0.1/dlr?type=%d", KannelMask: 9}) {
		t.Errorf("dlr-url: %d %q, callback %+v", code, body, f.got[len(f.got)-1][0].Callback)
	}
	// smsc pins the message to the account of that name.
	if code, body, _ := get(s, base+"&smsc=backup"); code != http.StatusAccepted || f.got[len(f.got)-1][0].SMSC != "backup" {
		t.Errorf("smsc=backup: %d %q, pinned to %q", code, body, f.got[len(f.got)-1][0].SMSC)
	}
	// The agent's own checks, and a database that refuses the commit.
	f.err = refused{"message 1 of 1: text: a character GSM 03.38 does not have"}
	if code, body, _ := get(s, base); code != 400 || body != "text: a character GSM 03.38 does not have, rejected" {
		t.Errorf("agent refusal: %d %q", code, body)
	}
	f.err = errors.New("outbox: closed")
	if code, body, _ := get(s, base); code != 503 || body != "Temporal failure, try again later." {
		t.Errorf("store failure: %d %q", code, body)
	}
	if code, body, _ := get(s, base); code != 503 || body != "Temporal failure, try again later." {
		t.Errorf("store failure: %d %q", code, body)
	}
	r := httptest.NewRequest(http.MethodGet, "/cgi-bin/other", nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if b, _ := io.ReadAll(w.Result().Body); w.Code != 404 || string(b) != "Unknown request." {
		t.Errorf("other path: %d %q", w.Code, b)
	}
}
