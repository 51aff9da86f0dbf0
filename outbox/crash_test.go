package outbox_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

const crashEnv = "OUTBOX_CRASH_CHILD_DIR"

// TestCrash kills a writer process at random moments and proves that no
// acknowledged operation is lost and no file is enqueued twice.
//
// The child (this test binary re-executed with crashEnv set) loops: it
// enqueues a file of three messages, claims due messages, records their
// parts as accepted and applies delivered receipts for some. After each
// call returns it appends a line to an acknowledgement log (one write
// call; the kernel keeps it through SIGKILL). On start it resumes with the
// file after the last one logged, which is the file it may have stored
// without logging: Enqueue must then answer AlreadyTaken.
//
// The parent runs 30 rounds, each killing the child with SIGKILL after a
// random amount of progress, then reopens the store, runs Check and
// verifies every logged line against the database.
func TestCrash(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "acked.log")
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	const rounds = 30
	for round := 0; round < rounds; round++ {
		start := logSize(logPath)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Kill after a random amount of acknowledged progress, polling
		// the log with a deadline.
		want := start + 1 + rnd.Int64N(1000)
		deadline := time.Now().Add(30 * time.Second)
		for logSize(logPath) < want {
			select {
			case err := <-exited:
				t.Fatalf("round %d: child exited early: %v\n%s", round, err, stderr.String())
			case <-time.After(time.Millisecond):
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("round %d: child made no progress\n%s", round, stderr.String())
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-exited
		verifyCrashLog(t, round, filepath.Join(dir, "outbox.db"), logPath)
	}
}

func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// crashChild is the process that gets killed. It never returns normally.
func crashChild(t *testing.T, dir string) {
	logPath := filepath.Join(dir, "acked.log")
	lines := readLog(t, logPath) // also cuts a torn last line
	next := 1
	for _, l := range lines {
		if l[0] == "E" || l[0] == "T" {
			n, _ := strconv.Atoi(strings.TrimPrefix(l[1], "c"))
			next = n + 1
		}
	}
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ack := func(format string, args ...any) {
		if _, err := f.WriteString(fmt.Sprintf(format, args...) + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	for i := next; ; i++ {
		claim := fmt.Sprintf("c%d", i)
		ms := make([]smsagent.Message, 3)
		for j := range ms {
			ms[j] = msg("+358401234567", fmt.Sprintf("%s-%d", claim, j))
			ms[j].ClientID = fmt.Sprintf("%s-%d", claim, j)
			ms[j].Report = true
		}
		res, err := s.Enqueue(ctx, smsagent.Batch{Claim: claim, File: claim + ".json", Messages: ms})
		if err != nil {
			t.Fatal(err)
		}
		if res.AlreadyTaken {
			ack("T %s", claim)
		} else {
			ack("E %s %d %d %d", claim, res.IDs[0], res.IDs[1], res.IDs[2])
		}
		rs, err := s.Claim(ctx, time.Now(), 4)
		if err != nil {
			t.Fatal(err)
		}
		var results []outbox.PartResult
		for _, r := range rs {
			k := fmt.Sprintf("k%d", r.ID)
			results = append(results, outbox.PartResult{ID: r.ID, Seq: 1, Total: 1, Outcome: outbox.OutcomeAccepted,
				SMSCID: k, SMSCKey: k, At: time.Now()})
		}
		if len(results) > 0 {
			if err := s.RecordParts(ctx, results); err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				ack("A %d", r.ID)
			}
		}
		if i%2 == 0 && len(results) > 0 {
			id := results[0].ID
			out, err := s.ApplyReceipts(ctx, []smsagent.Receipt{{SMSCID: results[0].SMSCID, Keys: []string{results[0].SMSCKey},
				State: smsagent.StateDelivered, Stat: "DELIVRD", Received: time.Now()}})
			if err != nil || out[0] != smsagent.ReceiptMatched {
				t.Fatalf("receipt: %v %v", out, err)
			}
			ack("D %d", id)
		}
	}
}

// readLog returns the complete lines of the log split in fields, and cuts
// a torn last line (the child was killed inside its write).
func readLog(t *testing.T, path string) [][]string {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 != len(data) {
		if err := os.Truncate(path, int64(i+1)); err != nil {
			t.Fatal(err)
		}
		data = data[:i+1]
	}
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		out = append(out, strings.Fields(sc.Text()))
	}
	return out
}

func verifyCrashLog(t *testing.T, round int, dbPath, logPath string) {
	t.Helper()
	s, err := outbox.Open(dbPath, outbox.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("round %d: reopen: %v", round, err)
	}
	defer func() {
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}()
	if err := s.Check(); err != nil {
		t.Fatalf("round %d: Check after kill: %v", round, err)
	}
	ctx := context.Background()
	enqueued := map[string]bool{}
	var acked int
	for _, l := range readLog(t, logPath) {
		acked++
		switch l[0] {
		case "E", "T":
			if l[0] == "E" {
				if enqueued[l[1]] {
					t.Fatalf("round %d: file %s enqueued twice", round, l[1])
				}
				enqueued[l[1]] = true
				for j, f := range l[2:] {
					id, _ := smsagent.ParseMessageID(f)
					r, err := s.Get(ctx, id)
					if err != nil || r.ClientID != fmt.Sprintf("%s-%d", l[1], j) {
						t.Fatalf("round %d: acknowledged message %s of %s: %+v %v", round, f, l[1], r, err)
					}
				}
			}
			if ok, err := s.Taken(ctx, l[1]); !ok || err != nil {
				t.Fatalf("round %d: acknowledged file %s not taken: %v", round, l[1], err)
			}
		case "A", "D":
			id, _ := smsagent.ParseMessageID(l[1])
			r, err := s.Get(ctx, id)
			if err != nil || len(r.Parts) != 1 || r.Parts[0].SMSCID != "k"+l[1] {
				t.Fatalf("round %d: acknowledged acceptance of %s lost: %+v %v", round, l[1], r, err)
			}
			if l[0] == "D" && r.State != smsagent.StateDelivered {
				t.Fatalf("round %d: acknowledged receipt of %s lost: %s", round, l[1], r.State)
			}
		}
	}
	if acked == 0 {
		t.Fatalf("round %d: nothing acknowledged", round)
	}
	// Each client id is stored once: nothing was enqueued twice.
	seen := map[string]bool{}
	for q := (outbox.ListQuery{Limit: 1000}); ; {
		page, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			if seen[r.ClientID] {
				t.Fatalf("round %d: client id %s stored twice", round, r.ClientID)
			}
			seen[r.ClientID] = true
		}
		q.After = page[len(page)-1].ID
	}
}
