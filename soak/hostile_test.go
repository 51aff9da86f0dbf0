package soak_test

import (
	be "encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// inboxName is every name the agent may give a file in inbox/: its own
// timestamp and ids, never a string from the SMSC (docs/DESIGN.md, Inbox).
var inboxName = regexp.MustCompile(`^\d{8}T\d{6}\.\d{3}Z-e?\d+\.(report|mo|duplicate)\.json$`)

// TestHostile_smsc has the SMSC send what an attacker or a broken SMSC
// would: receipt ids and MO senders with path separators, NUL, control
// characters and 10 KB of text; a command_length of 2 GiB, TLVs running
// past the PDU, sm_length past the body (SMPP 3.4 §3.2, §5.2.22); then a
// flood of deliver_sm. The agent keeps running with bounded memory, writes
// nothing outside inbox/, names its files itself and escapes the content.
func TestHostile_smsc(t *testing.T) {
	r := newRig(t, "hostile SMSC", simOptions())
	ids := r.bulk("h", 50, 50)
	p := r.start()
	r.waitBound(20 * time.Second)
	hostile := []string{"../../../../tmp/pwned", `..\..\windows\x`, "a\x00b", "c\x01\x1b[2J\x7fd", "/etc/passwd",
		strings.Repeat("Z", 10_000)}
	for i, id := range hostile {
		r.sim.Inject("agent", rawReceipt(id, uint32(0x7ffe0000+i)))
		r.sim.Inject("agent", rawMO(id, uint32(0x7ffd0000+i)))
	}
	r.waitReports(len(ids), 60*time.Second)
	r.eventually(30*time.Second, func() string {
		if len(r.inboxFiles(".mo.json")) < len(hostile) {
			return fmt.Sprintf("%d MO files, want %d", len(r.inboxFiles(".mo.json")), len(hostile))
		}
		return ""
	})

	// Malformed PDUs: each ends the session (the agent binds again) or is
	// answered with an error; the process stays.
	malformed := map[string][]byte{
		"command_length 2 GiB":  header(0x7fffffff, uint32(pdu.DeliverSMID), 1),
		"command_length 3":      header(3, uint32(pdu.DeliverSMID), 2),
		"TLV past the PDU":      append(mustBody(rawMOPDU("x", 3)), 0x04, 0x24, 0xff, 0xff, 'a'),
		"sm_length past body":   smLengthPastBody(4),
		"unknown command":       header(16, 0x0000_00ee, 5),
		"garbage":               []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"response to no-one":    header(16, 0x8000_0004, 6),
		"generic_nack, no body": header(16, 0x8000_0000, 7),
	}
	marks := 0
	for what, raw := range malformed {
		binds := r.sim.Stats().Binds
		// A valid MO right behind the malformed PDU on the same links
		// proves the readers got past it: sessions that survive store the
		// marker (once: the second copy is the same MO, which the agent
		// recognises as redelivered), sessions that end bind again.
		marks++
		marker := fmt.Sprintf("after-%d", marks)
		r.sim.Inject("agent", append(fixLength(raw), rawMO(marker, uint32(0x7ffc0000+marks))...))
		r.eventually(90*time.Second, func() string {
			if !p.running() {
				return ""
			}
			if r.moTexts()["sender was "+marker] > 0 {
				return ""
			}
			if rebound := r.sim.Stats().Binds - binds; rebound < sessions {
				return fmt.Sprintf("%s: the marker behind it not stored, %d of %d sessions bound again", what, rebound, sessions)
			}
			return ""
		})
		if !p.running() {
			t.Fatalf("%s: the agent exited", what)
		}
		r.eventually(90*time.Second, func() string {
			if st := r.sim.Stats(); st.Bound < sessions {
				return fmt.Sprintf("%s: %d sessions bound again (binds %d → %d)", what, st.Bound, binds, st.Binds)
			}
			return ""
		})
	}

	// A flood: deliver_sm as fast as the link takes them, on every
	// session. The agent answers beyond its inbound window with
	// ESME_RTHROTTLED; its memory stays bounded.
	flood := scale(20_000, 200_000)
	var buf []byte
	for i := range flood {
		buf = append(buf, rawReceipt(fmt.Sprintf("FLOOD%06d", i), uint32(0x10000000+i))...)
		if len(buf) > 1<<20 || i == flood-1 {
			r.sim.Inject("agent", buf)
			buf = buf[:0]
		}
	}
	peak := p.rss()
	sample := time.NewTicker(50 * time.Millisecond)
	end := time.After(5 * time.Second) // memory is sampled over a fixed span
sampling:
	for {
		select {
		case <-sample.C:
			peak = max(peak, p.rss())
		case <-end:
			break sampling
		}
	}
	sample.Stop()
	t.Logf("agent RSS peak during the flood of %d deliver_sm: %d MiB", flood, peak>>20)
	if peak > 256<<20 {
		t.Errorf("agent RSS peaked at %d MiB during the flood", peak>>20)
	}
	if !p.running() {
		t.Fatal("the agent exited during the flood")
	}
	p.stop(10 * time.Second)

	// Nothing outside our folders; inbox/ names are ours; content is JSON.
	err := filepath.WalkDir(r.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(r.dir, path)
		switch {
		case rel == "smsagent.yaml", strings.HasPrefix(rel, "state"+string(filepath.Separator)):
		case strings.HasPrefix(rel, filepath.Join("spool", "inbox")+string(filepath.Separator)):
			if !inboxName.MatchString(d.Name()) {
				t.Errorf("inbox/%s: a name that is not ours", d.Name())
			}
			var v map[string]any
			readJSON(t, path, &v)
		default:
			t.Errorf("a file where the agent should not write: %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Error("/tmp/pwned exists")
	}
	r.fault("%d hostile ids/senders, %d malformed PDUs, %d deliver_sm flood (RSS peak %d MiB)",
		len(hostile), len(malformed), flood, peak>>20)
	r.ledger(ids)
}

func header(length, id, seq uint32) []byte {
	b := make([]byte, 16)
	be.BigEndian.PutUint32(b[0:], length)
	be.BigEndian.PutUint32(b[4:], id)
	be.BigEndian.PutUint32(b[12:], seq)
	return b
}

// fixLength sets command_length to the octets given, unless the PDU lies
// about it on purpose (its header says otherwise and it is a header only).
func fixLength(b []byte) []byte {
	if len(b) > 16 && be.BigEndian.Uint32(b) != uint32(len(b)) && !strings.HasPrefix(string(b), "GET") {
		be.BigEndian.PutUint32(b, uint32(len(b)))
	}
	return b
}

// rawReceipt is a delivery receipt whose id (in the text and in
// receipted_message_id) is id octet for octet; a 10 KB one goes in
// message_payload.
func rawReceipt(id string, seq uint32) []byte {
	d := &pdu.DeliverSM{
		Source:   pdu.Address{TON: 1, NPI: 1, Addr: "358401234567"},
		Dest:     pdu.Address{TON: 1, NPI: 1, Addr: "12345"},
		ESMClass: pdu.ESMTypeDeliveryReceipt,
	}
	body := []byte("id:" + id + " sub:001 dlvrd:001 submit date:2611252249 done date:2611252249 stat:DELIVRD err:000 text:x")
	if len(body) > 254 {
		d.TLVs.SetMessagePayload(body)
	} else {
		d.ShortMessage = body
	}
	if len(id) < 65 && !strings.ContainsRune(id, 0) {
		d.TLVs.SetReceiptedMessageID(id)
	}
	return mustBody(d, seq)
}

// rawMO is an incoming SMS from a sender named s (cut to the 20 octets
// source_addr holds).
func rawMO(s string, seq uint32) []byte {
	return mustBody(rawMOPDU(s, seq))
}

func rawMOPDU(s string, seq uint32) (*pdu.DeliverSM, uint32) {
	src := strings.ReplaceAll(s, "\x00", "")
	if len(src) > 20 {
		src = src[:20]
	}
	d := &pdu.DeliverSM{
		Source: pdu.Address{TON: 5, NPI: 0, Addr: src},
		Dest:   pdu.Address{TON: 1, NPI: 1, Addr: "12345"},
	}
	d.TLVs.SetMessagePayload([]byte("sender was " + s))
	return d, seq
}

func mustBody(d *pdu.DeliverSM, seq uint32) []byte {
	b, err := pdu.Encode(d, pdu.StatusOK, seq)
	if err != nil {
		panic(fmt.Sprintf("encode a fixed deliver_sm: %v", err))
	}
	return b
}

// smLengthPastBody is a deliver_sm whose sm_length says 200 and whose body
// ends after 5 octets of text.
func smLengthPastBody(seq uint32) []byte {
	d := &pdu.DeliverSM{
		Source:       pdu.Address{TON: 1, NPI: 1, Addr: "358401234567"},
		Dest:         pdu.Address{TON: 1, NPI: 1, Addr: "12345"},
		ShortMessage: []byte("hello"),
	}
	b := mustBody(d, seq)
	// sm_length is the octet before the text, which ends the PDU.
	b[len(b)-6] = 200
	return b
}
