package outbox

import (
	"fmt"
	"time"

	"github.com/smsagent/smsagent"
)

// finish makes r final in state st at w.now and creates its report event.
// decider is the 1-based part whose outcome decided the state (0: none, as
// for an expiry or a cancel); reason is the readable error, empty for
// success. The caller has called modify and calls save afterwards.
func (w *wtx) finish(r *record, st smsagent.State, decider int, reason string) error {
	r.State = st
	r.Final = true
	r.Done = w.now
	r.Deadline = time.Time{}
	r.RoundTemp = false
	if reason != "" {
		r.LastError = reason
	}
	rep := buildReport(r, decider, reason)
	if r.Origin != "" {
		// A message of a cluster's queue that two nodes sent (a takeover
		// after a partition) is finished by both; its origin writes one
		// report, whichever comes first (see ImportEvents).
		if first, err := w.firstReport(r.ID); err != nil || !first {
			return err
		}
	}
	if err := w.reportCallback(r, rep, decider); err != nil {
		return err
	}
	return w.addEvent(&smsagent.Event{
		Kind:    smsagent.EventReport,
		Time:    r.Done,
		Subject: r.ID.String(),
		Report:  rep,
	})
}

// buildReport fills every field of the report of a final message.
func buildReport(r *record, decider int, reason string) *smsagent.Report {
	rep := &smsagent.Report{
		Type:      "report",
		ID:        r.ClientID,
		MessageID: r.ID,
		To:        r.To.String(),
		From:      r.From.String(),
		Status:    r.State.String(),
		Error:     reason,
		Done:      r.Done,
		File:      r.File,
		Meta:      r.Meta,
		Node:      r.Origin,
	}
	if decider > 0 && decider <= len(r.Parts) {
		p := r.Parts[decider-1]
		rep.Stat, rep.Err = p.Stat, p.Err
		if rep.Error == "" {
			rep.Error = p.Error
		}
	}
	if !r.Submitted.IsZero() {
		t := r.Submitted
		rep.Submitted = &t
	}
	if len(r.Parts) > 0 {
		rep.Parts = &smsagent.ReportParts{Count: len(r.Parts), Items: make([]smsagent.ReportPart, len(r.Parts))}
		for i, p := range r.Parts {
			rep.Parts.Items[i] = smsagent.ReportPart{
				Seq: i + 1, SMSC: p.SMSC, SMSCID: p.SMSCID, Status: p.State.String(),
				Stat: p.Stat, Err: p.Err, Error: p.Error,
			}
		}
	}
	rep.SMSC = r.Account()
	return rep
}

// ReportOf is the report of a final message as its file in inbox/ has it,
// rebuilt from the stored record; nil while the message is not final. The
// part that decided the state is found again: for delivered the one done
// last, for sent the one submitted last, for the other states the first
// part in that state. The error is that part's, else the message's last.
func ReportOf(rec smsagent.Record) *smsagent.Report {
	if !rec.Final {
		return nil
	}
	decider := 0
	for i, p := range rec.Parts {
		switch {
		case rec.State == smsagent.StateDelivered:
			if decider == 0 || !p.Done.Before(rec.Parts[decider-1].Done) {
				decider = i + 1
			}
		case rec.State == smsagent.StateSent:
			if decider == 0 || !p.Submitted.Before(rec.Parts[decider-1].Submitted) {
				decider = i + 1
			}
		case p.State == rec.State && decider == 0:
			decider = i + 1
		}
	}
	reason := ""
	if rec.State != smsagent.StateDelivered && (decider == 0 || rec.Parts[decider-1].Error == "") {
		reason = rec.LastError
	}
	return buildReport(&record{Record: rec}, decider, reason)
}

// receiptReason is the readable error of a part that a receipt made final
// without delivering it.
func receiptReason(st smsagent.State, stat, errCode string) string {
	var what string
	switch st {
	case smsagent.StateUndeliverable:
		what = "the network could not deliver the message"
	case smsagent.StateExpired:
		what = "the message expired in the network before delivery"
	case smsagent.StateRejected:
		what = "the SMSC rejected the message"
	default:
		what = "the message was not delivered"
	}
	if stat == "" {
		return "delivery receipt: " + what
	}
	if errCode == "" {
		return fmt.Sprintf("delivery receipt %s: %s", stat, what)
	}
	return fmt.Sprintf("delivery receipt %s (err %s): %s", stat, errCode, what)
}

// expiryReason says which limit ended a message: the smaller of max_age and
// the message's validity.
func expiryReason(r *record, maxAge time.Duration) string {
	if r.Validity > 0 && (maxAge <= 0 || r.Validity <= maxAge) {
		return fmt.Sprintf("not sent within its validity of %s", r.Validity)
	}
	return fmt.Sprintf("not sent within max_age %s", maxAge)
}

// expiresAt is when a message received at received (or held until sendAt)
// stops being sendable; zero when neither limit applies.
func expiresAt(m *smsagent.Message, maxAge time.Duration) time.Time {
	start := m.ReceivedAt
	if m.SendAt.After(start) {
		start = m.SendAt
	}
	limit := maxAge
	if m.Validity > 0 && (limit <= 0 || m.Validity < limit) {
		limit = m.Validity
	}
	if limit <= 0 {
		return time.Time{}
	}
	return start.Add(limit)
}
