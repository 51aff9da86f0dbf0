package soak_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/smsagent/smsagent/outbox"
)

// TestProcess_kill SIGKILLs the agent at random moments while it takes
// files, sends and writes reports, restarting it each time: nothing is
// lost, every message has one report, and the SMSC saw a message twice
// only when it was in flight at a kill.
func TestProcess_kill(t *testing.T) {
	r := newRig(t, "SIGKILL during load", simOptions())
	n, kills := scale(1000, 20000), scale(4, 24)
	ids := r.bulk("k", n, 50)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // to replay a failure: NewPCG(1, seed)
	rng := rand.New(rand.NewPCG(1, seed))
	// Kill points spread over the run, as counts of messages the SMSC
	// accepted; the first kill falls during intake, before any submit.
	at := make([]int, kills-1)
	for i := range at {
		at[i] = 1 + rng.IntN(n*9/10)
	}
	slices.Sort(at)
	// The first kill falls at a random point of intake: once a random
	// share of the files has left outgoing/.
	outgoing := filepath.Join(r.spool, "outgoing")
	files := countFiles(outgoing)
	untaken := rng.IntN(max(files, 1))
	p := r.start()
	r.waitOutgoing(untaken, 60*time.Second)
	p.kill()
	for _, a := range at {
		p = r.start()
		r.waitAccepted(a)
		p.kill()
	}
	r.fault("%d × SIGKILL at random moments", kills)
	p = r.start()
	r.waitReports(n, time.Duration(scale(120, 600))*time.Second)
	p.stop(10 * time.Second)
	r.ledger(ids)
	r.checkStore()
}

// TestProcess_term stops the agent with SIGTERM in the middle of the load:
// it stops within 10 s, and the next start finishes the work.
func TestProcess_term(t *testing.T) {
	r := newRig(t, "SIGTERM during load", simOptions())
	n, rounds := scale(600, 6000), scale(2, 6)
	ids := r.bulk("t", n, 100)
	for k := range rounds {
		p := r.start()
		r.waitAccepted((k + 1) * n / (rounds + 1))
		took := p.stop(10 * time.Second)
		t.Logf("stop %d took %s", k+1, took)
	}
	r.fault("%d × SIGTERM (clean stop < 10 s)", rounds)
	p := r.start()
	r.waitReports(n, 120*time.Second)
	p.stop(10 * time.Second)
	r.ledger(ids)
	r.checkStore()
}

// TestProcess_powerCut kills the agent right after a burst of intake, while
// the commits that store it are in flight, then checks the database: the
// outbox invariants and bbolt's own consistency check. Torn copies of the
// file (cut at random offsets, or with a page overwritten) must open clean
// or fail with an error, never panic.
func TestProcess_powerCut(t *testing.T) {
	r := newRig(t, "power cut during commit", simOptions())
	n, cuts := scale(800, 8000), scale(3, 12)
	perFile := 4 // many small files: many intake commits
	var ids []string
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // to replay a failure: NewPCG(2, seed)
	rng := rand.New(rand.NewPCG(2, seed))
	for c := range cuts {
		ids = append(ids, r.bulk(fmt.Sprintf("p%d-", c), n/cuts, perFile)...)
		p := r.start()
		// Intake has begun when the first files left outgoing/.
		total := n / cuts / perFile
		// Kill at a random point once it has: between a quarter and a
		// half of the files taken.
		untaken := total/2 + rng.IntN(total/4+1)
		r.waitOutgoing(untaken, 30*time.Second)
		p.kill()
		r.checkStore()
	}
	r.fault("%d × SIGKILL in intake; db checked after each", cuts)
	r.tornCopies(rng, scale(6, 30))
	p := r.start()
	r.waitReports(len(ids), 120*time.Second)
	p.stop(10 * time.Second)
	r.ledger(ids)
	r.checkStore()
}

func countFiles(dir string) int {
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

// checkStore opens the stopped agent's database: bbolt's consistency
// check (every page reachable once, freelist sound) and outbox.Check (the
// indexes and counters agree with the records).
func (r *rig) checkStore() {
	r.t.Helper()
	db, err := bolt.Open(r.dbPath, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		r.t.Fatalf("bbolt open after the kill: %v", err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			return e
		}
		return nil
	})
	_ = db.Close()
	if err != nil {
		r.t.Fatalf("bbolt check after the kill: %v", err)
	}
	s, err := outbox.Open(r.dbPath, outbox.Options{ReadOnly: true})
	if err != nil {
		r.t.Fatalf("outbox open after the kill: %v", err)
	}
	defer func() { _ = s.Close(context.Background()) }()
	if err := s.Check(); err != nil {
		r.t.Errorf("outbox check after the kill: %v", err)
	}
}

// tornCopies copies the database and damages the copy as a power cut on a
// disk without write barriers might: cut at a random offset, or a random
// 4 KiB page zeroed or scrambled. `smsagent queue stats` and `queue list`
// on the copy must answer or fail with an error message; a panic (a Go
// stack trace) fails the case.
func (r *rig) tornCopies(rng *rand.Rand, n int) {
	r.t.Helper()
	orig, err := os.ReadFile(r.dbPath)
	if err != nil {
		r.t.Fatal(err)
	}
	opened, refused := 0, 0
	for i := range n {
		dir := filepath.Join(r.dir, fmt.Sprintf("torn%d", i))
		if err := os.MkdirAll(dir, 0o750); err != nil {
			r.t.Fatal(err)
		}
		damaged := slices.Clone(orig)
		var how string
		switch i % 3 {
		case 0:
			off := rng.IntN(len(damaged))
			damaged, how = damaged[:off], fmt.Sprintf("cut at %d of %d", off, len(orig))
		case 1:
			pg := rng.IntN(len(damaged) / 4096)
			clear(damaged[pg*4096 : (pg+1)*4096])
			how = fmt.Sprintf("page %d zeroed", pg)
		case 2:
			pg := rng.IntN(len(damaged) / 4096)
			for j := pg * 4096; j < (pg+1)*4096; j++ {
				damaged[j] = byte(rng.IntN(256))
			}
			how = fmt.Sprintf("page %d scrambled", pg)
		}
		db := filepath.Join(dir, "outbox.db")
		if err := os.WriteFile(db, damaged, 0o600); err != nil {
			r.t.Fatal(err)
		}
		cfg, err := os.ReadFile(r.cfgFile)
		if err != nil {
			r.t.Fatal(err)
		}
		cfgFile := filepath.Join(dir, "smsagent.yaml")
		if err := os.WriteFile(cfgFile, []byte(strings.Replace(string(cfg), r.dbPath, db, 1)), 0o600); err != nil {
			r.t.Fatal(err)
		}
		for _, cmd := range [][]string{{"queue", "stats"}, {"queue", "list", "--limit", "1000"}} {
			out, code := r.cli(append(cmd, "--config", cfgFile)...)
			if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") || code > 2 {
				r.t.Errorf("%s, %s: exit %d, a crash instead of an error:\n%.2000s", how, strings.Join(cmd, " "), code, out)
			} else if code != 0 && strings.TrimSpace(out) == "" {
				r.t.Errorf("%s, %s: exit %d without a word", how, strings.Join(cmd, " "), code)
			}
			if code == 0 {
				opened++
			} else {
				refused++
				r.t.Logf("%s, %s: %s", how, strings.Join(cmd, " "), firstLine(out))
			}
		}
	}
	r.fault("%d torn db copies: %d opened, %d refused", n, opened, refused)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
