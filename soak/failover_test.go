package soak_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp/smsc"
)

// TestFailover_killDuringSwitch: two accounts on two simulators that issue
// the same message ids. The first stops in the middle of the load and the
// agent is killed with SIGKILL while it fails over (before, during and
// after failover.after); then the first comes back and new messages return
// to it. Every message has exactly one report, naming the account whose
// simulator has it; the receipts matched their own account (the backup
// reports everything undeliverable, so a receipt crossing accounts shows
// in the status); duplicates stay within the bound of the kills and the
// lost sessions.
func TestFailover_killDuringSwitch(t *testing.T) {
	r := newRig(t, "failover with SIGKILLs", simOptions())
	mitto := r.sim
	mittoAddr := mitto.Addr()
	bo := simOptions()
	bo.Rules = []smsc.Rule{{Prefix: "", Outcome: smsc.Undeliverable}}
	backup := smsc.New(bo)
	if err := backup.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = backup.Close(ctx)
	})
	r.writeAccounts(mittoAddr, backup.Addr())

	n := scale(1000, 5000)
	ids := r.bulk("f", n, 100)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(1, seed))
	p := r.start()
	r.waitAccepted(n / 4)
	stopped := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = mitto.Close(ctx)
	cancel()
	r.fault("mitto stopped after %d accepted", mitto.Stats().Accepted)
	// Receipts of what mitto accepted last went with it: those messages
	// are reported sent when retry.receipt_timeout (1 min) passes.
	// Kills while the agent fails over: the first once the agent has
	// seen mitto's sessions end and before it declares mitto down (within
	// failover.after, 1 s), the others once backup has taken some.
	r.eventually(10*time.Second, func() string {
		st, err := r.statusJSON()
		if err != nil {
			return fmt.Sprintf("status: %v", err)
		}
		for _, b := range st.Binds {
			if b.SMSC == "mitto" && b.State == "bound" {
				return "the agent to see mitto's sessions end"
			}
		}
		return ""
	})
	p.kill()
	kills := scale(3, 8)
	for k := range kills - 1 {
		p = r.start()
		want := backup.Stats().Accepted + 1 + rng.IntN(max(n/(2*kills), 1))
		r.eventually(60*time.Second, func() string {
			if got := backup.Stats().Accepted; got < want {
				return fmt.Sprintf("backup accepted %d, waiting for %d (kill %d)", got, want, k+2)
			}
			return ""
		})
		p.kill()
	}
	r.fault("%d × SIGKILL during the failover", kills)
	p = r.start()
	r.waitReports(n, time.Duration(scale(120, 600))*time.Second)
	t.Logf("all %d reported %s after mitto stopped", n, time.Since(stopped).Round(time.Millisecond))

	// The ledger over both simulators.
	byID, _ := r.reports()
	onMitto, onBackup := map[string]int{}, map[string]int{}
	for _, s := range mitto.Submits() {
		onMitto[s.Text]++
	}
	for _, s := range backup.Submits() {
		onBackup[s.Text]++
	}
	var lost, doubled, wrong []string
	dups, via := 0, map[string]int{}
	for _, id := range ids {
		reps := byID[id]
		switch {
		case len(reps) == 0:
			lost = append(lost, id)
			continue
		case len(reps) > 1:
			doubled = append(doubled, id)
		}
		rep := reps[0]
		via[rep.SMSC]++
		switch {
		case rep.SMSC == "mitto" && (rep.Status == delivered || rep.Status == "sent") && onMitto[text(id)] > 0:
		case rep.SMSC == "backup" && rep.Status == "undeliverable" && onBackup[text(id)] > 0:
		default:
			wrong = append(wrong, fmt.Sprintf("%s: %s via %q (%s)", id, rep.Status, rep.SMSC, rep.Error))
		}
		dups += max(0, onMitto[text(id)]+onBackup[text(id)]-1)
	}
	// Each kill resends what each account had answered and not committed;
	// each lost session what was in its windows.
	losses := max(0, mitto.Stats().Binds-0) + max(0, backup.Stats().Binds-sessions)
	bound := losses*3*window + (kills+1)*2*uncommitted
	r.row.lost += len(lost)
	r.row.dups += dups
	r.row.bound += bound
	for what, l := range map[string][]string{"without a report": lost, "reported twice": doubled,
		"with a wrong account or status": wrong} {
		if len(l) > 0 {
			t.Errorf("%d messages %s: %s", len(l), what, first(l, 10))
		}
	}
	if dups > bound {
		t.Errorf("%d messages sent more than once; the bound is %d", dups, bound)
	}
	t.Logf("ledger: %d messages via %v, %d lost, %d duplicates (bound %d)", n, via, len(lost), dups, bound)

	// Failback: mitto comes back; after failover.after bound, new
	// messages go to it.
	again := smsc.New(simOptions())
	if err := again.Listen(mittoAddr); err != nil {
		t.Skipf("mitto's port was taken meanwhile: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = again.Close(ctx)
	})
	back := time.Now()
	r.eventually(30*time.Second, func() string {
		out, _ := r.cli("status", "--config", r.cfgFile)
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "mitto" && f[1] == "up" {
				return ""
			}
		}
		return "status: mitto up again"
	})
	t.Logf("mitto up again %s after it returned", time.Since(back).Round(time.Millisecond))
	r.fault("mitto back")
	before := backup.Stats().Submits
	// Numbers of their own: the restarted simulator counts its ids from 1
	// again, and a receipt that beats its submit_sm_resp to the commit
	// would find the earlier message with that id and handset, already
	// delivered, and be taken for its repeat.
	var more []string
	var b strings.Builder
	for i := range 50 {
		id := fmt.Sprintf("g%d", i)
		fmt.Fprintf(&b, `{"id":%q,"to":"+3586%07d","text":%q}`+"\n", id, i, text(id))
		more = append(more, id)
	}
	r.drop("failback.ndjson", []byte(b.String()))
	r.row.messages += len(more)
	r.waitReports(n+50, 60*time.Second)
	byID, _ = r.reports()
	for _, id := range more {
		if reps := byID[id]; len(reps) != 1 || reps[0].SMSC != "mitto" || reps[0].Status != delivered {
			t.Errorf("%s after failback: %+v", id, reps)
		}
	}
	if got := backup.Stats().Submits - before; got != 0 {
		t.Errorf("backup got %d submits after mitto came back", got)
	}
	p.stop(10 * time.Second)
	r.checkStore()
}

// writeAccounts rewrites the configuration with two accounts, mitto and
// backup, on one route, and failover.after 1 s.
func (r *rig) writeAccounts(mitto, backup string) {
	r.t.Helper()
	account := func(name, addr string) string {
		return fmt.Sprintf(`  - name: %s
    address: %q
    system_id: agent
    password: %q
    sessions: %d
    window: %d
    response_timeout: 1s
    bind_timeout: 2s
    enquire_link: 1s
    receipt_grace: 2s
    reconnect_max: 2s
`, name, addr, password, sessions, window)
	}
	r.writeDoc("smscs:\n"+account("mitto", mitto)+account("backup", backup)+"failover:\n  after: 1s\n",
		"receipt_timeout: 1m")
}
