package spool_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/testutil"
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
