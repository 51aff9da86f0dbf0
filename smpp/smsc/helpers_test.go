package smsc_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// startServer runs a simulator on a loopback port for the test.
func startServer(t testing.TB, o smsc.Options) *smsc.Server {
	t.Helper()
	srv := smsc.New(o)
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("server close: %v", err)
		}
	})
	return srv
}

// dial opens an ESME session to the simulator, unbound.
func dial(t testing.TB, srv *smsc.Server, o smpp.SessionOptions) *smpp.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := smpp.Dial(ctx, "tcp", srv.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := smpp.NewSession(conn, o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// bind dials and binds.
func bind(t testing.TB, srv *smsc.Server, mode smpp.BindMode, o smpp.SessionOptions) *smpp.Session {
	t.Helper()
	s := dial(t, srv, o)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Bind(ctx, smpp.BindRequest{Mode: mode, SystemID: "agent", Password: "secret"}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	return s
}

func ctx10(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sm(dest, text string) *pdu.SubmitSM {
	return &pdu.SubmitSM{
		Source:             pdu.Address{TON: pdu.TONAlphanumeric, Addr: "ACME"},
		Dest:               pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: dest},
		RegisteredDelivery: pdu.RegDeliveryFinal,
		ShortMessage:       []byte(text),
	}
}

// checkNoLeak fails if goroutines started during the test outlive it,
// polling with a deadline for the count to come back.
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines after the test, %d before:\n%s", runtime.NumGoroutine(), before,
					buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond) // polling with a deadline
		}
	})
}
