package agent

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/outbox"
)

// TestCallbacker_giveUpWording: a report_url call is given up for want of
// a 2xx answer, a dlr-url call (Kannel's GET) for want of 200 or 202, the
// only answers Kannel counts, so a 204 there reads right.
func TestCallbacker_giveUpWording(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)
	c := &callbacker{cfg: config.Callbacks{MaxAge: 24 * time.Hour, RetryInitial: time.Second, RetryMax: time.Minute},
		clock: func() time.Time { return t0.Add(25 * time.Hour) }, log: slog.New(slog.DiscardHandler), obs: NopObserver{}}
	for method, want := range map[string]string{
		"POST": "no 2xx answer within callbacks.max_age (1d): given up after 3 attempts",
		"GET":  "no 200 or 202 answer within callbacks.max_age (1d): given up after 3 attempts",
	} {
		res := c.settle(&outbox.Callback{Method: method, Created: t0, Attempts: 2}, errors.New("answered 204 No Content"))
		if res.Outcome != outbox.CallbackGiveUp || res.Reason != want || res.Error != "answered 204 No Content" {
			t.Errorf("%s: %+v, want the reason %q", method, res, want)
		}
	}
}
