package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
	"github.com/smsagent/smsagent/outbox"
)

func newClient(t *testing.T, s *server, token string) *admin.Client {
	t.Helper()
	c, err := admin.NewClient(admin.ClientOptions{Listen: s.Addr().String(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClient_SameAsLocal: through the API or straight from the store, every
// command gives the same JSON.
func TestClient_SameAsLocal(t *testing.T) {
	s := startServer(t, nil)
	c := newClient(t, s, testToken)
	local := admin.Local{Queue: s.q.store}
	ctx := context.Background()
	same := func(what string, remote, direct any, rerr, derr error) {
		t.Helper()
		if rerr != nil || derr != nil {
			t.Fatalf("%s: client %v, local %v", what, rerr, derr)
		}
		a, _ := json.Marshal(remote)
		b, _ := json.Marshal(direct)
		if string(a) != string(b) {
			t.Errorf("%s differs:\nclient %s\nlocal  %s", what, a, b)
		}
	}
	rs, rerr := c.Stats(ctx)
	ls, lerr := local.Stats(ctx)
	same("stats", rs, ls, rerr, lerr)
	for _, p := range []admin.ListParams{{}, {Limit: 2}, {After: 2, Limit: 1}, {State: smsagent.StateSent}} {
		rp, rerr := c.List(ctx, p)
		lp, lerr := local.List(ctx, p)
		same("list", rp, lp, rerr, lerr)
	}
	for id := smsagent.MessageID(1); id <= 4; id++ {
		rm, rerr := c.Message(ctx, id)
		lm, lerr := local.Message(ctx, id)
		same("message "+id.String(), rm, lm, rerr, lerr)
	}
	st, err := c.Status(ctx)
	same("status", st, sampleStatus(), err, nil)

	m, err := c.Retry(ctx, s.q.rejected)
	if err != nil || m.State != smsagent.StateQueued {
		t.Errorf("Retry: %v %v", m.State, err)
	}
	m, err = c.Cancel(ctx, s.q.rejected)
	if err != nil || m.State != smsagent.StateCanceled {
		t.Errorf("Cancel: %v %v", m.State, err)
	}
	if n, err := c.RetryFailed(ctx); err != nil || n != 0 {
		t.Errorf("RetryFailed: %d %v", n, err)
	}
}

func TestClient_Errors(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	c := newClient(t, s, testToken)
	local := admin.Local{Queue: s.q.store}
	type byID = func(context.Context, smsagent.MessageID) (admin.Message, error)
	for _, get := range []byID{c.Message, local.Message} {
		_, err := get(ctx, 999)
		var e *admin.Error
		if !errors.Is(err, outbox.ErrNotFound) || !errors.As(err, &e) || e.Status != 404 || err.Error() != "message 999 not found" {
			t.Errorf("not found: %v", err)
		}
	}
	for _, cancel := range []byID{c.Cancel, local.Cancel} {
		_, err := cancel(ctx, s.q.delivered)
		if !errors.Is(err, outbox.ErrState) || errors.Is(err, outbox.ErrNotFound) ||
			err.Error() != "cannot cancel message 3: it is delivered" {
			t.Errorf("state: %v", err)
		}
	}
	for _, list := range []func(context.Context, admin.ListParams) (admin.Page, error){c.List, local.List} {
		_, err := list(ctx, admin.ListParams{Limit: 5000})
		var e *admin.Error
		if !errors.As(err, &e) || e.Status != 400 {
			t.Errorf("limit 5000: %v", err)
		}
	}
	_, err := newClient(t, s, "wrong").Message(ctx, 1)
	var e *admin.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Message != "a valid bearer token is required" {
		t.Errorf("wrong token: %v", err)
	}
	// Nobody listens on a port just released.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ = admin.NewClient(admin.ClientOptions{Listen: addr})
	if _, err := c.Status(ctx); !errors.Is(err, admin.ErrUnreachable) {
		t.Errorf("closed port: %v", err)
	}
}

func TestNewClient_Addr(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:9180": "127.0.0.1:9180",
		":9180":          "127.0.0.1:9180",
		"0.0.0.0:9180":   "127.0.0.1:9180",
		"[::]:9180":      "[::1]:9180",
		"[::1]:9180":     "[::1]:9180",
		"localhost:1":    "localhost:1",
	} {
		c, err := admin.NewClient(admin.ClientOptions{Listen: listen})
		if err != nil || c.Addr() != want {
			t.Errorf("%s: %v %v, want %s", listen, c, err, want)
		}
	}
	if _, err := admin.NewClient(admin.ClientOptions{Listen: "9180"}); err == nil {
		t.Error("accepted an address without a port")
	}
}
