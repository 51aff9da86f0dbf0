package agent_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp/dlr"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// upgradeManifest is the part of testdata/upgrade/manifest.json the tests
// read; gen.go in that folder wrote both files.
type upgradeManifest struct {
	Schema   int `json:"schema"`
	Messages []struct {
		ID         smsagent.MessageID `json:"id"`
		Role       string             `json:"role"`
		ClientID   string             `json:"client_id"`
		To         string             `json:"to"`
		State      string             `json:"state"`
		Final      bool               `json:"final"`
		Attempts   int                `json:"attempts"`
		ReceivedAt time.Time          `json:"received_at"`
		Due        *time.Time         `json:"due"`
		Parts      []struct {
			Seq     int    `json:"seq"`
			State   string `json:"state"`
			SMSCID  string `json:"smsc_id"`
			SMSCKey string `json:"smsc_key"`
			Receipt string `json:"receipt"`
		} `json:"parts"`
	} `json:"messages"`
	Stats         map[string]int `json:"stats"`
	Awaiting      int            `json:"awaiting"`
	EventsPending int            `json:"events_pending"`
}

// openUpgradeFixture copies the schema 4 fixture into a temporary folder and
// opens it for writing, as an upgraded agent would, with the clock at
// clock.
func openUpgradeFixture(t *testing.T, clock time.Time) (*outbox.Store, upgradeManifest) {
	t.Helper()
	var m upgradeManifest
	b, err := os.ReadFile(filepath.Join("testdata", "upgrade", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(filepath.Join("testdata", "upgrade", "schema4.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "outbox.db")
	if err := os.WriteFile(path, db, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := outbox.Open(path, outbox.Options{Clock: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return st, m
}

// TestUpgrade_schema4FixtureOpens shows that the upgrade fixture is what its
// manifest says, read by this release: the states, parts, SMSC ids and keys
// of every message, the counters, and that the receipts the manifest gives
// match the parts still waiting for them. Later releases extend it.
func TestUpgrade_schema4FixtureOpens(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2024, 1, 15, 9, 10, 0, 0, time.UTC) // the fixture's last step was 09:05
	st, m := openUpgradeFixture(t, clock)
	if m.Schema != 4 {
		t.Fatalf("manifest schema %d, want 4", m.Schema)
	}
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	recs, err := st.List(ctx, outbox.ListQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(m.Messages) {
		t.Fatalf("%d messages stored, manifest lists %d", len(recs), len(m.Messages))
	}
	var receipts []smsagent.Receipt
	var awaiting []smsagent.MessageID
	for i, want := range m.Messages {
		r := recs[i]
		if r.ID != want.ID || r.State.String() != want.State || r.Final != want.Final || r.To.String() != want.To ||
			r.ClientID != want.ClientID || r.Attempts != want.Attempts || !r.ReceivedAt.Equal(want.ReceivedAt) {
			t.Errorf("message %d: stored %s %s final=%v to %s id %q attempts %d received %s; manifest %+v",
				want.ID, r.ID, r.State, r.Final, r.To, r.ClientID, r.Attempts, r.ReceivedAt, want)
		}
		if want.Due != nil && !r.Due.Equal(*want.Due) {
			t.Errorf("message %d: due %s, manifest %s", want.ID, r.Due, want.Due)
		}
		if len(r.Parts) != len(want.Parts) {
			t.Errorf("message %d: %d parts, manifest %d", want.ID, len(r.Parts), len(want.Parts))
			continue
		}
		for j, wp := range want.Parts {
			p := r.Parts[j]
			if p.State.String() != wp.State || p.SMSCID != wp.SMSCID || (wp.SMSCID != "" && dlr.Key(p.SMSCID) != wp.SMSCKey) {
				t.Errorf("message %d part %d: %s %q; manifest %+v", want.ID, wp.Seq, p.State, p.SMSCID, wp)
			}
			if wp.Receipt == "" || p.State.Final() {
				continue
			}
			// Read as agent/inbound.go reads a receipt, rule auto.
			rc, err := dlr.Parse(dlr.Input{ESMClass: byte(pdu.ESMTypeDeliveryReceipt), Message: []byte(wp.Receipt)}, dlr.Options{})
			if err != nil {
				t.Fatalf("message %d part %d: receipt %q: %v", want.ID, wp.Seq, wp.Receipt, err)
			}
			keys := dlr.Candidates(rc.ID, dlr.Auto)
			if len(keys) == 0 || keys[0] != wp.SMSCKey {
				t.Errorf("message %d part %d: receipt keys %q, stored key %q", want.ID, wp.Seq, keys, wp.SMSCKey)
			}
			receipts = append(receipts, smsagent.Receipt{
				SMSCID: rc.ID, Keys: keys, State: smsagent.StateDelivered, Stat: rc.Fields.Stat, Err: rc.Fields.Err,
				Done: rc.Done, Received: clock, Source: want.To[1:], Text: rc.Raw,
			})
			if r.State == smsagent.StateSent {
				awaiting = append(awaiting, r.ID)
			}
		}
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for s, n := range stats.ByState {
		if m.Stats[s.String()] != n {
			t.Errorf("%d messages %s, manifest %d", n, s, m.Stats[s.String()])
		}
	}
	if stats.Awaiting != m.Awaiting || stats.Events != m.EventsPending {
		t.Errorf("awaiting %d, events %d; manifest %d, %d", stats.Awaiting, stats.Events, m.Awaiting, m.EventsPending)
	}

	// The receipts of the parts the old release sent match them.
	outs, err := st.ApplyReceipts(ctx, receipts)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if o != smsagent.ReceiptMatched {
			t.Errorf("receipt %q: %s", receipts[i].Text, o)
		}
	}
	for _, id := range slices.Compact(awaiting) {
		r, err := st.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.State != smsagent.StateDelivered {
			t.Errorf("message %s after its receipts: %s", id, r.State)
		}
	}

	// The client id still suppresses a duplicate.
	for _, want := range m.Messages {
		if want.ClientID == "" {
			continue
		}
		to, err := smsagent.ParseNumber(want.To)
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Enqueue(ctx, smsagent.Batch{Claim: "again", Messages: []smsagent.Message{
			{ClientID: want.ClientID, To: to, Text: "again"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Duplicates) != 1 || res.Duplicates[0].MessageID != want.ID {
			t.Errorf("client id %q again: %+v, want a duplicate of %d", want.ClientID, res, want.ID)
		}
	}

	// Every queued message is due; the half-sent one is claimed for its
	// second part only (its first was accepted, and has had its receipt
	// above).
	claimed, err := st.Claim(ctx, clock, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []smsagent.MessageID
	for _, r := range claimed {
		ids = append(ids, r.ID)
	}
	for _, want := range m.Messages {
		if want.State == "queued" && !slices.Contains(ids, want.ID) {
			t.Errorf("queued message %d not claimed (claimed %v)", want.ID, ids)
		}
		if want.Role != "part2-queued" {
			continue
		}
		for _, r := range claimed {
			if r.ID == want.ID && (len(r.Parts) != 2 || r.Parts[0].SMSCID != want.Parts[0].SMSCID ||
				r.Parts[0].State == smsagent.StateSending || r.Parts[1].State != smsagent.StateSending) {
				t.Errorf("message %d claimed with parts %+v, want part 1 kept (delivered by its receipt) and part 2 sending", want.ID, r.Parts)
			}
		}
	}
	if len(ids) != m.Stats["queued"] {
		t.Errorf("claimed %v, manifest has %d queued", ids, m.Stats["queued"])
	}
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestUpgrade_twoAccounts runs this release on the database of the
// previous one (the schema 4 fixture) with two accounts, default and
// backup, and a route that sends +1 to backup: the queued messages go out
// through the route of their destination (the half-sent one on default,
// which has its first part), the receipts of what the old release sent
// match when they come on default's binds, and the same receipts coming on
// backup's binds match nothing (backup's ids are its own).
func TestUpgrade_twoAccounts(t *testing.T) {
	_, m := openUpgradeFixture(t, time.Date(2024, 1, 15, 9, 10, 0, 0, time.UTC))
	def := simulator(t, smsc.Options{})
	backup := simulator(t, smsc.Options{})
	cfg := accountsConfigOf(t, []string{"default=" + def.Addr(), "backup=" + backup.Addr()}, `routes:
  - to: ["+1"]
    smscs: [backup]
  - smscs: [default, backup]
failover:
  after: 1s
`)
	db, err := os.ReadFile(filepath.Join("testdata", "upgrade", "schema4.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Store.Path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.Store.Path, db, 0o600); err != nil {
		t.Fatal(err)
	}
	// The fixture's clock, running: its queued messages expire two days
	// after 2024-01-15 09:00.
	base, started := time.Date(2024, 1, 15, 9, 10, 0, 0, time.UTC), time.Now()
	clock := func() time.Time { return base.Add(time.Since(started)) }
	r := start(t, cfg, agent.Options{TunePool: fastPool, Clock: clock})
	testutil.Eventually(t, 10*time.Second, "both accounts bound", func() bool {
		st, err := r.a.Status(context.Background())
		return err == nil && st.SMSCs[0].Bound > 0 && st.SMSCs[1].Bound > 0
	})

	// The old release's receipts, first on backup's binds, then on
	// default's.
	type waiting struct{ id, handset string }
	var owed []waiting
	for _, msg := range m.Messages {
		for _, p := range msg.Parts {
			if p.Receipt != "" && p.State == "sent" {
				owed = append(owed, waiting{p.SMSCID, msg.To[1:]})
			}
		}
	}
	for _, w := range owed {
		if err := backup.InjectReceipt("agent", w.id, w.handset, "ACME", smsc.Delivered); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 20*time.Second, "backup's receipts reported unmatched", func() bool {
		n := 0
		for _, rep := range reports(t, cfg) {
			if rep.Status == smsagent.ReportUnmatched && rep.SMSC == "backup" {
				n++
			}
		}
		return n == len(owed)
	})
	for _, w := range owed {
		if err := def.InjectReceipt("agent", w.id, w.handset, "ACME", smsc.Delivered); err != nil {
			t.Fatal(err)
		}
	}
	// Messages 1 to 5, 7, 8 and 9 end now (6 was reported before the
	// upgrade); plus the unmatched ones.
	want := map[smsagent.MessageID]string{1: "default", 2: "default", 3: "default", 4: "default", 5: "default",
		7: "default", 8: "default", 9: "backup"}
	testutil.Eventually(t, 30*time.Second, "a report for every message", func() bool {
		n := 0
		for _, rep := range reports(t, cfg) {
			if rep.Status != smsagent.ReportUnmatched {
				n++
			}
		}
		return n == len(want)
	})
	for key, rep := range reports(t, cfg) {
		if rep.Status == smsagent.ReportUnmatched {
			continue
		}
		account, ok := want[rep.MessageID]
		if !ok || rep.Status != "delivered" || rep.SMSC != account {
			t.Errorf("%s: message %s %s via %q, want delivered via %q", key, rep.MessageID, rep.Status, rep.SMSC, account)
		}
		if rep.Parts != nil {
			for _, p := range rep.Parts.Items {
				if p.SMSC != account {
					t.Errorf("message %s part %d: via %q, want %q", rep.MessageID, p.Seq, p.SMSC, account)
				}
			}
		}
	}
	texts := func(s *smsc.Server) []string {
		var out []string
		for _, sub := range s.Submits() {
			out = append(out, sub.Dest.Addr)
		}
		slices.Sort(out)
		return out
	}
	if got := texts(backup); !slices.Equal(got, []string{"12025550123"}) {
		t.Errorf("backup was sent to %q, want only the +1 number", got)
	}
	if got := texts(def); len(got) != 3 || slices.Contains(got, "12025550123") {
		t.Errorf("default was sent to %q, want part 2 of message 5 and messages 7 and 8", got)
	}
}
