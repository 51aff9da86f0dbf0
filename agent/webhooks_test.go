package agent_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// hookReceiver is a webhook endpoint that checks each call's signature as
// the README's verifier does, fails the first calls, and keeps what it
// took by event id.
type hookReceiver struct {
	secret []byte
	fail   atomic.Int64 // calls still to answer 500
	calls  atomic.Int64
	bad    atomic.Int64 // calls with a wrong signature
	mu     sync.Mutex
	got    map[string]hookCall
}

type hookCall struct {
	typ  string
	body []byte
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	if !verify(h.secret, r.Header.Get("Smsagent-Signature"), body, time.Now(), 5*time.Minute) {
		h.bad.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if h.fail.Add(-1) >= 0 {
		http.Error(w, "not now", http.StatusInternalServerError)
		return
	}
	h.mu.Lock()
	h.got[r.Header.Get("Smsagent-Event-Id")] = hookCall{r.Header.Get("Smsagent-Event-Type"), body}
	h.mu.Unlock()
}

func (h *hookReceiver) taken() map[string]hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]hookCall, len(h.got))
	for k, v := range h.got {
		out[k] = v
	}
	return out
}

// verify is the README's verifier: the signature of "t.body", with t no
// older than maxAge.
func verify(secret []byte, header string, body []byte, now time.Time, maxAge time.Duration) bool {
	var t, sig string
	for _, kv := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "t":
			t = v
		case "v1":
			sig = v
		}
	}
	unix, err := strconv.ParseInt(t, 10, 64)
	if err != nil || now.Sub(time.Unix(unix, 0)) > maxAge {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(t + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(sig), []byte(want))
}

// TestAgent_e2e_webhooks: every report and incoming SMS in inbox/ is also
// POSTed to the webhook, signed, with its file's name as a stable event id;
// the endpoint fails at first and is down across an agent restart, and the
// inbox files and sending do not wait for it.
func TestAgent_e2e_webhooks(t *testing.T) {
	sim := simulator(t, smsc.Options{})
	secret := "a-webhook-secret-of-32-characters"
	secretFile := filepath.Join(t.TempDir(), "hook.secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	rcv := &hookReceiver{secret: []byte(secret), got: map[string]hookCall{}}
	rcv.fail.Store(3)
	srv := &http.Server{Handler: rcv}
	go func() { _ = srv.Serve(ln) }()
	cfg := accountsConfigOf(t, []string{"default=" + sim.Addr()}, `callbacks:
  retry_initial: 20ms
  retry_max: 100ms
webhooks:
  - url: http://`+addr+`/events
    events: [report, mo]
    secret_file: `+secretFile+`
    timeout: 2s
`)
	r := start(t, cfg, agent.Options{TunePool: fastPool})
	dropHellos(t, cfg, 3)
	injectSTOP(t, sim)
	// The inbox does not wait for the failing endpoint.
	waitReports(t, cfg, 3, 10*time.Second)
	testutil.Eventually(t, 10*time.Second, "the incoming SMS in inbox/", func() bool {
		return len(inboxFiles(t, cfg, ".mo.json")) == 1
	})
	testutil.Eventually(t, 10*time.Second, "failed calls", func() bool { return rcv.calls.Load() >= 3 })
	if err := r.shutdown(); err != nil {
		t.Fatal(err)
	}
	_ = srv.Close() // down across the restart
	r = start(t, cfg, agent.Options{TunePool: fastPool})
	testutil.Eventually(t, 30*time.Second, "status: the webhook failing", func() bool {
		st, err := r.a.Status(context.Background())
		return err == nil && len(st.Webhooks) == 1 && st.Webhooks[0].Failing
	})
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the endpoint's port was taken meanwhile: %v", err)
	}
	srv = &http.Server{Handler: rcv}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	testutil.Eventually(t, 20*time.Second, "every event taken", func() bool { return len(rcv.taken()) == 4 })
	if n := rcv.bad.Load(); n != 0 {
		t.Errorf("%d calls with a bad signature", n)
	}
	files := append(inboxFiles(t, cfg, ".report.json"), inboxFiles(t, cfg, ".mo.json")...)
	got := rcv.taken()
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".json")
		call, ok := got[id]
		if !ok {
			t.Errorf("no webhook call for %s (got %d)", id, len(got))
			continue
		}
		var kind struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		}
		if err := json.Unmarshal(call.body, &kind); err != nil || kind.Type != call.typ {
			t.Errorf("%s: type header %q, body %s", id, call.typ, call.body)
		}
		var onDisk smsagent.Report
		b, _ := os.ReadFile(f)
		_ = json.Unmarshal(b, &onDisk)
		if kind.Type == "report" && kind.ID != onDisk.ID {
			t.Errorf("%s: the webhook got %s, the file says %s", id, call.body, b)
		}
	}
	testutil.Eventually(t, 10*time.Second, "status: delivered", func() bool {
		st, err := r.a.Status(context.Background())
		return err == nil && !st.Webhooks[0].Failing && st.Webhooks[0].Delivered > 0
	})
}
