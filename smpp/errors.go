package smpp

import (
	"errors"
	"fmt"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// Why a session ended, or why a request was refused before it reached the
// wire. Session.Err and the final Result.Err of requests still waiting wrap
// one of these or a network error.
var (
	// ErrClosed: Close was called. Requests still waiting when the
	// unbind_resp arrived (or the Close deadline passed) end with it.
	ErrClosed = errors.New("smpp: session closed")
	// ErrUnbound: the peer sent unbind (§4.2.1); it was answered with
	// unbind_resp and the connection closed.
	ErrUnbound = errors.New("smpp: peer unbound the session")
	// ErrLinkDead: an enquire_link went unanswered past its deadline
	// (§4.11): the connection is half-open or the peer is hung.
	ErrLinkDead = errors.New("smpp: enquire_link not answered: link dead")
	// ErrIdle: nothing at all was received for the idle timeout.
	ErrIdle = errors.New("smpp: nothing received from the peer: idle timeout")
	// ErrUnanswered: SessionOptions.MaxUnanswered requests passed
	// their response timeout without an answer while the link itself
	// stayed up. Ending the session bounds memory and the number of
	// messages whose outcome is unknown.
	ErrUnanswered = errors.New("smpp: peer stopped answering requests")
	// ErrNotReading: the peer kept sending requests the session answers
	// itself (enquire_link, refusals) but read none of the answers, until
	// 16 MiB waited: a broken or hostile peer.
	ErrNotReading = errors.New("smpp: the peer sends without reading our answers")
	// ErrBindTimeout: no answer to the bind within SessionOptions.BindTimeout.
	ErrBindTimeout = errors.New("smpp: bind: no response in time")
	// ErrNotBound: a request was offered before Bind succeeded; nothing
	// but the bind may be sent before then (§2.2).
	ErrNotBound = errors.New("smpp: session not bound")
	// ErrNotSent marks a final Result whose request was still in the
	// session's write buffer when the session ended: it never reached the
	// network, so it is safe to send again elsewhere without risking a
	// duplicate. It is joined with the session's end cause.
	ErrNotSent = errors.New("smpp: request never written")
	// ErrAnswered: a Request was answered (or dropped) already, or the
	// session it came from has ended.
	ErrAnswered = errors.New("smpp: request already answered or session ended")
)

// BindError is a refused bind: the peer answered the bind with a non-zero
// command_status, or with generic_nack. Status.Class tells a busy slot
// (ESME_RALYBND) from bad credentials (ESME_RINVPASWD, ...).
type BindError struct {
	// Status is the refusal's command_status.
	Status pdu.Status
	// Nack is true when the answer was generic_nack rather than the bind
	// response: the peer did not take the bind for a bind at all.
	Nack bool
}

func (e *BindError) Error() string {
	if e.Nack {
		return fmt.Sprintf("smpp: bind refused with generic_nack: %v", e.Status.Error())
	}
	return fmt.Sprintf("smpp: bind refused: %v", e.Status.Error())
}

// Unwrap returns the Status, so errors.As(err, &status) works on a
// BindError as on any refusal.
func (e *BindError) Unwrap() error { return e.Status }

// RequestError is the refusal of one request, as Submit returns it: the
// peer answered with a non-zero command_status or with generic_nack.
type RequestError struct {
	// ID is the command the refusal answers.
	ID     pdu.CommandID
	Status pdu.Status
	// Nack is true when the answer was generic_nack.
	Nack bool
}

func (e *RequestError) Error() string {
	if e.Nack {
		return fmt.Sprintf("smpp: %s refused with generic_nack: %v", e.ID, e.Status.Error())
	}
	return fmt.Sprintf("smpp: %s refused: %v", e.ID, e.Status.Error())
}

// Unwrap returns the Status.
func (e *RequestError) Unwrap() error { return e.Status }
