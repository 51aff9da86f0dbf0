//go:build !windows

package soak_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFiles_hostile drops every kind of file a careless or hostile writer
// can leave in outgoing/: the bad ones go to failed/ with a reason, the
// special ones are left alone, nothing outside the spool is read, and the
// good ones (odd names, the same content twice, a file written slowly, a
// crowd of tiny files) are each sent once.
func TestFiles_hostile(t *testing.T) {
	r := newRig(t, "hostile files", simOptions())
	out := filepath.Join(r.spool, "outgoing")
	bad := map[string][]byte{
		"truncated.json":  []byte(`{"id":"tr","to":"+358401234567","te`),
		"bad-utf8.json":   []byte("{\"id\":\"u8\",\"to\":\"+358401234567\",\"text\":\"\xff\xfe\xfd\"}"),
		"garbage.json":    randomBytes(4096),
		"empty.json":      {},
		"garbage.ndjson":  randomBytes(1000),
		"empty-obj.json":  []byte(`{}`),
		"no-number.json":  []byte(`{"id":"nn","to":"../../etc/passwd","text":"x"}`),
		"huge-text.json":  []byte(`{"id":"ht","to":"+358401234567","text":"` + strings.Repeat("x", 100_000) + `"}`),
		"sms-binary.sms":  append([]byte("To: 358401234567\n\n"), randomBytes(300)...),
		"nested-arr.json": []byte(strings.Repeat("[", 100_000)),
	}
	for name, b := range bad {
		r.drop(name, b)
	}
	// A sparse 1 GiB file: rejected by its size, never read.
	sparse := filepath.Join(r.dir, "sparse.json")
	if f, err := os.Create(sparse); err != nil {
		t.Fatal(err)
	} else {
		if err := f.Truncate(1 << 30); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := os.Rename(sparse, filepath.Join(out, "sparse-1GiB.json")); err != nil {
		t.Fatal(err)
	}
	bad["sparse-1GiB.json"] = nil
	// Special files: left alone, never followed or opened for reading.
	if err := os.Symlink("/etc/shadow", filepath.Join(out, "shadow.json")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(out, "fifo.json"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(out, "x.json"), 0o750); err != nil {
		t.Fatal(err)
	}
	// Good files.
	var ids []string
	for i, name := range []string{"with space.json", "ÄäÖö ünïcødé 漢字.json", "-dash.json", "a;b&c$(d).json"} {
		id := fmt.Sprintf("odd%d", i)
		r.drop(name, []byte(fmt.Sprintf(`{"id":%q,"to":"+35840100%04d","text":%q}`, id, i, text(id))))
		ids = append(ids, id)
	}
	same := []byte(`{"to":"+358409999999","text":"the same file twice"}`)
	r.drop("twice-a.json", same)
	r.drop("twice-b.json", same)
	tiny := scale(300, 100_000)
	for i := range tiny {
		id := "tiny" + strconv.Itoa(i)
		if err := os.WriteFile(filepath.Join(out, id+".json"),
			[]byte(fmt.Sprintf(`{"id":%q,"to":"+3585%07d","text":%q}`, id, i, text(id))), 0o640); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	r.row.messages = len(ids) + 2
	r.fault("%d malformed, 1 GiB sparse, symlink→/etc/shadow, FIFO, dir x.json, odd names, twice-dropped, %d tiny files", len(bad)-1, tiny)

	p := r.start()
	rchar0 := p.ioRead()
	// A file still being written, straight into outgoing/ against the
	// contract: taken only once it is complete and valid, or failed, never
	// half-sent.
	slow := filepath.Join(out, "slow.json")
	if err := os.WriteFile(slow, []byte(`{"id":"slow","to":"+358401111111",`), 0o640); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(slow, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The writer finishes only after the agent has gone through the
	// folder with the file half-written: every other file dropped so far
	// is taken (the special ones are not regular files).
	r.eventually(time.Duration(scale(60, 600))*time.Second, func() string {
		ents, err := os.ReadDir(out)
		if err != nil {
			return err.Error()
		}
		left := 0
		for _, e := range ents {
			if e.Type().IsRegular() && e.Name() != "slow.json" {
				left++
			}
		}
		if left > 0 {
			return fmt.Sprintf("%d files still in outgoing/ while slow.json is half-written", left)
		}
		return ""
	})
	fmt.Fprintf(f, `"text":%q}`, text("slow"))
	f.Close()

	r.waitReports(len(ids)+2, time.Duration(scale(120, 900))*time.Second)
	if !p.running() {
		t.Fatal("the agent exited")
	}
	// failed/ holds each bad file with its reason.
	r.eventually(30*time.Second, func() string {
		for name := range bad {
			for _, f := range []string{name, name + ".error.json"} {
				if _, err := os.Stat(filepath.Join(r.spool, "failed", f)); err != nil {
					return fmt.Sprintf("failed/%s: %v", f, err)
				}
			}
		}
		return ""
	})
	for name := range bad {
		var reason map[string]any
		readJSON(t, filepath.Join(r.spool, "failed", name+".error.json"), &reason)
		t.Logf("failed/%s: %v", name, reason)
	}
	// Taken means sent or refused: wait for either, not only for the file
	// to leave outgoing/ (it is stored and submitted after that).
	r.eventually(30*time.Second, func() string {
		if _, err := os.Stat(filepath.Join(r.spool, "failed", "slow.json")); err == nil {
			return ""
		}
		for _, s := range r.sim.Submits() {
			if s.Text == text("slow") {
				return ""
			}
		}
		return "slow.json to be sent or refused"
	})
	if read := p.ioRead() - rchar0; read > 256<<20 {
		t.Errorf("the agent read %d MiB: the 1 GiB file was read, not rejected by its size", read>>20)
	}
	for _, s := range r.sim.Submits() {
		if strings.Contains(s.Text, "root:") {
			t.Errorf("the SMSC got /etc/shadow: %q", s.Text)
		}
	}
	// The special files are left in outgoing/ or quarantined in failed/,
	// never read (no shadow text above) and never blocking (the FIFO).
	// slow.json is not among them: once sent it is in neither folder, and
	// the checks below cover it.
	for _, name := range []string{"shadow.json", "fifo.json", "x.json"} {
		where := ""
		for _, d := range []string{"outgoing", "failed"} {
			if _, err := os.Lstat(filepath.Join(r.spool, d, name)); err == nil {
				where = d
			}
		}
		t.Logf("%s: in %q", name, where)
		if where == "" {
			t.Errorf("%s: in neither outgoing/ nor failed/", name)
		}
	}
	slowSeen := false
	twice := 0
	for _, s := range r.sim.Submits() {
		slowSeen = slowSeen || s.Text == text("slow")
		if s.Text == "the same file twice" {
			twice++
		}
	}
	if twice != 2 {
		t.Errorf("the same content under two names was sent %d times, want 2 (two submissions)", twice)
	}
	if slowSeen {
		ids = append(ids, "slow")
		r.waitReports(len(ids)+2, 30*time.Second)
	} else if _, err := os.Stat(filepath.Join(r.spool, "failed", "slow.json")); err != nil {
		t.Errorf("the slowly written file was neither sent nor failed: %v", err)
	}
	p.stop(10 * time.Second)
	r.ledger(ids)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	return b
}
