//go:build ignore

// gen.go made schema4.db and manifest.json in this folder: an outbox of
// schema version 4, written by the smsagent release it was committed with,
// for the upgrade tests of later releases. It is kept as the record of how
// the file was made, not to be run again: a later release writes another
// file (and may not even compile this). To make it again with the release
// it belongs to, from the module root:
//
//	go run ./agent/testdata/upgrade/gen.go -out agent/testdata/upgrade
//
// The outbox is driven through its public API (Enqueue, Claim,
// RecordParts, ApplyReceipts, Events, EventsWritten) exactly as the agent
// drives it, under a fixed clock: SMSC keys are made by dlr.Key from the
// submit_sm_resp id as agent/settle.go makes them, part counts by
// coding.Count as the agent's encoder counts them (smsc.split udh), the
// receipt by dlr.Parse and dlr.Candidates under smsc.message_id auto as
// agent/inbound.go reads one. The file is then compacted (outbox.Compact),
// opened read-only, checked (Check) and listed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp/coding"
	"github.com/smsagent/smsagent/smpp/dlr"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// t0 is the fixture's epoch: every time in the file is t0 plus a step.
var t0 = time.Date(2024, 1, 15, 9, 0, 0, 0, time.UTC)

// receiptDate is the YYMMDDhhmm of SMPP 3.4 Appendix B.
const receiptDate = "0601021504"

// The SMSC's ids are those the simulator writes (smsc.HexID: eight
// upper-case hexadecimal digits) from this base: a leading zero and
// letters, so the stored key (dlr.Key) differs from the id and no id reads
// as a decimal number another one's key could be converted from.
const idBase = 0x0AB1C000

const (
	longText = "This is a long message of the upgrade fixture, written in the GSM 7-bit alphabet. " +
		"It is longer than one SMS of 160 characters, so the agent splits it into two parts " +
		"with a concatenation header; both parts were accepted."
	splitText = "This long message had its first part accepted by the SMSC and its second part " +
		"refused with a temporary error, so it waits in the queue for its retry: only part two " +
		"is to be sent again, part one keeps its SMSC id."
)

type step struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
}

type manifest struct {
	About         string            `json:"about"`
	Schema        int               `json:"schema"`
	Commit        string            `json:"commit"`
	Generator     string            `json:"generator"`
	Account       string            `json:"account"`
	MessageIDRule string            `json:"message_id_rule"`
	SMSCKeyRule   string            `json:"smsc_key_rule"`
	ReceiptKeys   string            `json:"receipt_keys"`
	ReceiptPDU    string            `json:"receipt_pdu"`
	Pruning       string            `json:"pruning"`
	Options       map[string]string `json:"options"`
	Clock         []step            `json:"clock"`
	Batches       []batchInfo       `json:"batches"`
	Messages      []msgInfo         `json:"messages"`
	Stats         map[string]int    `json:"stats"`
	Awaiting      int               `json:"awaiting"`
	EventsPending int               `json:"events_pending"`
	FileBytes     int64             `json:"file_bytes"`
}

type batchInfo struct {
	Claim string               `json:"claim"`
	File  string               `json:"file"`
	IDs   []smsagent.MessageID `json:"ids"`
}

type msgInfo struct {
	ID         smsagent.MessageID `json:"id"`
	Role       string             `json:"role"`
	ClientID   string             `json:"client_id,omitempty"`
	To         string             `json:"to"`
	Text       string             `json:"text"`
	Report     bool               `json:"report"`
	File       string             `json:"file"`
	State      string             `json:"state"`
	Final      bool               `json:"final"`
	Attempts   int                `json:"attempts"`
	LastError  string             `json:"last_error,omitempty"`
	ConcatRef  uint16             `json:"concat_ref"`
	ReceivedAt time.Time          `json:"received_at"`
	Due        *time.Time         `json:"due,omitempty"`
	Expires    *time.Time         `json:"expires,omitempty"`
	Deadline   *time.Time         `json:"receipt_deadline,omitempty"`
	Submitted  *time.Time         `json:"submitted,omitempty"`
	Done       *time.Time         `json:"done,omitempty"`
	Parts      []partInfo         `json:"parts"`
}

type partInfo struct {
	Seq       int        `json:"seq"`
	State     string     `json:"state"`
	SMSCID    string     `json:"smsc_id,omitempty"`
	SMSCKey   string     `json:"smsc_key,omitempty"`
	Submitted *time.Time `json:"submitted,omitempty"`
	Done      *time.Time `json:"done,omitempty"`
	Stat      string     `json:"stat,omitempty"`
	Err       string     `json:"err,omitempty"`
	Status    uint32     `json:"status,omitempty"`
	Error     string     `json:"error,omitempty"`
	// Receipt is the short_message of the deliver_sm (esm_class 0x04,
	// source_addr the handset) that delivers the part: for parts still
	// awaiting their receipt, the one a simulator should send; for the
	// delivered message, the one that was applied.
	Receipt string `json:"receipt,omitempty"`
}

func main() {
	out := flag.String("out", "agent/testdata/upgrade", "folder for schema4.db and manifest.json")
	flag.Parse()
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

func run(out string) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "smsagent-fixture-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "outbox.db")

	m := &manifest{
		About: "An outbox (bbolt) written by this release through its public API under a fixed clock; " +
			"see gen.go. Times are UTC. Every message was sent, if at all, by the one SMSC account of the " +
			"release, which a multi-account release names \"default\".",
		Schema:        4,
		Commit:        commit(),
		Generator:     "agent/testdata/upgrade/gen.go",
		Account:       "default",
		MessageIDRule: "auto (smsc.message_id default; dlr.Auto)",
		SMSCKeyRule: "smsc index key = dlr.Key(submit_sm_resp message_id): trailing NULs dropped, " +
			"leading zeros removed (\"0\" stays), ASCII letters lower case",
		ReceiptKeys: "a receipt is looked up by dlr.Candidates(receipt id, dlr.Auto): its own dlr.Key first, " +
			"then hex read as decimal, then decimal read as hex",
		ReceiptPDU: "each part's receipt text is the short_message of a deliver_sm with esm_class 0x04, " +
			"source_addr the message's to without '+' (TON 1, NPI 1), data_coding 0, no TLVs",
		Pruning: "a final message is pruned by Sweep once its done time + retention has passed " +
			"(the delivered one: 2024-01-22T09:03:00Z); queued ones expire at expires when claimed or swept",
		Options: map[string]string{
			"retry.initial":   outbox.DefaultRetryInitial.String(),
			"retry.max":       outbox.DefaultRetryMax.String(),
			"retry.max_age":   outbox.DefaultMaxAge.String(),
			"retry.rand":      "rand.NewPCG(4, 2024)",
			"receipt_timeout": outbox.DefaultReceiptTimeout.String(),
			"retention":       outbox.DefaultRetention.String(),
			"orphan_grace":    outbox.DefaultOrphanGrace.String(),
			"smsc.split":      "udh",
		},
	}
	now := t0
	tick := func(name string, d time.Duration) time.Time {
		now = t0.Add(d)
		m.Clock = append(m.Clock, step{name, now})
		return now
	}
	st, err := outbox.Open(path, outbox.Options{
		Clock: func() time.Time { return now },
		Retry: outbox.RetryPolicy{Rand: rand.NewPCG(4, 2024)},
	})
	if err != nil {
		return err
	}

	// 1. The messages that will be sent: one file, stored at t0.
	tick("enqueue sent batch (ReceivedAt, Due)", 0)
	sentBatch := smsagent.Batch{Claim: "fixture-sent.json.1", File: "fixture-sent.json", Messages: []smsagent.Message{
		msg("+41791234567", "Awaiting receipt 1 (CH)", ""),
		msg("+4915112345678", "Awaiting receipt 2 (DE)", ""),
		msg("+447700900123", "Awaiting receipt 3 (UK)", ""),
		msg("+41797654321", longText, ""),
		msg("+447700900456", splitText, ""),
		msg("+4917612345678", "Delivered before the upgrade", ""),
	}}
	roles := []string{"awaiting", "awaiting", "awaiting", "awaiting-long", "part2-queued", "delivered"}
	res, err := st.Enqueue(ctx, sentBatch)
	if err != nil {
		return err
	}
	m.Batches = append(m.Batches, batchInfo{sentBatch.Claim, sentBatch.File, res.IDs})
	role := map[smsagent.MessageID]string{}
	for i, id := range res.IDs {
		role[id] = roles[i]
	}

	// 2. The dispatcher claims them all.
	claimAt := tick("claim (dispatcher)", time.Minute)
	recs, err := st.Claim(ctx, claimAt, 10)
	if err != nil {
		return err
	}
	if len(recs) != len(sentBatch.Messages) {
		return fmt.Errorf("claimed %d messages, want %d", len(recs), len(sentBatch.Messages))
	}

	// 3. The SMSC answers: every part accepted but part 2 of the split
	// message, refused with ESME_RSYSERR (temporary: retried after the
	// backoff, part 1 keeps its id).
	respAt := tick("submit_sm_resp (PartResult.At and the store clock)", time.Minute+time.Second)
	var results []outbox.PartResult
	n := uint64(idBase)
	for _, r := range recs {
		plan, err := coding.Count(r.Text, coding.Options{Encoding: coding.Auto, Method: coding.SplitUDH8})
		if err != nil {
			return err
		}
		for seq := 1; seq <= plan.Parts; seq++ {
			pr := outbox.PartResult{ID: r.ID, Seq: seq, Total: plan.Parts, At: respAt}
			if role[r.ID] == "part2-queued" && seq == 2 {
				st := pdu.StatusSysErr
				pr.Outcome, pr.Status, pr.Error = outbox.OutcomeTemporary, uint32(st), statusText(st)
			} else {
				n++
				pr.Outcome, pr.SMSCID = outbox.OutcomeAccepted, smsc.HexID(n)
				pr.SMSCKey = dlr.Key(pr.SMSCID)
			}
			results = append(results, pr)
		}
	}
	if err := st.RecordParts(ctx, results); err != nil {
		return err
	}

	// 4. The receipt of the delivered message, read as the agent reads
	// one, and its report written to inbox/ (EventsWritten).
	dlrAt := tick("deliver_sm receipt of the delivered message (Receipt.Received)", 3*time.Minute)
	receipts := map[string]string{} // SMSC key → receipt text
	for _, pr := range results {
		if pr.Outcome == outbox.OutcomeAccepted {
			text := msgText(recs, pr.ID)
			receipts[pr.SMSCKey] = receiptText(pr.SMSCID, pr.At, pr.At.Add(2*time.Minute), text)
		}
	}
	var delivered []smsagent.Receipt
	for _, pr := range results {
		if role[pr.ID] != "delivered" {
			continue
		}
		r, err := dlr.Parse(dlr.Input{ESMClass: byte(pdu.ESMTypeDeliveryReceipt), Message: []byte(receipts[pr.SMSCKey])}, dlr.Options{})
		if err != nil {
			return err
		}
		delivered = append(delivered, smsagent.Receipt{
			SMSCID: r.ID, Keys: dlr.Candidates(r.ID, dlr.Auto), State: smsagent.StateDelivered,
			Stat: r.Fields.Stat, Err: r.Fields.Err, Done: r.Done, Received: dlrAt,
			Source: "4917612345678", Dest: "", Text: r.Raw,
		})
	}
	outs, err := st.ApplyReceipts(ctx, delivered)
	if err != nil {
		return err
	}
	if len(outs) != 1 || outs[0] != smsagent.ReceiptMatched {
		return fmt.Errorf("delivered message's receipt: %v", outs)
	}
	tick("report file written (EventsWritten)", 3*time.Minute+time.Second)
	evs, err := st.Events(ctx, 0, 100)
	if err != nil {
		return err
	}
	var seqs []uint64
	for _, e := range evs {
		seqs = append(seqs, e.Seq)
	}
	if len(evs) != 1 || evs[0].Kind != smsagent.EventReport {
		return fmt.Errorf("events: want the one report, have %d", len(evs))
	}
	if err := st.EventsWritten(ctx, seqs); err != nil {
		return err
	}

	// 5. Messages still queued: never claimed, due at once.
	tick("enqueue queued batch (ReceivedAt, Due)", 5*time.Minute)
	queued := smsagent.Batch{Claim: "fixture-queued.json.1", File: "fixture-queued.json", Messages: []smsagent.Message{
		msg("+41781112233", "Queued 1 (CH)", "order-4711"),
		msg("+4930123456789", "Queued 2 (DE)", ""),
		msg("+12025550123", "Queued 3 (US)", ""),
	}}
	res, err = st.Enqueue(ctx, queued)
	if err != nil {
		return err
	}
	m.Batches = append(m.Batches, batchInfo{queued.Claim, queued.File, res.IDs})
	for _, id := range res.IDs {
		role[id] = "queued"
	}
	if err := st.Close(ctx); err != nil {
		return err
	}

	// Compact into the fixture and check it with a read-only open.
	dst := filepath.Join(out, "schema4.db")
	if err := os.Remove(dst); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := outbox.Compact(path, dst); err != nil {
		return err
	}
	ro, err := outbox.Open(dst, outbox.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer ro.Close(ctx)
	if err := ro.Check(); err != nil {
		return err
	}
	all, err := ro.List(ctx, outbox.ListQuery{Limit: 100})
	if err != nil {
		return err
	}
	stats, err := ro.Stats(ctx)
	if err != nil {
		return err
	}
	left, err := ro.Events(ctx, 0, 100)
	if err != nil {
		return err
	}
	m.Stats = map[string]int{}
	for s, c := range stats.ByState {
		m.Stats[s.String()] = c
	}
	m.Awaiting, m.EventsPending = stats.Awaiting, len(left)
	for _, r := range all {
		mi := msgInfo{
			ID: r.ID, Role: role[r.ID], ClientID: r.ClientID, To: r.To.String(), Text: r.Text, Report: r.Report,
			File: r.File, State: r.State.String(), Final: r.Final, Attempts: r.Attempts, LastError: r.LastError,
			ConcatRef: r.ConcatRef, ReceivedAt: r.ReceivedAt, Submitted: opt(r.Submitted), Done: opt(r.Done),
			Parts: []partInfo{},
		}
		if r.State == smsagent.StateQueued {
			mi.Due = opt(r.Due)
			// Not exported by Record: received_at + retry.max_age (expiresAt).
			mi.Expires = opt(r.ReceivedAt.Add(outbox.DefaultMaxAge))
		}
		if r.State == smsagent.StateSent && !r.Final {
			// Not exported by Record: the store clock at the settling
			// RecordParts + receipt_timeout.
			mi.Deadline = opt(respAt.Add(outbox.DefaultReceiptTimeout))
		}
		for i, p := range r.Parts {
			pi := partInfo{Seq: i + 1, State: p.State.String(), SMSCID: p.SMSCID, Submitted: opt(p.Submitted),
				Done: opt(p.Done), Stat: p.Stat, Err: p.Err, Status: p.Status, Error: p.Error}
			if p.SMSCID != "" {
				pi.SMSCKey = dlr.Key(p.SMSCID)
				pi.Receipt = receipts[pi.SMSCKey]
			}
			mi.Parts = append(mi.Parts, pi)
		}
		m.Messages = append(m.Messages, mi)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return err
	}
	m.FileBytes = fi.Size()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "manifest.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	for _, mi := range m.Messages {
		fmt.Printf("%3d %-13s %-15s %-9s final=%-5v attempts=%d due=%v\n", mi.ID, mi.Role, mi.To, mi.State, mi.Final, mi.Attempts, mi.Due)
		for _, p := range mi.Parts {
			fmt.Printf("      part %d %-9s smsc_id=%q key=%q %s\n", p.Seq, p.State, p.SMSCID, p.SMSCKey, p.Error)
		}
	}
	fmt.Printf("stats %v awaiting %d events %d; %s: %d bytes\n", m.Stats, m.Awaiting, m.EventsPending, dst, m.FileBytes)
	return nil
}

func msg(to, text, clientID string) smsagent.Message {
	a, err := smsagent.ParseNumber(to)
	if err != nil {
		panic(err)
	}
	return smsagent.Message{To: a, Text: text, Report: true, ClientID: clientID}
}

func msgText(recs []smsagent.Record, id smsagent.MessageID) string {
	for _, r := range recs {
		if r.ID == id {
			return r.Text
		}
	}
	return ""
}

// receiptText is a receipt as the simulator writes one (smpp/smsc
// newReceipt): SMPP 3.4 Appendix B.
func receiptText(id string, submit, done time.Time, text string) string {
	return fmt.Sprintf("id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:DELIVRD err:000 text:%s",
		id, submit.Format(receiptDate), done.Format(receiptDate), snippet(text))
}

// snippet is the simulator's "text:" field: the first 20 characters, with
// any but letters, digits, space, '.', ',' and '-' written as '.'.
func snippet(text string) string {
	var b strings.Builder
	for _, r := range text {
		if b.Len() == 20 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == ' ', r == '.', r == ',', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('.')
		}
	}
	return b.String()
}

// statusText is the agent's wording of a refusal (agent/settle.go).
func statusText(st pdu.Status) string {
	name, text := st.String(), st.Error()
	if rest, ok := strings.CutPrefix(text, name+": "); ok {
		return fmt.Sprintf("%s (0x%08X): %s", name, uint32(st), rest)
	}
	return text
}

func opt(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func commit() string {
	b, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
