package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smsagent/smsagent"
	bolt "go.etcd.io/bbolt"
)

// Callback is one HTTP call owed to a message's callback URL (report_url,
// or Kannel's dlr-url): made in the same transaction as the state change
// it reports, kept until it succeeds or is given up.
type Callback struct {
	// Key is its place in the callbacks bucket: [due][sequence].
	Key     []byte
	Message smsagent.MessageID
	// Method is GET (Kannel's form, the URL carries everything) or POST
	// (Body is the report's JSON).
	Method   string
	URL      string
	Body     []byte
	Created  time.Time
	Attempts int
	// EventID and EventType are set for a webhook's call and a hook run:
	// the event's name in inbox/ (stable across retries) and its type.
	EventID, EventType string
	// File is, for a hook run (Method MethodHook), the event's file in
	// inbox/; Body is then the JSON object of the variables the command
	// gets in its environment.
	File string
}

// MethodHook is the Method of a run of the event command (hooks:), kept
// and retried with the calls: it is owed from the commit that records the
// event's file durable.
const MethodHook = "HOOK"

// CallbackOutcome is what became of a call.
type CallbackOutcome uint8

const (
	// CallbackDone: answered with success; the callback is removed.
	CallbackDone CallbackOutcome = iota
	// CallbackRetry: failed; made again at Next.
	CallbackRetry
	// CallbackGiveUp: failed for longer than the caller allows; removed.
	CallbackGiveUp
)

// CallbackResult settles one Callback returned by DueCallbacks or
// DueHookRuns.
type CallbackResult struct {
	Key []byte
	// Hook is set for a run of the event command (Method MethodHook),
	// which is kept apart from the calls.
	Hook    bool
	Outcome CallbackOutcome
	Next    time.Time // with CallbackRetry
	// Error is the last attempt's failure and Reason why it is given up,
	// with CallbackGiveUp: the note written to inbox/ says both.
	Error, Reason string
}

// callbackVersion 2 appends the event id and type, 3 the file.
const callbackVersion = 3

// appendCallback encodes c: version, message id, method, url, body,
// created, attempts, event id, event type, file.
func appendCallback(b []byte, c *Callback) []byte {
	e := encoder{b: b}
	e.u8(callbackVersion)
	e.uvarint(uint64(c.Message))
	e.str(c.Method)
	e.str(c.URL)
	e.bytes(c.Body)
	e.time(c.Created)
	e.uvarint(uint64(c.Attempts))
	e.str(c.EventID)
	e.str(c.EventType)
	e.str(c.File)
	return e.b
}

func decodeCallback(key, v []byte) (Callback, error) {
	d := decoder{b: v}
	ver := d.u8()
	if (ver < 1 || ver > callbackVersion) && d.err == nil {
		return Callback{}, corruptf("callback version %d is newer than this release reads", ver)
	}
	c := Callback{Key: append([]byte(nil), key...)}
	c.Message = smsagent.MessageID(d.uvarint())
	c.Method = d.str()
	c.URL = d.str()
	c.Body = append([]byte(nil), d.bytes()...)
	c.Created = d.time()
	c.Attempts = d.small(1 << 30)
	if ver >= 2 {
		c.EventID = d.str()
		c.EventType = d.str()
	}
	if ver >= 3 {
		c.File = d.str()
	}
	if d.err != nil {
		return Callback{}, d.err
	}
	return c, nil
}

// callbackKey is [due][sequence].
func callbackKey(due time.Time, seq uint64) []byte {
	return be64(be64(make([]byte, 0, 16), timeKey(due)), seq)
}

// callbackBucket is where c is kept: runs of the event command apart from
// the calls.
func callbackBucket(hook bool) []byte {
	if hook {
		return bktHookRuns
	}
	return bktCallbacks
}

// addCallback queues a call (or a run) due now.
func (w *wtx) addCallback(c *Callback) error { return w.addCallbackAt(c, w.now) }

// addCallbackAt queues a call (or a run) due at due.
func (w *wtx) addCallbackAt(c *Callback, due time.Time) error {
	b := w.tx.Bucket(callbackBucket(c.Method == MethodHook))
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	c.Created = w.now
	v := w.encode(func(out []byte) []byte { return appendCallback(out, c) })
	return w.put(b, callbackKey(due, seq), v)
}

// reportCallback queues the callback of a final report: the report's JSON
// POSTed to report_url, or Kannel's event for the final state when the
// mask asks for it.
func (w *wtx) reportCallback(r *record, rep *smsagent.Report, decider int) error {
	cb := r.Callback
	if cb.URL == "" {
		return nil
	}
	if cb.KannelMask == 0 {
		body, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		return w.addCallback(&Callback{Message: r.ID, Method: "POST", URL: cb.URL, Body: body})
	}
	event, text := kannelFinal(r, decider)
	return w.kannelCallback(r, event, text)
}

// Kannel's DLR event types (gw/dlr.h).
const (
	kannelDelivered  = 1
	kannelFailed     = 2
	kannelBuffered   = 4
	kannelSMSCAck    = 8
	kannelSMSCNack   = 16
	kannelExpired    = 34
	kannelNoCallback = 0
)

// kannelFinal is the event and SMSC text of a final state: a receipt's
// stat for one that came by receipt, "NACK/…" for a refused submit_sm.
func kannelFinal(r *record, decider int) (event int, text string) {
	var p smsagent.Part
	if decider > 0 && decider <= len(r.Parts) {
		p = r.Parts[decider-1]
	}
	switch r.State {
	case smsagent.StateDelivered:
		return kannelDelivered, receiptText(p)
	case smsagent.StateExpired:
		return kannelExpired, receiptText(p)
	case smsagent.StateRejected:
		if p.Stat == "" {
			return kannelSMSCNack, fmt.Sprintf("NACK/0x%08X/%s", p.Status, p.Error)
		}
		return kannelFailed, receiptText(p)
	case smsagent.StateUndeliverable, smsagent.StateFailed:
		return kannelFailed, receiptText(p)
	}
	// canceled by an operator, or sent without a receipt to wait for:
	// nothing Kannel would report.
	return kannelNoCallback, ""
}

// receiptText is the receipt's words Kannel's %A carries, as far as the
// part keeps them.
func receiptText(p smsagent.Part) string {
	if p.Stat == "" {
		return ""
	}
	return fmt.Sprintf("id:%s stat:%s err:%s", p.SMSCID, p.Stat, p.Err)
}

// intermediateCallback queues the call an intermediate event owes: Kannel's
// GET when the dlr-mask asks for event, or, when report_mask asks, the
// report as it stands POSTed to report_url, marked intermediate, with the
// part seq that the event is about deciding stat and err.
func (w *wtx) intermediateCallback(r *record, event int, text string, seq int) error {
	cb := r.Callback
	switch {
	case cb.URL == "":
		return nil
	case cb.KannelMask != 0:
		return w.kannelCallback(r, event, text)
	case cb.ReportMask&event == 0, r.Final:
		// Not asked for; or the message is final already (sent without
		// a receipt to wait for), and its final report said it all.
		return nil
	}
	rep := buildReport(r, seq, "")
	rep.Intermediate = true
	rep.Status = smsagent.StateSent.String()
	rep.Done = w.now
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	return w.addCallback(&Callback{Message: r.ID, Method: "POST", URL: cb.URL, Body: body})
}

// kannelCallback queues a GET of the dlr-url with Kannel's escapes for
// event, when the mask asks for it.
func (w *wtx) kannelCallback(r *record, event int, text string) error {
	if event == kannelNoCallback || r.Callback.KannelMask&event == 0 {
		return nil
	}
	u := KannelURL(r.Callback.URL, KannelFields{Event: event, SMSCText: text, To: r.To.String(),
		From: r.From.String(), At: w.now, MessageID: r.ID, ForeignID: firstSMSCID(r)})
	return w.addCallback(&Callback{Message: r.ID, Method: "GET", URL: u})
}

func firstSMSCID(r *record) string {
	if len(r.Parts) > 0 {
		return r.Parts[0].SMSCID
	}
	return ""
}

// KannelFields are the values Kannel's escape codes name.
type KannelFields struct {
	Event     int
	SMSCText  string
	To, From  string
	At        time.Time
	MessageID smsagent.MessageID
	ForeignID string
}

// KannelURL fills in Kannel's escape codes in a dlr-url (Kannel 1.4.5 user
// guide, "Parameters (Escape Codes)"; as gw/urltrans.c fills them in a
// DLR): %d the event, %A and %b the SMSC text (URL-encoded), %a the SMSC
// text's words joined by "+", %p and %P the destination and the sender,
// %q and %Q the same with a leading "00" made "%2B", %t the time as
// YYYY-MM-DD+HH:MM:SS in GMT, %T the Unix time, %F the SMSC's message id,
// %I our message id (where Kannel puts its own id), %% a "%". Other codes
// are copied unchanged, as Kannel does.
func KannelURL(pattern string, f KannelFields) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' || i+1 == len(pattern) {
			b.WriteByte(c)
			continue
		}
		i++
		switch pattern[i] {
		case 'd':
			b.WriteString(strconv.Itoa(f.Event))
		case 'A', 'b':
			b.WriteString(url.QueryEscape(f.SMSCText))
		case 'a':
			words := strings.Fields(f.SMSCText)
			for j := range words {
				words[j] = url.QueryEscape(words[j])
			}
			b.WriteString(strings.Join(words, "+"))
		case 'p':
			b.WriteString(url.QueryEscape(f.To))
		case 'P':
			b.WriteString(url.QueryEscape(f.From))
		case 'q':
			b.WriteString(plusForm(f.To))
		case 'Q':
			b.WriteString(plusForm(f.From))
		case 't':
			b.WriteString(f.At.UTC().Format("2006-01-02+15:04:05"))
		case 'T':
			b.WriteString(strconv.FormatInt(f.At.Unix(), 10))
		case 'F':
			b.WriteString(url.QueryEscape(f.ForeignID))
		case 'I':
			b.WriteString(f.MessageID.String())
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(pattern[i])
		}
	}
	return b.String()
}

// plusForm is Kannel's %q: a leading "00" becomes "%2B", the number then
// URL-encoded as %p.
func plusForm(n string) string {
	if strings.HasPrefix(n, "00") {
		return "%2B" + url.QueryEscape(n[2:])
	}
	return url.QueryEscape(n)
}

// DueCallbacks returns at most max callbacks due at now, earliest first.
func (s *Store) DueCallbacks(ctx context.Context, now time.Time, max int) ([]Callback, error) {
	out, err := s.due(ctx, bktCallbacks, now, max)
	if err != nil {
		return nil, fmt.Errorf("outbox: due callbacks: %w", err)
	}
	return out, nil
}

// DueHookRuns returns at most max runs of the event command due at now,
// earliest first.
func (s *Store) DueHookRuns(ctx context.Context, now time.Time, max int) ([]Callback, error) {
	out, err := s.due(ctx, bktHookRuns, now, max)
	if err != nil {
		return nil, fmt.Errorf("outbox: due hook runs: %w", err)
	}
	return out, nil
}

func (s *Store) due(ctx context.Context, bucket []byte, now time.Time, max int) ([]Callback, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Callback
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil // a read-only open of a file from before the bucket's schema
		}
		c := b.Cursor()
		limit := timeKey(now)
		for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
			if len(k) != 16 || beUint64(k[:8]) > limit {
				break
			}
			cb, err := decodeCallback(k, v)
			if err != nil {
				return err
			}
			out = append(out, cb)
		}
		return nil
	})
	return out, err
}

// NextCallback is when the earliest callback or hook run is due; ok is
// false when none waits. It reads a key of each bucket: the worker asks
// every time it goes idle.
func (s *Store) NextCallback() (next time.Time, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bktCallbacks, bktHookRuns} {
			b := tx.Bucket(name)
			if b == nil {
				continue
			}
			if k, _ := b.Cursor().First(); len(k) == 16 {
				t := time.Unix(0, int64(beUint64(k[:8]))).UTC()
				if !ok || t.Before(next) {
					next, ok = t, true
				}
			}
		}
		return nil
	})
	return next, ok, err
}

// SettleCallbacks records what became of calls DueCallbacks returned: done
// and given up are removed, a retry moves to its Next with one attempt
// more. A key no longer there (settled already) is skipped.
func (s *Store) SettleCallbacks(ctx context.Context, rs []CallbackResult) error {
	if len(rs) == 0 {
		return nil
	}
	if err := s.do(ctx, &settleCallbacksOp{rs: rs}); err != nil {
		return fmt.Errorf("outbox: settle callbacks: %w", err)
	}
	return nil
}

type settleCallbacksOp struct{ rs []CallbackResult }

func (o *settleCallbacksOp) apply(w *wtx) error {
	for _, r := range o.rs {
		b := w.tx.Bucket(callbackBucket(r.Hook))
		v := b.Get(r.Key)
		if v == nil {
			continue
		}
		cb, err := decodeCallback(r.Key, v)
		if err != nil {
			return err
		}
		if err := w.del(b, r.Key); err != nil {
			return err
		}
		if r.Outcome == CallbackGiveUp && cb.EventID == "" {
			// In the same commit as the removal: the note is written
			// exactly when the call is no longer owed.
			if err := w.callbackFailed(&cb, &r); err != nil {
				return err
			}
		}
		if r.Outcome != CallbackRetry {
			continue
		}
		cb.Attempts++
		seq := beUint64(r.Key[8:])
		nv := w.encode(func(out []byte) []byte { return appendCallback(out, &cb) })
		if err := w.put(b, callbackKey(r.Next, seq), nv); err != nil {
			return err
		}
	}
	return nil
}

// maxCallbackError bounds the error a give-up note quotes.
const maxCallbackError = 512

// callbackFailed makes the inbox note of a callback given up.
func (w *wtx) callbackFailed(cb *Callback, r *CallbackResult) error {
	note := &smsagent.CallbackFailed{Type: "callback_failed", MessageID: cb.Message, Method: cb.Method, URL: cb.URL,
		Attempts: cb.Attempts + 1, Since: cb.Created, GaveUp: w.now, LastError: r.Error, Reason: r.Reason}
	if len(note.LastError) > maxCallbackError {
		note.LastError = strings.ToValidUTF8(note.LastError[:maxCallbackError], "")
	}
	rec, err := w.get(cb.Message)
	if err != nil {
		return err
	}
	if rec != nil {
		note.ID, note.File = rec.ClientID, rec.File
	}
	return w.addEvent(&smsagent.Event{Kind: smsagent.EventCallbackFailed, Time: w.now, Subject: cb.Message.String(),
		CallbackFailed: note})
}

// webhookCalls queues the calls the webhooks that take ev's kind are owed:
// the event's JSON as its file in inbox/ has it (times in UTC), with the
// event's file name as its id.
//
// Crash story: the calls are written in the transaction that makes the
// event, so a crash leaves both or neither; a call made and not yet
// settled is made again at the next start (at least once, the receiver
// takes the event id once).
func (w *wtx) webhookCalls(ev *smsagent.Event) error {
	var body []byte
	for _, h := range w.s.opts.Webhooks {
		if !slices.Contains(h.Kinds, ev.Kind) {
			continue
		}
		if body == nil {
			var v any
			switch ev.Kind {
			case smsagent.EventReport:
				r := *ev.Report
				r.Done = r.Done.UTC()
				if r.Submitted != nil {
					t := r.Submitted.UTC()
					r.Submitted = &t
				}
				v = &r
			case smsagent.EventMO:
				m := *ev.MO
				m.Received = m.Received.UTC()
				v = &m
			default:
				return nil
			}
			var err error
			if body, err = json.Marshal(v); err != nil {
				return err
			}
		}
		c := &Callback{Method: "POST", URL: h.URL, Body: body, EventID: ev.FileName(), EventType: ev.Kind.String()}
		if ev.Report != nil {
			c.Message = ev.Report.MessageID
		}
		if err := w.addCallback(c); err != nil {
			return err
		}
	}
	return nil
}
