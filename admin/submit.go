package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
)

// Submitter takes the messages of POST /api/v1/messages; the agent
// satisfies it. name is "request.json" (one message object or an array of
// them) or "request.ndjson", the message file format of the body. A
// refused request gives an error with Problems (the problems a file would
// list in failed/NAME.error.json); any other error means the messages
// could not be stored now and the caller may try again.
type Submitter interface {
	Submit(ctx context.Context, body io.Reader, name string) (smsagent.BatchResult, error)
}

// DefaultMaxRequestSize is Options.MaxRequestSize when zero.
const DefaultMaxRequestSize = 1 << 20

// retryAfter is the Retry-After of a 503 from the submit call, in seconds:
// a stop or a refused commit lasts seconds, not milliseconds.
const retryAfter = 5

// problemsError is what a refused request's error offers.
type problemsError interface {
	error
	Problems() []smsagent.Problem
}

// SubmitAnswer is the 202 answer of POST /api/v1/messages: our id of every
// message in the order of the request (for a message whose client id and
// recipient were already queued, the id of the one queued before), and the
// client ids of those duplicates, each once.
type SubmitAnswer struct {
	IDs        []smsagent.MessageID `json:"ids"`
	Duplicates []string             `json:"duplicates"`
}

// Refusal is the 400 answer of POST /api/v1/messages: the same "error" and
// "problems" as a refused file's failed/NAME.error.json.
type Refusal struct {
	Error    string             `json:"error"`
	Problems []smsagent.Problem `json:"problems"`
}

// MessageState is the answer of GET /api/v1/messages/{id}: the message's
// state and, once it is final, its report as the file in inbox/ has it.
type MessageState struct {
	MessageID smsagent.MessageID `json:"message_id"`
	ID        string             `json:"id,omitempty"`
	State     smsagent.State     `json:"state"`
	Final     bool               `json:"final"`
	Report    *smsagent.Report   `json:"report,omitempty"`
}

// requestName is the message file name whose format the Content-Type
// names; ok is false for any other type.
func requestName(contentType string) (name string, ok bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false
	}
	switch mt {
	case "application/json":
		return "request.json", true
	case "application/x-ndjson", "application/ndjson":
		return "request.ndjson", true
	}
	return "", false
}

func (s *Server) maxRequestSize() int64 {
	if s.opts.MaxRequestSize > 0 {
		return s.opts.MaxRequestSize
	}
	return DefaultMaxRequestSize
}

// tooLarge is the 413 of a body past the limit.
func tooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("request body larger than %d bytes (admin.max_request_size); nothing was stored", limit)}
}

// submit stores the messages of the request body, all or none, and answers
// only once they are committed.
func (s *Server) submit(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Submit == nil {
		return &Error{Status: http.StatusNotFound, Message: "this agent takes no messages over the API"}
	}
	name, ok := requestName(r.Header.Get("Content-Type"))
	if !ok {
		return &Error{Status: http.StatusUnsupportedMediaType,
			Message: "Content-Type must be application/json (a message or an array of messages) or application/x-ndjson"}
	}
	body := &limitSeen{r: r.Body}
	res, err := s.opts.Submit.Submit(r.Context(), body, name)
	if body.exceeded {
		return tooLarge(s.maxRequestSize())
	}
	if err != nil {
		var pe problemsError
		if errors.As(err, &pe) {
			writeJSON(w, http.StatusBadRequest, Refusal{Error: pe.Error(), Problems: pe.Problems()})
			return nil
		}
		if r.Context().Err() != nil {
			return nil // the caller has gone; nothing to answer
		}
		s.log.Warn("admin: messages not stored", "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		return &Error{Status: http.StatusServiceUnavailable, Message: "the messages were not stored: " + err.Error()}
	}
	writeJSON(w, http.StatusAccepted, answerOf(res))
	return nil
}

// answerOf pairs each message the outbox left unstored (a zero id, in
// order) with its duplicate entry, which names the message queued before.
func answerOf(res smsagent.BatchResult) SubmitAnswer {
	a := SubmitAnswer{IDs: make([]smsagent.MessageID, len(res.IDs)), Duplicates: []string{}}
	dup := 0
	for i, id := range res.IDs {
		if id == 0 && dup < len(res.Duplicates) {
			id = res.Duplicates[dup].MessageID
			dup++
		}
		a.IDs[i] = id
	}
	seen := make(map[string]bool, len(res.Duplicates))
	for _, d := range res.Duplicates {
		if !seen[d.ID] {
			seen[d.ID] = true
			a.Duplicates = append(a.Duplicates, d.ID)
		}
	}
	return a
}

// messageState answers a message's state and, once final, its report.
func (s *Server) messageState(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rec, err := s.opts.Queue.Get(r.Context(), id)
	if err != nil {
		return queueError(err, id)
	}
	writeJSON(w, http.StatusOK, MessageState{MessageID: rec.ID, ID: rec.ClientID, State: rec.State, Final: rec.Final,
		Report: outbox.ReportOf(rec)})
	return nil
}

// limitSeen passes a body through and notes whether http.MaxBytesReader
// cut it, whatever the reader above makes of the error.
type limitSeen struct {
	r        io.Reader
	exceeded bool
}

func (l *limitSeen) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	var mbe *http.MaxBytesError
	if err != nil && errors.As(err, &mbe) {
		l.exceeded = true
	}
	return n, err
}
