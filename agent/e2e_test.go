package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp/coding"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// fastPool makes the real bind pool reconnect and recover from throttling
// within milliseconds, so fault tests take seconds, not minutes.
func fastPool(o *bindpool.Options) {
	o.Backoff = bindpool.NewFullJitter(5*time.Millisecond, 50*time.Millisecond, nil)
	o.BusyBackoff = bindpool.NewFullJitter(5*time.Millisecond, 50*time.Millisecond, nil)
	o.Throttle = bindpool.ThrottleOptions{Pause: 5 * time.Millisecond, MaxPause: 50 * time.Millisecond,
		Recovery: 100 * time.Millisecond}
}

// scrambled spreads the simulator's message counter over 32 bits, so its
// ids look like a real SMSC's rather than 1, 2, 3: with counting ids the
// hexadecimal form of one is the decimal form of another ("10" is both
// message 10 and message 16), and the auto rule, which tries both readings,
// would match receipts to the wrong message. Multiplying by an odd constant
// is a bijection modulo 2^32, so ids stay unique.
func scrambled(n uint64) uint64 { return (n * 2654435761) & 0xFFFFFFFF }

func hexID(n uint64) string { return smsc.HexID(scrambled(n)) }
func decID(n uint64) string { return smsc.DecimalID(scrambled(n)) }

// simulator starts an SMSC simulator on loopback for the test, with
// realistic (scrambled, hexadecimal) message ids unless o names others.
func simulator(t testing.TB, o smsc.Options) *smsc.Server {
	t.Helper()
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	if o.MessageID == nil {
		o.MessageID = hexID
	}
	return testutil.Simulator(t, o)
}

// startReal runs an agent with the real bind pool against addr.
func startReal(t testing.TB, cfg *config.Config) *running {
	t.Helper()
	return start(t, cfg, agent.Options{TunePool: fastPool})
}

// e2eConfig is the configuration of the end-to-end tests: two sessions,
// window 10.
func e2eConfig(t testing.TB, addr string, extra ...string) *config.Config {
	return testConfig(t, addr, append([]string{"smsc.window: 10"}, extra...)...)
}

// TestAgent_e2e_formats sends JSON, NDJSON and smstools3 files with GSM
// text, extension characters, UCS-2 with emoji and long texts through the
// real pool to the simulator, and checks the text as the handset would
// show it, the concatenation headers, and one report per message with
// what the SMSC said: delivered, undeliverable, expired, rejected by
// receipt, rejected by submit_sm_resp.
func TestAgent_e2e_formats(t *testing.T) {
	sim := simulator(t, smsc.Options{Rules: []smsc.Rule{
		{Prefix: "3584001", Outcome: smsc.Undeliverable},
		{Prefix: "3584002", Outcome: smsc.Expired},
		{Prefix: "3584003", Outcome: smsc.Rejected},
		{Prefix: "3584004", Outcome: smsc.Refused, Status: pdu.Status(0x0B)},
	}})
	cfg := e2eConfig(t, sim.Addr())
	startReal(t, cfg)

	longGSM := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 8) // 360 septets: 3 parts
	longUCS := strings.Repeat("Привет, мир! 😀 ", 10)                              // 160 units: 3 parts
	ext := "Braces {x} [y] ~z~ |w| \\v ^u€ and more"
	drop(t, cfg, "one.json", `{"id":"gsm","to":"+358400011","text":"Hello @ £$¥ èéùìò Ç Øø Åå Δ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà","meta":{"k":[1,2]}}`)
	drop(t, cfg, "many.ndjson", strings.Join([]string{
		fmt.Sprintf(`{"id":"ext","to":"+358400012","text":%q}`, ext),
		fmt.Sprintf(`{"id":"long-gsm","to":"+358400013","text":%q}`, longGSM),
		fmt.Sprintf(`{"id":"long-ucs","to":"+358400014","text":%q}`, longUCS),
		`{"id":"undeliv","to":"+358400111","text":"x"}`,
		`{"id":"expired","to":"+358400211","text":"x"}`,
		`{"id":"rejectd","to":"+358400311","text":"x"}`,
		`{"id":"refused","to":"+358400411","text":"x"}`,
	}, "\n"))
	drop(t, cfg, "alert.sms", "To: 358400015\nFrom: ACME\n\nServer db1 is down 😀\n")

	reps := waitReports(t, cfg, 9, 20*time.Second)
	byTo := map[string]smsc.Message{}
	for _, m := range sim.Messages() {
		if _, dup := byTo[m.To]; dup {
			t.Errorf("the SMSC got a message to %s twice", m.To)
		}
		byTo[m.To] = m
	}
	texts := map[string]struct {
		to, text string
		parts    int
	}{
		"gsm":      {"358400011", "Hello @ £$¥ èéùìò Ç Øø Åå Δ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà", 1},
		"ext":      {"358400012", ext, 1},
		"long-gsm": {"358400013", longGSM, 3},
		"long-ucs": {"358400014", longUCS, 3},
		"alert":    {"358400015", "Server db1 is down 😀", 1},
	}
	for id, w := range texts {
		m := byTo[w.to]
		if m.Text != w.text || m.Parts != w.parts || !m.Complete {
			t.Errorf("%s: the handset shows %q in %d parts (complete %t), want %q in %d", id, m.Text, m.Parts, m.Complete, w.text, w.parts)
		}
	}
	for _, s := range sim.Submits() {
		if s.Dest.Addr != "358400013" && s.Dest.Addr != "358400014" {
			if s.UDH != nil {
				t.Errorf("single part to %s carries a UDH % x", s.Dest.Addr, s.UDH)
			}
			continue
		}
		if len(s.UDH) != 6 || s.UDH[0] != 5 || s.UDH[1] != 0 || s.UDH[2] != 3 || s.UDH[4] != 3 || !s.ESMClass.UDHI() {
			t.Errorf("part %d to %s: UDH % x esm_class %#x", s.Concat.Seq, s.Dest.Addr, s.UDH, s.ESMClass)
		}
	}
	if enc := byTo["358400014"].Encoding; enc != coding.NameUCS2 {
		t.Errorf("long-ucs went as %s", enc)
	}

	want := map[string]struct{ status, stat, err string }{
		"gsm":      {"delivered", "DELIVRD", "000"},
		"ext":      {"delivered", "DELIVRD", "000"},
		"long-gsm": {"delivered", "DELIVRD", "000"},
		"long-ucs": {"delivered", "DELIVRD", "000"},
		"undeliv":  {"undeliverable", "UNDELIV", "001"},
		"expired":  {"expired", "EXPIRED", "001"},
		"rejectd":  {"rejected", "REJECTD", "001"},
		"refused":  {"rejected", "", ""},
	}
	for id, w := range want {
		r, ok := reps[id]
		if !ok {
			t.Errorf("no report for %s", id)
			continue
		}
		if r.Status != w.status || r.Stat != w.stat || r.Err != w.err {
			t.Errorf("%s: report %s stat %q err %q, want %s %q %q", id, r.Status, r.Stat, r.Err, w.status, w.stat, w.err)
		}
	}
	if r := reps["refused"]; !strings.Contains(r.Error, "ESME_RINVDSTADR (0x0000000B)") {
		t.Errorf("refused: error %q", r.Error)
	}
	g := reps["gsm"]
	var meta bytes.Buffer
	if err := json.Compact(&meta, g.Meta); err != nil {
		t.Error(err)
	}
	if g.To != "+358400011" || g.File != "one.json" || meta.String() != `{"k":[1,2]}` || g.Parts.Count != 1 ||
		g.Parts.Items[0].SMSCID != byTo["358400011"].MessageIDs[0] {
		t.Errorf("gsm report: %+v", g)
	}
	if r := reps["long-gsm"]; r.Parts.Count != 3 {
		t.Errorf("long-gsm report lists %d parts", r.Parts.Count)
	}
	// The smstools3 message has no client id: it is reported under its
	// message id, from ACME.
	var alert smsagent.Report
	for _, r := range reps {
		if r.File == "alert.sms" {
			alert = r
		}
	}
	if alert.From != "ACME" || alert.Status != "delivered" || alert.To != "+358400015" || alert.ID != "" {
		t.Errorf("alert report: %+v", alert)
	}
}

// TestAgent_e2e_split sends one long text under each smsc.split method
// and checks what the SMSC received.
func TestAgent_e2e_split(t *testing.T) {
	long := strings.Repeat("0123456789", 20) // 200 septets
	for _, tt := range []struct {
		split string
		check func(t *testing.T, subs []smsc.Submit)
	}{
		{"udh", func(t *testing.T, subs []smsc.Submit) {
			for _, s := range subs {
				if len(s.UDH) != 6 || s.UDH[1] != 0x00 || s.Concat.Kind != coding.Ref8 {
					t.Errorf("UDH % x", s.UDH)
				}
			}
		}},
		{"udh16", func(t *testing.T, subs []smsc.Submit) {
			for _, s := range subs {
				if len(s.UDH) != 7 || s.UDH[1] != 0x08 || s.Concat.Kind != coding.Ref16 {
					t.Errorf("UDH % x", s.UDH)
				}
			}
		}},
		{"sar", func(t *testing.T, subs []smsc.Submit) {
			for _, s := range subs {
				if s.UDH != nil || !s.SAR || s.Concat.Total != 2 {
					t.Errorf("SAR part: UDH % x SAR %t concat %+v", s.UDH, s.SAR, s.Concat)
				}
			}
		}},
		{"payload", func(t *testing.T, subs []smsc.Submit) {
			if len(subs) != 1 || !subs[0].Payload || subs[0].Text != long {
				t.Errorf("payload submits: %+v", subs)
			}
		}},
	} {
		t.Run(tt.split, func(t *testing.T) {
			sim := simulator(t, smsc.Options{})
			cfg := e2eConfig(t, sim.Addr(), "smsc.split: "+tt.split)
			startReal(t, cfg)
			drop(t, cfg, "long.json", fmt.Sprintf(`{"to":"+358400013","text":%q}`, long))
			rep := waitReports(t, cfg, 1, 20*time.Second)
			for _, r := range rep {
				if r.Status != "delivered" {
					t.Errorf("report %s", r.Status)
				}
			}
			msgs := sim.Messages()
			if len(msgs) != 1 || msgs[0].Text != long {
				t.Fatalf("the handset shows %+v", msgs)
			}
			tt.check(t, sim.Submits())
		})
	}
}

// bulk writes n messages, one per destination, in files of 100.
func bulk(t testing.TB, cfg *config.Config, n int) {
	t.Helper()
	for f := 0; f*100 < n; f++ {
		var b strings.Builder
		for i := f * 100; i < min(n, (f+1)*100); i++ {
			fmt.Fprintf(&b, `{"id":"m%d","to":"+3585%07d","text":"message %d"}`+"\n", i, i, i)
		}
		drop(t, cfg, fmt.Sprintf("bulk-%03d.ndjson", f), b.String())
	}
}

// checkAll checks that each of n messages has exactly one report, with
// status want, and that the SMSC received every one.
func checkAll(t testing.TB, cfg *config.Config, sim *smsc.Server, n int, want string) map[string]smsagent.Report {
	t.Helper()
	reps := reports(t, cfg)
	for i := range n {
		id := fmt.Sprintf("m%d", i)
		r, ok := reps[id]
		if !ok {
			t.Errorf("no report for %s", id)
		} else if r.Status != want {
			t.Errorf("%s: %s (%s)", id, r.Status, r.Error)
		}
	}
	got := map[string]bool{}
	for _, s := range sim.Submits() {
		got[s.Text] = true
	}
	for i := range n {
		if !got[fmt.Sprintf("message %d", i)] {
			t.Errorf("the SMSC never got message %d", i)
		}
	}
	return reps
}

// duplicates counts texts the SMSC accepted more than once.
func duplicates(sim *smsc.Server) int {
	seen := map[string]int{}
	for _, s := range sim.Submits() {
		seen[s.Text]++
	}
	n := 0
	for _, c := range seen {
		n += c - 1
	}
	return n
}

// waitDelivered waits until n reports of messages are in inbox/. It counts
// names, not contents: a message's report is named after its message id
// ("…-42.report.json"), an unmatched receipt's after its event ("…-e7…").
func waitDelivered(t testing.TB, cfg *config.Config, n int, within time.Duration) {
	t.Helper()
	testutil.Eventually(t, within, fmt.Sprintf("%d message reports in inbox/", n), func() bool {
		got := 0
		for _, f := range inboxFiles(t, cfg, ".report.json") {
			name := strings.TrimSuffix(f, ".report.json")
			if i := strings.LastIndexByte(name, '-'); i >= 0 && name[i+1] != 'e' {
				got++
			}
		}
		return got >= n
	})
}

// TestAgent_e2e_faults runs a few hundred messages through an SMSC that
// misbehaves in one way each, and checks that every message is reported
// exactly once and none is lost.
func TestAgent_e2e_faults(t *testing.T) {
	const n = 500
	tests := []struct {
		name   string
		opts   smsc.Options
		cfg    []string
		during func(t *testing.T, sim *smsc.Server)
		// maxDup bounds the messages the SMSC may accept twice.
		maxDup int
		// happened checks that the fault did happen.
		happened func(s smsc.Stats) bool
	}{
		{name: "connection dropped every 100 submits", during: func(t *testing.T, sim *smsc.Server) {
			// DisconnectAfter drops one connection, at the 100th
			// submission since SetFaults: arm it again after each.
			for range 4 {
				sim.SetFaults(smsc.Faults{DisconnectAfter: 100})
				waitSubmits(t, sim, 100)
			}
			sim.SetFaults(smsc.Faults{})
		}, maxDup: 4 * 10, happened: func(s smsc.Stats) bool { return s.Binds >= 2+4 }},
		{name: "every 10th throttled", during: func(t *testing.T, sim *smsc.Server) {
			sim.SetFaults(smsc.Faults{ThrottleEvery: 10})
		}, happened: func(s smsc.Stats) bool { return s.Throttled >= n/10 }},
		{name: "responses go missing", cfg: []string{"smsc.response_timeout: 1s"}, during: func(t *testing.T, sim *smsc.Server) {
			sim.SetFaults(smsc.Faults{DropEvery: 25})
			waitSubmits(t, sim, n)
			sim.SetFaults(smsc.Faults{})
			// A response that never comes is waited for while the session
			// lives; its end settles the part, which is then sent again.
			// So are the parts of each session's window whose responses
			// the drop cuts off (the last submissions may still be in
			// flight: under Wine on a loaded machine 6 were).
			sim.Drop("", false)
		}, maxDup: n/25 + 2*10, happened: func(s smsc.Stats) bool { return s.Dropped >= n/25 }},
		{name: "binds refused for a while", during: func(t *testing.T, sim *smsc.Server) {
			sim.SetFaults(smsc.Faults{RefuseBinds: pdu.Status(0x0D), RefuseBindsUntil: time.Now().Add(300 * time.Millisecond)})
			sim.Drop("", false)
		}, maxDup: 2 * 10, happened: func(s smsc.Stats) bool { return s.BindsRefused > 0 }},
		{name: "SMSC restarts with decimal ids", during: func(t *testing.T, sim *smsc.Server) {
			waitSubmits(t, sim, n/2)
			sim.Restart(decID, decID)
		}, maxDup: 2 * 10, happened: func(s smsc.Stats) bool { return s.Binds >= 4 }},
		{name: "receipts in decimal, responses in hex", opts: smsc.Options{MessageID: hexID, ReceiptID: decID}},
		{name: "receipts in decimal, responses in hex, rule hexdec", cfg: []string{"smsc.message_id: hexdec"},
			opts: smsc.Options{MessageID: smsc.HexID, ReceiptID: smsc.DecimalID}},
		{name: "receipts before the response", opts: smsc.Options{ReceiptsFirst: true}},
		{name: "duplicate receipts", opts: smsc.Options{DuplicateReceipts: true},
			happened: func(s smsc.Stats) bool { return s.ReceiptsAcked == 2*n }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := simulator(t, tt.opts)
			cfg := e2eConfig(t, sim.Addr(), tt.cfg...)
			r := startReal(t, cfg)
			bulk(t, cfg, n)
			if tt.during != nil {
				tt.during(t, sim)
			}
			defer func() {
				if t.Failed() {
					st, _ := r.a.Status(context.Background())
					t.Logf("agent: %+v\nsim: %+v", st, sim.Stats())
					recs, _ := r.a.Outbox().List(context.Background(), outbox.ListQuery{State: smsagent.StateSent, Limit: 3})
					for _, rec := range recs {
						t.Logf("stuck: %+v", rec.Parts)
						for _, rr := range sim.Receipts() {
							if rr.MessageID == rec.Parts[0].SMSCID {
								t.Logf("  receipt %+v", rr)
							}
						}
					}
				}
			}()
			waitDelivered(t, cfg, n, 60*time.Second)
			checkAll(t, cfg, sim, n, "delivered")
			if tt.happened != nil && !tt.happened(sim.Stats()) {
				t.Errorf("the fault did not happen: %+v", sim.Stats())
			}
			if d := duplicates(sim); d > tt.maxDup {
				t.Errorf("the SMSC accepted %d messages twice, at most %d expected", d, tt.maxDup)
			}
		})
	}
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitSubmits waits until the simulator has seen at least k more
// submissions than when called.
func waitSubmits(t testing.TB, sim *smsc.Server, k int) {
	t.Helper()
	from := sim.Stats().Submits
	if _, err := sim.WaitFor(ctxT(t, 30*time.Second), func(s smsc.Stats) bool { return s.Submits >= from+k }); err != nil {
		t.Fatalf("waiting for %d submissions: %v", k, err)
	}
}

// TestAgent_e2e_mo: incoming SMS in several parts (8-bit and 16-bit
// references, SAR) become one file each, acknowledged only once stored.
func TestAgent_e2e_mo(t *testing.T) {
	sim := simulator(t, smsc.Options{})
	cfg := e2eConfig(t, sim.Addr())
	startReal(t, cfg)
	text := strings.Repeat("Multi-part incoming message with ünïcödé 😀 ", 6)
	var mos []*smsc.MO
	for i, m := range []coding.Method{coding.SplitUDH8, coding.SplitUDH16, coding.SplitSAR} {
		mo, err := sim.InjectMO("agent", fmt.Sprintf("35840000%d", i), "12345", text, smsc.MOOptions{Method: m})
		if err != nil {
			t.Fatal(err)
		}
		mos = append(mos, mo)
	}
	single, err := sim.InjectMO("agent", "358400009", "12345", "short one", smsc.MOOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mos = append(mos, single)
	for _, mo := range mos {
		acked, err := mo.Wait(ctxT(t, 20*time.Second))
		if err != nil || !acked {
			t.Fatalf("MO from %s: acked %t, %v (responses %v)", mo.From, acked, err, mo.Responses())
		}
	}
	testutil.Eventually(t, 10*time.Second, "4 incoming SMS files", func() bool { return len(inboxFiles(t, cfg, ".mo.json")) == 4 })
	got := map[string]smsagent.MO{}
	for _, f := range inboxFiles(t, cfg, ".mo.json") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m smsagent.MO
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		got[m.From] = m
	}
	for i := range 3 {
		m := got[fmt.Sprintf("+35840000%d", i)]
		// The simulator sends every number as international (TON 1).
		if m.Text != text || m.Parts < 2 || m.Incomplete || m.To != "+12345" || m.Encoding != "ucs2" {
			t.Errorf("MO %d: %+v", i, m)
		}
	}
	if m := got["+358400009"]; m.Text != "short one" || m.Parts != 1 {
		t.Errorf("single MO: %+v", m)
	}
}

// TestAgent_e2e_offline: the SMSC is down when the agent starts. Files are
// taken and queued; once the SMSC is up, sending starts by itself, oldest
// first.
func TestAgent_e2e_offline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	// One session: the SMSC sees the order the agent sends in (two
	// sessions would race each other).
	cfg := e2eConfig(t, addr, "smsc.sessions: 1")
	r := startReal(t, cfg)
	for i := range 5 {
		drop(t, cfg, fmt.Sprintf("m%d.json", i), fmt.Sprintf(`{"id":"m%d","to":"+3585%07d","text":"message %d"}`, i, i, i))
		testutil.Eventually(t, 10*time.Second, "file stored", func() bool {
			st, err := r.a.Outbox().Stats(context.Background())
			return err == nil && st.ByState[smsagent.StateQueued] == i+1
		})
	}
	sim := smsc.New(smsc.Options{Logger: testLogger(t)})
	if err := sim.Listen(addr); err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close(context.Background()) })
	waitDelivered(t, cfg, 5, 20*time.Second)
	checkAll(t, cfg, sim, 5, "delivered")
	subs := sim.Submits()
	order := make([]string, len(subs))
	for i, s := range subs {
		order[i] = s.Text
	}
	if !slices.IsSorted(order) {
		t.Errorf("sent in the order %q, want oldest first", order)
	}
}
