package agent_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// partsByMessage groups what the simulator accepted by message (its
// destination), in the order the parts arrived.
func partsByMessage(sim *smsc.Server) map[string][]smsc.Submit {
	out := map[string][]smsc.Submit{}
	for _, s := range sim.Submits() {
		out[s.Dest.Addr] = append(out[s.Dest.Addr], s)
	}
	return out
}

// TestAgent_e2e_longOnOneSession: the parts of a long message go out on
// one session, in order, pipelined within the window (some SMSCs reassemble
// per connection, and parts on different binds or part 2 before part 1
// confuse them). When the connection drops mid-message, the parts not yet
// accepted go out again in order on one session, and every message is
// reported once.
func TestAgent_e2e_longOnOneSession(t *testing.T) {
	const n = 60
	text := strings.Repeat("long message text ", 25) // 450 GSM characters: 3 parts
	for _, cut := range []bool{false, true} {
		t.Run(fmt.Sprintf("connection dropped %v", cut), func(t *testing.T) {
			sim := simulator(t, smsc.Options{})
			cfg := e2eConfig(t, sim.Addr(), "smsc.sessions: 4")
			startReal(t, cfg)
			if cut {
				sim.SetFaults(smsc.Faults{DisconnectAfter: 40})
			}
			var b strings.Builder
			for i := range n {
				fmt.Fprintf(&b, `{"id":"m%d","to":"+3585%07d","text":%q}`+"\n", i, i, text)
			}
			drop(t, cfg, "long.ndjson", b.String())
			waitDelivered(t, cfg, n, 30*time.Second)
			if cut && sim.Stats().Binds <= 4 {
				t.Fatalf("no connection was dropped: %+v", sim.Stats())
			}
			for dest, parts := range partsByMessage(sim) {
				accepted := map[int]bool{}
				last := map[uint64]int{} // connection → last part number seen on it
				conns := map[uint64]bool{}
				for _, p := range parts {
					seq := int(p.Concat.Seq)
					if seq <= last[p.Conn] {
						t.Errorf("%s: part %d after part %d on connection %d", dest, seq, last[p.Conn], p.Conn)
					}
					last[p.Conn] = seq
					conns[p.Conn] = true
					accepted[seq] = true
				}
				if len(accepted) != 3 {
					t.Errorf("%s: parts %v accepted, want 1 to 3", dest, accepted)
				}
				if !cut && len(conns) != 1 {
					t.Errorf("%s: parts on %d connections, want one", dest, len(conns))
				}
			}
		})
	}
}

// TestAgent_e2e_ndjsonInbox: with spool.inbox_format ndjson the reports of
// a bulk file arrive as lines of NDJSON files in inbox/, each once.
func TestAgent_e2e_ndjsonInbox(t *testing.T) {
	sim := simulator(t, smsc.Options{})
	cfg := e2eConfig(t, sim.Addr(), "spool.inbox_format: ndjson", "spool.inbox_batch: 40", "spool.inbox_batch_age: 50ms")
	startReal(t, cfg)
	bulk(t, cfg, 100)
	seen := map[string]int{}
	testutil.Eventually(t, 30*time.Second, "100 reports in NDJSON files", func() bool {
		clear(seen)
		files, _ := filepath.Glob(filepath.Join(cfg.Spool.Dir, "inbox", "*.events.ndjson"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				// Windows (Wine) refuses to open a file the agent is
				// renaming in this instant: a sharing violation. Read
				// again at the next poll.
				t.Logf("%s: %v", f, err)
				return false
			}
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				var r smsagent.Report
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("%s: %q: %v", f, line, err)
				}
				seen[r.ID+"/"+r.Status]++
			}
		}
		return len(seen) >= 100
	})
	for id, n := range seen {
		if n != 1 || !strings.HasSuffix(id, "/delivered") {
			t.Errorf("%s reported %d times", id, n)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(cfg.Spool.Dir, "inbox", "*.report.json")); len(files) != 0 {
		t.Errorf("%d report files beside the NDJSON ones", len(files))
	}
}
