package agent

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// dupCounter is an Observer that counts dropped duplicates by reason.
type dupCounter struct {
	NopObserver
	mu     sync.Mutex
	counts map[string]int
}

func (o *dupCounter) MODuplicate(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.counts[reason]++
}

func (o *dupCounter) count(reason string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.counts[reason]
}

// TestApplier_answerLost: an incoming SMS whose session ended before the
// applier stored it cannot be answered, so the SMSC owes its redelivery.
// The applier records that with the part, and the copy the SMSC sends on
// its next session is dropped however late it comes: here ten minutes
// later, past mo.duplicate_window, where the window alone would have
// stored it a second time.
func TestApplier_answerLost(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	ctx := context.Background()
	store, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{Clock: clock, DecodeMO: decodeMO})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close(ctx) }()
	obs := &dupCounter{counts: map[string]int{}}
	log := slog.New(slog.DiscardHandler)
	in := newMailbox[inbound]()
	recv := &receiver{acct: &account{name: "default"}, clock: clock, log: log, out: in, dups: config.DuplicatesWindow}
	ap := &applier{store: store, obs: obs, log: log, health: &health{}, sent: newSentTimes(), rates: &rates{}, in: in}

	sim := smsc.New(smsc.Options{RetryDelay: time.Millisecond, Logger: log})
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sim.Close(ctx) }()
	bind := func() *smpp.Session {
		t.Helper()
		conn, err := smpp.Dial(ctx, "tcp", sim.Addr(), nil)
		if err != nil {
			t.Fatal(err)
		}
		s := smpp.NewSession(conn, smpp.SessionOptions{Handler: recv.handle, Logger: log})
		bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := s.Bind(bctx, smpp.BindRequest{Mode: smpp.Transceiver, SystemID: "agent", Password: "x"}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	next := func() []inbound {
		t.Helper()
		select {
		case <-in.ready:
			return in.take()
		case <-time.After(10 * time.Second):
			t.Fatal("no deliver_sm within 10 s")
			return nil
		}
	}

	first := bind()
	mo, err := sim.InjectMO("agent", "358401234567", "12345", "OK", smsc.MOOptions{})
	if err != nil {
		t.Fatal(err)
	}
	batch := next()
	sim.Drop("", true) // the link breaks before the agent stores and answers
	<-first.Done()
	ap.apply(ctx, batch)

	mu.Lock()
	now = now.Add(10 * time.Minute) // the link stays down past the window
	mu.Unlock()
	second := bind()
	defer func() { _ = second.Close(ctx) }()
	ap.apply(ctx, next())
	if acked, err := mo.Wait(ctxT(t, 10*time.Second)); err != nil || !acked {
		t.Fatalf("the redelivery was not acknowledged: %v, %v", acked, err)
	}
	if n := obs.count(smsagent.MORedeliveredLost.String()); n != 1 {
		t.Errorf("%d duplicates counted as answer_lost, want 1", n)
	}
	evs, err := store.Events(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].MO == nil || evs[0].MO.Text != "OK" {
		t.Fatalf("events %+v, want the one incoming SMS", evs)
	}
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
