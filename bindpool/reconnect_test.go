package bindpool_test

import (
	"context"
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// The simulator drops every connection (FIN, then RST): each slot binds
// again by itself, counts the reconnect, and submissions go on.
func TestPool_Start_reconnectAfterDrop(t *testing.T) {
	checkNoLeak(t)
	srv := testutil.Simulator(t, smsc.Options{})
	o := options(srv)
	backoff := o.Backoff.(*recorder)
	p := startPool(t, o)
	testutil.Eventually(t, waitLimit, "both slots bound", func() bool { return allBound(p) })

	for round, rst := range []bool{false, true} {
		srv.Drop("", rst)
		want := uint64(round + 1)
		testutil.Eventually(t, waitLimit, "both slots bound again", func() bool {
			for _, s := range p.Status() {
				if s.State != "bound" || s.Reconnects != want {
					return false
				}
			}
			return true
		})
		if res := submit(t, p, "4915100000001"); res.Err != nil || res.Header.Status != pdu.StatusOK {
			t.Fatalf("round %d: submit after the reconnect: %+v", round, res)
		}
	}
	for _, s := range p.Status() {
		if s.LastError == "" {
			t.Errorf("slot %d: no last error after two lost sessions", s.Slot)
		}
	}
	// Each loss of a short-lived session climbs the backoff.
	if calls := backoff.Calls(); len(calls) != 4 || slices.Max(calls) != 2 {
		t.Errorf("backoff asked %v, want attempts 1 and 2 for each of two slots", calls)
	}
	if st := p.Stats(); st.Reconnects != 4 {
		t.Errorf("Stats.Reconnects %d, want 4", st.Reconnects)
	}
}

// Ready is closed while a transmitter is bound; once all are lost, Ready
// returns a new channel, closed at the next bind, and Submit fails at once
// meanwhile.
func TestPool_Ready(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	o := options(srv)
	o.Sessions = 1
	gate := make(chan time.Duration)
	o.Backoff = gateBackoff(gate)
	p := startPool(t, o)
	waitReady(t, p)
	before := p.Ready()

	srv.Drop("", false)
	testutil.Eventually(t, waitLimit, "Ready to open again", func() bool {
		select {
		case <-p.Ready():
			return false
		default:
			return true
		}
	})
	select {
	case <-before:
	default:
		t.Fatal("the channel Ready returned while bound was reopened")
	}
	start := time.Now()
	if err := p.Submit(context.Background(), sm("4915100000001"), func(smpp.Result) { t.Error("done called") }); !errors.Is(err, bindpool.ErrNotBound) {
		t.Fatalf("Submit with no session bound: %v, want ErrNotBound", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("ErrNotBound took %v, want it at once", el)
	}
	if got := p.Capacity(); got != 0 {
		t.Errorf("Capacity %d with no session bound", got)
	}
	// The slot is waiting for the backoff strategy's answer, and says so.
	testutil.Eventually(t, waitLimit, "the slot to report backoff with the loss", func() bool {
		s := p.Status()[0]
		return s.State == "backoff" && s.LastError != ""
	})
	after := p.Ready()
	gate <- 0 // let the slot reconnect
	select {
	case <-after:
	case <-time.After(waitLimit):
		t.Fatal("Ready's new channel not closed after the slot bound again")
	}
}

// gateBackoff hands out the waits a test sends, so the test decides when
// a slot may reconnect.
type gateBackoff chan time.Duration

func (g gateBackoff) Calculate(int) time.Duration { return <-g }

// The SMSC refuses binds for a while (ESME_RSYSERR): the slot backs off
// on the ordinary strategy with a growing attempt count, then binds.
func TestPool_Start_bindRefusedThenAccepted(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	srv.SetFaults(smsc.Faults{RefuseBinds: pdu.StatusSysErr, RefuseBindsCount: 3})
	o := options(srv)
	o.Sessions = 1
	backoff, busy := o.Backoff.(*recorder), o.BusyBackoff.(*recorder)
	p := startPool(t, o)
	waitReady(t, p)
	if calls := backoff.Calls(); !slices.Equal(calls, []int{1, 2, 3}) {
		t.Errorf("backoff asked about attempts %v, want [1 2 3]", calls)
	}
	if calls := busy.Calls(); len(calls) != 0 {
		t.Errorf("busy backoff asked %v for ESME_RSYSERR", calls)
	}
	st := srv.Stats()
	if st.BindsRefused != 3 || st.Binds != 1 {
		t.Errorf("simulator: %d binds refused, %d accepted; want 3 and 1", st.BindsRefused, st.Binds)
	}
	if s := p.Status()[0]; s.State != "bound" || !strings.Contains(s.LastError, "ESME_RSYSERR") || s.Reconnects != 0 {
		t.Errorf("slot %+v: want bound, the refusal as last error, no reconnect counted", s)
	}
}

// ESME_RALYBND means the slot is taken, usually by our own stale session:
// the slot waits on the longer busy strategy, not the ordinary one.
func TestPool_Start_alreadyBound(t *testing.T) {
	checkNoLeak(t)
	srv := testutil.Simulator(t, smsc.Options{MaxBinds: 1})
	o := options(srv)
	backoff := o.Backoff.(*recorder)
	busy := &recorder{delay: time.Hour}
	o.BusyBackoff = busy
	p := startPool(t, o)
	testutil.Eventually(t, waitLimit, "one slot bound, one backing off", func() bool {
		st := p.Status()
		return (st[0].State == "bound") != (st[1].State == "bound") &&
			(st[0].State == "backoff" || st[1].State == "backoff") &&
			len(busy.Calls()) > 0 // the state is set just before the strategy is asked
	})
	for _, s := range p.Status() {
		if s.State == "backoff" && !strings.Contains(s.LastError, "ESME_RALYBND") {
			t.Errorf("slot %d backs off with last error %q, want ESME_RALYBND", s.Slot, s.LastError)
		}
	}
	if calls := busy.Calls(); !slices.Equal(calls, []int{1}) {
		t.Errorf("busy backoff asked %v, want [1]", calls)
	}
	if calls := backoff.Calls(); len(calls) != 0 {
		t.Errorf("ordinary backoff asked %v for ESME_RALYBND", calls)
	}
	// The busy slot does not count as a bound transmitter.
	if got := p.Capacity(); got != 10 {
		t.Errorf("Capacity %d, want one session's window of 10", got)
	}
}

// Bad credentials: each slot tries exactly once, none reconnects, and the
// pool says why.
func TestPool_Start_badCredentials(t *testing.T) {
	for _, tc := range []struct {
		name     string
		accounts map[string]string
		want     pdu.Status
	}{
		{"password", map[string]string{"agent": "other"}, pdu.StatusInvPaswd},
		{"system_id", map[string]string{"someone": "secret"}, pdu.StatusInvSysID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkNoLeak(t)
			srv := testutil.Simulator(t, smsc.Options{Accounts: tc.accounts})
			o := options(srv)
			o.Sessions = 3
			logs := &testutil.Buffer{}
			o.Logger = logger(logs)
			backoff := o.Backoff.(*recorder)
			p := startPool(t, o)
			testutil.Eventually(t, waitLimit, "every slot to give up", func() bool {
				for _, s := range p.Status() {
					if s.State != "auth-failed" {
						return false
					}
				}
				return true
			})
			// Every slot's goroutine has returned: these counts are final.
			if st := srv.Stats(); st.BindsRefused != 3 || st.Binds != 0 {
				t.Errorf("simulator saw %d refused and %d accepted binds, want exactly one refused per slot (3)",
					st.BindsRefused, st.Binds)
			}
			if calls := backoff.Calls(); len(calls) != 0 {
				t.Errorf("backoff asked %v: a slot meant to retry", calls)
			}
			err := p.AuthFailed()
			if !errors.Is(err, tc.want) {
				t.Fatalf("AuthFailed: %v, want %s", err, tc.want)
			}
			for _, s := range p.Status() {
				if !strings.Contains(s.LastError, tc.want.String()) {
					t.Errorf("slot %d: last error %q, want %s", s.Slot, s.LastError, tc.want)
				}
			}
			serr := p.Submit(context.Background(), sm("4915100000001"), func(smpp.Result) {})
			if !errors.Is(serr, bindpool.ErrNotBound) || !errors.Is(serr, tc.want) {
				t.Errorf("Submit: %v, want ErrNotBound with the refusal", serr)
			}
			if st := p.Stats(); !strings.Contains(st.AuthError, "credentials") {
				t.Errorf("Stats.AuthError %q", st.AuthError)
			}
			if n := logs.Count("level=ERROR"); n != 1 {
				t.Errorf("%d error lines, want the refusal logged once", n)
			}
		})
	}
}

// TestPool_credentialsRefusedThenAccepted: while the SMSC refuses the
// password, one slot tries again on AuthBackoff and the others wait, so
// the account sees one refused bind per retry rather than one per slot per
// reconnect; AuthFailed and Status say so. When the SMSC accepts again (a
// provider's outage ends), every slot binds by itself.
func TestPool_credentialsRefusedThenAccepted(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	srv.SetFaults(smsc.Faults{RefuseBinds: pdu.StatusInvPaswd, RefuseBindsCount: 1 << 30})
	retries := &recorder{delay: 20 * time.Millisecond}
	o := options(srv)
	o.Sessions, o.AuthBackoff, o.AuthPoll = 3, retries, time.Hour
	p := startPool(t, o)
	testutil.Eventually(t, waitLimit, "five retries of the credentials", func() bool { return len(retries.Calls()) >= 5 })
	var ae *bindpool.AuthError
	if err := p.AuthFailed(); !errors.As(err, &ae) || !errors.Is(err, pdu.StatusInvPaswd) || ae.Since.IsZero() {
		t.Fatalf("AuthFailed = %v, want an *AuthError wrapping ESME_RINVPASWD", err)
	}
	for _, s := range p.Status() {
		if s.State != "auth-failed" {
			t.Errorf("slot %d: %s, want auth-failed", s.Slot, s.State)
		}
	}
	// Three first attempts, then one per retry of the one probing slot.
	if refused, calls := srv.Stats().BindsRefused, len(retries.Calls()); refused > 3+calls {
		t.Errorf("%d binds refused after %d retries: want at most one per retry beyond the first three", refused, calls)
	}
	srv.SetFaults(smsc.Faults{})
	testutil.Eventually(t, waitLimit, "every slot bound once the SMSC accepts", func() bool { return allBound(p) })
	if err := p.AuthFailed(); err != nil {
		t.Errorf("AuthFailed = %v after a bind succeeded", err)
	}
	if st := p.Stats(); st.AuthError != "" || st.AuthRefusals < 5 {
		t.Errorf("stats %+v", st)
	}
}

// TestPool_authFailedReadWhileRefused: the error AuthFailed returns can be
// read (the status page formats it) while the probing slot is refused
// again and counts the refusal. It was the pool's own record, written under
// the pool's lock and read without it: the race detector caught the agent's
// status reading it (go test -race).
func TestPool_authFailedReadWhileRefused(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{})
	srv.SetFaults(smsc.Faults{RefuseBinds: pdu.StatusInvPaswd, RefuseBindsCount: 1 << 30})
	retries := &recorder{delay: time.Millisecond}
	o := options(srv)
	o.Sessions, o.AuthBackoff, o.AuthPoll = 1, retries, time.Hour
	p := startPool(t, o)
	var first *bindpool.AuthError
	var firstRefusals uint64
	testutil.Eventually(t, waitLimit, "twenty retries read meanwhile", func() bool {
		var ae *bindpool.AuthError
		if err := p.AuthFailed(); errors.As(err, &ae) {
			_ = err.Error()
			if first == nil {
				first, firstRefusals = ae, ae.Refusals
			}
		}
		return len(retries.Calls()) >= 20
	})
	if first == nil || first.Refusals != firstRefusals {
		t.Fatalf("the first AuthError read said %d refusals, now %+v: want it unchanged by those after it", firstRefusals, first)
	}
}

// TestPool_passwordChangedPickedUp: a password rotated where Options.Password
// reads it (the password file) is tried as soon as it is seen, without
// waiting out the retry and without a restart.
func TestPool_passwordChangedPickedUp(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{Accounts: map[string]string{"tester": "new-pw"}})
	var password atomic.Value
	password.Store("old-pw")
	o := options(srv)
	o.Bind.SystemID = "tester"
	o.Sessions, o.AuthRetry, o.AuthPoll = 2, time.Hour, 10*time.Millisecond
	o.Password = func() (string, error) { return password.Load().(string), nil }
	p := startPool(t, o)
	testutil.Eventually(t, waitLimit, "the old password refused", func() bool { return p.AuthFailed() != nil })
	password.Store("new-pw")
	testutil.Eventually(t, waitLimit, "both slots bound with the new password", func() bool { return allBound(p) })
	if err := p.AuthFailed(); err != nil {
		t.Errorf("AuthFailed = %v", err)
	}
}

// A closed port, or TLS spoken to a plain SMPP port: the link is down, the
// slots keep trying on the backoff, and Submit fails at once.
func TestPool_Start_unreachable(t *testing.T) {
	plain := testutil.Simulator(t, smsc.Options{})
	for _, tc := range []struct {
		name string
		o    bindpool.Options
		want string
	}{
		{"closed port", bindpool.Options{Address: closedPort(t)}, "refused"},
		{"tls to a plain port", bindpool.Options{Address: plain.Addr(), TLS: &tls.Config{ServerName: "smsc.test"}}, "tls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkNoLeak(t)
			backoff := &recorder{delay: time.Millisecond}
			o := tc.o
			o.Sessions, o.Backoff = 2, backoff
			p := startPool(t, o)
			testutil.Eventually(t, waitLimit, "several attempts per slot", func() bool { return len(backoff.Calls()) >= 6 })
			if calls := backoff.Calls(); slices.Max(calls) < 3 {
				t.Errorf("backoff attempts %v: want the count to climb", calls)
			}
			for _, s := range p.Status() {
				if s.State != "backoff" && s.State != "connecting" {
					t.Errorf("slot %d: %s", s.Slot, s.State)
				}
				if !strings.Contains(s.LastError, tc.want) {
					t.Errorf("slot %d: last error %q, want it to mention %q", s.Slot, s.LastError, tc.want)
				}
			}
			if err := p.Submit(context.Background(), sm("4915100000001"), func(smpp.Result) {}); !errors.Is(err, bindpool.ErrNotBound) {
				t.Errorf("Submit: %v, want ErrNotBound", err)
			}
			if p.AuthFailed() != nil {
				t.Errorf("AuthFailed %v for a link problem", p.AuthFailed())
			}
		})
	}
}

// ESME_RINVBNDSTS in a submit_sm_resp: the SMSC lost our bind, so the slot
// binds again.
func TestPool_Submit_rebind(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{Rules: []smsc.Rule{{Prefix: "999", Outcome: smsc.Refused, Status: pdu.StatusInvBndSts}}})
	o := options(srv)
	o.Sessions = 1
	p := startPool(t, o)
	waitReady(t, p)
	if res := submit(t, p, "999000"); res.Header.Status != pdu.StatusInvBndSts {
		t.Fatalf("result %+v, want ESME_RINVBNDSTS passed to the caller", res)
	}
	testutil.Eventually(t, waitLimit, "the slot to bind again", func() bool {
		s := p.Status()[0]
		return s.State == "bound" && s.Reconnects == 1
	})
	if res := submit(t, p, "4915100000001"); res.Header.Status != pdu.StatusOK {
		t.Fatalf("submit after the rebind: %+v", res)
	}
}

// TestPool_passwordUnreadable: while the password cannot be read (a file
// mid-rotation), the pool binds with the password it read before instead
// of not binding at all.
func TestPool_passwordUnreadable(t *testing.T) {
	srv := testutil.Simulator(t, smsc.Options{Accounts: map[string]string{"tester": "good"}})
	var fail atomic.Bool
	o := options(srv)
	o.Bind.SystemID = "tester"
	o.Password = func() (string, error) {
		if fail.Load() {
			return "", errors.New("permission denied")
		}
		return "good", nil
	}
	p := startPool(t, o)
	// Ready means one slot is bound; the drop below must find both, or the
	// count of binds after it falls one short.
	testutil.Eventually(t, waitLimit, "both slots bound", func() bool {
		return srv.Stats().Bound == 2 && allBound(p)
	})
	fail.Store(true)
	srv.Drop("", false)
	testutil.Eventually(t, waitLimit, "every slot bound again with the password read before", func() bool {
		return srv.Stats().Binds >= 4 && allBound(p)
	})
	if p.AuthFailed() != nil {
		t.Errorf("AuthFailed = %v", p.AuthFailed())
	}
}
