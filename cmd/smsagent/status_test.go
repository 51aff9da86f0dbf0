package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
	"github.com/smsagent/smsagent/internal/testcert"
)

func agentStatus() smsagent.Status {
	return smsagent.Status{
		Version: "1.2.3",
		Started: q0.Add(-90 * time.Minute),
		Binds: []smsagent.BindStatus{
			{SMSC: "mitto", Slot: 0, Mode: "transceiver", State: "backoff", Since: q0.Add(-time.Minute),
				LastError: "dial tcp 127.0.0.1:2775: connection refused", Reconnects: 4, Throttled: 2},
			{SMSC: "backup", Slot: 0, Mode: "transceiver", State: "bound", Since: q0.Add(-80 * time.Minute), Outstanding: 3,
				Submitted: 1200, Reconnects: 1},
		},
		SMSCs: []smsagent.AccountStatus{
			{Name: "mitto", State: "down", Since: q0.Add(-30 * time.Second), FailingOverTo: "backup"},
			{Name: "backup", State: "up", Since: q0.Add(-90 * time.Minute), Bound: 1},
		},
		Queue:  smsagent.QueueStatus{ByState: map[string]int{"queued": 12, "sent": 40, "delivered": 900}, Awaiting: 38},
		Intake: smsagent.IntakeStatus{FilesTaken: 10, FilesRejected: 1, Messages: 40, Pending: 2},
		Inbox:  smsagent.InboxStatus{Backlog: 5, Written: 930},
		Webhooks: []smsagent.WebhookStatus{{URL: "https://crm.test/events", Delivered: 900, Retried: 3, GivenUp: 1,
			Failing: true, LastError: "answered 500 Internal Server Error", LastErrorAt: q0.Add(-time.Minute)}},
		Hooks: &smsagent.HookStatus{Command: "/usr/local/bin/sms-event", Ran: 930, Retried: 2, Running: 1,
			LastRunAt: q0.Add(-time.Second)},
		Rates:  smsagent.Rates{FilesPerSec: 0.5, SubmitsPerSec: 12.25, ReceiptsPerSec: 11},
		Health: []string{"smsc: slot 1: connection refused, retrying", "intake: 2 files waiting"},
	}
}

const wantStatus = `smsagent 1.2.3, up 1h30m (since 2026-11-25T16:45:00Z)

SMSC    STATE  SINCE                 BOUND  FAILING OVER TO
mitto   down   2026-11-25T18:14:30Z  0      backup
backup  up     2026-11-25T16:45:00Z  1      -

SMSC    BIND  MODE         STATE    SINCE                 OUTSTANDING  SUBMITTED  RECONNECTS  THROTTLED  LAST ERROR
mitto   0     transceiver  backoff  2026-11-25T18:14:00Z  0            0          4           2          dial tcp 127.0.0.1:2775: connection refused
backup  0     transceiver  bound    2026-11-25T16:55:00Z  3            1200       1           0          -

queue:    12 queued, 40 sent (38 awaiting receipt), 900 delivered
rates:    0.5 files/s, 12.2 submits/s, 11.0 receipts/s (last minute)
intake:   10 files taken, 1 rejected, 40 messages, 0 duplicates; 2 pending
inbox:    5 to write, 930 written
webhook:  https://crm.test/events: 900 delivered, 3 retried, 1 given up; FAILING: answered 500 Internal Server Error
hooks:    /usr/local/bin/sms-event: 930 ran, 2 retried, 0 given up, 1 running
health:   smsc: slot 1: connection refused, retrying
          intake: 2 files waiting
`

func TestStatus(t *testing.T) {
	ln := listen(t)
	file, db := queueConfig(t, fmt.Sprintf("admin:\n  listen: %s\n", ln.Addr()))
	runAgent(t, db, ln, "")
	r := cliWith(t, func(a *app) { a.now = func() time.Time { return q0 } }, "status", "--config", file)
	r.want(t, exitOK)
	if r.stdout != wantStatus {
		t.Errorf("status:\n%s\nwant:\n%s", r.stdout, wantStatus)
	}
	r = cli(t, "status", "--config", file, "--json")
	r.want(t, exitOK)
	var got smsagent.Status
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(agentStatus())
	if string(a) != string(b) {
		t.Errorf("status --json:\n%s\nwant\n%s", a, b)
	}
}

func TestStatus_Healthy(t *testing.T) {
	var b strings.Builder
	st := smsagent.Status{Version: "dev", Started: q0}
	if err := printStatus(&b, st, q0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	want := "smsagent dev, up 2s (since 2026-11-25T18:15:00Z)\n\n" +
		"SMSC  BIND  MODE  STATE  SINCE  OUTSTANDING  SUBMITTED  RECONNECTS  THROTTLED  LAST ERROR\n\n" +
		"queue:   empty\n" +
		"rates:   0.0 files/s, 0.0 submits/s, 0.0 receipts/s (last minute)\n" +
		"intake:  0 files taken, 0 rejected, 0 messages, 0 duplicates; 0 pending\n" +
		"inbox:   0 to write, 0 written\n" +
		"health:  ok\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	st.Intake = smsagent.IntakeStatus{FilesTaken: 1, Stalled: true, LastError: "no space left on device\x1b[2J"}
	b.Reset()
	_ = printStatus(&b, st, q0)
	if !strings.Contains(b.String(), "intake:  1 file taken, 0 rejected, 0 messages, 0 duplicates; 0 pending; STALLED; "+
		"last error: no space left on device [2J\n") {
		t.Errorf("stalled intake:\n%s", b.String())
	}
}

func TestStatus_NotRunning(t *testing.T) {
	addr := closedPort(t)
	file, db := queueConfig(t, "admin:\n  listen: "+addr+"\n")
	r := cli(t, "status", "--config", file)
	r.want(t, exitFailure)
	if want := "smsagent: smsagent is not running (nothing answers at " + addr + ")\n"; r.stderr != want || r.stdout != "" {
		t.Errorf("stderr %q", r.stderr)
	}
	// Running, but the API is elsewhere.
	runAgent(t, db, listen(t), "right-token")
	r = cli(t, "status", "--config", file)
	r.want(t, exitFailure)
	if !strings.HasPrefix(r.stderr, "smsagent: the agent is running, but its admin API does not answer at "+addr) {
		t.Errorf("stderr %q", r.stderr)
	}

	off, db2 := queueConfig(t, "admin:\n  listen: \"\"\n")
	r = cli(t, "status", "--config", off)
	r.want(t, exitFailure)
	if r.stderr != "smsagent: smsagent is not running\n" {
		t.Errorf("stderr %q", r.stderr)
	}
	runAgent(t, db2, listen(t), "right-token")
	r = cli(t, "status", "--config", off)
	r.want(t, exitFailure)
	if want := "smsagent: the agent is running, but its admin API is disabled (admin.listen is empty in " + off +
		"): set admin.listen and restart it to see its status\n"; r.stderr != want {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestUsage_QueueAndStatus(t *testing.T) {
	r := cli(t, "--help")
	r.want(t, exitOK)
	for _, c := range []string{"queue", "status"} {
		if !strings.Contains(r.stdout, "\n  "+c+" ") {
			t.Errorf("help does not list %s:\n%s", c, r.stdout)
		}
	}
	r = cli(t, "queue", "--help")
	r.want(t, exitOK)
	for _, c := range []string{"list", "show", "retry", "cancel", "stats", "compact"} {
		if !strings.Contains(r.stdout, "queue "+c) {
			t.Errorf("queue help does not list %s:\n%s", c, r.stdout)
		}
	}
}

// TestStatus_WithoutToken: a user who cannot read the admin token gets the
// status without the last errors and with health lines cut to their
// subject, and is told so.
func TestStatus_WithoutToken(t *testing.T) {
	ln := listen(t)
	file, db := queueConfig(t, fmt.Sprintf("admin:\n  listen: %s\n", ln.Addr()))
	runAgent(t, db, ln, "")
	// The agent has read its token; this user cannot.
	if err := os.Remove(filepath.Join(filepath.Dir(db), "admin.token")); err != nil {
		t.Fatal(err)
	}
	r := cliWith(t, func(a *app) { a.now = func() time.Time { return q0 } }, "status", "--config", file)
	r.want(t, exitOK)
	want := strings.NewReplacer(
		"dial tcp 127.0.0.1:2775: connection refused", "-",
		"https://crm.test/events: ", "-: ",
		"FAILING: answered 500 Internal Server Error", "FAILING",
		"/usr/local/bin/sms-event: ", "-: ",
		"health:   smsc: slot 1: connection refused, retrying\n          intake: 2 files waiting\n",
		"health:   smsc\n          intake\n"+
			"details:  hidden without the admin token (last errors, health details): run as root or the agent's user\n",
	).Replace(wantStatus)
	if r.stdout != want {
		t.Errorf("status without the token:\n%s\nwant:\n%s", r.stdout, want)
	}
	r = cli(t, "status", "--config", file, "--json")
	r.want(t, exitOK)
	if strings.Contains(r.stdout, "connection refused") || !strings.Contains(r.stdout, `"redacted": true`) {
		t.Errorf("status --json without the token:\n%s", r.stdout)
	}
}

// TestStatus_TLS: with admin.tls_cert and admin.tls_key the CLI reaches the
// API over HTTPS, trusting the configured certificate.
func TestStatus_TLS(t *testing.T) {
	ln := listen(t)
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "api", "127.0.0.1")
	file, db := queueConfig(t, fmt.Sprintf("admin:\n  listen: %s\n  tls_cert: %s\n  tls_key: %s\n", ln.Addr(), cert, key))
	runAgentWith(t, db, ln, "", func(o *admin.Options) { o.TLSCert, o.TLSKey = cert, key })
	r := cliWith(t, func(a *app) { a.now = func() time.Time { return q0 } }, "status", "--config", file)
	r.want(t, exitOK)
	if r.stdout != wantStatus {
		t.Errorf("status over TLS:\n%s\nwant:\n%s", r.stdout, wantStatus)
	}
	r = cli(t, "queue", "show", "1", "--config", file)
	r.want(t, exitOK)
}
