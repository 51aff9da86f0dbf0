package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/bindpool"
	"github.com/smsagent/smsagent/spool"
)

// Series is the last hour's activity as rates per ten seconds, for the
// status page's charts.
func (a *Agent) Series() smsagent.Series { return a.rates.series(a.clock()) }

// linkDownAlarm is how long every session may be down before the status
// lists it as a health problem: reconnecting takes a few seconds, a site
// whose link comes and goes should not raise an alarm each time.
const linkDownAlarm = time.Minute

// Status is the snapshot `smsagent status`, the admin API and the metrics
// scrape read. It fails only when the outbox cannot be read.
func (a *Agent) Status(ctx context.Context) (smsagent.Status, error) {
	stats, err := a.store.Stats(ctx)
	if err != nil {
		return smsagent.Status{}, fmt.Errorf("agent: status: %w", err)
	}
	now := a.clock()
	st := smsagent.Status{
		Version: a.opts.Version,
		Binds:   []smsagent.BindStatus{},
		SMSCs:   make([]smsagent.AccountStatus, 0, len(a.accounts)),
		Queue:   smsagent.QueueStatus{ByState: make(map[string]int, len(stats.ByState)), Awaiting: stats.Awaiting},
		Health:  []string{},
	}
	if t := a.started.Load(); t != nil {
		st.Started = *t
	}
	for s, n := range stats.ByState {
		st.Queue.ByState[s.String()] = n
	}
	is := a.intake.Stats()
	st.Intake = smsagent.IntakeStatus{
		FilesTaken: is.Taken, FilesRejected: is.Rejected, Messages: is.Messages, Duplicates: is.Duplicates,
		Pending: is.Pending, Stalled: is.Stalled != "", StuckWorkers: is.Stuck, LastError: is.LastError,
	}
	st.Inbox = smsagent.InboxStatus{Backlog: stats.Events, Written: a.writer.Written()}
	if err := a.writer.Err(); err != nil {
		st.Inbox.LastError = err.Error()
		st.Health = append(st.Health, fmt.Sprintf("inbox: reports not written: %v", err))
	}
	st.Rates.FilesPerSec, st.Rates.SubmitsPerSec, st.Rates.ReceiptsPerSec = a.rates.average(now)
	if a.cluster != nil {
		cs, err := a.cluster.status(ctx)
		if err != nil {
			st.Health = append(st.Health, err.Error()) // "cluster: unavailable: why"
		}
		st.Cluster = &cs
	}

	refused := false
	for _, ac := range a.accounts {
		binds := ac.pool.Status()
		as := a.accountStatus(ac)
		for i := range binds {
			binds[i].SMSC = ac.name
			if binds[i].State == "bound" {
				as.Bound++
			}
		}
		st.Binds = append(st.Binds, binds...)
		st.SMSC.CredentialRefusals += ac.pool.Stats().AuthRefusals
		if err := ac.pool.AuthFailed(); err != nil {
			as.CredentialsRefused, refused = true, true
			var ae *bindpool.AuthError
			if errors.As(err, &ae) && !st.SMSC.CredentialsRefused {
				st.SMSC.RefusedSince, st.SMSC.Refusals = ae.Since, ae.Refusals
			}
			st.SMSC.CredentialsRefused = true
			st.Health = append(st.Health, fmt.Sprintf("smsc credentials refused: %s: check its system_id and the "+
				"password (a changed password file is tried at once): %v", ac.name, err))
		} else if !as.StalledSince.IsZero() {
			st.Health = append(st.Health, fmt.Sprintf("smsc account stalled: %s since %s: every window full and "+
				"nothing answered; its messages wait in the queue", ac.name, as.StalledSince.Format(time.RFC3339)))
		} else if as.State == "down" && len(a.accounts) > 1 {
			st.Health = append(st.Health, fmt.Sprintf("smsc account down: %s since %s, failing over to %s",
				ac.name, as.Since.UTC().Format(time.RFC3339), orNone(as.FailingOverTo)))
		}
		st.SMSCs = append(st.SMSCs, as)
	}
	if !refused {
		if line := a.linkDown(st.Binds, now); line != "" {
			st.Health = append(st.Health, line)
		}
	}
	st.Webhooks = a.callbacks.webhookStatus()
	for _, w := range st.Webhooks {
		if w.Failing {
			st.Health = append(st.Health, fmt.Sprintf("webhook failing: %s since %s: %s (%d given up)", w.URL,
				w.LastErrorAt.UTC().Format(time.RFC3339), w.LastError, w.GivenUp))
		}
	}
	if st.Hooks = a.callbacks.hookStatus(); st.Hooks != nil && st.Hooks.Failing {
		st.Health = append(st.Health, fmt.Sprintf("event command failing: %s since %s: %s (%d given up)",
			st.Hooks.Command, st.Hooks.LastErrorAt.UTC().Format(time.RFC3339), st.Hooks.LastError, st.Hooks.GivenUp))
	}
	if is.Stalled != "" {
		st.Health = append(st.Health, "intake stalled: "+is.Stalled)
	}
	if is.Stuck > 0 {
		st.Health = append(st.Health, intakeStuck(is))
	}
	st.Health = append(st.Health, a.health.list()...)
	return st, nil
}

// intakeStuck words workers that have been on one file too long. The
// subject holds no file name (DESIGN.md: what a local user sees without
// the token); which file it is shows in the log and in .work/.
func intakeStuck(is spool.Stats) string {
	return fmt.Sprintf("intake stuck: %d of the workers taking files have been on one file since %s "+
		"(a file system call that does not return?); files behind them wait", is.Stuck,
		is.StuckSince.UTC().Format(time.RFC3339))
}

// linkDown words a link that has been down longer than linkDownAlarm, with
// the latest error a slot reported.
func (a *Agent) linkDown(binds []smsagent.BindStatus, now time.Time) string {
	since := a.downSince.Load()
	if since == nil || a.anyBound() || now.Sub(*since) < linkDownAlarm {
		return ""
	}
	line := fmt.Sprintf("smsc: no session bound for %s", now.Sub(*since).Round(time.Second))
	var last smsagent.BindStatus
	for _, b := range binds {
		if b.LastError != "" && !b.Since.Before(last.Since) {
			last = b
		}
	}
	if last.LastError != "" {
		line += " (last error: " + last.LastError + ")"
	}
	return line
}

// accountStatus is an account's failover state for the status.
func (a *Agent) accountStatus(ac *account) smsagent.AccountStatus {
	s := ac.state.Load()
	as := smsagent.AccountStatus{Name: ac.name, State: "up", Since: s.since}
	if !s.up {
		as.State = "down"
		as.FailingOverTo = a.router.nextUp(ac)
	}
	if since, ok := ac.stalled(); ok {
		as.StalledSince = since.UTC()
	}
	return as
}

func orNone(s string) string {
	if s == "" {
		return "none (every other account of its routes is down too)"
	}
	return s
}
