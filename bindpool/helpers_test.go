package bindpool_test

import (
	"context"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// waitLimit bounds every wait of a test: generous, because the machine is
// shared, and never reached by a passing test.
const waitLimit = 15 * time.Second

// recorder is a BackoffStrategy that answers a fixed wait at once and
// keeps the attempts it was asked about.
type recorder struct {
	delay time.Duration
	mu    sync.Mutex
	calls []int
}

func (r *recorder) Calculate(attempt int) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, attempt)
	return r.delay
}

func (r *recorder) Calls() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.calls...)
}

// options are a test's pool options against srv: fast backoff that fails
// the test if asked about a bind busy slot, unless the test says otherwise.
func options(srv *smsc.Server) bindpool.Options {
	return bindpool.Options{
		Address:     srv.Addr(),
		Bind:        smpp.BindRequest{SystemID: "agent", Password: "secret"},
		Sessions:    2,
		Window:      10,
		BindTimeout: 5 * time.Second,
		Backoff:     &recorder{delay: time.Millisecond},
		BusyBackoff: &recorder{delay: time.Millisecond},
	}
}

// startPool makes and starts a pool, closed at the end of the test.
func startPool(t testing.TB, o bindpool.Options) *bindpool.Pool {
	t.Helper()
	p := newPool(t, o)
	p.Start(context.Background())
	return p
}

func newPool(t testing.TB, o bindpool.Options) *bindpool.Pool {
	t.Helper()
	p, err := bindpool.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("pool close: %v", err)
		}
	})
	return p
}

func waitReady(t testing.TB, p *bindpool.Pool) {
	t.Helper()
	select {
	case <-p.Ready():
	case <-time.After(waitLimit):
		t.Fatalf("pool not ready: %+v", p.Status())
	}
}

// allBound reports whether every slot is bound.
func allBound(p *bindpool.Pool) bool {
	for _, s := range p.Status() {
		if s.State != "bound" {
			return false
		}
	}
	return true
}

func sm(dest string) *pdu.SubmitSM {
	return &pdu.SubmitSM{
		Source:       pdu.Address{TON: pdu.TONAlphanumeric, Addr: "ACME"},
		Dest:         pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: dest},
		ShortMessage: []byte("hello"),
	}
}

// results collects the final results of submissions.
type results struct {
	mu      sync.Mutex
	final   []smpp.Result
	pending int
	ch      chan smpp.Result
}

func newResults() *results { return &results{ch: make(chan smpp.Result, 10000)} }

func (r *results) done(res smpp.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if res.Pending {
		r.pending++
		return
	}
	r.final = append(r.final, res)
	r.ch <- res
}

// next waits for the next final result.
func (r *results) next(t testing.TB) smpp.Result {
	t.Helper()
	select {
	case res := <-r.ch:
		return res
	case <-time.After(waitLimit):
		t.Fatal("no result")
		return smpp.Result{}
	}
}

// submit sends one message and waits for its final result.
func submit(t testing.TB, p *bindpool.Pool, dest string) smpp.Result {
	t.Helper()
	r := newResults()
	if err := p.Submit(context.Background(), sm(dest), r.done); err != nil {
		t.Fatalf("submit: %v", err)
	}
	return r.next(t)
}

// closedPort is a loopback address nobody listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// logger is a slog logger writing every level into b, for a test to
// search.
func logger(b *testutil.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// checkNoLeak fails if goroutines started during the test outlive it,
// polling with a deadline for the count to come back. Register it first,
// so its cleanup runs after the pool's and the server's.
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(waitLimit)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("goroutines: %d before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
			}
			<-tick.C
		}
	})
}
