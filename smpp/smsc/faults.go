package smsc

import (
	"time"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// Faults are misbehaviours of real SMSCs the simulator can be told to
// show, changed at run time with SetFaults. The zero value is a
// well-behaved SMSC. Counts ("every Nth") run over every submission
// (submit_sm, data_sm, submit_multi) on any connection, from the last
// SetFaults.
type Faults struct {
	// ThrottleEvery answers every Nth submission ESME_RTHROTTLED.
	ThrottleEvery int
	// ThrottleUntil answers every submission ESME_RTHROTTLED until then
	// (Options.Clock): a throttle storm.
	ThrottleUntil time.Time
	// ThrottleRate accepts at most this many submissions in each second
	// (counted in whole seconds of Options.Clock, as SMSCs that sell a
	// rate count them) and answers the rest ESME_RTHROTTLED.
	ThrottleRate int
	// Delay holds every submission's response back this long.
	Delay time.Duration
	// DropEvery never answers every Nth submission. The message is still
	// accepted, recorded and receipted: the response got lost, not the
	// message, which is the case that tempts an ESME to send it twice.
	DropEvery int
	// NackEvery answers every Nth submission with generic_nack carrying
	// NackStatus (default ESME_RSYSERR).
	NackEvery  int
	NackStatus pdu.Status
	// DisconnectAfter drops the connection when the Nth submission
	// arrives, before answering it (it is not accepted), with a RST when
	// DisconnectRST is set, else a FIN.
	DisconnectAfter int
	DisconnectRST   bool
	// RefuseBinds answers binds with this status while RefuseBindsUntil
	// has not passed or RefuseBindsCount binds remain to refuse.
	RefuseBinds      pdu.Status
	RefuseBindsUntil time.Time
	RefuseBindsCount int
	// LoseMOResponses loses the next this many deliver_sm_resp the ESME
	// sends for MO parts: when one arrives the simulator drops the
	// connection with a RST before taking it in, as when the link breaks
	// after the ESME answered, and offers the part again on the next
	// session. It counts down as answers are lost.
	LoseMOResponses int
}

// verdict is what the faults make of one submission.
type verdict uint8

const (
	verdictNormal verdict = iota
	verdictDisconnect
	verdictDrop
	verdictNack
	verdictThrottle
)

// submitVerdictLocked counts a submission and applies the faults to it.
func (s *Server) submitVerdictLocked(now time.Time) verdict {
	s.faultN++
	n, f := s.faultN, &s.faults
	every := func(k int) bool { return k > 0 && n%k == 0 }
	switch {
	case f.DisconnectAfter > 0 && n == f.DisconnectAfter:
		return verdictDisconnect
	case every(f.DropEvery):
		return verdictDrop
	case every(f.NackEvery):
		return verdictNack
	case now.Before(f.ThrottleUntil), every(f.ThrottleEvery):
		return verdictThrottle
	case f.ThrottleRate > 0:
		if sec := now.Unix(); sec != s.rateSecond {
			s.rateSecond, s.rateCount = sec, 0
		}
		if s.rateCount >= f.ThrottleRate {
			return verdictThrottle
		}
		s.rateCount++
	}
	return verdictNormal
}

// bindRefusalLocked says whether the faults refuse this bind, and with
// which status.
func (s *Server) bindRefusalLocked(now time.Time) (pdu.Status, bool) {
	f := &s.faults
	if f.RefuseBinds == pdu.StatusOK {
		return 0, false
	}
	if f.RefuseBindsCount > 0 {
		f.RefuseBindsCount--
		return f.RefuseBinds, true
	}
	if now.Before(f.RefuseBindsUntil) {
		return f.RefuseBinds, true
	}
	return 0, false
}

// SetFaults replaces the faults and restarts their counts.
func (s *Server) SetFaults(f Faults) {
	if f.NackStatus == pdu.StatusOK {
		f.NackStatus = pdu.StatusSysErr
	}
	s.mu.Lock()
	s.faults = f
	s.faultN = 0
	s.mu.Unlock()
	s.log.Info("smsc: faults set", "faults", f)
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}
