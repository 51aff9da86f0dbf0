package agent

import (
	"context"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// Pool is what the agent needs of the bind pool (package bindpool): SMPP
// sessions kept bound in the background, one Submit for all of them.
//
// Submit follows smpp.Session.Send: it blocks while every bound session's
// window is full, an error return means the PDU was not sent and done is
// never called (ErrNotBound at once when no session is bound), and done
// hears one final smpp.Result, preceded by a Result{Pending: true} when the
// response timeout passed first. Ready is closed while at least one session
// that can submit is bound; after all went down a later call returns a new,
// open channel. Handler calls (receipts, incoming SMS) come from the
// pool's sessions.
type Pool interface {
	// Start connects in the background and returns at once; the pool runs
	// until Close.
	Start(ctx context.Context)
	Submit(ctx context.Context, sm *pdu.SubmitSM, done func(smpp.Result)) error
	// SubmitInSeries is Submit on the session that took the series'
	// earlier parts, in order (bindpool.Series); bindpool.ErrSeriesBroken
	// when that session has ended, and nothing was sent.
	SubmitInSeries(ctx context.Context, s *bindpool.Series, sm *pdu.SubmitSM, done func(smpp.Result)) error
	Ready() <-chan struct{}
	// Capacity is the number of free window slots across the bound
	// sessions right now.
	Capacity() int
	Status() []smsagent.BindStatus
	// AuthFailed is non-nil while the SMSC refuses the account's
	// credentials (a *bindpool.AuthError from package bindpool's pool).
	AuthFailed() error
	// Stats are the pool's counters (for the status and the metrics).
	Stats() bindpool.Stats
	// Close unbinds every session, waiting for the unbind_resp until ctx
	// ends; requests still waiting then end with the session's cause.
	Close(ctx context.Context) error
}

// bound reports without blocking whether the pool has a session that can
// submit.
func bound(p Pool) bool {
	select {
	case <-p.Ready():
		return true
	default:
		return false
	}
}
