package soak_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecurity_secretsAndAccess runs the agent at debug level through a
// bind, a message and its report, then looks for the SMPP password and the
// admin token everywhere the agent speaks: its log, metrics, status, queue
// listings and `config check`. It checks the admin API's guard (token for
// private reads and mutations, size limit), the warning about a config
// file others can read, and the modes of the folders and files on disk.
func TestSecurity_secretsAndAccess(t *testing.T) {
	r := newRig(t, "security: secrets, admin, modes", simOptions())
	cfg, err := os.ReadFile(r.cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.cfgFile, []byte(strings.Replace(string(cfg), "level: info", "level: debug", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	ids := r.bulk("s", 20, 10)
	p := r.start()
	r.waitReports(len(ids), 60*time.Second)

	outputs := map[string]string{}
	for _, path := range []string{"/metrics", "/api/v1/status", "/api/v1/queue/stats", "/healthz", "/readyz"} {
		code, body, err := r.http("GET", path, "", nil)
		if err != nil || code != http.StatusOK {
			t.Errorf("GET %s: %d %v", path, code, err)
		}
		outputs[path] = body
	}
	code, body, _ := r.http("GET", "/api/v1/queue", token, nil)
	if code != http.StatusOK {
		t.Errorf("GET /api/v1/queue with the token: %d %s", code, body)
	}
	outputs["/api/v1/queue"] = body

	// The guard: private reads and every mutation need the token.
	for _, c := range []struct{ method, path, bearer string }{
		{"GET", "/api/v1/queue", ""},
		{"GET", "/api/v1/queue", "wrong-token"},
		{"GET", "/api/v1/queue", token[:len(token)-1]},
		{"POST", "/api/v1/queue/1/retry", ""},
		{"POST", "/api/v1/queue/1/cancel", "x" + token},
		{"POST", "/api/v1/queue/retry-failed", ""},
	} {
		if code, body, _ := r.http(c.method, c.path, c.bearer, nil); code != http.StatusUnauthorized && code != http.StatusForbidden {
			t.Errorf("%s %s with token %q: %d %s, want 401 or 403", c.method, c.path, c.bearer, code, body)
		}
	}
	if code, _, _ := r.http("POST", "/api/v1/queue/retry-failed", token, strings.NewReader(strings.Repeat("x", 1<<20))); code != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB body: %d, want 413", code)
	}
	p.stop(10 * time.Second)

	// A crash dump: SIGQUIT makes the runtime print every goroutine's
	// stack, as a panic does, while the session that bound with the
	// password is alive.
	p = r.start()
	r.waitBound(20 * time.Second)
	before := len(r.log.String())
	if err := p.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not exit on SIGQUIT")
	}
	dump := r.log.String()[before:]
	if !strings.Contains(dump, "goroutine ") || !strings.Contains(dump, "smpp.") {
		t.Errorf("SIGQUIT printed no goroutine dump with the SMPP session in it: the check proves nothing\n%.2000s", dump)
	}
	outputs["goroutine dump (SIGQUIT)"] = dump

	check, code := r.cli("config", "check", "--config", r.cfgFile)
	if code != 0 {
		t.Errorf("config check: exit %d\n%s", code, check)
	}
	if !strings.Contains(check, "[redacted]") {
		t.Errorf("config check does not show the secrets as [redacted]:\n%s", check)
	}
	outputs["config check"] = check
	outputs["agent log (debug)"] = r.log.String()
	if !strings.Contains(outputs["agent log (debug)"], "level=DEBUG") {
		t.Error("the agent logged nothing at debug level: the check proves nothing")
	}
	for where, s := range outputs {
		for _, secret := range []string{password, token} {
			if strings.Contains(s, secret) {
				t.Errorf("%s contains a secret", where)
			}
		}
	}

	// A configuration file holding a password that others may read is
	// worth a warning.
	if err := os.Chmod(r.cfgFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := r.cli("config", "check", "--config", r.cfgFile); !strings.Contains(out, "readable by its group or others") {
		t.Errorf("no warning for a world-readable config with a password:\n%s", out)
	}

	// Modes on disk: folders 0750, inbox files 0640 (docs/DESIGN.md).
	// outgoing/ is the writers' folder, made by the test: its mode is theirs.
	for _, d := range []string{"inbox", "failed", ".work"} {
		if fi, err := os.Stat(filepath.Join(r.spool, d)); err != nil {
			t.Errorf("%s/: %v", d, err)
		} else if fi.Mode().Perm()&0o027 != 0 {
			t.Errorf("%s/: mode %s, want no group write and nothing for others", d, fi.Mode().Perm())
		}
	}
	for _, f := range r.inboxFiles(".json") {
		if fi, err := os.Stat(f); err != nil {
			t.Fatal(err)
		} else if fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %s, want 0640", filepath.Base(f), fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(r.dbPath); err != nil {
		t.Errorf("database: %v", err)
	} else if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("database: mode %s, want 0600", fi.Mode().Perm())
	}
	r.fault("debug log, /metrics, status, queue, config check, SIGQUIT dump grepped; 6 unauthorised calls; 1 MiB body")
	r.ledger(ids)
}

// TestSecurity_tls serves the simulator behind TLS with a self-signed
// certificate on loopback: with tls on, the agent refuses the certificate
// and never binds; with tls_insecure it binds, sends, and said at start
// that the certificate is not checked.
func TestSecurity_tls(t *testing.T) {
	cert := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, "security: TLS verification", simOptions(), "tls: true")
	go func() { _ = r.sim.Serve(ln) }()
	r.writeConfig(ln.Addr().String(), "tls: true")
	ids := r.bulk("tls", 10, 10)
	p := r.start()
	r.eventually(20*time.Second, func() string {
		if !strings.Contains(r.log.String(), "certificate") {
			return "a certificate error in the log"
		}
		return ""
	})
	if b := r.sim.Stats().Binds; b != 0 {
		t.Fatalf("%d binds through an unverified certificate", b)
	}
	p.stop(10 * time.Second)
	r.log.Reset()

	r.writeConfig(ln.Addr().String(), "tls: true", "tls_insecure: true")
	p = r.start()
	r.waitReports(len(ids), 60*time.Second)
	p.stop(10 * time.Second)
	if l := r.log.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "tls_insecure") {
		t.Errorf("no warning about tls_insecure at start:\n%s", r.log.Tail(4000))
	}
	r.fault("self-signed cert: refused with tls, accepted with tls_insecure (+ warning)")
	r.ledger(ids)
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smsc.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
