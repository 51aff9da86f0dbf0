package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/msgfile"
)

// ErrStopping is Submit's error while the agent stops: nothing was stored,
// and the caller should try again once it runs.
var ErrStopping = errors.New("agent: stopping: no messages are taken")

// RequestError is Submit's error for a request whose messages are refused:
// the same problems a file with those messages would get in its
// failed/NAME.error.json. Nothing of the request was stored.
type RequestError struct {
	Why      string
	problems []smsagent.Problem
}

func (e *RequestError) Error() string { return e.Why }

// Problems lists what is wrong, each with the message's position.
func (e *RequestError) Problems() []smsagent.Problem { return e.problems }

// Submit takes messages from another door than the spool (the admin API's
// POST /api/v1/messages): body is parsed as a message file named name
// ("request.json" for one object or an array, "request.ndjson" for NDJSON),
// each message is checked as intake checks a file's, and all of them are
// stored in one commit, or none. The result lists our ids in order (zero
// for a duplicate) and the duplicates of client ids already queued, whose
// notice goes to the caller only: no duplicate notice is written to
// inbox/ for a request.
//
// A bad request gives a *msgfile.FileError or *RequestError (both list
// their problems); while the agent stops, ErrStopping; a database that
// refuses the commit, its error.
//
// Crash story: the caller is answered only after the commit, so a crash
// before it leaves nothing and the caller, unanswered, sends again; after
// it the messages are queued like a file's. A caller that sends again after
// a lost answer gets its client ids listed as duplicates.
func (a *Agent) Submit(ctx context.Context, body io.Reader, name string) (smsagent.BatchResult, error) {
	msgs, err := msgfile.Parse(body, name, a.parseOpts)
	if err != nil {
		return smsagent.BatchResult{}, err
	}
	for i := range msgs {
		msgs[i].File = "" // the parser's name for the body; reports name no file
	}
	return a.SubmitMessages(ctx, msgs)
}

// SubmitMessages is Submit for messages another door has read already
// (Kannel's sendsms): the same checks, one commit, the same errors.
func (a *Agent) SubmitMessages(ctx context.Context, msgs []smsagent.Message) (smsagent.BatchResult, error) {
	if a.stopping.Load() {
		return smsagent.BatchResult{}, ErrStopping
	}
	if err := a.checkRequest(msgs); err != nil {
		return smsagent.BatchResult{}, err
	}
	claim, err := requestClaim()
	if err != nil {
		return smsagent.BatchResult{}, err
	}
	res, err := a.queue.Enqueue(ctx, smsagent.Batch{Claim: claim, Messages: msgs})
	if err != nil {
		return smsagent.BatchResult{}, fmt.Errorf("agent: submit: %w", err)
	}
	n := 0
	for _, id := range res.IDs {
		if id != 0 {
			n++
		}
	}
	a.obs.RequestAccepted(n)
	if n > 0 {
		a.dispatcher.poke()
	}
	return res, nil
}

// checkRequest applies intake's checks to a request's messages: each valid
// and sendable (text encodable, validity expressible), at least one.
func (a *Agent) checkRequest(msgs []smsagent.Message) error {
	if len(msgs) == 0 {
		return &RequestError{Why: "the request holds no messages"}
	}
	var problems []smsagent.Problem
	for i := range msgs {
		m := &msgs[i]
		err := m.Validate()
		if err == nil {
			err = a.check(m)
		}
		if err != nil && len(problems) < msgfile.MaxProblems {
			problems = append(problems, smsagent.Problem{Index: i + 1, Message: err.Error()})
		}
	}
	if len(problems) == 0 {
		return nil
	}
	why := fmt.Sprintf("message %d of %d: %s", problems[0].Index, len(msgs), problems[0].Message)
	if len(problems) > 1 {
		why += fmt.Sprintf(" (and %d more problems)", len(problems)-1)
	}
	return &RequestError{Why: why + "; no message of the request was queued", problems: problems}
}

// check is intake's check of one message beyond Validate: its text can be
// sent, it has an account (the one it pins, or a route for its
// destination), and its callback URL names a host callbacks.allow lets it
// call.
func (a *Agent) check(m *smsagent.Message) error {
	var ac *account
	if m.SMSC != "" {
		if ac = a.router.byName[m.SMSC]; ac == nil {
			return fmt.Errorf("smsc %q: no SMSC account of that name (configured: %s)", m.SMSC, a.accountNames())
		}
	} else if route, ok := a.cfg.Route(m.To); !ok {
		return fmt.Errorf("no route matches the destination %s (see routes: in the configuration)", m.To.String())
	} else {
		ac = a.router.byName[route.SMSCs[0]]
	}
	if err := ac.enc.check(m); err != nil {
		return err
	}
	return a.allow.checkURL(m.Callback.URL)
}

// requestClaim names a request in the outbox's record of batches taken,
// as a claim names a file: unique, from nothing a crash could reuse.
func requestClaim() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("agent: submit: %w", err)
	}
	return "request-" + hex.EncodeToString(b[:]), nil
}
