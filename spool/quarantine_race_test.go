package spool_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/spool"
)

// TestIntake_ReportNameNotShared: the report of a bad file X is named
// X.error.json, which is also the name a bad file called "X.error.json"
// is quarantined under. Taken at the same time, by two workers, neither may
// replace the other: every quarantined file keeps its own content, next to
// the report that names it. (Choosing names reserved only the file's name,
// not its report's, so one worker's report replaced the other's file.)
func TestIntake_ReportNameNotShared(t *testing.T) {
	r := newRig(t, nil)
	const pairs = 200
	for i := range pairs {
		for _, name := range []string{fmt.Sprintf("p%d.txt", i), fmt.Sprintf("p%d.txt.error.json", i)} {
			r.dropOld(name, "!bad "+name+"\n", time.Hour)
		}
	}
	r.start()
	testutil.Eventually(t, 30*time.Second, "every file rejected", func() bool { return r.intake.Stats().Rejected == 2*pairs })
	intact := 0
	for _, name := range r.names(r.layout.Failed) {
		data, err := os.ReadFile(filepath.Join(r.layout.Failed, name))
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			File string `json:"file"`
		}
		if json.Unmarshal(data, &rep) != nil {
			continue // a quarantined file, checked beside its report
		}
		quarantined := strings.TrimSuffix(name, ".error.json")
		got, err := os.ReadFile(filepath.Join(r.layout.Failed, quarantined))
		if err != nil || string(got) != "!bad "+rep.File+"\n" {
			t.Errorf("failed/%s names %s, but failed/%s holds %.40q (%v)", name, rep.File, quarantined, got, err)
			continue
		}
		intact++
	}
	if intact != 2*pairs {
		t.Errorf("%d files quarantined intact beside their reports, want %d", intact, 2*pairs)
	}
}

// TestIntake_CaseVariantsKeptApart: "CaseN.txt" and "caseN.txt", both bad,
// reach quarantine together (each parse waits for its twin). Where the file
// system ignores case (NTFS, so Windows; APFS; vfat and CIFS mounts) the two
// are one name in failed/: reserving the name by its exact bytes let both
// workers find it free and the second rename replace the first file. On a
// case-sensitive file system the test passes either way; under Wine it
// shows the loss.
func TestIntake_CaseVariantsKeptApart(t *testing.T) {
	const pairs = 20
	var mu sync.Mutex
	twins := make(map[string]chan struct{})
	entered := make(chan string, 2*pairs)
	// Windows settles every file: keep that short.
	r := newRig(t, func(o *spool.Options) { o.Settle = 50 * time.Millisecond })
	lines := r.opts.Parse
	r.opts.Parse = func(rd io.Reader, name string) ([]smsagent.Message, error) {
		entered <- name
		key := strings.ToLower(name)
		mu.Lock()
		ch, second := twins[key]
		if !second {
			ch = make(chan struct{})
			twins[key] = ch
		}
		mu.Unlock()
		if second {
			close(ch)
		} else {
			select {
			case <-ch:
			case <-time.After(10 * time.Second): // the test fails below
			}
		}
		return lines(rd, name)
	}
	r.start()
	for i := range pairs {
		upper, lower := fmt.Sprintf("Case%d.txt", i), fmt.Sprintf("case%d.txt", i)
		r.dropRenamed(upper, "!bad "+upper+"\n")
		// Only once the first is claimed (where case is ignored, outgoing/
		// cannot hold both names at once).
		awaitName(t, entered, upper)
		r.dropRenamed(lower, "!bad "+lower+"\n")
		awaitName(t, entered, lower)
	}
	testutil.Eventually(t, 30*time.Second, "every file rejected", func() bool { return r.intake.Stats().Rejected == 2*pairs })
	found := make(map[string]bool)
	for _, name := range r.names(r.layout.Failed) {
		data, err := os.ReadFile(filepath.Join(r.layout.Failed, name))
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			File string `json:"file"`
		}
		if json.Unmarshal(data, &rep) != nil {
			continue
		}
		quarantined := strings.TrimSuffix(name, ".error.json")
		if got, err := os.ReadFile(filepath.Join(r.layout.Failed, quarantined)); err != nil || string(got) != "!bad "+rep.File+"\n" {
			t.Errorf("failed/%s names %s, but failed/%s holds %q (%v)", name, rep.File, quarantined, got, err)
			continue
		}
		found[rep.File] = true
	}
	if len(found) != 2*pairs {
		t.Errorf("%d files quarantined intact beside their reports, want %d", len(found), 2*pairs)
	}
}

// awaitName waits until name arrives on names.
func awaitName(t *testing.T, names <-chan string, name string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-names:
			if got == name {
				return
			}
		case <-deadline:
			t.Fatalf("%s was not parsed within 10 s", name)
		}
	}
}
