package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
	"github.com/smsagent/smsagent/outbox"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is the fixed clock of every store in these tests.
var t0 = time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)

const testToken = "0123456789abcdef0123456789abcdef-test"

// queue is an outbox in a temporary folder holding one message in each of
// the states an operator meets most: queued, sent (awaiting a receipt),
// delivered, rejected.
type queue struct {
	store                             *outbox.Store
	queued, sent, delivered, rejected smsagent.MessageID
}

func newQueue(t *testing.T) *queue {
	t.Helper()
	ctx := context.Background()
	s, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("outbox check: %v", err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("outbox close: %v", err)
		}
	})
	number := func(s string) smsagent.Address {
		a, err := smsagent.ParseNumber(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	acme, _ := smsagent.ParseSender("ACME")
	ms := []smsagent.Message{
		{ClientID: "order-1", To: number("+358401234561"), From: acme, Text: "sent, awaiting", Report: true,
			Meta: json.RawMessage(`{"customer":7}`)},
		{ClientID: "order-2", To: number("+358401234562"), Text: "rejected", Report: true},
		{ClientID: "order-3", To: number("0401234563"), Text: "delivered", Report: true, Validity: 2 * time.Hour},
		{ClientID: "order-4", To: number("+358401234564"), Text: "still queued", Priority: smsagent.PriorityHigh},
	}
	res, err := s.Enqueue(ctx, smsagent.Batch{Claim: "claim-1", File: "orders.json", Messages: ms})
	if err != nil {
		t.Fatal(err)
	}
	q := &queue{store: s, sent: res.IDs[0], rejected: res.IDs[1], delivered: res.IDs[2], queued: res.IDs[3]}
	// All four go out; the queued one is released (never written to the
	// wire), which puts it back in the queue without an attempt.
	claimed, err := s.Claim(ctx, t0, 4)
	if err != nil || len(claimed) != 4 {
		t.Fatalf("claim: %v, %d", err, len(claimed))
	}
	accept := func(id smsagent.MessageID, smscID string) outbox.PartResult {
		return outbox.PartResult{ID: id, Seq: 1, Total: 1, Outcome: outbox.OutcomeAccepted, SMSCID: smscID,
			SMSCKey: smscID, At: t0}
	}
	err = s.RecordParts(ctx, []outbox.PartResult{
		accept(q.sent, "A1"),
		{ID: q.rejected, Seq: 1, Total: 1, Outcome: outbox.OutcomePermanent, Status: 0x0B,
			Error: "ESME_RINVDSTADR (0x0000000B): invalid destination address", At: t0},
		accept(q.delivered, "A3"),
		{ID: q.queued, Seq: 1, Total: 1, Outcome: outbox.OutcomeReleased, At: t0},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ApplyReceipts(ctx, []smsagent.Receipt{{SMSCID: "A3", Keys: []string{"A3"},
		State: smsagent.StateDelivered, Stat: "DELIVRD", Err: "000", Done: t0.Add(time.Second), Received: t0.Add(2 * time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// fakeStatus is the agent's side of /api/v1/status.
type fakeStatus struct {
	st  smsagent.Status
	err error
}

func (f *fakeStatus) Status(context.Context) (smsagent.Status, error) { return f.st, f.err }

func sampleStatus() smsagent.Status {
	return smsagent.Status{
		Version: "1.2.3",
		Started: t0.Add(-time.Hour),
		Binds: []smsagent.BindStatus{
			{Slot: 0, Mode: "transceiver", State: "bound", Since: t0.Add(-50 * time.Minute), Outstanding: 3,
				Submitted: 1200, Reconnects: 1},
			{Slot: 1, Mode: "transceiver", State: "backoff", Since: t0.Add(-time.Minute),
				LastError: "smpp: bind: dial tcp 127.0.0.1:2775: connection refused", Reconnects: 4, Throttled: 2},
		},
		Queue:  smsagent.QueueStatus{ByState: map[string]int{"queued": 1, "sent": 1}, Awaiting: 1},
		Intake: smsagent.IntakeStatus{FilesTaken: 10, FilesRejected: 1, Messages: 40, Pending: 2},
		Inbox:  smsagent.InboxStatus{Backlog: 1, Written: 30},
		Rates:  smsagent.Rates{FilesPerSec: 0.5, SubmitsPerSec: 12.25, ReceiptsPerSec: 11},
		Health: []string{"smsc: slot 1: connection refused, retrying"},
	}
}

// server is a running admin API over a real loopback listener.
type server struct {
	*admin.Server
	base string
	q    *queue
}

func startServer(t *testing.T, edit func(*admin.Options)) *server {
	t.Helper()
	q := newQueue(t)
	opts := admin.Options{
		Listen: "127.0.0.1:0",
		Token:  testToken,
		Queue:  q.store,
		Status: &fakeStatus{st: sampleStatus()},
	}
	if edit != nil {
		edit(&opts)
	}
	s, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &server{Server: s, base: "http://" + s.Addr().String(), q: q}
}

// answer is one HTTP exchange, read whole.
type answer struct {
	code   int
	header http.Header
	body   string
}

func (a answer) want(t *testing.T, code int) answer {
	t.Helper()
	if a.code != code {
		t.Fatalf("status %d, want %d; body %s", a.code, code, a.body)
	}
	return a
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	dec := json.NewDecoder(strings.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

// errorIs checks an error answer's exact body.
func (a answer) errorIs(t *testing.T, code int, msg string) {
	t.Helper()
	a.want(t, code)
	want, _ := json.Marshal(map[string]string{"error": msg})
	if a.body != string(want)+"\n" {
		t.Errorf("body %q, want %q", a.body, want)
	}
}

// do sends one request; token "" sends no Authorization header.
func (s *server) do(t *testing.T, method, path, token string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s\nwant:\n%s", name, got, want)
	}
}

func indent(t *testing.T, body string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(body), "", "  "); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var errBoom = errors.New("boom")
