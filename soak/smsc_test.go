package soak_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// TestSMSC_faults runs messages through an SMSC that misbehaves in one way
// per case while they flow, and ends each with the ledger.
func TestSMSC_faults(t *testing.T) {
	n := scale(300, 3000)
	rounds := scale(2, 6)
	cases := []struct {
		name string
		opts func(*smsc.Options)
		// agent is extra smsc: keys of the agent's configuration.
		agent  []string
		during func(r *rig)
		// unmatched is how many unmatched-receipt reports the case makes.
		unmatched int
	}{
		{name: "no fault (baseline)", during: func(*rig) {}},
		{name: "connection reset mid-window", during: func(r *rig) {
			for k := range rounds {
				r.waitAccepted((k + 1) * n / (rounds + 2))
				r.sim.SetFaults(smsc.Faults{DisconnectAfter: 1, DisconnectRST: true})
			}
			r.fault("%d × RST at a submit", rounds)
		}},
		{name: "half-open link", opts: func(o *smsc.Options) {
			// The silent sessions stay bound on the SMSC's side until it
			// times them out; room for the new binds meanwhile, so the
			// agent's ESME_RALYBND back-off (30 s and more) is not what
			// the case measures.
			o.MaxBinds = 4 * sessions * (rounds + 1)
		}, during: func(r *rig) {
			for k := range rounds {
				r.waitAccepted((k + 1) * n / (rounds + 2))
				binds := r.sim.Stats().Binds
				r.sim.GoSilent("", 4*time.Second)
				// enquire_link every 1 s finds the dead link and the
				// agent binds again (after its 1 s+ backoff).
				r.eventually(60*time.Second, func() string {
					if r.sim.Stats().Binds < binds+sessions {
						return "the agent to find the silent links and bind again"
					}
					return ""
				})
			}
			r.fault("%d × all links silent 4 s (enquire_link 1 s)", rounds)
		}},
		{name: "responses late past timeout", during: func(r *rig) {
			r.waitAccepted(n / 4)
			r.sim.SetFaults(smsc.Faults{Delay: 1500 * time.Millisecond})
			// Each submit times out before its answer and frees its slot
			// after 1 s: about sessions × window a second pass, and the
			// late answers come back all the while.
			late := scale(75, 300)
			from := r.sim.Stats().Accepted
			r.eventually(time.Duration(late/(sessions*window)*3+10)*time.Second, func() string {
				if got := r.sim.Stats().Accepted - from; got < late {
					return fmt.Sprintf("%d of %d messages passed while responses are late", got, late)
				}
				return ""
			})
			r.sim.SetFaults(smsc.Faults{})
			r.fault("responses 1.5 s late (timeout 1 s) for %d+ submits", late)
		}},
		{name: "responses never sent", during: func(r *rig) {
			r.sim.SetFaults(smsc.Faults{DropEvery: 7})
			r.waitAccepted(n / 2)
			r.sim.SetFaults(smsc.Faults{})
			r.fault("every 7th response dropped for %d submits", n/2)
		}},
		{name: "throttling storm", during: func(r *rig) {
			// Three kinds: now and then, a rate sold per second, and
			// everything refused for a while. Each ESME_RTHROTTLED
			// pauses the whole pool for 1 s (longer only while all is
			// refused) and halves its rate.
			r.sim.SetFaults(smsc.Faults{ThrottleEvery: 50})
			r.waitAccepted(n / 3)
			r.sim.SetFaults(smsc.Faults{ThrottleRate: 100})
			r.waitAccepted(n / 2)
			storm := time.Duration(scale(3, 20)) * time.Second
			r.sim.SetFaults(smsc.Faults{ThrottleUntil: time.Now().Add(storm)})
			r.fault("every 50th throttled, then over 100/s, then all for %s", storm)
		}},
		{name: "binds refused", agent: []string{"reconnect_max: 5s"}, during: func(r *rig) {
			r.waitAccepted(n / 4)
			refuse := time.Duration(scale(5, 120)) * time.Second
			r.sim.SetFaults(smsc.Faults{RefuseBinds: pdu.StatusSysErr, RefuseBindsUntil: time.Now().Add(refuse)})
			r.sim.Drop("", false)
			r.fault("links cut, binds refused for %s (ESME_RSYSERR; reconnect 1-5 s)", refuse)
		}},
		{name: "unbind from the SMSC", during: func(r *rig) {
			for k := range rounds {
				r.waitAccepted((k + 1) * n / (rounds + 2))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = r.sim.Unbind(ctx, "")
				cancel()
			}
			r.fault("%d × unbind from the SMSC", rounds)
		}},
		{name: "generic_nack to submits", during: func(r *rig) {
			r.sim.SetFaults(smsc.Faults{NackEvery: 9})
			r.waitAccepted(n / 2)
			r.sim.SetFaults(smsc.Faults{})
			r.fault("every 9th submit answered generic_nack")
		}},
		{name: "SMSC restart, other id style", during: func(r *rig) {
			r.waitAccepted(n / 3)
			r.sim.Restart(smsc.DecimalID, smsc.DecimalID)
			r.waitAccepted(2 * n / 3)
			r.sim.Restart(smsc.HexID, smsc.DecimalID)
			r.fault("2 restarts: hex → decimal → hex with decimal receipts")
		}},
		{name: "duplicate receipts", opts: func(o *smsc.Options) { o.DuplicateReceipts = true },
			during: func(r *rig) { r.fault("every receipt sent twice") }},
		{name: "receipts before submit_sm_resp", opts: func(o *smsc.Options) { o.ReceiptsFirst = true },
			during: func(r *rig) { r.fault("every receipt before its response") }},
		{name: "receipts for unknown ids", unmatched: scale(20, 200), during: func(r *rig) {
			k := scale(20, 200)
			r.waitAccepted(n / 3)
			for i := range k {
				if err := r.sim.InjectReceipt("agent", fmt.Sprintf("FFFF%04X", i), "358401234567", "12345", smsc.Delivered); err != nil {
					r.t.Fatal(err)
				}
			}
			r.fault("%d receipts for ids never issued", k)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := simOptions()
			if c.opts != nil {
				c.opts(&o)
			}
			r := newRig(t, c.name, o, c.agent...)
			ids := r.bulk("f", n, 50)
			p := r.start()
			c.during(r)
			r.waitReports(n, 180*time.Second)
			// A response the SMSC never sent leaves its id unknown to the
			// agent, so that message's receipt matches nothing: an
			// unmatched report each (the message went out again).
			unmatched := c.unmatched + r.sim.Stats().Dropped
			if unmatched > 0 {
				r.eventually(30*time.Second, func() string {
					if _, u := r.reports(); len(u) < unmatched {
						return fmt.Sprintf("%d unmatched reports, want %d", len(u), unmatched)
					}
					return ""
				})
			}
			if !p.running() {
				t.Fatal("the agent exited")
			}
			p.stop(10 * time.Second)
			r.ledger(ids)
			// A response lost with its session (reset, silence, unbind)
			// also leaves an id the agent never learned: the message went
			// out again, and the first copy's receipt matches nothing. So
			// each duplicate the SMSC accepted may add one.
			if _, u := r.reports(); len(u) < unmatched || len(u) > unmatched+r.row.dups {
				t.Errorf("%d unmatched reports, want %d plus at most one per duplicate (%d)", len(u), unmatched, r.row.dups)
			}
		})
	}
}

// TestSMSC_moBurst sends a burst of incoming SMS and kills the agent in
// the middle of it: every one is in inbox/ once, since the agent answers
// deliver_sm only after the commit (a message acknowledged but not stored
// would be missing after the kill).
func TestSMSC_moBurst(t *testing.T) {
	r := newRig(t, "MO burst with a SIGKILL", simOptions())
	n := scale(1000, 10000)
	p := r.start()
	r.waitBound(20 * time.Second)
	texts := make([]string, n)
	for i := range n {
		texts[i] = fmt.Sprintf("mo %d", i)
		if _, err := r.sim.InjectMO("agent", fmt.Sprintf("+35840%07d", i), "12345", texts[i],
			smsc.MOOptions{Attempts: 100}); err != nil {
			t.Fatal(err)
		}
	}
	r.eventually(60*time.Second, func() string {
		if a := r.sim.Stats().MOAcked; a < n/3 {
			return fmt.Sprintf("%d MO acknowledged, waiting for %d to kill", a, n/3)
		}
		return ""
	})
	p.kill()
	p = r.start()
	r.eventually(time.Duration(scale(60, 300))*time.Second, func() string {
		if got := len(r.inboxFiles(".mo.json")); got < n {
			return fmt.Sprintf("%d MO files in inbox/, want %d; simulator %+v", got, n, r.sim.Stats())
		}
		return ""
	})
	p.stop(10 * time.Second)
	seen := r.moTexts()
	lost, doubled := 0, 0
	for _, tx := range texts {
		switch seen[tx] {
		case 0:
			lost++
		case 1:
		default:
			doubled++
		}
	}
	r.row.messages, r.row.lost, r.row.dups = n, lost, doubled
	r.fault("%d MO in a burst, SIGKILL after a third acknowledged", n)
	if lost > 0 || doubled > 0 {
		t.Errorf("%d MO lost, %d written twice", lost, doubled)
	}
	if len(seen) != n {
		t.Errorf("%d distinct MO texts in inbox/, want %d", len(seen), n)
	}
}

// TestSMSC_moLostAnswers loses the agent's answers to incoming SMS with
// their connection (the SMSC resets the link as each answer arrives), so
// the SMSC sends those deliver_sm again on the next session: each MO is in
// inbox/ once, and every redelivery the agent dropped is counted in
// smsagent_mo_duplicates_total and logged at info.
func TestSMSC_moLostAnswers(t *testing.T) {
	r := newRig(t, "MO with answers lost", simOptions())
	n := scale(300, 3000)
	lost := scale(5, 30)
	p := r.start()
	r.waitBound(20 * time.Second)
	texts := make([]string, n)
	for i := range n {
		if i%(n/lost) == 0 {
			r.sim.SetFaults(smsc.Faults{LoseMOResponses: 1})
		}
		texts[i] = fmt.Sprintf("mo %d", i)
		o := smsc.MOOptions{Attempts: 100}
		if i%10 == 0 {
			texts[i] = strings.Repeat(fmt.Sprintf("long mo %d. ", i), 20) // three parts
		}
		mo, err := r.sim.InjectMO("agent", fmt.Sprintf("+35840%07d", i), "12345", texts[i], o)
		if err != nil {
			t.Fatal(err)
		}
		if i%(n/lost) == 0 {
			// One lost answer at a time: wait for the reset it causes.
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			acked, err := mo.Wait(ctx)
			cancel()
			if err != nil || !acked {
				t.Fatalf("MO %d: acked %v, %v", i, acked, err)
			}
		}
	}
	r.eventually(time.Duration(scale(60, 300))*time.Second, func() string {
		if got := len(r.inboxFiles(".mo.json")); got < n {
			return fmt.Sprintf("%d MO files in inbox/, want %d; simulator %+v", got, n, r.sim.Stats())
		}
		return ""
	})
	// Every MO is in inbox/ before the redelivery of the last lost answer
	// comes: it comes on the next session, after the reconnect's backoff.
	var metrics string
	r.eventually(30*time.Second, func() string {
		_, m, err := r.http("GET", "/metrics", "", nil)
		if err != nil {
			return err.Error()
		}
		metrics = m
		if c := moDuplicates(m); c < lost {
			return fmt.Sprintf("%d redeliveries counted, waiting for %d", c, lost)
		}
		return ""
	})
	p.stop(10 * time.Second)
	seen := r.moTexts()
	missing, doubled := 0, 0
	for _, tx := range texts {
		switch seen[tx] {
		case 0:
			missing++
		case 1:
		default:
			doubled++
		}
	}
	r.row.messages, r.row.lost, r.row.dups = n, missing, doubled
	r.fault("%d MO, %d answers lost with their connection", n, lost)
	if missing > 0 || doubled > 0 {
		t.Errorf("%d MO lost, %d written twice", missing, doubled)
	}
	counted := moDuplicates(metrics)
	logged := strings.Count(r.log.String(), "is a redelivery of one stored already")
	t.Logf("%d answers lost, %d redeliveries dropped and counted", lost, counted)
	// Each lost answer brings its part back; so may the others in flight
	// on the connection the reset ended (stored and answered, the answer
	// lost with it), at most the simulator's window each.
	if counted < lost || counted > lost*(simWindow+1) || logged != counted {
		t.Errorf("%d redeliveries counted, %d logged; want from %d to %d, all logged", counted, logged, lost, lost*(simWindow+1))
	}
}

// moDuplicates sums smsagent_mo_duplicates_total in a /metrics page.
func moDuplicates(metrics string) int {
	counted := 0
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, "smsagent_mo_duplicates_total{") {
			var v int
			if _, err := fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &v); err == nil {
				counted += v
			}
		}
	}
	return counted
}
