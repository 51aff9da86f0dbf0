package agent_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
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
	eventually(t, 10*time.Second, "the stuck worker in status", func() bool {
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
	eventually(t, 10*time.Second, "the agent ready again", func() bool { return r.a.Ready() == nil })
}
