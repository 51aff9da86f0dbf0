package smsc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

func bindAs(t *testing.T, srv *smsc.Server, systemID, password string) (*smpp.Session, error) {
	t.Helper()
	s := dial(t, srv, smpp.SessionOptions{})
	return s, s.Bind(ctx10(t), smpp.BindRequest{Mode: smpp.Transceiver, SystemID: systemID, Password: password})
}

func bindStatus(err error) pdu.Status {
	var be *smpp.BindError
	if errors.As(err, &be) {
		return be.Status
	}
	return pdu.StatusOK
}

// Credentials are checked like an SMSC checks them, and a system_id gets
// MaxBinds sessions: the next is ESME_RALYBND until one goes away.
func TestServer_bind(t *testing.T) {
	checkNoLeak(t)
	srv := startServer(t, smsc.Options{Accounts: map[string]string{"agent": "secret"}, SystemID: "SIM"})

	if _, err := bindAs(t, srv, "agent", "wrong"); bindStatus(err) != pdu.StatusInvPaswd {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := bindAs(t, srv, "nobody", "secret"); bindStatus(err) != pdu.StatusInvSysID {
		t.Errorf("unknown system_id: %v", err)
	}
	var sessions []*smpp.Session
	for i := range 4 {
		s, err := bindAs(t, srv, "agent", "secret")
		if err != nil {
			t.Fatalf("bind %d: %v", i+1, err)
		}
		sessions = append(sessions, s)
	}
	if id := sessions[0].PeerSystemID(); id != "SIM" {
		t.Errorf("peer system_id %q", id)
	}
	if v, ok := sessions[0].PeerInterfaceVersion(); !ok || v != pdu.InterfaceVersion34 {
		t.Errorf("sc_interface_version %#x %v", v, ok)
	}
	s5, err := bindAs(t, srv, "agent", "secret")
	var be *smpp.BindError
	if !errors.As(err, &be) || be.Status != pdu.StatusAlyBnd || be.Status.Class() != pdu.ClassBindBusy {
		t.Fatalf("5th bind: %v, want ESME_RALYBND", err)
	}
	// The simulator hangs up after a refusal.
	select {
	case <-s5.Done():
	case <-time.After(10 * time.Second):
		t.Error("refused session still open")
	}
	if err := sessions[0].Close(ctx10(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitFor(ctx10(t), func(st smsc.Stats) bool { return st.Bound == 3 }); err != nil {
		t.Fatal(err)
	}
	if _, err := bindAs(t, srv, "agent", "secret"); err != nil {
		t.Errorf("bind after one left: %v", err)
	}
	st := srv.Stats()
	if st.Binds != 5 || st.BindsRefused != 3 || st.Bound != 4 {
		t.Errorf("stats %+v", st)
	}
}

// Bind refusals on demand: a number of them, or for a while.
func TestServer_SetFaults_refuseBinds(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	srv := startServer(t, smsc.Options{Clock: clock})

	srv.SetFaults(smsc.Faults{RefuseBinds: pdu.StatusBindFail, RefuseBindsCount: 2})
	for i := range 2 {
		if _, err := bindAs(t, srv, "agent", ""); bindStatus(err) != pdu.StatusBindFail {
			t.Fatalf("bind %d: %v, want ESME_RBINDFAIL", i+1, err)
		}
	}
	if _, err := bindAs(t, srv, "agent", ""); err != nil {
		t.Fatalf("third bind: %v", err)
	}
	srv.SetFaults(smsc.Faults{RefuseBinds: pdu.StatusSysErr, RefuseBindsUntil: now.Add(time.Second)})
	if _, err := bindAs(t, srv, "agent", ""); bindStatus(err) != pdu.StatusSysErr {
		t.Fatalf("bind in the window: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := bindAs(t, srv, "agent", ""); err != nil {
		t.Fatalf("bind after the window: %v", err)
	}
}

// A request before the bind is answered ESME_RINVBNDSTS by the simulator's
// session, as an SMSC must (§2.3).
func TestServer_requestBeforeBind(t *testing.T) {
	srv := startServer(t, smsc.Options{})
	conn, err := smpp.Dial(context.Background(), "tcp", srv.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frame, _ := pdu.Encode(sm("1", "x"), pdu.StatusOK, 7)
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := pdu.NewReader(conn, 0).ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := pdu.ParseHeader(f); h.ID != pdu.SubmitSMRespID || h.Status != pdu.StatusInvBndSts || h.Sequence != 7 {
		t.Errorf("got %s", h)
	}
}

// A password rotated at the SMSC: binds with the old one are refused
// ESME_RINVPASWD from then on, the new one binds, and a session bound
// before the change stays bound.
func TestServer_SetAccounts(t *testing.T) {
	checkNoLeak(t)
	srv := startServer(t, smsc.Options{Accounts: map[string]string{"agent": "old"}})
	before, err := bindAs(t, srv, "agent", "old")
	if err != nil {
		t.Fatalf("bind with the first password: %v", err)
	}
	srv.SetAccounts(map[string]string{"agent": "new"})
	if _, err := bindAs(t, srv, "agent", "old"); bindStatus(err) != pdu.StatusInvPaswd {
		t.Errorf("old password after the change: %v, want ESME_RINVPASWD", err)
	}
	if _, err := bindAs(t, srv, "agent", "new"); err != nil {
		t.Errorf("new password: %v", err)
	}
	select {
	case <-before.Done():
		t.Errorf("the session bound before the change ended: %v", before.Err())
	default:
	}
	srv.SetAccounts(nil)
	if _, err := bindAs(t, srv, "anyone", "anything"); err != nil {
		t.Errorf("bind with no accounts set: %v", err)
	}
}
