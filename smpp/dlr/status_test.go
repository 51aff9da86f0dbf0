package dlr_test

import (
	"testing"

	"github.com/smsagent/smsagent/smpp/dlr"
)

func TestStatStatus(t *testing.T) {
	tests := map[string]dlr.Status{
		"DELIVRD": dlr.Delivered, "DELIVERED": dlr.Delivered, "delivrd": dlr.Delivered, " Delivrd ": dlr.Delivered,
		"UNDELIV": dlr.Undeliverable, "UNDELIVERABLE": dlr.Undeliverable,
		"EXPIRED": dlr.Expired,
		"REJECTD": dlr.Rejected, "REJECTED": dlr.Rejected,
		"DELETED": dlr.Failed, "UNKNOWN": dlr.Failed, "FAILED": dlr.Failed, "SKIPPED": dlr.Failed,
		"ACCEPTD": dlr.Intermediate, "ACCEPTED": dlr.Intermediate, "ENROUTE": dlr.Intermediate,
		"ACKED": dlr.Intermediate, "BUFFRED": dlr.Intermediate, "BUFFERD": dlr.Intermediate,
		"BUFFERED": dlr.Intermediate, "SCHEDULED": dlr.Intermediate,
	}
	for word, want := range tests {
		if got, ok := dlr.StatStatus(word); !ok || got != want {
			t.Errorf("StatStatus(%q) = %v, %v; want %v", word, got, ok, want)
		}
	}
	for _, word := range []string{"", "OK", "DELIVR", "0", "NACK"} {
		if got, ok := dlr.StatStatus(word); ok {
			t.Errorf("StatStatus(%q) = %v, want not ok", word, got)
		}
	}
}

func TestStateStatus(t *testing.T) {
	want := []struct {
		status dlr.Status
		name   string
	}{
		1: {dlr.Intermediate, "ENROUTE"},
		2: {dlr.Delivered, "DELIVERED"},
		3: {dlr.Expired, "EXPIRED"},
		4: {dlr.Failed, "DELETED"},
		5: {dlr.Undeliverable, "UNDELIVERABLE"},
		6: {dlr.Intermediate, "ACCEPTED"},
		7: {dlr.Failed, "UNKNOWN"},
		8: {dlr.Rejected, "REJECTED"},
		9: {dlr.Failed, "SKIPPED"},
	}
	for state := 0; state < 256; state++ {
		got, ok := dlr.StateStatus(uint8(state))
		if state < 1 || state > 9 {
			if ok {
				t.Errorf("StateStatus(%d) = %v, want not ok", state, got)
			}
			continue
		}
		if !ok || got != want[state].status || dlr.StateName(uint8(state)) != want[state].name {
			t.Errorf("StateStatus(%d) = %v, %v (%s); want %v (%s)", state, got, ok, dlr.StateName(uint8(state)), want[state].status, want[state].name)
		}
	}
	if got := dlr.StateName(0); got != "state(0)" {
		t.Errorf("StateName(0) = %q", got)
	}
}

func TestStatus_Final(t *testing.T) {
	for s, final := range map[dlr.Status]bool{
		0: false, dlr.Intermediate: false, dlr.Delivered: true, dlr.Undeliverable: true,
		dlr.Expired: true, dlr.Rejected: true, dlr.Failed: true, 99: false,
	} {
		if s.Final() != final {
			t.Errorf("%v.Final() = %v", s, s.Final())
		}
	}
	// The final words are the smsagent state names the agent maps by.
	for s, word := range map[dlr.Status]string{
		dlr.Delivered: "delivered", dlr.Undeliverable: "undeliverable", dlr.Expired: "expired",
		dlr.Rejected: "rejected", dlr.Failed: "failed", dlr.Intermediate: "intermediate",
	} {
		if s.String() != word {
			t.Errorf("String() = %q, want %q", s.String(), word)
		}
	}
}
