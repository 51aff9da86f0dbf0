package admin_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
	"github.com/smsagent/smsagent/internal/testcert"
)

// personal is what must not reach a local user without the token: a phone
// number, a producer's file name and a text, as rejected files and storage
// errors carry them.
var personal = []string{"+358401234567", "358401234567", "sms-order", ".json", "Your code"}

// statusWithPersonalData is a snapshot whose free texts carry personal data
// the way the agent's do.
func statusWithPersonalData() smsagent.Status {
	st := sampleStatus()
	st.Binds[1].LastError = "smpp: submit: generic_nack for +358401234567"
	st.Intake.LastError = `spool: rejected sms-order-+358401234567.json: msgfile: line 1: text "Your code is 1234": too long`
	st.Inbox.LastError = "inbox: write report for +358401234567: no space left on device"
	st.Webhooks = []smsagent.WebhookStatus{{URL: "https://crm.test/hook?to=+358401234567", Delivered: 3, Failing: true,
		LastError: "answered 400 for +358401234567"}}
	st.Health = []string{
		"intake stalled: rename .work/1-2-sms-order-+358401234567.json: no space left on device",
		"smsc: no session bound for 2m0s (last error: generic_nack for +358401234567)",
		"stopping",
	}
	return st
}

// TestServer_StatusWithoutToken: without a token, /api/v1/status has the
// same shape with counts and states only: no last errors, health lines cut
// to their subject, and "redacted": true. With the token it is whole; a
// wrong token is refused rather than answered with less.
func TestServer_StatusWithoutToken(t *testing.T) {
	full := statusWithPersonalData()
	s := startServer(t, func(o *admin.Options) { o.Status = &fakeStatus{st: full} })

	a := s.do(t, "GET", "/api/v1/status", "", nil).want(t, 200)
	for _, p := range personal {
		if strings.Contains(a.body, p) {
			t.Errorf("status without a token shows %q:\n%s", p, a.body)
		}
	}
	var got smsagent.Status
	a.decode(t, &got)
	want := full
	want.Binds = []smsagent.BindStatus{full.Binds[0], full.Binds[1]}
	want.Binds[1].LastError = ""
	want.Intake.LastError, want.Inbox.LastError = "", ""
	want.Webhooks = []smsagent.WebhookStatus{{Delivered: 3, Failing: true}}
	want.Health = []string{"intake stalled", "smsc", "stopping"}
	want.Redacted = true
	if g, w := mustJSON(got), mustJSON(want); g != w {
		t.Errorf("status without a token\n%s\nwant\n%s", g, w)
	}
	if !strings.Contains(a.body, `"redacted":true`) {
		t.Errorf("no redacted marker: %s", a.body)
	}

	a = s.do(t, "GET", "/api/v1/status", testToken, nil).want(t, 200)
	if a.body != mustJSON(full) {
		t.Errorf("status with the token\n%s\nwant\n%s", a.body, mustJSON(full))
	}
	s.do(t, "GET", "/api/v1/status", "wrong", nil).errorIs(t, 401, "a valid bearer token is required")

	// The client gets the same two views.
	ctx := context.Background()
	if st, err := newClient(t, s, "").Status(ctx); err != nil || !st.Redacted || st.Intake.LastError != "" {
		t.Errorf("client without a token: %+v, %v", st, err)
	}
	if st, err := newClient(t, s, testToken).Status(ctx); err != nil || st.Redacted || st.Intake.LastError != full.Intake.LastError {
		t.Errorf("client with the token: %+v, %v", st, err)
	}
}

// TestServer_ReadyzWithoutToken: a reason for not being ready is cut to its
// subject without the token.
func TestServer_ReadyzWithoutToken(t *testing.T) {
	reason := errors.New("intake stuck: sms-order-+358401234567.json cannot be opened: permission denied")
	s := startServer(t, func(o *admin.Options) { o.Ready = func() error { return reason } })
	if a := s.do(t, "GET", "/readyz", "", nil).want(t, 503); a.body != "not ready: intake stuck\n" {
		t.Errorf("readyz without a token: %q", a.body)
	}
	if a := s.do(t, "GET", "/readyz", testToken, nil).want(t, 503); a.body != "not ready: "+reason.Error()+"\n" {
		t.Errorf("readyz with the token: %q", a.body)
	}
	s.do(t, "GET", "/readyz", "wrong", nil).want(t, 401)
	reason = errors.New("no SMSC session bound")
	if a := s.do(t, "GET", "/readyz", "", nil).want(t, 503); a.body != "not ready: no SMSC session bound\n" {
		t.Errorf("readyz without a token: %q", a.body)
	}
}

// TestServer_OpenEndpointsCarryNoPersonalData: nothing served without a
// token (probes, metrics, counters, status) shows a number, a file name or
// a text, whatever the agent's free texts hold.
func TestServer_OpenEndpointsCarryNoPersonalData(t *testing.T) {
	st := &fakeStatus{st: statusWithPersonalData()}
	s := startServer(t, func(o *admin.Options) {
		o.Status = st
		o.Ready = func() error { return errors.New(st.st.Health[0]) }
		o.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("smsagent_health_problems 3\n"))
		})
	})
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/status", "/api/v1/queue/stats", "/api/v1/series",
		"/"} {
		a := s.do(t, "GET", p, "", nil)
		for _, d := range personal {
			if strings.Contains(a.body, d) {
				t.Errorf("GET %s without a token shows %q: %s", p, d, a.body)
			}
		}
	}
}

// tlsServer is an API serving HTTPS with a certificate for 127.0.0.1.
func tlsServer(t *testing.T) (s *server, certFile string) {
	t.Helper()
	certFile, keyFile := testcert.Write(t, t.TempDir(), "api", "127.0.0.1")
	s = startServer(t, func(o *admin.Options) { o.TLSCert, o.TLSKey = certFile, keyFile })
	s.base = "https://" + s.Addr().String()
	return s, certFile
}

// TestServer_TLS: with a certificate and key the API speaks HTTPS only; a
// client that verifies the certificate the standard way (curl --cacert)
// gets through, and so does the CLI's client, which trusts exactly the
// certificate in admin.tls_cert.
func TestServer_TLS(t *testing.T) {
	s, certFile := tlsServer(t)
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := hc.Get(s.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("HTTPS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	// Plain HTTP is not answered as the API.
	resp, err = http.Get("http://" + s.Addr().String() + "/api/v1/status")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS port: %d", resp.StatusCode)
		}
	}

	ctx := context.Background()
	c, err := admin.NewClient(admin.ClientOptions{Listen: s.Addr().String(), Token: testToken, TLSCert: certFile})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.Version != "1.2.3" || st.Redacted {
		t.Errorf("client over TLS: %+v, %v", st, err)
	}
	if _, err := c.Message(ctx, s.q.delivered); err != nil {
		t.Errorf("client over TLS: %v", err)
	}

	// Another certificate for the same address is not the agent's.
	other, _ := testcert.Write(t, t.TempDir(), "other", "127.0.0.1")
	c, err = admin.NewClient(admin.ClientOptions{Listen: s.Addr().String(), TLSCert: other})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Status(ctx)
	if err == nil || !strings.Contains(err.Error(), "is not the certificate in "+other) {
		t.Errorf("client pinned to another certificate: %v", err)
	}
	// Nor does a client without TLS get an answer from it.
	c, _ = admin.NewClient(admin.ClientOptions{Listen: s.Addr().String()})
	if _, err := c.Status(ctx); err == nil {
		t.Error("plain client got an answer from the TLS API")
	}
}

func TestNew_TLSOptions(t *testing.T) {
	q := newQueue(t)
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "api", "127.0.0.1")
	base := admin.Options{Queue: q.store, Status: &fakeStatus{}, Token: testToken, Listen: "127.0.0.1:0"}
	for _, tt := range []struct {
		cert, key, want string
	}{
		{cert, "", "admin: TLS needs both a certificate and a key"},
		{"", key, "admin: TLS needs both a certificate and a key"},
		{filepath.Join(dir, "missing.crt"), key, "admin: TLS certificate " + filepath.Join(dir, "missing.crt")},
		{key, cert, "admin: TLS certificate " + key},
	} {
		o := base
		o.TLSCert, o.TLSKey = tt.cert, tt.key
		if _, err := admin.New(o); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("cert %q key %q: %v, want %q…", tt.cert, tt.key, err, tt.want)
		}
	}
	if _, err := admin.NewClient(admin.ClientOptions{Listen: "127.0.0.1:9180", TLSCert: filepath.Join(dir, "missing.crt")}); err == nil {
		t.Error("client accepted a missing certificate file")
	}
	if _, err := admin.NewClient(admin.ClientOptions{Listen: "127.0.0.1:9180", TLSCert: key}); err == nil ||
		!strings.Contains(err.Error(), "no certificate") {
		t.Errorf("client with a key as certificate: %v", err)
	}
}
