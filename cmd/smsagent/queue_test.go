package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
	"github.com/smsagent/smsagent/outbox"
)

// q0 is the clock of the stores the tests fill.
var q0 = time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)

// fillQueue creates the outbox at path with four messages: 1 sent (awaiting
// its receipt), 2 rejected, 3 delivered, 4 queued.
func fillQueue(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := outbox.Open(path, outbox.Options{Clock: func() time.Time { return q0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}()
	num := func(v string) smsagent.Address { a, _ := smsagent.ParseNumber(v); return a }
	acme, _ := smsagent.ParseSender("ACME")
	res, err := s.Enqueue(ctx, smsagent.Batch{Claim: "c1", File: "orders.json", Messages: []smsagent.Message{
		{ClientID: "order-1", To: num("+358401234561"), From: acme, Text: "Hei ä €\nline two", Report: true},
		{ClientID: "order-2", To: num("+358401234562"), Text: "rejected", Report: true},
		{ClientID: "order-3", To: num("0401234563"), Text: "delivered", Report: true, Validity: 2 * time.Hour},
		{To: num("+358401234564"), Text: "queued", Priority: smsagent.PriorityHigh},
	}})
	if err != nil || fmt.Sprint(res.IDs) != "[1 2 3 4]" {
		t.Fatalf("enqueue: %v %v", res.IDs, err)
	}
	if _, err := s.Claim(ctx, q0, 4); err != nil {
		t.Fatal(err)
	}
	err = s.RecordParts(ctx, []outbox.PartResult{
		{ID: 1, Seq: 1, Total: 1, Outcome: outbox.OutcomeAccepted, SMSCID: "A1", SMSCKey: "A1", SMSC: "mitto", At: q0},
		{ID: 2, Seq: 1, Total: 1, Outcome: outbox.OutcomePermanent, Status: 0x0B, SMSC: "backup",
			Error: "ESME_RINVDSTADR (0x0000000B): invalid destination address", At: q0},
		{ID: 3, Seq: 1, Total: 1, Outcome: outbox.OutcomeAccepted, SMSCID: "A3", SMSCKey: "A3", SMSC: "default", At: q0},
		{ID: 4, Seq: 1, Total: 1, Outcome: outbox.OutcomeReleased, At: q0},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ApplyReceipts(ctx, []smsagent.Receipt{{SMSCID: "A3", Keys: []string{"A3"},
		State: smsagent.StateDelivered, Stat: "DELIVRD", Err: "000", Done: q0.Add(time.Second), Received: q0.Add(2 * time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
}

// queueConfig writes a configuration with the given admin section and a
// filled database, and returns the file and the database path.
func queueConfig(t *testing.T, adminSection string) (file, db string) {
	t.Helper()
	file, _ = writeConfig(t, "", adminSection)
	db = filepath.Join(filepath.Dir(file), "state", "outbox.db")
	fillQueue(t, db)
	return file, db
}

// fakeAgentStatus is the running agent's status source.
type fakeAgentStatus struct{ st smsagent.Status }

func (f fakeAgentStatus) Status(context.Context) (smsagent.Status, error) { return f.st, nil }

// runAgent stands in for a running agent: it holds the database and serves
// the admin API on ln, with the token given or, when empty, the generated
// one in the state folder.
func runAgent(t *testing.T, db string, ln net.Listener, token string) *outbox.Store {
	t.Helper()
	return runAgentWith(t, db, ln, token, nil)
}

// runAgentWith is runAgent with the API's options changed by edit.
func runAgentWith(t *testing.T, db string, ln net.Listener, token string, edit func(*admin.Options)) *outbox.Store {
	t.Helper()
	store, err := outbox.Open(db, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := admin.Options{
		Token:     token,
		TokenFile: filepath.Join(filepath.Dir(db), "admin.token"),
		Queue:     store,
		Status:    fakeAgentStatus{st: agentStatus()},
	}
	if edit != nil {
		edit(&o)
	}
	srv, err := admin.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if err := srv.Close(ctx); err != nil {
			t.Error(err)
		}
		if err := store.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return store
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

const (
	wantStats = `queued         1
sending        0
sent           1  (1 awaiting receipt)
delivered      1
undeliverable  0
expired        0
rejected       1
failed         0
canceled       0
total          4
inbox backlog  2
`
	wantList = `ID  STATE      SMSC     TO             CLIENT ID  PARTS  ATTEMPTS  RECEIVED              DUE/DONE              ERROR
1   sent       mitto    +358401234561  order-1    1      0         2026-11-25T18:15:00Z  -
2   rejected   backup   +358401234562  order-2    1      0         2026-11-25T18:15:00Z  2026-11-25T18:15:00Z  ESME_RINVDSTADR (0x0000000B): invalid destination address
3   delivered  default  0401234563     order-3    1      0         2026-11-25T18:15:00Z  2026-11-25T18:15:00Z
4   queued     -        +358401234564             1      0         2026-11-25T18:15:00Z  2026-11-25T18:15:00Z
`
	wantShow1 = `message    1
client id  order-1
state      sent (awaiting receipt)
smsc       mitto
to         +358401234561
from       ACME
text       "Hei ä €\nline two"
file       orders.json
received   2026-11-25T18:15:00Z
submitted  2026-11-25T18:15:00Z
attempts   0
report     yes
encoding   auto
priority   normal

PART  STATE  SMSC   SMSC ID  SUBMITTED             DONE  STAT  ERR  STATUS  ERROR
1     sent   mitto  A1       2026-11-25T18:15:00Z  -     -     -    -       -
`
	wantShow3 = `message    3
client id  order-3
state      delivered
smsc       default
to         0401234563
text       "delivered"
file       orders.json
received   2026-11-25T18:15:00Z
submitted  2026-11-25T18:15:00Z
done       2026-11-25T18:15:00Z
attempts   0
report     yes
encoding   auto
priority   normal
validity   2h

PART  STATE      SMSC     SMSC ID  SUBMITTED             DONE                  STAT     ERR  STATUS  ERROR
1     delivered  default  A3       2026-11-25T18:15:00Z  2026-11-25T18:15:01Z  DELIVRD  000  -       -
`
)

// readCommands are the read-only command lines whose output must not
// depend on whether the agent runs.
var readCommands = []struct {
	args []string
	want string // "" when only compared between the two ways
}{
	{[]string{"queue", "stats"}, wantStats},
	{[]string{"queue", "list"}, wantList},
	{[]string{"queue", "show", "1"}, wantShow1},
	{[]string{"queue", "show", "3"}, wantShow3},
	{[]string{"queue", "stats", "--json"}, ""},
	{[]string{"queue", "list", "--json"}, ""},
	{[]string{"queue", "list", "--state", "rejected", "--json"}, ""},
	{[]string{"queue", "show", "2", "--json"}, ""},
	{[]string{"queue", "show", "4", "--json"}, ""},
}

// TestQueue_StoppedAndRunning runs every read command against the database
// of a stopped agent, then against a running agent's API over loopback:
// same output, byte for byte.
func TestQueue_StoppedAndRunning(t *testing.T) {
	ln := listen(t)
	file, db := queueConfig(t, fmt.Sprintf("admin:\n  listen: %s\n", ln.Addr()))
	before, _ := os.Stat(db)
	stopped := make([]string, len(readCommands))
	for i, c := range readCommands {
		r := cli(t, append(c.args, "--config", file)...)
		r.want(t, exitOK)
		if c.want != "" && r.stdout != c.want {
			t.Errorf("%v (stopped):\n%s\nwant:\n%s", c.args, r.stdout, c.want)
		}
		stopped[i] = r.stdout
	}
	if after, _ := os.Stat(db); !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		t.Error("read commands wrote to the database")
	}
	var page admin.Page
	if err := json.Unmarshal([]byte(stopped[6]), &page); err != nil || len(page.Messages) != 1 ||
		page.Messages[0].MessageID != 2 {
		t.Errorf("list --state rejected --json: %v %s", err, stopped[6])
	}

	runAgent(t, db, ln, "")
	for i, c := range readCommands {
		r := cli(t, append(c.args, "--config", file)...)
		r.want(t, exitOK)
		if r.stdout != stopped[i] {
			t.Errorf("%v: running agent printed\n%s\nstopped agent\n%s", c.args, r.stdout, stopped[i])
		}
	}
}

func TestQueue_Paging(t *testing.T) {
	file, _ := queueConfig(t, "")
	r := cli(t, "queue", "list", "--config", file, "--limit", "2", "--after", "1")
	r.want(t, exitOK)
	if !strings.HasPrefix(r.stdout, "ID  STATE") || strings.Count(r.stdout, "\n") != 3 ||
		r.stderr != "more: smsagent queue list --limit 2 --after 3\n" {
		t.Errorf("page:\n%s\nstderr %q", r.stdout, r.stderr)
	}
	r = cli(t, "queue", "list", "--config", file, "--state", "rejected", "--limit", "1")
	if r.stderr != "more: smsagent queue list --state rejected --limit 1 --after 2\n" {
		t.Errorf("stderr %q", r.stderr)
	}
	r = cli(t, "queue", "list", "--config", file, "--state", "canceled")
	r.want(t, exitOK)
	if r.stdout != "no messages\n" {
		t.Errorf("empty: %q", r.stdout)
	}
}

// TestQueue_Commands changes the queue of a stopped agent, then of a
// running one.
func TestQueue_Commands(t *testing.T) {
	for _, running := range []bool{false, true} {
		t.Run(fmt.Sprintf("running=%v", running), func(t *testing.T) {
			ln := listen(t)
			file, db := queueConfig(t, fmt.Sprintf("admin:\n  listen: %s\n", ln.Addr()))
			get := func(id smsagent.MessageID) smsagent.State {
				s, err := outbox.Open(db, outbox.Options{ReadOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close(context.Background())
				r, err := s.Get(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				return r.State
			}
			if running {
				store := runAgent(t, db, ln, "")
				get = func(id smsagent.MessageID) smsagent.State {
					r, err := store.Get(context.Background(), id)
					if err != nil {
						t.Fatal(err)
					}
					return r.State
				}
			} else {
				ln.Close()
			}
			steps := []struct {
				args   []string
				code   int
				stdout string // prefix
				stderr string
			}{
				{[]string{"retry", "--all-failed"}, exitOK, "retried 1 message\n", ""},
				{[]string{"retry", "2"}, exitOK, "retried message 2: now queued, due ", ""},
				{[]string{"cancel", "4"}, exitOK, "canceled message 4\n", ""},
				{[]string{"retry", "4"}, exitFailure, "", "smsagent: cannot retry message 4: it is canceled\n"},
				{[]string{"cancel", "3"}, exitFailure, "", "smsagent: cannot cancel message 3: it is delivered\n"},
				{[]string{"cancel", "99"}, exitFailure, "", "smsagent: message 99 not found\n"},
				{[]string{"show", "99"}, exitFailure, "", "smsagent: message 99 not found\n"},
				{[]string{"retry", "--all-failed"}, exitOK, "retried 0 messages\n", ""},
			}
			for _, s := range steps {
				r := cli(t, append(append([]string{"queue"}, s.args...), "--config", file)...)
				if r.code != s.code || !strings.HasPrefix(r.stdout, s.stdout) || r.stderr != s.stderr {
					t.Errorf("queue %v: exit %d, stdout %q, stderr %q; want %d, %q…, %q",
						s.args, r.code, r.stdout, r.stderr, s.code, s.stdout, s.stderr)
				}
			}
			if st := get(4); st != smsagent.StateCanceled {
				t.Errorf("message 4 is %s", st)
			}
			if st := get(2); st != smsagent.StateQueued {
				t.Errorf("message 2 is %s", st)
			}
		})
	}
}

// TestQueue_RetryMaxAge: a retry on a stopped agent counts the configured
// retry.max_age from now, as the agent would.
func TestQueue_RetryMaxAge(t *testing.T) {
	file, _ := writeConfig(t, "", "retry:\n  max_age: 1m\n")
	db := filepath.Join(filepath.Dir(file), "state", "outbox.db")
	fillQueue(t, db)
	// The retry happens an hour after the queue was filled, on the test's
	// clock: the wall clock would age message 4 past its minute as the
	// calendar moves on.
	retried := q0.Add(time.Hour)
	cliWith(t, func(a *app) { a.now = func() time.Time { return retried } },
		"queue", "retry", "2", "--config", file).want(t, exitOK)
	s, err := outbox.Open(db, outbox.Options{Clock: func() time.Time { return retried }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	// Message 4 is due too and, created with the default max_age before the
	// file said 1m, still young; two minutes on, message 2 is past its minute.
	got, err := s.Claim(context.Background(), retried.Add(2*time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := s.Get(context.Background(), 2)
	if len(got) != 1 || got[0].ID != 4 || r.State != smsagent.StateExpired {
		t.Errorf("claimed %d messages, message 2 %s; want only 4 claimed and 2 expired", len(got), r.State)
	}
}

func TestQueue_UsageErrors(t *testing.T) {
	file, _ := queueConfig(t, "")
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"show", "x"}, "smsagent: invalid message id \"x\": want a positive decimal number\n"},
		{[]string{"cancel", "0"}, "smsagent: invalid message id \"0\": want a positive decimal number\n"},
		{[]string{"list", "--state", "lost"}, "smsagent: --state: unknown state \"lost\"\n"},
		{[]string{"list", "--limit", "0"}, "smsagent: --limit: must be between 1 and 1000, got 0\n"},
		{[]string{"list", "--limit", "1001"}, "smsagent: --limit: must be between 1 and 1000, got 1001\n"},
		{[]string{"retry"}, "smsagent: give either a message id or --all-failed\n"},
		{[]string{"retry", "1", "--all-failed"}, "smsagent: give either a message id or --all-failed\n"},
	}
	for _, tt := range tests {
		r := cli(t, append(append([]string{"queue"}, tt.args...), "--config", file)...)
		if r.code != exitUsage || r.stderr != tt.stderr {
			t.Errorf("queue %v: exit %d, stderr %q; want 2, %q", tt.args, r.code, r.stderr, tt.stderr)
		}
	}
	r := cli(t, "queue", "show")
	r.want(t, exitUsage)
}

func TestQueue_NoDatabase(t *testing.T) {
	file, _ := writeConfig(t, "", "")
	db := filepath.Join(filepath.Dir(file), "state", "outbox.db")
	want := "smsagent: no database at " + db + ": the agent has not run with this configuration yet (store.path)\n"
	for _, args := range [][]string{{"list"}, {"retry", "1"}, {"cancel", "1"}, {"stats"}, {"compact"}} {
		r := cli(t, append(append([]string{"queue"}, args...), "--config", file)...)
		if r.code != exitFailure || r.stderr != want {
			t.Errorf("queue %v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a queue command created the database: %v", err)
	}
}

// TestQueue_RunningAPIProblems: while the agent runs, every way the API can
// be out of reach gets its own sentence.
func TestQueue_RunningAPIProblems(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		file, db := queueConfig(t, "admin:\n  listen: \"\"\n")
		runAgent(t, db, listen(t), "right-token")
		r := cli(t, "queue", "list", "--config", file)
		r.want(t, exitFailure)
		want := "smsagent: the agent is running (it holds " + db + "), but its admin API is disabled (admin.listen is empty in " +
			file + "): set admin.listen and restart the agent, or stop it, to use the queue commands\n"
		if r.stderr != want {
			t.Errorf("stderr %q\nwant   %q", r.stderr, want)
		}
	})
	t.Run("not answering", func(t *testing.T) {
		addr := closedPort(t)
		file, db := queueConfig(t, "admin:\n  listen: "+addr+"\n")
		runAgent(t, db, listen(t), "right-token")
		r := cli(t, "queue", "stats", "--config", file)
		r.want(t, exitFailure)
		if !strings.HasPrefix(r.stderr, "smsagent: the agent is running, but its admin API does not answer at "+addr+" (") ||
			!strings.HasSuffix(r.stderr, "): does admin.listen in "+file+" match the running agent's?\n") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
	t.Run("wrong token file", func(t *testing.T) {
		ln := listen(t)
		dir := t.TempDir()
		tokenFile := filepath.Join(dir, "admin.token")
		if err := os.WriteFile(tokenFile, []byte("not-the-token\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		file, db := queueConfig(t, fmt.Sprintf("admin:\n  listen: %s\n  token_file: %s\n", ln.Addr(), tokenFile))
		runAgent(t, db, ln, "right-token")
		for _, args := range [][]string{{"list"}, {"show", "1"}, {"cancel", "4"}} {
			r := cli(t, append(append([]string{"queue"}, args...), "--config", file)...)
			r.want(t, exitFailure)
			if want := "smsagent: the admin API refused the token from " + tokenFile +
				": it is not the running agent's token\n"; r.stderr != want {
				t.Errorf("queue %v: stderr %q", args, r.stderr)
			}
		}
		// Counters need no token on loopback.
		cli(t, "queue", "stats", "--config", file).want(t, exitOK)
	})
	t.Run("generated token unreadable", func(t *testing.T) {
		ln := listen(t)
		file, db := queueConfig(t, fmt.Sprintf("admin:\n  listen: %s\n", ln.Addr()))
		runAgent(t, db, ln, "right-token") // configured there, so no file is generated
		tokenFile := filepath.Join(filepath.Dir(db), "admin.token")
		r := cli(t, "queue", "show", "1", "--config", file)
		r.want(t, exitFailure)
		want := "smsagent: the admin API wants its token, which could not be read: admin: cannot read token file " +
			tokenFile + ": " + errNoEnt() + " (run as the agent's user or root)\n"
		if r.stderr != want {
			t.Errorf("stderr %q\nwant   %q", r.stderr, want)
		}
	})
}

func errNoEnt() string {
	_, err := os.Open(filepath.Join(os.TempDir(), "smsagent-does-not-exist"))
	return err.(*os.PathError).Err.Error()
}

func TestQueue_Compact(t *testing.T) {
	defer func(d time.Duration) { compactLockGrace = d }(compactLockGrace)
	compactLockGrace = 0
	file, db := queueConfig(t, "")
	if err := os.Chmod(db, 0o640); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "queue", "compact", "--config", file)
	r.want(t, exitOK)
	if !strings.HasPrefix(r.stdout, "compacted "+db+": ") || !strings.Contains(r.stdout, " -> ") {
		t.Errorf("stdout %q", r.stdout)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(db); fi.Mode().Perm() != 0o640 {
			t.Errorf("mode %v after compact, want the original 0640", fi.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(db))
	if len(entries) != 1 {
		t.Errorf("state folder holds %d entries after compact, want only the database", len(entries))
	}
	// Everything is still there, and consistent.
	s, err := outbox.Open(db, outbox.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
	for id := smsagent.MessageID(1); id <= 4; id++ {
		if _, err := s.Get(context.Background(), id); err != nil {
			t.Error(err)
		}
	}
	s.Close(context.Background())
	cli(t, "queue", "stats", "--config", file).want(t, exitOK)

	// While the agent runs, nothing happens.
	runAgent(t, db, listen(t), "right-token")
	r = cli(t, "queue", "compact", "--config", file)
	r.want(t, exitFailure)
	if want := "smsagent: the agent is running (it holds " + db + "): stop it first, then compact\n"; r.stderr != want {
		t.Errorf("stderr %q", r.stderr)
	}
	entries, _ = os.ReadDir(filepath.Dir(db))
	if len(entries) != 1 {
		t.Errorf("a refused compact left %d entries", len(entries))
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 32768: "32.0 KiB",
		1536 << 10: "1.5 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
