package admin

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/smsagent/smsagent"
)

// Message is the JSON form of one stored message, the same whether it comes
// from the API or from `smsagent queue show --json` on a stopped agent. The
// field names are a public format, and so are the values: the state words
// of smsagent.State, times in RFC 3339 (UTC), message ids as numbers like
// the reports' "message_id", client ids as the reports' "id".
type Message struct {
	MessageID smsagent.MessageID `json:"message_id"`
	ID        string             `json:"id,omitempty"`
	To        string             `json:"to"`
	From      string             `json:"from,omitempty"`
	Text      string             `json:"text"`
	UDH       string             `json:"udh,omitempty"` // hex
	State     smsagent.State     `json:"state"`
	// Final is true when nothing further happens without an operator: the
	// final states, and "sent" without a receipt to wait for.
	Final    bool   `json:"final"`
	Attempts int    `json:"attempts"`
	Report   bool   `json:"report"`
	Encoding string `json:"encoding"`
	Flash    bool   `json:"flash,omitempty"`
	Priority string `json:"priority"`
	Split    string `json:"split,omitempty"` // omitted for the SMSC's default method
	// ValiditySeconds is the validity period the message asked for; 0 means
	// the SMSC's default.
	ValiditySeconds int64           `json:"validity_seconds,omitempty"`
	SendAt          *time.Time      `json:"send_at,omitempty"`
	File            string          `json:"file,omitempty"`
	Meta            json.RawMessage `json:"meta,omitempty"`
	Received        time.Time       `json:"received_at"`
	// Due is when a queued message is next sent.
	Due       *time.Time `json:"due_at,omitempty"`
	Submitted *time.Time `json:"submitted_at,omitempty"`
	Done      *time.Time `json:"done_at,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	// SMSC is the account the message is on (smsagent.Record.Account);
	// Pinned is set when the message file named it; Avoided are the
	// accounts that refused it with a failover status.
	SMSC    string   `json:"smsc,omitempty"`
	Pinned  bool     `json:"pinned,omitempty"`
	Avoided []string `json:"avoided_smscs,omitempty"`
	// Parts is empty until the message has been split for sending.
	Parts []Part `json:"parts"`
}

// Part is one SMS of a message.
type Part struct {
	Seq    int            `json:"seq"` // 1-based
	State  smsagent.State `json:"state"`
	SMSC   string         `json:"smsc,omitempty"` // the account it went to
	SMSCID string         `json:"smsc_id,omitempty"`
	Stat   string         `json:"stat,omitempty"` // last receipt stat, raw
	Err    string         `json:"err,omitempty"`  // last receipt err, raw
	Error  string         `json:"error,omitempty"`
	// CommandStatus is the last submit_sm_resp command_status that was not
	// 0, in the 0x%08X form of SMPP 3.4 §5.1.3.
	CommandStatus string     `json:"command_status,omitempty"`
	Submitted     *time.Time `json:"submitted_at,omitempty"`
	Done          *time.Time `json:"done_at,omitempty"`
}

// NewMessage renders a stored record.
func NewMessage(r smsagent.Record) Message {
	m := Message{
		MessageID:       r.ID,
		ID:              r.ClientID,
		To:              r.To.String(),
		From:            r.From.String(),
		Text:            r.Text,
		State:           r.State,
		Final:           r.Final,
		Attempts:        r.Attempts,
		Report:          r.Report,
		Encoding:        string(r.Encoding),
		Flash:           r.Flash,
		Priority:        r.Priority.String(),
		ValiditySeconds: int64(r.Validity / time.Second),
		SendAt:          optTime(r.SendAt),
		File:            r.File,
		Received:        r.ReceivedAt.UTC(),
		Submitted:       optTime(r.Submitted),
		Done:            optTime(r.Done),
		LastError:       r.LastError,
		SMSC:            r.Account(),
		Pinned:          r.SMSC != "",
		Avoided:         r.Avoid,
		Parts:           make([]Part, len(r.Parts)),
	}
	if m.Encoding == "" {
		m.Encoding = string(smsagent.EncodingAuto)
	}
	if r.Split != smsagent.SplitDefault {
		m.Split = r.Split.String()
	}
	if len(r.UDH) > 0 {
		m.UDH = hex.EncodeToString(r.UDH)
	}
	if len(r.Meta) > 0 {
		m.Meta = r.Meta
	}
	if r.State == smsagent.StateQueued {
		m.Due = optTime(r.Due)
	}
	for i, p := range r.Parts {
		m.Parts[i] = Part{
			Seq:       i + 1,
			State:     p.State,
			SMSC:      p.SMSC,
			SMSCID:    p.SMSCID,
			Stat:      p.Stat,
			Err:       p.Err,
			Error:     p.Error,
			Submitted: optTime(p.Submitted),
			Done:      optTime(p.Done),
		}
		if p.Status != 0 {
			m.Parts[i].CommandStatus = fmt.Sprintf("0x%08X", p.Status)
		}
	}
	return m
}

// optTime leaves unset times out of the JSON rather than printing year 1.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// Stats is the JSON form of the queue's counters.
type Stats struct {
	// ByState has every state word, zero counts included, so a script can
	// read any key without checking that it exists.
	ByState map[string]int `json:"by_state"`
	Total   int            `json:"total"`
	// Awaiting is the part of "sent" still waiting for a receipt.
	Awaiting int `json:"awaiting_receipt"`
	// InboxBacklog is the number of reports and incoming SMS not yet
	// written to inbox/.
	InboxBacklog int `json:"inbox_backlog"`
}

// States lists the state words in their life order, as the tables print
// them.
var States = []smsagent.State{
	smsagent.StateQueued, smsagent.StateSending, smsagent.StateSent, smsagent.StateDelivered,
	smsagent.StateUndeliverable, smsagent.StateExpired, smsagent.StateRejected, smsagent.StateFailed,
	smsagent.StateCanceled,
}

// NewStats renders the outbox's counters.
func NewStats(st smsagent.Stats) Stats {
	out := Stats{ByState: make(map[string]int, len(States)), Awaiting: st.Awaiting, InboxBacklog: st.Events}
	for _, s := range States {
		out.ByState[s.String()] = 0
	}
	for s, n := range st.ByState {
		out.ByState[s.String()] += n
		out.Total += n
	}
	return out
}

// Page is one page of a queue listing. NextAfter is set when the page is
// full: pass it as "after" for the next page (which may be empty).
type Page struct {
	Messages  []Message          `json:"messages"`
	NextAfter smsagent.MessageID `json:"next_after,omitempty"`
}

// RetryResult answers a retry of every failed message.
type RetryResult struct {
	Retried int `json:"retried"`
}
