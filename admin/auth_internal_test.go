package admin

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/smsagent/smsagent"
)

// TestServer_authorize_ConstantTime: every token check goes through
// subtle.ConstantTimeCompare on two SHA-256 digests, whatever the length of
// the guess, so the time taken says nothing about the token.
func TestServer_authorize_ConstantTime(t *testing.T) {
	type call struct{ a, b []byte }
	var calls []call
	defer func(f func(x, y []byte) int) { constantTimeCompare = f }(constantTimeCompare)
	real := constantTimeCompare
	constantTimeCompare = func(x, y []byte) int {
		calls = append(calls, call{append([]byte(nil), x...), append([]byte(nil), y...)})
		return real(x, y)
	}
	const token = "the-token"
	s, err := New(Options{Token: token, Queue: nopQueue{}, Status: nopStatus{}})
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte(token))
	for _, tt := range []struct {
		guess string
		ok    bool
	}{
		{"t", false}, {"the-toke", false}, {"the-tokenX", false}, {string(make([]byte, 1000)), false}, {token, true},
	} {
		calls = nil
		r := httptest.NewRequest("GET", "/api/v1/queue/1", nil)
		r.Header.Set("Authorization", "Bearer "+tt.guess)
		w := httptest.NewRecorder()
		if got := s.authorize(w, r); got != tt.ok {
			t.Errorf("guess %q: authorized %v", tt.guess, got)
		}
		if len(calls) != 1 {
			t.Fatalf("guess %q: %d constant-time comparisons, want 1", tt.guess, len(calls))
		}
		guess := sha256.Sum256([]byte(tt.guess))
		if string(calls[0].a) != string(guess[:]) || string(calls[0].b) != string(want[:]) {
			t.Errorf("guess %q: compared %x with %x, want the digests", tt.guess, calls[0].a, calls[0].b)
		}
		if !tt.ok && w.Code != http.StatusUnauthorized {
			t.Errorf("guess %q: status %d", tt.guess, w.Code)
		}
	}
}

type nopQueue struct{ Queue }

type nopStatus struct{}

func (nopStatus) Status(context.Context) (smsagent.Status, error) { return smsagent.Status{}, nil }
