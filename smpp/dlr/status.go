package dlr

import (
	"fmt"
	"strings"
)

// Status is what a receipt says became of a message: still on its way, or
// one of the final outcomes. The words of the final ones are the names of
// the matching states of the smsagent domain, so the agent maps them by name.
type Status uint8

const (
	// Intermediate: the message is on its way (ENROUTE, ACCEPTD, BUFFRED,
	// …); a final receipt is still to come.
	Intermediate Status = iota + 1
	// Delivered: the handset has the message.
	Delivered
	// Undeliverable: the network gave up (UNDELIV).
	Undeliverable
	// Expired: the validity period passed before delivery.
	Expired
	// Rejected: the SMSC or the network refused the message (REJECTD).
	Rejected
	// Failed: any other end (DELETED, UNKNOWN, FAILED, SKIPPED, or a stat
	// word nobody can read).
	Failed
)

var statusNames = [...]string{
	0:             "unknown",
	Intermediate:  "intermediate",
	Delivered:     "delivered",
	Undeliverable: "undeliverable",
	Expired:       "expired",
	Rejected:      "rejected",
	Failed:        "failed",
}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Final reports whether no later receipt can change the outcome.
func (s Status) Final() bool { return s >= Delivered && s <= Failed }

// statWords maps the stat words of receipt texts, upper case, to a status.
// Appendix B of SMPP 3.4 names the seven-letter forms; the others are seen
// in the wild (see the table in the package documentation).
var statWords = map[string]Status{
	"DELIVRD":       Delivered,
	"DELIVERED":     Delivered,
	"UNDELIV":       Undeliverable,
	"UNDELIVERABLE": Undeliverable,
	"EXPIRED":       Expired,
	"REJECTD":       Rejected,
	"REJECTED":      Rejected,
	"DELETED":       Failed,
	"UNKNOWN":       Failed,
	"FAILED":        Failed,
	"SKIPPED":       Failed,
	"ACCEPTD":       Intermediate,
	"ACCEPTED":      Intermediate,
	"ENROUTE":       Intermediate,
	"ACKED":         Intermediate,
	"BUFFRED":       Intermediate,
	"BUFFERD":       Intermediate,
	"BUFFERED":      Intermediate,
	"SCHEDULED":     Intermediate,
}

// StatStatus maps a receipt's stat word, in any letter case, to a status;
// ok is false for a word the table does not know.
func StatStatus(word string) (s Status, ok bool) {
	s, ok = statWords[strings.ToUpper(strings.TrimSpace(word))]
	return s, ok
}

// stateNames are the message_state values of SMPP 3.4 §5.2.28, as the
// receipt's message_state TLV (§5.3.2.35) carries them; SKIPPED (9) comes
// from SMPP 5.0, which also defines 0 as SCHEDULED.
var stateNames = [...]string{
	1: "ENROUTE",
	2: "DELIVERED",
	3: "EXPIRED",
	4: "DELETED",
	5: "UNDELIVERABLE",
	6: "ACCEPTED",
	7: "UNKNOWN",
	8: "REJECTED",
	9: "SKIPPED",
}

// StateStatus maps a message_state value to a status; ok is false outside
// 1..9. Value 0 (SCHEDULED in SMPP 5.0) is deliberately not accepted: a
// 3.4 SMSC that sends a zero filler beside a text saying DELIVRD must not
// turn a delivered message into one that waits forever.
func StateStatus(state uint8) (s Status, ok bool) {
	if state < 1 || int(state) >= len(stateNames) {
		return 0, false
	}
	s, _ = StatStatus(stateNames[state])
	return s, true
}

// StateName is the SMPP name of a message_state value, or "state(N)".
func StateName(state uint8) string {
	if state >= 1 && int(state) < len(stateNames) {
		return stateNames[state]
	}
	return fmt.Sprintf("state(%d)", state)
}
