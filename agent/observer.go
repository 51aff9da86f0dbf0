package agent

import (
	"time"

	"github.com/smsagent/smsagent"
)

// Observer receives the agent's events as they happen, for metrics that
// need event-time values (latency histograms, counters by status). The
// metrics package implements it; a nil Observer in Options means none.
// Methods are called from hot paths: they must be cheap and must not block.
//
// Gauges (queue depth by state, bind states, backlog) are not pushed
// through Observer: they are read from the Status snapshot at scrape time.
type Observer interface {
	// FileAccepted is called once per file stored by intake.
	FileAccepted(messages int)
	// RequestAccepted is called once per request stored by Submit.
	RequestAccepted(messages int)
	// CallbackDone is called once per callback call: "delivered",
	// "retried" or "given_up".
	CallbackDone(outcome string)
	// WebhookDone is called once per webhook call: "delivered",
	// "retried" or "given_up".
	WebhookDone(outcome string)
	// HookDone is called once per run of the event command: "ran",
	// "retried" or "given_up".
	HookDone(outcome string)
	// FileRejected is called once per file moved to failed/.
	FileRejected()
	// SubmitDone is called for every submit_sm response (or generic_nack),
	// with the SMSC account, the command_status name ("ESME_ROK",
	// "ESME_RTHROTTLED", ...) and the round trip from write to response.
	SubmitDone(account, status string, rtt time.Duration)
	// SubmitTimedOut is called when a response deadline passes (outcome
	// unknown; the part is not resent while its session lives).
	SubmitTimedOut()
	// FileToSubmit is the time from a message's intake to its first part
	// being accepted by the SMSC.
	FileToSubmit(d time.Duration)
	// SubmitToReceipt is the time from a part's acceptance to its final
	// receipt.
	SubmitToReceipt(d time.Duration)
	// ReceiptApplied is called per receipt with its raw stat word (or
	// "none") and what applying it did ("matched", "repeated", "parked").
	ReceiptApplied(stat, outcome string)
	// MOReceived is called per complete incoming message.
	MOReceived(parts int)
	// MODuplicate is called per incoming part dropped as the SMSC's
	// redelivery of one stored already, with the reason: "window" (within
	// mo.duplicate_window of the first one's answer) or "answer_lost" (the
	// answer to the first one could not be sent).
	MODuplicate(reason string)
	// ReportsWritten is called when the inbox writer made n files durable.
	ReportsWritten(n int)
}

// ReportObserver is an Observer that also wants each report as its file is
// made durable in inbox/: the benchmark times submit -> report in inbox
// from it (Report.Submitted is the committed submit_sm_resp). The agent
// keeps a page's reports for it only when the Observer implements it, so
// other observers cost nothing. ReportWritten is called on the inbox
// writer's goroutine after EventsWritten committed; it must not keep r.
type ReportObserver interface {
	Observer
	ReportWritten(r *smsagent.Report)
}

// NopObserver ignores every event: the Observer when none is given, and
// the one to embed in an observer that wants only some of them.
type NopObserver struct{}

func (NopObserver) FileAccepted(int)                         {}
func (NopObserver) RequestAccepted(int)                      {}
func (NopObserver) CallbackDone(string)                      {}
func (NopObserver) WebhookDone(string)                       {}
func (NopObserver) HookDone(string)                          {}
func (NopObserver) FileRejected()                            {}
func (NopObserver) SubmitDone(string, string, time.Duration) {}
func (NopObserver) SubmitTimedOut()                          {}
func (NopObserver) FileToSubmit(time.Duration)               {}
func (NopObserver) SubmitToReceipt(time.Duration)            {}
func (NopObserver) ReceiptApplied(string, string)            {}
func (NopObserver) MOReceived(int)                           {}
func (NopObserver) MODuplicate(string)                       {}
func (NopObserver) ReportsWritten(int)                       {}

var _ Observer = NopObserver{}
