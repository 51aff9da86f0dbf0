package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/outbox"
)

func init() {
	addCommand("status", "Show the running agent: binds, queue, rates, intake, inbox and health.",
		func() any { return &statusCmd{} })
}

type statusCmd struct {
	Config string `short:"c" default:"${default_config}" placeholder:"FILE" help:"Configuration file (${default})."`
	JSON   bool   `help:"Print the status snapshot as JSON."`
}

// Run asks the agent through its admin API; only a running agent has a
// status. When nothing answers, the database lock tells "not running" from
// "running, but the API is off or elsewhere". With the admin token (read
// from the configuration or the state folder) the status is whole; a user
// who cannot read the token sees counts and states only.
func (c *statusCmd) Run(a *app) error {
	cfg, err := a.loadConfig(c.Config)
	if err != nil {
		return err
	}
	if cfg.Admin.Listen == "" {
		if agentRunning(cfg) {
			return fmt.Errorf("the agent is running, but its admin API is disabled (admin.listen is empty in %s): "+
				"set admin.listen and restart it to see its status", cfg.File)
		}
		return errors.New("smsagent is not running")
	}
	client, explain, err := adminClient(cfg)
	if err != nil {
		return err
	}
	st, err := client.Status(a.ctx)
	if err != nil {
		if errors.Is(err, admin.ErrUnreachable) && !agentRunning(cfg) {
			return fmt.Errorf("smsagent is not running (nothing answers at %s)", client.Addr())
		}
		return explain(err)
	}
	if c.JSON {
		return printJSON(a.stdout, st)
	}
	return printStatus(a.stdout, st, a.now())
}

// agentRunning reports whether a process holds the database.
func agentRunning(cfg *config.Config) bool {
	if _, err := os.Stat(cfg.Store.Path); err != nil {
		return false
	}
	s, err := outbox.Open(cfg.Store.Path, outbox.Options{ReadOnly: true, LockTimeout: lockWait})
	if err != nil {
		return errors.Is(err, outbox.ErrLocked)
	}
	_ = s.Close(context.Background())
	return false
}

func printStatus(w io.Writer, st smsagent.Status, now time.Time) error {
	up := now.Sub(st.Started).Round(time.Second)
	fmt.Fprintf(w, "smsagent %s, up %s (since %s)\n\n", st.Version, config.FormatDuration(up), stamp(st.Started))

	tw := newTable(w)
	if len(st.SMSCs) > 0 {
		fmt.Fprintln(tw, "SMSC\tSTATE\tSINCE\tBOUND\tFAILING OVER TO")
		for _, a := range st.SMSCs {
			state := a.State
			if !a.StalledSince.IsZero() {
				state += ", stalled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", cell(a.Name, 32), cell(state, 20), stamp(a.Since), a.Bound,
				dash(cell(a.FailingOverTo, 80)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
		tw = newTable(w)
	}
	fmt.Fprintln(tw, "SMSC\tBIND\tMODE\tSTATE\tSINCE\tOUTSTANDING\tSUBMITTED\tRECONNECTS\tTHROTTLED\tLAST ERROR")
	for _, b := range st.Binds {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", dash(cell(b.SMSC, 32)), b.Slot, cell(b.Mode, 20), cell(b.State, 20),
			stamp(b.Since), b.Outstanding, b.Submitted, b.Reconnects, b.Throttled, dash(cell(b.LastError, 80)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)

	tw = newTable(w)
	fmt.Fprintf(tw, "queue:\t%s\n", queueLine(st.Queue))
	fmt.Fprintf(tw, "rates:\t%.1f files/s, %.1f submits/s, %.1f receipts/s (last minute)\n",
		st.Rates.FilesPerSec, st.Rates.SubmitsPerSec, st.Rates.ReceiptsPerSec)
	in := st.Intake
	intake := fmt.Sprintf("%d %s taken, %d rejected, %d messages, %d duplicates; %d pending",
		in.FilesTaken, plural(int(in.FilesTaken), "file", "files"), in.FilesRejected, in.Messages, in.Duplicates, in.Pending)
	if in.Stalled {
		intake += "; STALLED"
	}
	if in.StuckWorkers > 0 {
		intake += fmt.Sprintf("; STUCK (%d %s on one file for over a minute)", in.StuckWorkers,
			plural(in.StuckWorkers, "worker", "workers"))
	}
	if in.LastError != "" {
		intake += "; last error: " + cell(in.LastError, 0)
	}
	fmt.Fprintf(tw, "intake:\t%s\n", intake)
	inbox := fmt.Sprintf("%d to write, %d written", st.Inbox.Backlog, st.Inbox.Written)
	if st.Inbox.LastError != "" {
		inbox += "; last error: " + cell(st.Inbox.LastError, 0)
	}
	fmt.Fprintf(tw, "inbox:\t%s\n", inbox)
	for _, h := range st.Webhooks {
		line := fmt.Sprintf("%s: %d delivered, %d retried, %d given up", dash(cell(h.URL, 80)), h.Delivered, h.Retried, h.GivenUp)
		if h.Failing {
			line += "; FAILING" + errorTail(h.LastError)
		}
		fmt.Fprintf(tw, "webhook:\t%s\n", line)
	}
	if h := st.Hooks; h != nil {
		line := fmt.Sprintf("%s: %d ran, %d retried, %d given up, %d running", dash(cell(h.Command, 80)), h.Ran, h.Retried,
			h.GivenUp, h.Running)
		if h.Failing {
			line += "; FAILING" + errorTail(h.LastError)
		}
		fmt.Fprintf(tw, "hooks:\t%s\n", line)
	}
	if len(st.Health) == 0 {
		fmt.Fprintf(tw, "health:\tok\n")
	} else {
		for i, h := range st.Health {
			label := ""
			if i == 0 {
				label = "health:"
			}
			fmt.Fprintf(tw, "%s\t%s\n", label, cell(h, 0))
		}
	}
	if st.Redacted {
		fmt.Fprintf(tw, "details:\thidden without the admin token (last errors, health details): "+
			"run as root or the agent's user\n")
	}
	return tw.Flush()
}

// errorTail is ": " and the error, or nothing without one (the redacted
// view).
func errorTail(err string) string {
	if err == "" {
		return ""
	}
	return ": " + cell(err, 0)
}

// queueLine lists the states that hold messages, in life order.
func queueLine(q smsagent.QueueStatus) string {
	var parts []string
	for _, s := range admin.States {
		n := q.ByState[s.String()]
		if n == 0 {
			continue
		}
		p := fmt.Sprintf("%d %s", n, s)
		if s == smsagent.StateSent && q.Awaiting > 0 {
			p += fmt.Sprintf(" (%d awaiting receipt)", q.Awaiting)
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "empty"
	}
	return strings.Join(parts, ", ")
}
