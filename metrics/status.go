package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsagent/smsagent"
)

// bindStates are the states a bind slot reports (smsagent.BindStatus.State).
// Each slot exports all of them, 1 for the current one and 0 for the rest,
// so a series never disappears when the state changes.
var bindStates = []string{"connecting", "bound", "backoff", "auth-failed", "closed"}

// statusCollector turns the agent's Status snapshot into gauges and counters
// at scrape time.
type statusCollector struct {
	src StatusSource

	up, buildInfo                  *prometheus.Desc
	queue, awaiting                *prometheus.Desc
	bindState, bindOutstanding     *prometheus.Desc
	bindSubmits, bindReconnects    *prometheus.Desc
	bindThrottled                  *prometheus.Desc
	smscUp, smscBound, smscStalled *prometheus.Desc
	inboxBacklog                   *prometheus.Desc
	intakePending, intakeStalled   *prometheus.Desc
	intakeStuck                    *prometheus.Desc
	credentialsRefused             *prometheus.Desc
	credentialRefusals             *prometheus.Desc
	healthProblems                 *prometheus.Desc
}

func newStatusCollector(src StatusSource) *statusCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("smsagent_"+name, help, labels, nil)
	}
	return &statusCollector{
		src:             src,
		up:              d("status_up", "1 when this scrape read the agent's status snapshot, 0 when it failed or timed out."),
		buildInfo:       d("build_info", "The running agent's version, as a label; always 1.", "version"),
		queue:           d("queue_messages", "Messages in the outbox by state.", "state"),
		awaiting:        d("queue_awaiting_receipt_messages", "Sent messages still waiting for a delivery receipt."),
		bindState:       d("bind_state", "1 for the current state of each bind slot, 0 for the others.", "smsc", "slot", "state"),
		bindOutstanding: d("bind_outstanding_requests", "Requests sent on a bind slot and not yet answered.", "smsc", "slot"),
		bindSubmits:     d("bind_submits_total", "Parts submitted on a bind slot.", "smsc", "slot"),
		bindReconnects:  d("bind_reconnects_total", "Times a bind slot connected and bound again.", "smsc", "slot"),
		bindThrottled:   d("bind_throttled_total", "Throttling answers (ESME_RTHROTTLED, ESME_RMSGQFUL) on a bind slot.", "smsc", "slot"),
		smscUp: d("smsc_up", "1 while the SMSC account is up (its routes use it), 0 while it is down "+
			"(no session bound for failover.after: its messages go to the next account of their route).", "smsc"),
		smscBound: d("smsc_bound_sessions", "Sessions of the SMSC account bound right now.", "smsc"),
		smscStalled: d("smsc_stalled", "1 while the SMSC account takes no message (every window full, nothing "+
			"answered for half its response_timeout): its messages wait, the other accounts' go out.", "smsc"),
		inboxBacklog:  d("inbox_backlog_events", "Reports and incoming SMS stored but not yet written to inbox/."),
		intakePending: d("intake_pending_files", "Files seen in outgoing/ and not yet taken."),
		intakeStalled: d("intake_stalled", "1 while intake has stopped taking files because storing or quarantining failed."),
		intakeStuck:   d("intake_stuck_workers", "Intake workers on one file for over a minute (a file system call that does not return)."),
		credentialsRefused: d("smsc_credentials_refused", "1 while the SMSC refuses the account's credentials (the agent "+
			"tries again every smsc.auth_retry and when the password file changes)."),
		credentialRefusals: d("smsc_credential_refusals_total", "Binds the SMSC refused for the account's credentials."),
		healthProblems:     d("health_problems", "Conditions an operator must act on (the health lines of smsagent status)."),
	}
}

// Describe sends every descriptor the collector may emit.
func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.buildInfo, c.queue, c.awaiting, c.bindState, c.bindOutstanding,
		c.bindSubmits, c.bindReconnects, c.bindThrottled, c.smscUp, c.smscBound, c.smscStalled, c.inboxBacklog, c.intakePending, c.intakeStalled,
		c.intakeStuck, c.credentialsRefused, c.credentialRefusals, c.healthProblems} {
		ch <- d
	}
}

// Collect reads one snapshot. A snapshot that fails or takes longer than
// statusTimeout yields smsagent_status_up 0 and nothing else from here, so
// the rest of the scrape (event counters, runtime) still arrives.
func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	st, err := c.src.Status(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		// Labels from the snapshot are the agent's own words; an invalid
		// one (not UTF-8) is left out rather than failing the scrape.
		if m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...); err == nil {
			ch <- m
		}
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		if m, err := prometheus.NewConstMetric(d, prometheus.CounterValue, float64(v), labels...); err == nil {
			ch <- m
		}
	}
	gauge(c.up, 1)
	gauge(c.buildInfo, 1, st.Version)
	for s := smsagent.StateQueued; s <= smsagent.StateCanceled; s++ {
		gauge(c.queue, float64(st.Queue.ByState[s.String()]), s.String())
	}
	gauge(c.awaiting, float64(st.Queue.Awaiting))
	for _, b := range st.Binds {
		slot := slotLabel(b.Slot)
		known := false
		for _, s := range bindStates {
			v := 0.0
			if s == b.State {
				v, known = 1, true
			}
			gauge(c.bindState, v, b.SMSC, slot, s)
		}
		if !known && b.State != "" {
			gauge(c.bindState, 1, b.SMSC, slot, b.State)
		}
		gauge(c.bindOutstanding, float64(b.Outstanding), b.SMSC, slot)
		counter(c.bindSubmits, b.Submitted, b.SMSC, slot)
		counter(c.bindReconnects, b.Reconnects, b.SMSC, slot)
		counter(c.bindThrottled, b.Throttled, b.SMSC, slot)
	}
	for _, a := range st.SMSCs {
		up := 0.0
		if a.State == "up" {
			up = 1
		}
		gauge(c.smscUp, up, a.Name)
		gauge(c.smscBound, float64(a.Bound), a.Name)
		stalled := 0.0
		if !a.StalledSince.IsZero() {
			stalled = 1
		}
		gauge(c.smscStalled, stalled, a.Name)
	}
	gauge(c.inboxBacklog, float64(st.Inbox.Backlog))
	gauge(c.intakePending, float64(st.Intake.Pending))
	stalled := 0.0
	if st.Intake.Stalled {
		stalled = 1
	}
	gauge(c.intakeStalled, stalled)
	gauge(c.intakeStuck, float64(st.Intake.StuckWorkers))
	refused := 0.0
	if st.SMSC.CredentialsRefused {
		refused = 1
	}
	gauge(c.credentialsRefused, refused)
	counter(c.credentialRefusals, st.SMSC.CredentialRefusals)
	gauge(c.healthProblems, float64(len(st.Health)))
}
