package smsagent

import "fmt"

// State is where a message, or one part of it, stands. The words are the
// ones reports and the queue commands show.
//
//	queued ──▶ sending ──▶ sent ──▶ delivered | undeliverable | expired | rejected | failed
//	   ▲          │          (awaiting receipt)
//	   └──retry───┘                  any non-final ──▶ canceled (operator)
//
// A message in state sent is final when it asked for no receipt, or when its
// receipt did not come within the receipt timeout; the record says which.
type State uint8

const (
	StateUnknown State = iota
	// StateQueued waits for its due time (new, retry, or send_at).
	StateQueued
	// StateSending has been handed to the dispatcher; parts may be in flight.
	StateSending
	// StateSent has every part accepted by the SMSC (submit_sm_resp OK).
	StateSent
	StateDelivered
	// StateUndeliverable: the network could not deliver (UNDELIV).
	StateUndeliverable
	// StateExpired: validity or the agent's max_age passed first.
	StateExpired
	// StateRejected: the SMSC refused the submit, or the receipt said
	// REJECTD.
	StateRejected
	// StateFailed: any other final failure (DELETED, UNKNOWN receipt states,
	// text that cannot be encoded).
	StateFailed
	// StateCanceled: an operator canceled it before it was final.
	StateCanceled
)

var stateNames = [...]string{
	StateUnknown:       "unknown",
	StateQueued:        "queued",
	StateSending:       "sending",
	StateSent:          "sent",
	StateDelivered:     "delivered",
	StateUndeliverable: "undeliverable",
	StateExpired:       "expired",
	StateRejected:      "rejected",
	StateFailed:        "failed",
	StateCanceled:      "canceled",
}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState reads the word String gives.
func ParseState(s string) (State, error) {
	for i, n := range stateNames {
		if n == s && State(i) != StateUnknown {
			return State(i), nil
		}
	}
	return StateUnknown, fmt.Errorf("unknown state %q", s)
}

// Final reports whether no transition leaves this state except an operator's
// retry. StateSent is not final by itself (see State).
func (s State) Final() bool {
	switch s {
	case StateDelivered, StateUndeliverable, StateExpired, StateRejected, StateFailed, StateCanceled:
		return true
	}
	return false
}

// MarshalText makes states readable in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the word String gives.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
