// Package metrics exports smsagent's metrics in the Prometheus text
// exposition format (version 0.0.4) through github.com/prometheus/client_golang,
// on a registry of its own: nothing registers with, or reads, the default
// registry.
//
// Two kinds of values make up a scrape. Event-time values (counters and
// latency histograms) are pushed by the agent through the agent.Observer
// methods of *Metrics while it works. Scrape-time values (queue depth by
// state, bind states, backlogs, health) are read from the agent's Status
// snapshot when Prometheus asks, with a short timeout, so nothing is kept
// twice and gauges cannot drift. The Go runtime and process collectors are
// included.
//
// Names follow the Prometheus conventions: the smsagent_ prefix, the base
// unit in the name (_seconds), _total on counters. Label values that come
// from the SMSC are bounded, so a hostile SMSC cannot grow the number of
// series: receipt stat words outside SMPP 3.4 Appendix B become "other", and
// at most maxStatusLabels command_status names (SMPP 3.4 §5.1.3) are kept
// before the rest are counted as "other".
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smsagent/smsagent"
)

// StatusSource gives the running agent's snapshot; the agent satisfies it.
type StatusSource interface {
	Status(ctx context.Context) (smsagent.Status, error)
}

// statusTimeout bounds how long a scrape waits for the snapshot. Prometheus
// times a scrape out after 10 s by default; the rest of the scrape must fit.
const statusTimeout = 2 * time.Second

// maxStatusLabels bounds the distinct command_status names of
// smsagent_submits_total. SMPP 3.4 defines about 70; an SMSC inventing
// vendor codes gets the first few and "other".
const maxStatusLabels = 64

// other is the label value of everything beyond the bounds.
const other = "other"

// Histogram buckets, in seconds, for the ranges each latency lives in.
var (
	// A submit_sm round trip: sub-millisecond on a LAN, seconds on a slow
	// SMSC, capped by the response timeout (10 s by default).
	submitRoundTripBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
		0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	// From intake to the SMSC's acceptance: milliseconds when the link is
	// up, up to an hour of queueing when it is not.
	fileToSubmitBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600}
	// From acceptance to the final receipt: a second when the phone is on,
	// days (the usual validity) when it is not.
	submitToReceiptBuckets = []float64{0.01, 0.1, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600,
		86400, 2 * 86400, 3 * 86400}
)

// Metrics is the agent's Observer and the /metrics handler. Observer methods
// are safe for concurrent use and do not block.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	filesAccepted    prometheus.Counter
	requestsAccepted prometheus.Counter
	callbacks        *prometheus.CounterVec
	webhooks         *prometheus.CounterVec
	hooks            *prometheus.CounterVec
	filesRejected    prometheus.Counter
	messagesAccepted prometheus.Counter
	submits          *boundedCounters
	submitTimeouts   prometheus.Counter
	receipts         *prometheus.CounterVec
	moMessages       prometheus.Counter
	moParts          prometheus.Counter
	moDuplicates     *prometheus.CounterVec
	inboxWritten     prometheus.Counter
	submitRoundTrip  prometheus.Histogram
	fileToSubmit     prometheus.Histogram
	submitToReceipt  prometheus.Histogram
}

// New creates the metrics on a registry of their own. status may be nil: the
// scrape-time metrics are then left out (a process that runs no agent).
func New(status StatusSource) *Metrics {
	reg := prometheus.NewRegistry()
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "smsagent_" + name, Help: help})
		reg.MustRegister(c)
		return c
	}
	histogram := func(name, help string, buckets []float64) prometheus.Histogram {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "smsagent_" + name, Help: help, Buckets: buckets})
		reg.MustRegister(h)
		return h
	}
	m := &Metrics{
		reg:              reg,
		filesAccepted:    counter("files_accepted_total", "Message files stored by intake."),
		filesRejected:    counter("files_rejected_total", "Message files moved to failed/."),
		messagesAccepted: counter("messages_accepted_total", "Messages stored from accepted files and API requests (one per recipient)."),
		requestsAccepted: counter("api_requests_accepted_total", "POST /api/v1/messages requests whose messages were stored."),

		submitTimeouts: counter("submit_timeouts_total",
			"submit_sm requests without a response within smsc.response_timeout (outcome unknown)."),
		moMessages:   counter("mo_messages_total", "Incoming SMS received complete."),
		moParts:      counter("mo_parts_total", "SMS parts of the incoming messages received complete."),
		inboxWritten: counter("inbox_files_written_total", "Reports, incoming SMS and duplicate notices written to inbox/."),
		submitRoundTrip: histogram("submit_round_trip_seconds",
			"Time from writing a submit_sm to reading its response.", submitRoundTripBuckets),
		fileToSubmit: histogram("file_to_submit_seconds",
			"Time from a message's intake to the SMSC accepting its first part.", fileToSubmitBuckets),
		submitToReceipt: histogram("submit_to_receipt_seconds",
			"Time from the SMSC accepting a part to its final delivery receipt.", submitToReceiptBuckets),
	}
	submits := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsagent_submits_total",
		Help: "submit_sm responses and generic_nacks by SMSC account and command_status name (ESME_ROK is success).",
	}, []string{"smsc", "status"})
	reg.MustRegister(submits)
	m.submits = newBoundedCounters(submits, maxStatusLabels)
	m.receipts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsagent_receipts_total",
		Help: "Delivery receipts by stat word and by what applying them did (matched, repeated, parked).",
	}, []string{"stat", "outcome"})
	reg.MustRegister(m.receipts)
	m.moDuplicates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsagent_mo_duplicates_total",
		Help: "Incoming SMS parts dropped as the SMSC's redelivery of one stored already, by reason: " +
			"window (within mo.duplicate_window of its answer), answer_lost (its answer could not be sent).",
	}, []string{"reason"})
	reg.MustRegister(m.moDuplicates)
	for _, r := range moDuplicateReasons {
		m.moDuplicates.WithLabelValues(r) // both series from the start, at 0
	}
	m.callbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsagent_callbacks_total",
		Help: "Calls to report_url and dlr-url, by outcome: delivered, retried, given_up.",
	}, []string{"outcome"})
	reg.MustRegister(m.callbacks)
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsagent_webhooks_total",
		Help: "Webhook calls, by outcome: delivered, retried, given_up.",
	}, []string{"outcome"})
	reg.MustRegister(m.webhooks)
	for _, o := range []string{"delivered", "retried", "given_up"} {
		m.callbacks.WithLabelValues(o) // every series from the start, at 0
		m.webhooks.WithLabelValues(o)
	}
	m.hooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsagent_hooks_total",
		Help: "Runs of the event command (hooks.command), by outcome: ran (exit 0), retried, given_up.",
	}, []string{"outcome"})
	reg.MustRegister(m.hooks)
	for _, o := range []string{"ran", "retried", "given_up"} {
		m.hooks.WithLabelValues(o)
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if status != nil {
		reg.MustRegister(newStatusCollector(status))
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry: reg,
		// Every scrape asks the agent for a snapshot; two at a time is
		// plenty for Prometheus and a person with curl.
		MaxRequestsInFlight: 2,
		Timeout:             10 * time.Second,
	})
	return m
}

// ServeHTTP answers /metrics.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

// Registry is where the metrics live, for a caller that adds its own or
// gathers them in a test.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// FileAccepted counts a file stored by intake and its messages.
func (m *Metrics) FileAccepted(messages int) {
	m.filesAccepted.Inc()
	m.messagesAccepted.Add(float64(messages))
}

// RequestAccepted counts a request stored by the admin API and its
// messages.
func (m *Metrics) RequestAccepted(messages int) {
	m.requestsAccepted.Inc()
	m.messagesAccepted.Add(float64(messages))
}

// CallbackDone counts one callback call by its outcome.
func (m *Metrics) CallbackDone(outcome string) { m.callbacks.WithLabelValues(outcome).Inc() }

// WebhookDone counts a webhook call by outcome.
func (m *Metrics) WebhookDone(outcome string) { m.webhooks.WithLabelValues(outcome).Inc() }

// HookDone counts a run of the event command by outcome.
func (m *Metrics) HookDone(outcome string) { m.hooks.WithLabelValues(outcome).Inc() }

// FileRejected counts a file moved to failed/.
func (m *Metrics) FileRejected() { m.filesRejected.Inc() }

// SubmitDone counts a submit response by account and status and records
// its round trip.
func (m *Metrics) SubmitDone(account, status string, rtt time.Duration) {
	m.submits.inc(account, status)
	m.submitRoundTrip.Observe(rtt.Seconds())
}

// SubmitTimedOut counts a response deadline that passed.
func (m *Metrics) SubmitTimedOut() { m.submitTimeouts.Inc() }

// FileToSubmit records the time from intake to the first accepted part.
func (m *Metrics) FileToSubmit(d time.Duration) { m.fileToSubmit.Observe(d.Seconds()) }

// SubmitToReceipt records the time from acceptance to the final receipt.
func (m *Metrics) SubmitToReceipt(d time.Duration) { m.submitToReceipt.Observe(d.Seconds()) }

// ReceiptApplied counts a receipt by its stat word and outcome.
func (m *Metrics) ReceiptApplied(stat, outcome string) {
	m.receipts.WithLabelValues(receiptStat(stat), receiptOutcome(outcome)).Inc()
}

// MOReceived counts a complete incoming message and its parts.
func (m *Metrics) MOReceived(parts int) {
	m.moMessages.Inc()
	m.moParts.Add(float64(parts))
}

// MODuplicate counts an incoming part dropped as a redelivery, by reason.
func (m *Metrics) MODuplicate(reason string) {
	for _, r := range moDuplicateReasons {
		if r == reason {
			m.moDuplicates.WithLabelValues(r).Inc()
			return
		}
	}
	m.moDuplicates.WithLabelValues(other).Inc()
}

// moDuplicateReasons are the reasons agent.Observer.MODuplicate gives.
var moDuplicateReasons = []string{"window", "answer_lost"}

// ReportsWritten counts files made durable in inbox/.
func (m *Metrics) ReportsWritten(n int) { m.inboxWritten.Add(float64(n)) }

// receiptStat keeps the stat words of SMPP 3.4 Appendix B (and the agent's
// "none" for a receipt without one); anything else an SMSC sends is "other".
func receiptStat(s string) string {
	switch s {
	case "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD", "ENROUTE", "none":
		return s
	}
	return other
}

func receiptOutcome(s string) string {
	switch s {
	case "matched", "repeated", "parked":
		return s
	}
	return other
}

// boundedCounters is a counter vector labelled by SMSC account (the
// configured names, a bounded set) and one more label whose distinct values
// are capped: past the cap, new values count as "other". The values seen
// are few and stable, so the read lock is all the hot path takes.
type boundedCounters struct {
	vec *prometheus.CounterVec
	max int

	mu   sync.RWMutex
	seen map[string]prometheus.Counter
}

func newBoundedCounters(vec *prometheus.CounterVec, max int) *boundedCounters {
	return &boundedCounters{vec: vec, max: max, seen: make(map[string]prometheus.Counter)}
}

func (b *boundedCounters) inc(account, v string) {
	key := account + "\x00" + v
	b.mu.RLock()
	c, ok := b.seen[key]
	b.mu.RUnlock()
	if !ok {
		c = b.add(account, v, key)
	}
	c.Inc()
}

func (b *boundedCounters) add(account, v, key string) prometheus.Counter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.seen[key]; ok {
		return c
	}
	// Values past the cap are not remembered, or the map would grow with
	// them; they take the slow path to "other" every time.
	if len(b.seen) >= b.max || len(v) > 64 || !utf8.ValidString(v) || v == "" {
		okey := account + "\x00" + other
		c, ok := b.seen[okey]
		if !ok {
			c = b.vec.WithLabelValues(account, other)
			b.seen[okey] = c
		}
		return c
	}
	c := b.vec.WithLabelValues(account, v)
	b.seen[key] = c
	return c
}

// slotLabel is the bind slot as a label value.
func slotLabel(slot int) string { return strconv.Itoa(slot) }
