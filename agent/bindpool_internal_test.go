package agent

import (
	"testing"
	"time"

	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/config"
)

// smsc.reconnect_min and smsc.reconnect_max become the pool's reconnect
// backoff: every wait lies between them.
func TestPoolOptions_reconnect(t *testing.T) {
	cfg := config.Default()
	cfg.SMSC.ReconnectMin, cfg.SMSC.ReconnectMax = 200*time.Millisecond, 3*time.Second
	o := poolOptions(&cfg.SMSC, nil, nil, time.Now)
	b, ok := o.Backoff.(*bindpool.FullJitter)
	if !ok {
		t.Fatalf("Backoff is %T, want *bindpool.FullJitter", o.Backoff)
	}
	if b.Min != 200*time.Millisecond || b.Max != 3*time.Second {
		t.Errorf("backoff from %s to %s, want 200ms to 3s", b.Min, b.Max)
	}
	for attempt := 1; attempt < 20; attempt++ {
		if d := b.Calculate(attempt); d < b.Min || d > b.Max {
			t.Fatalf("attempt %d waits %s, outside [200ms, 3s]", attempt, d)
		}
	}
}
