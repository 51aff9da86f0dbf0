package agent_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// TestAgent_Submit: a request's messages get intake's checks (here a
// validity the SMPP relative time cannot carry, which Validate allows),
// are refused whole with each problem's position, and once accepted are
// sent and reported without a file name; after the stop, ErrStopping.
func TestAgent_Submit(t *testing.T) {
	sim := testutil.Simulator(t, smsc.Options{})
	cfg := testConfig(t, sim.Addr())
	r := start(t, cfg, agent.Options{})
	ctx := context.Background()

	body := `[{"to":"+358401111111","text":"fine"},{"to":"+358402222222","text":"too long valid","validity":"876600h"}]`
	_, err := r.a.Submit(ctx, strings.NewReader(body), "request.json")
	var re *agent.RequestError
	if !errors.As(err, &re) || len(re.Problems()) != 1 || re.Problems()[0].Index != 2 ||
		!strings.Contains(re.Error(), "message 2 of 2: validity") || !strings.HasSuffix(re.Error(), "no message of the request was queued") {
		t.Fatalf("Submit: %v, want a RequestError for message 2's validity", err)
	}
	if _, err := r.a.Submit(ctx, strings.NewReader("\n"), "request.ndjson"); err == nil {
		t.Fatal("an empty request was accepted")
	}
	res, err := r.a.Submit(ctx, strings.NewReader(`{"id":"s1","to":"+358401111111","text":"fine"}`+"\n"), "request.ndjson")
	if err != nil || len(res.IDs) != 1 || res.IDs[0] == 0 {
		t.Fatalf("Submit: %+v, %v", res, err)
	}
	reps := waitReports(t, cfg, 1, 10*time.Second)
	rep, ok := reps["s1"]
	if !ok || rep.Status != "delivered" || rep.File != "" || rep.MessageID != res.IDs[0] {
		t.Errorf("reports %+v", reps)
	}
	if n := len(sim.Submits()); n != 1 {
		t.Errorf("%d submits, want 1 (the refused request sent nothing)", n)
	}
	if err := r.shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.a.Submit(ctx, strings.NewReader(`{"to":"+358401111111","text":"late"}`), "request.json"); !errors.Is(err, agent.ErrStopping) {
		t.Errorf("Submit after the stop: %v, want ErrStopping", err)
	}
}
