package smsagent

import "time"

// Record is a stored message with everything the agent learned about it:
// what the outbox keeps, what the dispatcher works from and what the queue
// commands show.
type Record struct {
	Message
	State State
	// Final is set when no further automatic change will happen; for states
	// other than StateSent it equals State.Final().
	Final bool
	// Attempts counts submit rounds that ended in a temporary failure.
	// Throttling does not count.
	Attempts int
	// Due is when the message is next eligible for dispatch (queued only).
	Due time.Time
	// ConcatRef is the concatenation reference assigned at enqueue; parts
	// resent after a failure carry the same reference and total.
	ConcatRef uint16
	// Parts is nil until the dispatcher has split the text the first time.
	Parts     []Part
	LastError string
	Submitted time.Time // first part accepted by the SMSC
	Done      time.Time // became final
	// Avoid lists the SMSC accounts that refused the message with a
	// failover status (failover.on_status): the routes skip them.
	Avoid []string
}

// Account is the SMSC account the message is on: the one that accepted it
// (every accepted part of a message goes to one), else the one its last
// attempt went to, else the one it is pinned to; "" before any of these
// (and for messages of releases with one account).
func (r *Record) Account() string {
	last := ""
	for _, p := range r.Parts {
		if p.SMSC == "" {
			continue
		}
		if p.State == StateSent || (p.State.Final() && p.SMSCID != "") {
			return p.SMSC
		}
		last = p.SMSC
	}
	if last == "" {
		return r.SMSC
	}
	return last
}

// Part is one SMS of a (possibly concatenated) message.
type Part struct {
	State State
	// SMSC is the account the part was last submitted to; the one that
	// accepted it once it is accepted. "" in records of releases that had
	// one account.
	SMSC   string
	SMSCID string // message_id from submit_sm_resp
	Stat   string // last receipt stat, raw
	Err    string // last receipt err, raw
	Error  string // readable reason of a failure
	// Status is the SMPP command_status of the last submit_sm_resp when it
	// was not 0.
	Status    uint32
	Submitted time.Time
	Done      time.Time
}

// Stats counts messages by state. Awaiting is the part of Sent still waiting
// for a receipt.
type Stats struct {
	ByState  map[State]int
	Awaiting int
	// Events is the number of inbox files not yet written.
	Events int
}
