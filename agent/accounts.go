package agent

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// account is one SMSC account (an entry of smscs:, or the smsc: block
// named "default"): its pool, its encoding rules, its budget and its
// failover state. Everything but the state is set before Run and never
// changes.
type account struct {
	name string
	cfg  *config.SMSC
	pool Pool
	enc  *encoder
	// budget bounds the account's parts submitted and not yet settled;
	// the duplicate bound is per account.
	budget *budget
	// keyPrefix goes before every SMSC index key of the account (SMSC ids
	// of submit_sm_resp and receipts, incoming SMS keys and fingerprints):
	// two accounts issue the same ids. Empty for the account that owns
	// the keys written by releases with one account (legacy), so their
	// receipts still match after an upgrade.
	keyPrefix string
	// state is written by the monitor only.
	state atomic.Pointer[accountState]
	// stallRetry is, while the account is stalled (dispatch.go), when its
	// messages are looked at again, in Unix nanoseconds; 0 when it is not
	// stalled. Written by the dispatcher's send, read by its claimer.
	stallRetry atomic.Int64
	// stallSince is when the current stall began (Unix nanoseconds), 0
	// when the account is not stalled; stallAnswered is budget.answered
	// when the stall was last seen: once that moves (a part answered, or
	// a session's end settling its parts) the stall is over, whoever looks.
	stallSince    atomic.Int64
	stallAnswered atomic.Uint64
}

// stalled reports whether the account is stalled, and since when.
func (ac *account) stalled() (time.Time, bool) {
	n := ac.stallSince.Load()
	if n == 0 || ac.budget.answered.Load() != ac.stallAnswered.Load() {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// stalledUntil reports whether the account is stalled at now, and until
// when its messages wait.
func (ac *account) stalledUntil(now time.Time) (time.Time, bool) {
	n := ac.stallRetry.Load()
	if _, ok := ac.stalled(); !ok || n == 0 || now.UnixNano() >= n {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// accountState is the failover view of an account at one moment.
type accountState struct {
	// up: messages routed to the account go to it (and wait for it while
	// it is not bound). Down: they go to the next account of their route.
	up    bool
	since time.Time // when up last changed (start: the start)
	// bound and boundChange: whether a session that can submit is bound,
	// and since when that is so.
	bound       bool
	boundChange time.Time
}

// key is an SMSC index key of this account.
func (ac *account) key(k string) string {
	if k == "" || ac.keyPrefix == "" {
		return k
	}
	return ac.keyPrefix + k
}

// keys prefixes every key of a receipt's candidates in place.
func (ac *account) keys(ks []string) []string {
	if ac.keyPrefix == "" {
		return ks
	}
	for i, k := range ks {
		ks[i] = ac.key(k)
	}
	return ks
}

// legacyAccount is the account that owns what releases with one account
// stored: the one named "default", else the only one, else none.
func legacyAccount(accts []*config.SMSC) string {
	for _, a := range accts {
		if a.Name == config.DefaultAccount {
			return a.Name
		}
	}
	if len(accts) == 1 {
		return accts[0].Name
	}
	return ""
}

// router decides, when a message is claimed, which account sends it.
type router struct {
	cfg      *config.Config
	accounts []*account
	byName   map[string]*account
	legacy   *account // nil when no account owns the keys of old releases
	after    time.Duration
	onStatus []pdu.Status
	log      *slog.Logger
	// wake is called when an account comes up or is bound, or goes down:
	// messages may move.
	wake func()
}

// routing is the router's answer for one message.
type routing struct {
	acct *account
	// wait is set when the message cannot go now; until is when to look
	// again, reason why (for the log and status).
	wait   bool
	until  time.Time
	reason string
	// fail is set when the message can never go (the reason says why).
	fail string
	// failover: a failover status from this account may move the message
	// on (it is not pinned and no part of it is accepted anywhere).
	failover bool
}

// route picks the account of r at now (SMSC account rules of the README,
// "Routing and failover"):
//   - a message a part of which an account accepted stays on it;
//   - a pinned message waits for its account;
//   - else the first account of the destination's route that is up and
//     not in r.Avoid; while that account is up but not bound the message
//     waits, until the account is bound again or declared down.
func (rt *router) route(r *smsagent.Record, now time.Time) routing {
	if name, ok := acceptedBy(r); ok {
		ac := rt.byName[name]
		if name == "" {
			ac = rt.legacy
		}
		if ac == nil {
			return routing{fail: fmt.Sprintf("a part was accepted by SMSC account %q, which is no longer configured; "+
				"the rest cannot be sent through another account", name)}
		}
		return rt.waitFor(ac, now, false)
	}
	if r.SMSC != "" {
		ac := rt.byName[r.SMSC]
		if ac == nil {
			return routing{fail: fmt.Sprintf("pinned to SMSC account %q, which is not configured", r.SMSC)}
		}
		return rt.waitFor(ac, now, false)
	}
	route, ok := rt.cfg.Route(r.To)
	if !ok {
		return routing{fail: fmt.Sprintf("no route matches the destination %s", r.To.String())}
	}
	tried := 0
	var soonest time.Duration // the shortest wait of the route's accounts
	for _, name := range route.SMSCs {
		ac := rt.byName[name]
		if ac == nil || slices.Contains(r.Avoid, name) {
			continue
		}
		tried++
		st := ac.state.Load()
		if !st.up {
			if w := downWait(st, now); soonest == 0 || w < soonest {
				soonest = w
			}
			continue
		}
		if bound(ac.pool) {
			return routing{acct: ac, failover: true}
		}
		// Up but not bound: wait for it, no longer than until it is
		// declared down, and look again soon (it may be bound in a
		// moment: a reconnect takes milliseconds).
		until := now.Add(waitRecheck)
		if down := st.boundChange.Add(rt.after); down.After(now) && down.Before(until) {
			until = down
		}
		return routing{acct: ac, wait: true, until: until,
			reason: fmt.Sprintf("SMSC account %s is not bound (down after failover.after)", name)}
	}
	if tried == 0 {
		last := r.LastError
		if last == "" {
			last = "refused"
		}
		return routing{fail: fmt.Sprintf("every SMSC account of its route refused it (%s): %s",
			strings.Join(r.Avoid, ", "), last)}
	}
	return routing{wait: true, until: now.Add(soonest),
		reason: "every SMSC account of its route is down: " + strings.Join(route.SMSCs, ", ")}
}

// waitFor is the routing to one account without a choice: now if it is
// bound, else later.
func (rt *router) waitFor(ac *account, now time.Time, failover bool) routing {
	if bound(ac.pool) {
		return routing{acct: ac, failover: failover}
	}
	return routing{acct: ac, wait: true, until: now.Add(downWait(ac.state.Load(), now)),
		reason: fmt.Sprintf("SMSC account %s is not bound", ac.name)}
}

// maxDownWait caps downWait.
const maxDownWait = time.Minute

// downWait is how long a message that waits for an account without a
// bound session stays in the queue before it is looked at again: a quarter
// of the time the account has been unbound, from waitRecheck to
// maxDownWait. A reconnect after a blip is seen within a second; during a
// long outage the waiting messages cost a commit each a minute, not each
// second, and are sent at most a minute after the account is back.
func downWait(st *accountState, now time.Time) time.Duration {
	return min(max(now.Sub(st.boundChange)/4, waitRecheck), maxDownWait)
}

// waitRecheck is how long a message that waits for an account which may
// be bound any moment stays in the queue before it is looked at again. The
// dispatcher claims nothing while no account is bound, so this costs a
// commit a second per waiting message only while another account is bound.
const waitRecheck = time.Second

// acceptedBy is the account that accepted a part of r ("" for a part
// accepted by a release with one account), ok when one did.
func acceptedBy(r *smsagent.Record) (string, bool) {
	for _, p := range r.Parts {
		if p.State == smsagent.StateSent || (p.State.Final() && p.SMSCID != "") {
			return p.SMSC, true
		}
	}
	if !r.Submitted.IsZero() {
		for _, p := range r.Parts {
			if p.SMSC != "" {
				return p.SMSC, true
			}
		}
		return "", true
	}
	return "", false
}

// isFailoverStatus reports whether st is one of failover.on_status.
func (rt *router) isFailoverStatus(st pdu.Status) bool {
	return slices.Contains(rt.onStatus, st)
}

// anyBound reports whether an account has a session that can submit.
func (rt *router) anyBound() bool {
	for _, ac := range rt.accounts {
		if bound(ac.pool) {
			return true
		}
	}
	return false
}

// anyTakes reports whether an account is bound and not stalled at now;
// when none is, next is the soonest a stalled one is tried again (zero
// when none is stalled).
func (rt *router) anyTakes(now time.Time) (ok bool, next time.Time) {
	for _, ac := range rt.accounts {
		if !bound(ac.pool) {
			continue
		}
		until, stalled := ac.stalledUntil(now)
		if !stalled {
			return true, time.Time{}
		}
		if next.IsZero() || until.Before(next) {
			next = until
		}
	}
	return false, next
}

// monitorInterval is how often the monitor looks at the pools: the
// precision of failover.after.
const monitorInterval = 100 * time.Millisecond

// monitor keeps every account's failover state until ctx ends: an account
// with no bound session for failover.after goes down, one bound for
// failover.after comes up again (failback). It is the only writer of the
// states.
func (rt *router) monitor(ctx context.Context, clock func() time.Time) {
	t := time.NewTicker(monitorInterval)
	defer t.Stop()
	for {
		rt.observe(clock())
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// observe updates every account's state from its pool at now.
func (rt *router) observe(now time.Time) {
	changed := false
	for _, ac := range rt.accounts {
		old := ac.state.Load()
		st := *old
		if b := bound(ac.pool); b != st.bound {
			st.bound, st.boundChange = b, now
			changed = changed || b
		}
		switch {
		case st.up && !st.bound && now.Sub(st.boundChange) >= rt.after:
			st.up, st.since = false, now
			changed = true
			rt.log.Warn("agent: SMSC account down; its messages go to the next account of their route",
				"smsc", ac.name, "unbound_since", st.boundChange, "failing_over_to", rt.nextUp(ac))
		case !st.up && st.bound && now.Sub(st.boundChange) >= rt.after:
			st.up, st.since = true, now
			changed = true
			rt.log.Info("agent: SMSC account up again; new messages go back to it", "smsc", ac.name,
				"bound_since", st.boundChange)
		}
		if st != *old {
			ac.state.Store(&st)
		}
	}
	if changed {
		rt.wake()
	}
}

// nextUp names the accounts that take over while ac is down: the next up
// account of every route that lists ac.
func (rt *router) nextUp(ac *account) string {
	var names []string
	for _, route := range rt.cfg.EffectiveRoutes() {
		i := slices.Index(route.SMSCs, ac.name)
		if i < 0 {
			continue
		}
		for _, n := range route.SMSCs[i+1:] {
			if o := rt.byName[n]; o != nil && o.state.Load().up {
				if !slices.Contains(names, n) {
					names = append(names, n)
				}
				break
			}
		}
	}
	return strings.Join(names, ", ")
}
