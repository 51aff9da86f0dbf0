package spool

import "time"

// alarm is a timer that remembers when it is set to fire.
type alarm struct {
	t  *time.Timer
	at time.Time
}

// C is nil while the alarm is not set, which disables its select case.
func (a *alarm) C() <-chan time.Time {
	if a.t == nil || a.at.IsZero() {
		return nil
	}
	return a.t.C
}

func (a *alarm) set(at, now time.Time) {
	d := max(at.Sub(now), 0)
	if a.t == nil {
		a.t = time.NewTimer(d)
	} else {
		a.t.Reset(d)
	}
	a.at = at
}

func (a *alarm) setEarlier(at, now time.Time) {
	if a.at.IsZero() || at.Before(a.at) {
		a.set(at, now)
	}
}

// fired records that the alarm's value was received.
func (a *alarm) fired() { a.at = time.Time{} }

func (a *alarm) stop() {
	if a.t != nil {
		a.t.Stop()
	}
	a.at = time.Time{}
}

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}
