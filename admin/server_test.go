package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
)

func TestServer_Probes(t *testing.T) {
	ready := errors.New("no SMSC session bound")
	s := startServer(t, func(o *admin.Options) {
		o.Ready = func() error { return ready }
		o.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "smsagent_up 1\n")
		})
	})
	a := s.do(t, "GET", "/healthz", "", nil).want(t, 200)
	if a.body != "ok\n" || a.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("healthz: %q %q", a.body, a.header.Get("Content-Type"))
	}
	a = s.do(t, "GET", "/readyz", "", nil).want(t, 503)
	if a.body != "not ready: no SMSC session bound\n" {
		t.Errorf("readyz: %q", a.body)
	}
	ready = nil
	if a = s.do(t, "GET", "/readyz", "", nil).want(t, 200); a.body != "ready\n" {
		t.Errorf("readyz: %q", a.body)
	}
	if a = s.do(t, "GET", "/metrics", "", nil).want(t, 200); a.body != "smsagent_up 1\n" {
		t.Errorf("metrics: %q", a.body)
	}
	if a = s.do(t, "HEAD", "/healthz", "", nil).want(t, 200); a.body != "" {
		t.Errorf("HEAD answered a body %q", a.body)
	}
	for _, a := range []answer{s.do(t, "GET", "/healthz", "", nil), s.do(t, "GET", "/api/v1/status", "", nil)} {
		if a.header.Get("Cache-Control") != "no-store" || a.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("headers %v", a.header)
		}
	}
}

func TestServer_NoMetrics(t *testing.T) {
	s := startServer(t, nil)
	s.do(t, "GET", "/metrics", "", nil).errorIs(t, 404, "metrics are not enabled")
}

func TestServer_Status(t *testing.T) {
	s := startServer(t, nil)
	var got smsagent.Status
	s.do(t, "GET", "/api/v1/status", testToken, nil).want(t, 200).decode(t, &got)
	want, _ := json.Marshal(sampleStatus())
	if b, _ := json.Marshal(got); string(b) != string(want) {
		t.Errorf("status\n%s\nwant\n%s", b, want)
	}

	// Empty lists and maps come out as [] and {}, never null.
	st := &fakeStatus{st: smsagent.Status{Version: "dev"}}
	s = startServer(t, func(o *admin.Options) { o.Status = st })
	a := s.do(t, "GET", "/api/v1/status", "", nil).want(t, 200)
	for _, want := range []string{`"binds":[]`, `"health":[]`, `"by_state":{}`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("status lacks %s: %s", want, a.body)
		}
	}
	st.err = errBoom
	s.do(t, "GET", "/api/v1/status", "", nil).errorIs(t, 503, "status: boom")
}

func TestServer_Stats(t *testing.T) {
	s := startServer(t, nil)
	a := s.do(t, "GET", "/api/v1/queue/stats", "", nil).want(t, 200)
	golden(t, "stats.json", indent(t, a.body))
}

func TestServer_Show(t *testing.T) {
	s := startServer(t, nil)
	for name, id := range map[string]smsagent.MessageID{
		"delivered": s.q.delivered, "rejected": s.q.rejected, "queued": s.q.queued, "sent": s.q.sent,
	} {
		a := s.do(t, "GET", "/api/v1/queue/"+id.String(), testToken, nil).want(t, 200)
		var m admin.Message
		a.decode(t, &m)
		if m.MessageID != id {
			t.Errorf("%s: got message %d", name, m.MessageID)
		}
		golden(t, "message-"+name+".json", indent(t, a.body))
	}
}

func TestServer_List(t *testing.T) {
	s := startServer(t, nil)
	var page admin.Page
	s.do(t, "GET", "/api/v1/queue", testToken, nil).want(t, 200).decode(t, &page)
	if len(page.Messages) != 4 || page.NextAfter != 0 {
		t.Fatalf("unfiltered: %d messages, next %d", len(page.Messages), page.NextAfter)
	}
	// Pages of two: the first full page names where the next starts.
	var ids []smsagent.MessageID
	after := smsagent.MessageID(0)
	for range 3 {
		var p admin.Page
		s.do(t, "GET", fmt.Sprintf("/api/v1/queue?limit=2&after=%d", after), testToken, nil).want(t, 200).decode(t, &p)
		for _, m := range p.Messages {
			ids = append(ids, m.MessageID)
		}
		if p.NextAfter == 0 {
			break
		}
		after = p.NextAfter
	}
	if fmt.Sprint(ids) != "[1 2 3 4]" {
		t.Errorf("paged ids %v", ids)
	}
	s.do(t, "GET", "/api/v1/queue?state=rejected", testToken, nil).want(t, 200).decode(t, &page)
	if len(page.Messages) != 1 || page.Messages[0].MessageID != s.q.rejected || page.Messages[0].State != smsagent.StateRejected {
		t.Errorf("state=rejected: %+v", page.Messages)
	}
	var empty admin.Page
	a := s.do(t, "GET", "/api/v1/queue?state=canceled", testToken, nil).want(t, 200)
	a.decode(t, &empty)
	if a.body != `{"messages":[]}`+"\n" {
		t.Errorf("empty page %q", a.body)
	}
}

func TestServer_RetryCancel(t *testing.T) {
	s := startServer(t, nil)
	var m admin.Message
	s.do(t, "POST", "/api/v1/queue/"+s.q.rejected.String()+"/retry", testToken, nil).want(t, 200).decode(t, &m)
	if m.State != smsagent.StateQueued || m.Final || len(m.Parts) != 0 {
		t.Errorf("after retry: %+v", m)
	}
	s.do(t, "POST", "/api/v1/queue/"+s.q.queued.String()+"/cancel", testToken, nil).want(t, 200).decode(t, &m)
	if m.State != smsagent.StateCanceled || !m.Final {
		t.Errorf("after cancel: %+v", m)
	}
	// The changes are in the store, not just in the answers.
	r, err := s.q.store.Get(context.Background(), s.q.queued)
	if err != nil || r.State != smsagent.StateCanceled {
		t.Errorf("store: %v %v", r.State, err)
	}
	var rr admin.RetryResult
	s.do(t, "POST", "/api/v1/queue/retry-failed", testToken, nil).want(t, 200).decode(t, &rr)
	if rr.Retried != 0 {
		t.Errorf("nothing failed, retried %d", rr.Retried)
	}
	// Cancel the retried one, retry it (canceled is not retryable), then
	// fail it for real and retry everything.
	s.do(t, "POST", "/api/v1/queue/"+s.q.rejected.String()+"/cancel", testToken, nil).want(t, 200)
	s.do(t, "POST", "/api/v1/queue/"+s.q.rejected.String()+"/retry", testToken, nil).
		errorIs(t, 409, "cannot retry message 2: it is canceled")
}

func TestServer_RetryFailed(t *testing.T) {
	s := startServer(t, nil)
	var rr admin.RetryResult
	a := s.do(t, "POST", "/api/v1/queue/retry-failed", testToken, nil).want(t, 200)
	a.decode(t, &rr)
	if rr.Retried != 1 || a.body != `{"retried":1}`+"\n" {
		t.Errorf("retry-failed: %q", a.body)
	}
	if r, _ := s.q.store.Get(context.Background(), s.q.rejected); r.State != smsagent.StateQueued {
		t.Errorf("rejected message is %s after retry-failed", r.State)
	}
}

func TestServer_Errors(t *testing.T) {
	s := startServer(t, nil)
	tests := []struct {
		method, path string
		code         int
		msg          string
	}{
		{"GET", "/api/v1/queue/999", 404, "message 999 not found"},
		{"POST", "/api/v1/queue/999/retry", 404, "message 999 not found"},
		{"POST", "/api/v1/queue/999/cancel", 404, "message 999 not found"},
		{"POST", "/api/v1/queue/3/retry", 409, "cannot retry message 3: it is delivered"},
		{"POST", "/api/v1/queue/3/cancel", 409, "cannot cancel message 3: it is delivered"},
		{"POST", "/api/v1/queue/1/retry", 409, "cannot retry message 1: it is sent"},
		{"GET", "/api/v1/queue/abc", 400, `invalid message id "abc": want a positive decimal number`},
		{"GET", "/api/v1/queue/0", 400, `invalid message id "0": want a positive decimal number`},
		{"POST", "/api/v1/queue/-1/cancel", 400, `invalid message id "-1": want a positive decimal number`},
		{"GET", "/api/v1/queue?state=lost", 400, `state: unknown state "lost"`},
		{"GET", "/api/v1/queue?status=failed", 400, `unknown parameter "status" (want state, after, limit, order)`},
		{"GET", "/api/v1/queue?limit=0", 400, `limit must be between 1 and 1000, got "0"`},
		{"GET", "/api/v1/queue?limit=1001", 400, `limit must be between 1 and 1000, got "1001"`},
		{"GET", "/api/v1/queue?after=x", 400, `after: "x" is not a message id`},
		{"GET", "/api/v1/queue?limit=1&limit=2", 400, `parameter "limit" given 2 times`},
		{"GET", "/api/v1/queue/1/retry", 405, "GET is not allowed here; use POST"},
		{"GET", "/api/v1/queue/retry-failed", 405, "GET is not allowed here; use POST"},
		{"DELETE", "/api/v1/queue/1", 405, "DELETE is not allowed here; use GET"},
		{"POST", "/api/v1/status", 405, "POST is not allowed here; use GET"},
		{"PUT", "/healthz", 405, "PUT is not allowed here; use GET"},
		{"GET", "/api/v2/status", 404, "no such endpoint: /api/v2/status"},
		{"GET", "/api/v1/queue/1/parts", 404, "no such endpoint: /api/v1/queue/1/parts"},
	}
	for _, tt := range tests {
		a := s.do(t, tt.method, tt.path, testToken, nil)
		if a.code != tt.code || a.body != mustJSON(map[string]string{"error": tt.msg}) {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, a.code, a.body, tt.code, tt.msg)
		}
		if tt.code == 405 && a.header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tt.method, tt.path)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b) + "\n"
}

// TestServer_Auth: calls that change the queue or show messages need the
// token; the rest are open on loopback.
func TestServer_Auth(t *testing.T) {
	s := startServer(t, nil)
	guarded := []struct{ method, path string }{
		{"GET", "/api/v1/queue"},
		{"GET", "/api/v1/queue/1"},
		{"POST", "/api/v1/queue/2/retry"},
		{"POST", "/api/v1/queue/4/cancel"},
		{"POST", "/api/v1/queue/retry-failed"},
	}
	const refused = "a valid bearer token is required"
	for _, g := range guarded {
		for _, auth := range []string{"", "Bearer", "Bearer wrong", "Bearer " + testToken + "x",
			"Bearer " + testToken[:len(testToken)-1], "Basic " + testToken, testToken} {
			req, _ := http.NewRequest(g.method, s.base+g.path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			a := send(t, req)
			a.errorIs(t, 401, refused)
			wantChallenge := `Bearer realm="smsagent"`
			if strings.HasPrefix(auth, "Bearer ") {
				wantChallenge += `, error="invalid_token"`
			}
			if got := a.header.Get("WWW-Authenticate"); got != wantChallenge {
				t.Errorf("%s %s with %q: WWW-Authenticate %q", g.method, g.path, auth, got)
			}
		}
	}
	// Nothing changed while refused.
	if r, _ := s.q.store.Get(context.Background(), s.q.queued); r.State != smsagent.StateQueued {
		t.Fatalf("a refused cancel changed the message: %s", r.State)
	}
	// The scheme is case-insensitive (RFC 9110 §11.1).
	req, _ := http.NewRequest("GET", s.base+"/api/v1/queue/1", nil)
	req.Header.Set("Authorization", "bearer "+testToken)
	send(t, req).want(t, 200)
	for _, p := range []string{"/healthz", "/readyz", "/api/v1/status", "/api/v1/queue/stats"} {
		s.do(t, "GET", p, "", nil).want(t, 200)
	}
}

// TestServer_HostCheck: a loopback listener ignores requests addressed to
// another host name (DNS rebinding).
func TestServer_HostCheck(t *testing.T) {
	s := startServer(t, nil)
	for host, code := range map[string]int{
		"evil.example":       403,
		"evil.example:80":    403,
		"127.0.0.1.nip.io":   403,
		"localhost":          200,
		"LOCALHOST:9180":     200,
		"127.0.0.1:9180":     200,
		"127.1.2.3":          200,
		"[::1]:9180":         200,
		"":                   403,
		"10.0.0.1:9180":      403,
		"localhost.example.": 403,
	} {
		req, _ := http.NewRequest("GET", s.base+"/healthz", nil)
		req.Host = host
		if host == "" {
			// The client fills in the URL's host when Host is empty;
			// talk HTTP/1.0 without one by hand.
			a := rawRequest(t, s.Addr().String(), "GET /healthz HTTP/1.0\r\n\r\n")
			if !strings.HasPrefix(a, "HTTP/1.0 403 ") {
				t.Errorf("no Host: %q", a)
			}
			continue
		}
		if a := send(t, req); a.code != code {
			t.Errorf("Host %q: %d, want %d", host, a.code, code)
		}
	}
}

func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestServer_BodyLimit(t *testing.T) {
	s := startServer(t, nil)
	big := strings.Repeat("x", 64<<10+1)
	path := "/api/v1/queue/" + s.q.queued.String() + "/cancel"
	const tooLarge = "request body larger than 65536 bytes"
	// Announced length: refused before reading.
	s.do(t, "POST", path, testToken, strings.NewReader(big)).errorIs(t, 413, tooLarge)
	// Chunked, no length: refused while reading.
	req, _ := http.NewRequest("POST", s.base+path, io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+testToken)
	send(t, req).errorIs(t, 413, tooLarge)
	if r, _ := s.q.store.Get(context.Background(), s.q.queued); r.State != smsagent.StateQueued {
		t.Fatalf("an oversized request canceled the message")
	}
	// At the limit it is read and ignored.
	s.do(t, "POST", path, testToken, strings.NewReader(big[1:])).want(t, 200)
}

// TestServer_NoSecrets: neither the SMPP password of the configuration the
// agent runs with nor the admin token appears in any answer.
func TestServer_NoSecrets(t *testing.T) {
	const password = "pw-Zq81x"
	st := sampleStatus()
	// What an agent shows after the SMSC refused its credentials.
	st.Binds[1].State = "auth-failed"
	st.Binds[1].LastError = "smpp: bind: ESME_RINVPASWD (0x0000000E): invalid password"
	st.Health = append(st.Health, "smsc: bad credentials (system_id tester), not reconnecting")
	s := startServer(t, func(o *admin.Options) {
		o.Status = &fakeStatus{st: st}
		o.Ready = func() error { return errors.New("smsc: bad credentials") }
	})
	paths := []struct{ method, path, token string }{
		{"GET", "/healthz", ""}, {"GET", "/readyz", ""}, {"GET", "/metrics", ""},
		{"GET", "/api/v1/status", ""}, {"GET", "/api/v1/queue/stats", ""},
		{"GET", "/api/v1/queue", testToken}, {"GET", "/api/v1/queue/1", testToken},
		{"GET", "/api/v1/queue", "wrong"}, {"GET", "/api/v1/queue", ""},
		{"POST", "/api/v1/queue/2/retry", testToken}, {"POST", "/api/v1/queue/4/cancel", testToken},
		{"POST", "/api/v1/queue/retry-failed", testToken}, {"GET", "/nope", testToken},
	}
	for _, p := range paths {
		a := s.do(t, p.method, p.path, p.token, nil)
		var headers strings.Builder
		_ = a.header.Write(&headers)
		for _, secret := range []string{password, testToken} {
			if strings.Contains(a.body, secret) || strings.Contains(headers.String(), secret) {
				t.Errorf("%s %s reveals a secret: %s\n%s", p.method, p.path, headers.String(), a.body)
			}
		}
	}
}

func TestServer_Close(t *testing.T) {
	s := startServer(t, nil)
	s.do(t, "GET", "/healthz", "", nil).want(t, 200)
	addr := s.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("still accepting after Close")
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestNew_RefusesExposureWithoutToken(t *testing.T) {
	q := newQueue(t)
	base := admin.Options{Queue: q.store, Status: &fakeStatus{}, TokenFile: filepath.Join(t.TempDir(), "admin.token")}
	for _, listen := range []string{"0.0.0.0:0", ":9180", "[::]:9180", "192.0.2.1:9180", "myhost:9180"} {
		o := base
		o.Listen = listen
		_, err := admin.New(o)
		if err == nil || !strings.Contains(err.Error(), "refusing to listen on "+listen+" without a configured token") ||
			!strings.Contains(err.Error(), "admin.token_file") {
			t.Errorf("listen %s without token: %v", listen, err)
		}
	}
	if _, err := os.Stat(base.TokenFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start created the token file: %v", err)
	}
	// With a configured token the same address is accepted (not started:
	// tests listen on loopback only).
	o := base
	o.Listen, o.Token = "0.0.0.0:0", testToken
	if _, err := admin.New(o); err != nil {
		t.Errorf("configured token: %v", err)
	}
	// Serve checks the listener it is given.
	o = base
	o.Listen = ""
	s, err := admin.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln := &fakeListener{addr: &net.TCPAddr{IP: net.IPv4zero, Port: 9180}}
	if err := s.Serve(ln); err == nil || !strings.Contains(err.Error(), "refusing to listen on 0.0.0.0:9180") {
		t.Errorf("Serve on a wildcard listener: %v", err)
	}
	for _, bad := range []admin.Options{
		{Queue: q.store, Status: &fakeStatus{}},                     // no token at all
		{Queue: q.store, Token: testToken},                          // no status
		{Status: &fakeStatus{}, Token: testToken},                   // no queue
		{Queue: q.store, Status: &fakeStatus{}, Token: "two words"}, // not a header value
		{Queue: q.store, Status: &fakeStatus{}, Token: testToken, Listen: "127.0.0.1"},
	} {
		if _, err := admin.New(bad); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}

// fakeListener reports an address and is never accepted on.
type fakeListener struct{ addr net.Addr }

func (l *fakeListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (l *fakeListener) Close() error              { return nil }
func (l *fakeListener) Addr() net.Addr            { return l.addr }

func TestNew_TokenFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	file := filepath.Join(dir, "admin.token")
	tok := func() string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	s := startServer(t, func(o *admin.Options) { o.Token, o.TokenFile = "", file })
	first := tok()
	if len(first) != 65 || strings.Trim(first[:64], "0123456789abcdef") != "" || first[64] != '\n' {
		t.Fatalf("token file holds %q, want 64 hex digits and a newline", first)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
			t.Errorf("token file mode %v", fi.Mode().Perm())
		}
		if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
			t.Errorf("token folder mode %v", fi.Mode().Perm())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("state folder holds %d entries, want only the token", len(entries))
	}
	// The generated token is the one the server wants.
	s.do(t, "GET", "/api/v1/queue/1", first[:64], nil).want(t, 200)
	s.do(t, "GET", "/api/v1/queue/1", testToken, nil).want(t, 401)
	if got, err := admin.ReadToken(file); err != nil || got != first[:64] {
		t.Errorf("ReadToken = %q, %v", got, err)
	}

	// A second start reuses the file, and narrows a widened mode.
	if runtime.GOOS != "windows" {
		if err := os.Chmod(file, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startServer(t, func(o *admin.Options) { o.Token, o.TokenFile = "", file })
	if tok() != first {
		t.Errorf("token replaced: %q, was %q", tok(), first)
	}
	if fi, _ := os.Stat(file); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode not narrowed: %v", fi.Mode().Perm())
	}
	// A hand-written token is kept; an unusable file is replaced.
	if err := os.WriteFile(file, []byte("my-own-token\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, func(o *admin.Options) { o.Token, o.TokenFile = "", file })
	s.do(t, "GET", "/api/v1/queue/1", "my-own-token", nil).want(t, 200)
	for _, bad := range []string{"", "\n", "two words\n", "tab\there"} {
		if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.ReadToken(file); err == nil {
			t.Errorf("ReadToken accepted %q", bad)
		}
		startServer(t, func(o *admin.Options) { o.Token, o.TokenFile = "", file })
		if got := tok(); len(got) != 65 {
			t.Errorf("unusable token %q not replaced: %q", bad, got)
		}
	}
	if _, err := admin.ReadToken(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) ||
		!strings.Contains(err.Error(), "cannot read token file") {
		t.Errorf("missing file: %v", err)
	}
}
