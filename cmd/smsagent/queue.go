package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/outbox"
)

func init() {
	addCommand("queue", "List, show, retry and cancel queued messages; queue statistics; compact the database.",
		func() any { return &queueCmd{} })
}

// The queue commands work whether the agent runs or not, in the manner of
// Postfix's postqueue and postsuper: while it is stopped they open the
// database themselves (read-only for reads); while it runs the database is
// locked, and they ask the agent through its admin API. Both ways go through
// admin.Local in the end, so the output is the same.

type queueCmd struct {
	List    queueListCmd    `cmd:"" help:"List messages in id order (oldest first)."`
	Show    queueShowCmd    `cmd:"" help:"Show one message with its parts."`
	Retry   queueRetryCmd   `cmd:"" help:"Send a failed, rejected, expired or undeliverable message again, or make a queued one due now."`
	Cancel  queueCancelCmd  `cmd:"" help:"Cancel a message that is not final (it gets a \"canceled\" report)."`
	Stats   queueStatsCmd   `cmd:"" help:"Count messages by state."`
	Compact queueCompactCmd `cmd:"" help:"Rewrite the database without its free space (agent stopped only)."`
}

type queueFlags struct {
	Config string `short:"c" default:"${default_config}" placeholder:"FILE" help:"Configuration file (${default})."`
}

type queueListCmd struct {
	queueFlags
	State string `placeholder:"STATE" help:"Only messages in this state: queued, sending, sent, delivered, undeliverable, expired, rejected, failed or canceled."`
	Limit int    `default:"100" placeholder:"N" help:"At most N messages (1 to 1000)."`
	After uint64 `placeholder:"ID" help:"Start after this message id (the previous page's last)."`
	JSON  bool   `help:"Print the page as JSON."`
}

func (c *queueListCmd) Run(a *app) error {
	p := admin.ListParams{After: smsagent.MessageID(c.After), Limit: c.Limit}
	if c.State != "" {
		st, err := smsagent.ParseState(c.State)
		if err != nil {
			return usagef("--state: %v", err)
		}
		p.State = st
	}
	if c.Limit < 1 || c.Limit > admin.MaxListLimit {
		return usagef("--limit: must be between 1 and %d, got %d", admin.MaxListLimit, c.Limit)
	}
	q, err := a.openQueue(c.Config, false)
	if err != nil {
		return err
	}
	defer q.close()
	page, err := q.api.List(a.ctx, p)
	if err != nil {
		return q.explain(err)
	}
	if c.JSON {
		return printJSON(a.stdout, page)
	}
	if len(page.Messages) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no messages")
		return err
	}
	if err := printList(a.stdout, page.Messages); err != nil {
		return err
	}
	if page.NextAfter != 0 {
		next := "smsagent queue list"
		if c.State != "" {
			next += " --state " + c.State
		}
		fmt.Fprintf(a.stderr, "more: %s --limit %d --after %s\n", next, c.Limit, page.NextAfter)
	}
	return nil
}

type queueShowCmd struct {
	queueFlags
	ID   string `arg:"" help:"Message id (as in reports' message_id)."`
	JSON bool   `help:"Print the message as JSON."`
}

func (c *queueShowCmd) Run(a *app) error {
	id, err := parseID(c.ID)
	if err != nil {
		return err
	}
	q, err := a.openQueue(c.Config, false)
	if err != nil {
		return err
	}
	defer q.close()
	m, err := q.api.Message(a.ctx, id)
	if err != nil {
		return q.explain(err)
	}
	if c.JSON {
		return printJSON(a.stdout, m)
	}
	return printMessage(a.stdout, m)
}

type queueRetryCmd struct {
	queueFlags
	ID        string `arg:"" optional:"" help:"Message id."`
	AllFailed bool   `name:"all-failed" help:"Retry every failed, rejected, expired and undeliverable message."`
}

func (c *queueRetryCmd) Run(a *app) error {
	if (c.ID == "") == !c.AllFailed {
		return usagef("give either a message id or --all-failed")
	}
	var id smsagent.MessageID
	if !c.AllFailed {
		var err error
		if id, err = parseID(c.ID); err != nil {
			return err
		}
	}
	q, err := a.openQueue(c.Config, true)
	if err != nil {
		return err
	}
	defer q.close()
	if c.AllFailed {
		n, err := q.api.RetryFailed(a.ctx)
		if err != nil {
			return q.explain(err)
		}
		_, err = fmt.Fprintf(a.stdout, "retried %d %s\n", n, plural(n, "message", "messages"))
		return err
	}
	m, err := q.api.Retry(a.ctx, id)
	if err != nil {
		return q.explain(err)
	}
	due := ""
	if m.Due != nil {
		due = ", due " + stamp(*m.Due)
	}
	_, err = fmt.Fprintf(a.stdout, "retried message %s: now %s%s\n", id, m.State, due)
	return err
}

type queueCancelCmd struct {
	queueFlags
	ID string `arg:"" help:"Message id."`
}

func (c *queueCancelCmd) Run(a *app) error {
	id, err := parseID(c.ID)
	if err != nil {
		return err
	}
	q, err := a.openQueue(c.Config, true)
	if err != nil {
		return err
	}
	defer q.close()
	if _, err := q.api.Cancel(a.ctx, id); err != nil {
		return q.explain(err)
	}
	_, err = fmt.Fprintf(a.stdout, "canceled message %s\n", id)
	return err
}

type queueStatsCmd struct {
	queueFlags
	JSON bool `help:"Print the counts as JSON."`
}

func (c *queueStatsCmd) Run(a *app) error {
	q, err := a.openQueue(c.Config, false)
	if err != nil {
		return err
	}
	defer q.close()
	st, err := q.api.Stats(a.ctx)
	if err != nil {
		return q.explain(err)
	}
	if c.JSON {
		return printJSON(a.stdout, st)
	}
	tw := newTable(a.stdout)
	for _, s := range admin.States {
		n := st.ByState[s.String()]
		if s == smsagent.StateSent && st.Awaiting > 0 {
			fmt.Fprintf(tw, "%s\t%d\t(%d awaiting receipt)\n", s, n, st.Awaiting)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t\n", s, n)
	}
	fmt.Fprintf(tw, "total\t%d\t\n", st.Total)
	fmt.Fprintf(tw, "inbox backlog\t%d\t\n", st.InboxBacklog)
	return tw.Flush()
}

type queueCompactCmd struct {
	queueFlags
}

// compactLockGrace is how long compact keeps the old file locked after the
// swap (outbox.CompactInPlace); a variable for the tests.
var compactLockGrace = outbox.DefaultCompactLockGrace

// Run compacts the database in place (outbox.CompactInPlace, which states
// the crash story and what an agent started meanwhile finds).
func (c *queueCompactCmd) Run(a *app) error {
	cfg, err := a.loadConfig(c.Config)
	if err != nil {
		return err
	}
	path := cfg.Store.Path
	if _, err := os.Stat(path); err != nil {
		return noDatabase(path, err)
	}
	res, err := outbox.CompactInPlace(path, compactLockGrace)
	switch {
	case errors.Is(err, outbox.ErrOpenedDuringCompact):
		return fmt.Errorf("the agent started while %s was being compacted; nothing was changed", path)
	case errors.Is(err, outbox.ErrLocked):
		return fmt.Errorf("the agent is running (it holds %s): stop it first, then compact", path)
	case err != nil:
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "compacted %s: %s -> %s\n", path, humanBytes(res.Before), humanBytes(res.After))
	return err
}

// queueConn is the way to the queue: the database or the admin API.
type queueConn struct {
	api queueAPI
	// explain turns an API error into a sentence about what to do.
	explain func(error) error
	close   func()
}

// queueAPI is what the queue commands need; admin.Local over the database
// and *admin.Client over HTTP both provide it.
type queueAPI interface {
	List(ctx context.Context, p admin.ListParams) (admin.Page, error)
	Message(ctx context.Context, id smsagent.MessageID) (admin.Message, error)
	Retry(ctx context.Context, id smsagent.MessageID) (admin.Message, error)
	RetryFailed(ctx context.Context) (int, error)
	Cancel(ctx context.Context, id smsagent.MessageID) (admin.Message, error)
	Stats(ctx context.Context) (admin.Stats, error)
}

var (
	_ queueAPI = admin.Local{}
	_ queueAPI = (*admin.Client)(nil)
)

// lockWait is how long the queue commands wait for the database lock. The
// agent holds it for as long as it runs, so a short wait tells the two
// cases apart.
const lockWait = 200 * time.Millisecond

// openQueue opens the database (read-only unless write), or, when the agent
// holds it, connects to the agent's admin API.
func (a *app) openQueue(configFile string, write bool) (*queueConn, error) {
	cfg, err := a.loadConfig(configFile)
	if err != nil {
		return nil, err
	}
	path := cfg.Store.Path
	// Opening for writing would create a missing file.
	if _, err := os.Stat(path); err != nil {
		return nil, noDatabase(path, err)
	}
	// The agent's mapping: a retry on a stopped agent computes the
	// message's new age limit from retry.max_age as the agent would, and
	// no write may grow the file past store.max_size.
	opts := agent.OutboxOptions(cfg)
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.Clock = a.now
	opts.ReadOnly, opts.LockTimeout = !write, lockWait
	store, err := outbox.Open(path, opts)
	if err == nil {
		return &queueConn{
			api:     admin.Local{Queue: store},
			explain: func(err error) error { return err },
			close:   func() { _ = store.Close(context.Background()) },
		}, nil
	}
	if !errors.Is(err, outbox.ErrLocked) {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("%w (run as the agent's user or root)", err)
		}
		return nil, err
	}
	if cfg.Admin.Listen == "" {
		return nil, fmt.Errorf("the agent is running (it holds %s), but its admin API is disabled (admin.listen is empty "+
			"in %s): set admin.listen and restart the agent, or stop it, to use the queue commands", path, cfg.File)
	}
	c, explain, err := adminClient(cfg)
	if err != nil {
		return nil, err
	}
	return &queueConn{api: c, explain: explain, close: func() {}}, nil
}

// adminClient prepares a client for the API of the agent cfg configures,
// over HTTPS when admin.tls_cert is set (trusting that certificate). The
// token is read here but needed only for some calls, so a token that
// cannot be read is reported only when the API asks for one (status then
// gets the view without personal data).
func adminClient(cfg *config.Config) (*admin.Client, func(error) error, error) {
	token, source := cfg.Admin.Token.Reveal(), "admin.token in "+cfg.File
	var tokenErr error
	switch {
	case cfg.Admin.GenerateToken:
		source = cfg.Admin.TokenFile
		token, tokenErr = admin.ReadToken(cfg.Admin.TokenFile)
	case cfg.Admin.TokenFile != "":
		source = cfg.Admin.TokenFile
	}
	c, err := admin.NewClient(admin.ClientOptions{Listen: cfg.Admin.Listen, Token: token, TLSCert: cfg.Admin.TLSCert})
	if err != nil {
		return nil, nil, err
	}
	explain := func(err error) error {
		var e *admin.Error
		switch {
		case errors.Is(err, admin.ErrUnreachable):
			return fmt.Errorf("the agent is running, but its admin API does not answer at %s (%v): "+
				"does admin.listen in %s match the running agent's?", c.Addr(), errors.Unwrap(err), cfg.File)
		case errors.As(err, &e) && e.Status == http.StatusUnauthorized && tokenErr != nil:
			return fmt.Errorf("the admin API wants its token, which could not be read: %v "+
				"(run as the agent's user or root)", tokenErr)
		case errors.As(err, &e) && e.Status == http.StatusUnauthorized:
			return fmt.Errorf("the admin API refused the token from %s: it is not the running agent's token", source)
		}
		return err
	}
	return c, explain, nil
}

func noDatabase(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no database at %s: the agent has not run with this configuration yet (store.path)", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w (run as the agent's user or root)", err)
	}
	return err
}

func parseID(s string) (smsagent.MessageID, error) {
	id, err := smsagent.ParseMessageID(s)
	if err != nil {
		return 0, usagef("%v", err)
	}
	return id, nil
}

func printList(w io.Writer, ms []admin.Message) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tSTATE\tSMSC\tTO\tCLIENT ID\tPARTS\tATTEMPTS\tRECEIVED\tDUE/DONE\tERROR")
	for _, m := range ms {
		when := "-"
		switch {
		case m.Due != nil:
			when = stamp(*m.Due)
		case m.Done != nil:
			when = stamp(*m.Done)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", m.MessageID, m.State, dash(m.SMSC), cell(m.To, 24),
			cell(m.ID, 24), len(m.Parts), m.Attempts, stamp(m.Received), when, cell(messageError(m), 60))
	}
	return tw.Flush()
}

// messageError is the reason a person wants to see first: the message's
// own, else the first part's.
func messageError(m admin.Message) string {
	if m.LastError != "" {
		return m.LastError
	}
	for _, p := range m.Parts {
		if p.Error != "" {
			return p.Error
		}
	}
	return ""
}

func printMessage(w io.Writer, m admin.Message) error {
	tw := newTable(w)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	state := m.State.String()
	if m.State == smsagent.StateSent && !m.Final {
		state += " (awaiting receipt)"
	}
	row("message", m.MessageID.String())
	row("client id", cell(m.ID, 0))
	row("state", state)
	smsc := m.SMSC
	if m.Pinned {
		smsc += " (pinned)"
	}
	row("smsc", smsc)
	if len(m.Avoided) > 0 {
		row("refused by", strings.Join(m.Avoided, ", ")+" (failover.on_status)")
	}
	row("to", m.To)
	row("from", m.From)
	// Quoted: a text may hold line breaks and control characters.
	row("text", strconv.Quote(m.Text))
	row("udh", m.UDH)
	row("file", cell(m.File, 0))
	row("received", stamp(m.Received))
	row("due", optStamp(m.Due))
	row("submitted", optStamp(m.Submitted))
	row("done", optStamp(m.Done))
	row("attempts", strconv.Itoa(m.Attempts))
	row("report", yesNo(m.Report))
	row("encoding", m.Encoding)
	row("priority", m.Priority)
	row("split", m.Split)
	if m.ValiditySeconds > 0 {
		row("validity", config.FormatDuration(time.Duration(m.ValiditySeconds)*time.Second))
	}
	row("send at", optStamp(m.SendAt))
	if m.Flash {
		row("flash", "yes")
	}
	row("meta", string(m.Meta))
	row("last error", cell(m.LastError, 0))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(m.Parts) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "PART\tSTATE\tSMSC\tSMSC ID\tSUBMITTED\tDONE\tSTAT\tERR\tSTATUS\tERROR")
	for _, p := range m.Parts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Seq, p.State, dash(p.SMSC), dash(cell(p.SMSCID, 40)),
			dash(optStamp(p.Submitted)), dash(optStamp(p.Done)), dash(cell(p.Stat, 12)), dash(cell(p.Err, 12)),
			dash(p.CommandStatus), dash(cell(p.Error, 60)))
	}
	return tw.Flush()
}
