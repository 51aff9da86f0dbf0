package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// TestRun_kannelSendsms: a request a Kannel client sends, with only the host
// and port changed, reaches the SMSC once per recipient with its text and
// coding, each reported in inbox/; a wrong password is Kannel's 403.
func TestRun_kannelSendsms(t *testing.T) {
	sim := testutil.Simulator(t, smsc.Options{})
	sendsms := freeAddr(t)
	pwFile := filepath.Join(t.TempDir(), "shop.password")
	if err := os.WriteFile(pwFile, []byte("shop-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file, spool, _ := runConfig(t, sim)
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprintf(f, "kannel:\n  listen: %q\n  users:\n    - username: shop\n      password_file: %q\n      default_from: ACME\n",
		sendsms, pwFile)
	if err := errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
	defer runInProcess(t, file)()
	testutil.Eventually(t, 20*time.Second, "sendsms listening", func() bool {
		code, _ := get(t, "http://"+sendsms+"/cgi-bin/other")
		return code == http.StatusNotFound
	})
	// A dlr-url receiver on loopback, as a Kannel client runs one.
	var mu sync.Mutex
	var dlrs []string
	dlrLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dlrSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		dlrs = append(dlrs, r.URL.RawQuery)
		mu.Unlock()
	})}
	go func() { _ = dlrSrv.Serve(dlrLn) }()
	t.Cleanup(func() { _ = dlrSrv.Close() })
	q := url.Values{"username": {"shop"}, "password": {"shop-secret"}, "to": {"+358401111111 +358402222222"},
		"text": {"Grüße from Kannel's API"}, "dlr-mask": {"9"},
		"dlr-url": {"http://" + dlrLn.Addr().String() + "/dlr?type=%d&to=%p&from=%P"}}
	if code, body := get(t, "http://"+sendsms+"/cgi-bin/sendsms?"+q.Encode()); code != http.StatusAccepted ||
		body != "0: Accepted for delivery\n0: Accepted for delivery" {
		t.Fatalf("sendsms: %d %q", code, body)
	}
	q.Set("password", "wrong")
	if code, body := get(t, "http://"+sendsms+"/cgi-bin/sendsms?"+q.Encode()); code != http.StatusForbidden ||
		body != "Authorization failed for sendsms" {
		t.Errorf("wrong password: %d %q", code, body)
	}
	testutil.Eventually(t, 30*time.Second, "two reports in inbox/", func() bool {
		m, _ := filepath.Glob(filepath.Join(spool, "inbox", "*.report.json"))
		return len(m) == 2
	})
	// Each recipient's SMSC acceptance (8) and delivery (1), as Kannel
	// would call them.
	testutil.Eventually(t, 30*time.Second, "four DLR calls", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(dlrs) >= 4
	})
	mu.Lock()
	got := slices.Sorted(slices.Values(dlrs))
	mu.Unlock()
	want := []string{"type=1&to=%2B358401111111&from=ACME", "type=1&to=%2B358402222222&from=ACME",
		"type=8&to=%2B358401111111&from=ACME", "type=8&to=%2B358402222222&from=ACME"}
	if !slices.Equal(got, want) {
		t.Errorf("DLR calls %q, want %q", got, want)
	}
	to := map[string]bool{}
	for _, s := range sim.Submits() {
		if s.Text != "Grüße from Kannel's API" || s.DataCoding != pdu.CodingDefault || s.Source.Addr != "ACME" {
			t.Errorf("submit %+v", s)
		}
		to[s.Dest.Addr] = true
	}
	if len(to) != 2 || len(sim.Submits()) != 2 {
		t.Errorf("the SMSC got %d submits to %v", len(sim.Submits()), to)
	}
}
