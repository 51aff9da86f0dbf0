package admin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
	"github.com/smsagent/smsagent/msgfile"
	"github.com/smsagent/smsagent/outbox"
)

// storeSubmitter is the agent's Submit without its sendability checks: the
// body parsed as a message file and stored in the test's outbox.
type storeSubmitter struct {
	store *outbox.Store
	n     atomic.Int64
	err   error
}

func (f *storeSubmitter) Submit(ctx context.Context, body io.Reader, name string) (smsagent.BatchResult, error) {
	msgs, err := msgfile.Parse(body, name, msgfile.Options{})
	if err != nil {
		return smsagent.BatchResult{}, err
	}
	for i := range msgs {
		msgs[i].File = "" // no file: a request
	}
	if f.err != nil {
		return smsagent.BatchResult{}, f.err
	}
	claim := fmt.Sprintf("request-%d", f.n.Add(1))
	return f.store.Enqueue(ctx, smsagent.Batch{Claim: claim, Messages: msgs})
}

func startSubmitServer(t *testing.T, limit int64) (*server, *storeSubmitter) {
	t.Helper()
	sub := &storeSubmitter{}
	s := startServer(t, func(o *admin.Options) {
		o.Submit = sub
		o.MaxRequestSize = limit
	})
	sub.store = s.q.store
	return s, sub
}

// post sends a body of the given type with the token.
func (s *server) post(t *testing.T, contentType, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+"/api/v1/messages", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return send(t, req)
}

// TestServer_Submit: each body form is stored whole and answered 202 with
// our ids in request order; a client id already queued is answered as a
// duplicate with the id of the message queued before, and stored once.
func TestServer_Submit(t *testing.T) {
	s, _ := startSubmitServer(t, 0)
	var first admin.SubmitAnswer
	s.post(t, "application/json", `{"id":"a-1","to":"+358401111111","text":"one"}`).want(t, http.StatusAccepted).decode(t, &first)
	if len(first.IDs) != 1 || first.IDs[0] == 0 || len(first.Duplicates) != 0 {
		t.Fatalf("one object: %+v", first)
	}
	var arr admin.SubmitAnswer
	s.post(t, "application/json; charset=utf-8",
		`[{"to":"+358402222222","text":"two"},{"id":"a-1","to":"+358401111111","text":"one again"}]`).
		want(t, http.StatusAccepted).decode(t, &arr)
	if len(arr.IDs) != 2 || arr.IDs[0] == 0 || arr.IDs[1] != first.IDs[0] || !slices.Equal(arr.Duplicates, []string{"a-1"}) {
		t.Fatalf("array with a duplicate: %+v, want the second id %d and duplicates [a-1]", arr, first.IDs[0])
	}
	var nd admin.SubmitAnswer
	s.post(t, "application/x-ndjson", "{\"to\":\"+358403333333\",\"text\":\"three\"}\n{\"to\":\"+358404444444\",\"text\":\"four\"}\n").
		want(t, http.StatusAccepted).decode(t, &nd)
	if len(nd.IDs) != 2 || nd.IDs[0] == 0 || nd.IDs[1] != nd.IDs[0]+1 {
		t.Fatalf("ndjson: %+v", nd)
	}
	for _, id := range append(arr.IDs[:1], nd.IDs...) {
		rec, err := s.q.store.Get(context.Background(), id)
		if err != nil || rec.State != smsagent.StateQueued || rec.File != "" {
			t.Errorf("message %d: %+v, %v", id, rec, err)
		}
	}
	if rec, _ := s.q.store.Get(context.Background(), first.IDs[0]); rec.Text != "one" {
		t.Errorf("the duplicate changed the first message: %q", rec.Text)
	}
	// A request's duplicates are answered to the caller, not noticed in
	// inbox/: no event besides the queue's own.
	evs, err := s.q.store.Events(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Kind == smsagent.EventDuplicate && e.Duplicate.File == "" {
			t.Errorf("duplicate notice for a request: %+v", e.Duplicate)
		}
	}
}

// TestServer_SubmitRefused: every refusal has its status and body, and
// stores nothing.
func TestServer_SubmitRefused(t *testing.T) {
	s, sub := startSubmitServer(t, 2048)
	before, err := s.q.store.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ref admin.Refusal
	s.post(t, "application/json", `[{"to":"+358401111111","text":"fine"},{"to":"12x","text":"bad"}]`).
		want(t, http.StatusBadRequest).decode(t, &ref)
	if len(ref.Problems) != 1 || ref.Problems[0].Index != 2 || ref.Problems[0].Field != "to" || !strings.Contains(ref.Error, "request.json") {
		t.Errorf("refusal %+v: want one problem, message 2, field to", ref)
	}
	s.post(t, "text/plain", `{"to":"+358401111111","text":"x"}`).errorIs(t, http.StatusUnsupportedMediaType,
		"Content-Type must be application/json (a message or an array of messages) or application/x-ndjson")
	s.post(t, "", `{"to":"+358401111111","text":"x"}`).want(t, http.StatusUnsupportedMediaType)
	big := `[` + strings.Repeat(`{"to":"+358401111111","text":"padding padding"},`, 100) + `{"to":"+358401111111","text":"x"}]`
	s.post(t, "application/json", big).errorIs(t, http.StatusRequestEntityTooLarge,
		"request body larger than 2048 bytes")
	// Chunked, with no length announced: cut while read.
	req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/messages", io.MultiReader(strings.NewReader(big)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	send(t, req).errorIs(t, http.StatusRequestEntityTooLarge,
		"request body larger than 2048 bytes (admin.max_request_size); nothing was stored")
	s.do(t, http.MethodPost, "/api/v1/messages", "", strings.NewReader(`{}`)).want(t, http.StatusUnauthorized)
	s.do(t, http.MethodPost, "/api/v1/messages", "wrong-token-wrong-token-wrong-token", strings.NewReader(`{}`)).
		want(t, http.StatusUnauthorized)
	s.do(t, http.MethodGet, "/api/v1/messages", testToken, nil).want(t, http.StatusMethodNotAllowed)

	sub.err = fmt.Errorf("outbox: enqueue: %w", outbox.ErrClosed)
	a := s.post(t, "application/json", `{"to":"+358401111111","text":"x"}`)
	a.errorIs(t, http.StatusServiceUnavailable, "the messages were not stored: outbox: enqueue: outbox: closed")
	if ra := a.header.Get("Retry-After"); ra != "5" {
		t.Errorf("Retry-After %q", ra)
	}
	after, err := s.q.store.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after.ByState[smsagent.StateQueued] != before.ByState[smsagent.StateQueued] {
		t.Errorf("%d messages stored by refused requests", after.ByState[smsagent.StateQueued]-before.ByState[smsagent.StateQueued])
	}
}

// TestServer_MessageState: a message's state, and its report once final.
func TestServer_MessageState(t *testing.T) {
	s := startServer(t, nil)
	var st admin.MessageState
	s.do(t, http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", s.q.queued), testToken, nil).want(t, http.StatusOK).decode(t, &st)
	if st.State != smsagent.StateQueued || st.Final || st.Report != nil || st.ID != "order-4" {
		t.Errorf("queued: %+v", st)
	}
	st = admin.MessageState{}
	s.do(t, http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", s.q.delivered), testToken, nil).want(t, http.StatusOK).decode(t, &st)
	rep := st.Report
	if !st.Final || rep == nil || rep.Status != "delivered" || rep.Stat != "DELIVRD" || rep.Err != "000" || rep.ID != "order-3" ||
		rep.File != "orders.json" || rep.Parts == nil || rep.Parts.Items[0].SMSCID != "A3" {
		t.Errorf("delivered: %+v, report %+v", st, rep)
	}
	st = admin.MessageState{}
	s.do(t, http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", s.q.rejected), testToken, nil).want(t, http.StatusOK).decode(t, &st)
	if st.Report == nil || st.Report.Status != "rejected" ||
		st.Report.Error != "ESME_RINVDSTADR (0x0000000B): invalid destination address" {
		t.Errorf("rejected: %+v", st.Report)
	}
	s.do(t, http.MethodGet, "/api/v1/messages/999", testToken, nil).errorIs(t, http.StatusNotFound, "message 999 not found")
	s.do(t, http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", s.q.queued), "", nil).want(t, http.StatusUnauthorized)
}
