package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// TestSim starts `smsagent sim` in process, binds to it as an ESME, checks
// the accounts and a refusal rule, and stops it with the context as Ctrl-C
// would.
func TestSim(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut testutil.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sim", "--listen", "127.0.0.1:0", "--account", "tester:secret",
			"--rule", "+999=ESME_RINVDSTADR", "--receipt-delay", "0s", "--stats", "0"}, &out, &errOut)
	}()
	addrRE := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	var addr string
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("sim exited with %d before listening: %s", code, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("sim did not print its address: %q", out.String())
		}
	}

	bind := func(password string) (*smpp.Session, error) {
		conn, err := smpp.Dial(ctx, "tcp", addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := smpp.NewSession(conn, smpp.SessionOptions{})
		bctx, bcancel := context.WithTimeout(ctx, 5*time.Second)
		defer bcancel()
		return s, s.Bind(bctx, smpp.BindRequest{Mode: smpp.Transceiver, SystemID: "tester", Password: password})
	}
	if _, err := bind("wrong"); !errors.Is(err, pdu.StatusInvPaswd) {
		t.Fatalf("bind with a wrong password: %v, want ESME_RINVPASWD", err)
	}
	s, err := bind("secret")
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	defer scancel()
	submit := func(dest string) error {
		_, err := s.Submit(sctx, &pdu.SubmitSM{Dest: pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: dest}, ShortMessage: []byte("hi")})
		return err
	}
	if err := submit("358401234567"); err != nil {
		t.Errorf("submit to a delivered destination: %v", err)
	}
	if err := submit("999123"); !errors.Is(err, pdu.StatusInvDstAdr) {
		t.Errorf("submit to +999: %v, want ESME_RINVDSTADR", err)
	}
	if err := s.Close(sctx); err != nil {
		t.Logf("close: %v", err)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit status %d, stderr %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim did not stop after the context ended")
	}
	if !strings.Contains(out.String(), "submits 2  accepted 1  refused 1") {
		t.Errorf("final stats line missing or wrong:\n%s", out.String())
	}
}

func TestSim_BadRule(t *testing.T) {
	for _, rule := range []string{"nothing", "+1=ESME_NOPE", "=delivered", "+1=ESME_ROK", "+1=delivered,sent",
		"+1=ESME_RINVDSTADR,enroute", "+1=no-receipt,acceptd"} {
		r := cli(t, "sim", "--listen", "127.0.0.1:0", "--rule", rule)
		r.want(t, exitUsage)
		if !strings.Contains(r.stderr, "--rule") {
			t.Errorf("rule %q: stderr %q does not name the flag", rule, r.stderr)
		}
	}
}

func TestSim_RuleIntermediate(t *testing.T) {
	for rule, want := range map[string]smsc.Rule{
		"+358=delivered,enroute":   {Prefix: "358", Outcome: smsc.Delivered, Intermediate: "ENROUTE"},
		"46=undeliverable,ACCEPTD": {Prefix: "46", Outcome: smsc.Undeliverable, Intermediate: "ACCEPTD"},
		"+1=expired":               {Prefix: "1", Outcome: smsc.Expired},
		"+999=ESME_RINVDSTADR":     {Prefix: "999", Outcome: smsc.Refused, Status: pdu.StatusInvDstAdr},
		"+44=rejected,enroute":     {Prefix: "44", Outcome: smsc.Rejected, Intermediate: "ENROUTE"},
		"+45=delivered,accepted":   {Prefix: "45", Outcome: smsc.Delivered, Intermediate: "ACCEPTD"},
		"+47=undeliv,enroute":      {Prefix: "47", Outcome: smsc.Undeliverable, Intermediate: "ENROUTE"},
	} {
		got, err := parseSimRule(rule)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", rule, got, err, want)
		}
	}
}

// TestSim_severalListeners: one process serves one SMSC per --listen, each
// with its own message ids and counters, named in the output.
func TestSim_severalListeners(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut testutil.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sim", "--listen", "mitto=127.0.0.1:0", "--listen", "backup=127.0.0.1:0",
			"--receipt-delay", "0s", "--stats", "0"}, &out, &errOut)
	}()
	addrRE := regexp.MustCompile(`SMSC simulator (\w+) listening on (127\.0\.0\.1:\d+)`)
	testutil.Eventually(t, 10*time.Second, "two addresses printed", func() bool {
		return len(addrRE.FindAllStringSubmatch(out.String(), -1)) == 2
	})
	ids := map[string]string{}
	for _, m := range addrRE.FindAllStringSubmatch(out.String(), -1) {
		conn, err := smpp.Dial(ctx, "tcp", m[2], nil)
		if err != nil {
			t.Fatal(err)
		}
		s := smpp.NewSession(conn, smpp.SessionOptions{})
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		if err := s.Bind(sctx, smpp.BindRequest{Mode: smpp.Transceiver, SystemID: "any", Password: "any"}); err != nil {
			t.Fatalf("bind to %s: %v", m[1], err)
		}
		resp, err := s.Submit(sctx, &pdu.SubmitSM{Dest: pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN,
			Addr: "41791234567"}, ShortMessage: []byte("hi")})
		if err != nil {
			t.Fatalf("submit to %s: %v", m[1], err)
		}
		ids[m[1]] = resp.MessageID
		_ = s.Close(sctx)
		scancel()
	}
	if ids["mitto"] == "" || ids["mitto"] != ids["backup"] {
		t.Errorf("message ids %v: want the same first id from each SMSC (their own counters)", ids)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit status %d, stderr %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim did not stop after the context ended")
	}
	for _, name := range []string{"mitto", "backup"} {
		if !strings.Contains(out.String(), name+" bound 0  submits 1  accepted 1") {
			t.Errorf("no final stats line for %s:\n%s", name, out.String())
		}
	}
}
