package agent_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/msgfile"
	"github.com/smsagent/smsagent/spool"
)

// TestAgent_StuckIntakeShows: a worker that does not come back from a file
// shows in status (intake, health) and makes the agent not ready, without
// naming the file; once it returns, all is well again.
func TestAgent_StuckIntakeShows(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	p := newFakePool(10, accept)
	p.setUp(true)
	entered, release := make(chan struct{}), make(chan struct{})
	r := start(t, cfg, agent.Options{NewPool: p.newPool, TuneIntake: func(o *spool.Options) {
		o.StuckAfter = 50 * time.Millisecond
		o.Parse = func(rd io.Reader, name string) ([]smsagent.Message, error) {
			if name == "hang.json" {
				close(entered)
				<-release
			}
			return msgfile.Parse(rd, name, msgfile.Options{})
		}
	}})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	drop(t, cfg, "hang.json", `{"to":"1001","text":"x","report":false}`)
	<-entered
	testutil.Eventually(t, 10*time.Second, "the stuck worker in status", func() bool {
		st, err := r.a.Status(context.Background())
		return err == nil && st.Intake.StuckWorkers == 1
	})
	st, _ := r.a.Status(context.Background())
	health := strings.Join(st.Health, "\n")
	if !strings.Contains(health, "intake stuck: 1 of the workers") || strings.Contains(health, "hang.json") {
		t.Errorf("health %q: want the stuck worker, without the file name", health)
	}
	if err := r.a.Ready(); err == nil || !strings.HasPrefix(err.Error(), "intake stuck") {
		t.Errorf("Ready = %v, want intake stuck", err)
	}
	close(release)
	waitReports(t, cfg, 1, 10*time.Second)
	testutil.Eventually(t, 10*time.Second, "the agent ready again", func() bool { return r.a.Ready() == nil })
}

// TestAgent_MaxMessagesRefused: a file of more messages than
// spool.max_messages goes to failed/ whole, with a reason naming the key,
// and nothing of it is queued; a file at the limit is taken.
func TestAgent_MaxMessagesRefused(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1", "spool.max_messages: 5")
	p := newFakePool(10, accept)
	r := start(t, cfg, agent.Options{NewPool: p.newPool})
	var five, six strings.Builder
	for i := range 6 {
		line := fmt.Sprintf(`{"to":"100%d","text":"x","report":false}`+"\n", i)
		six.WriteString(line)
		if i < 5 {
			five.WriteString(line)
		}
	}
	drop(t, cfg, "six.ndjson", six.String())
	drop(t, cfg, "five.ndjson", five.String())
	failed := filepath.Join(cfg.Spool.Dir, "failed", "six.ndjson.error.json")
	testutil.Eventually(t, 10*time.Second, "six.ndjson refused and five.ndjson queued", func() bool {
		st, err := r.a.Outbox().Stats(context.Background())
		_, ferr := os.Stat(failed)
		return err == nil && st.ByState[smsagent.StateQueued] == 5 && ferr == nil
	})
	data, _ := os.ReadFile(failed)
	if !strings.Contains(string(data), "more than 5 messages in one file (the agent's spool.max_messages)") {
		t.Errorf("report: %s", data)
	}
}
