package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/hookrun"
	"github.com/smsagent/smsagent/outbox"
)

// hookHost is the callbacker's "host" of event command runs: they are
// limited by hooks.concurrency, apart from the HTTP calls.
const hookHost = "hook:"

// eventHook is the event command (hooks:) and what became of its runs, for
// the status. Runs are owed in the commit that records their event's file
// durable (eventSource), kept with the callbacks in the outbox and made by
// the callbacker, which tallies them.
type eventHook struct {
	cfg   config.Hooks
	kinds []smsagent.EventKind
	inbox string // the inbox folder, absolute
	env   []string
	// delay is how long after the commit a run is due: with NDJSON the
	// batch's file is renamed into inbox/ just after the commit that owes
	// its runs (the writer's crash story needs that order), so they wait
	// for it.
	delay time.Duration

	tally callTally
}

// ndjsonHookDelay is eventHook.delay with spool.inbox_format ndjson: the
// rename follows the commit by a fsync of the inbox folder.
const ndjsonHookDelay = time.Second

// newEventHook is nil without a command.
func newEventHook(cfg config.Hooks, inboxDir string, ndjson bool) *eventHook {
	if len(cfg.Command) == 0 {
		return nil
	}
	h := &eventHook{cfg: cfg, inbox: inboxDir, env: os.Environ(), kinds: eventKinds(cfg.Events)}
	if ndjson {
		h.delay = ndjsonHookDelay
	}
	return h
}

// takes reports whether the command runs for events of kind k.
func (h *eventHook) takes(k smsagent.EventKind) bool {
	return h != nil && slices.Contains(h.kinds, k)
}

// hookVars are the variables a run gets in its environment, besides the
// agent's own: kept in the outbox with the run (as its Body), so a run
// made after a restart sees what the first attempt would have.
type hookVars map[string]string

// runFor is the run owed for event e, whose file is name in inbox/.
func (h *eventHook) runFor(e *smsagent.Event, name string) outbox.HookRun {
	file := filepath.Join(h.inbox, name)
	vars := hookVars{
		"SMSAGENT_EVENT_TYPE": e.Kind.String(),
		"SMSAGENT_ID":         e.FileName(),
		"SMSAGENT_FILE":       file,
	}
	var msg smsagent.MessageID
	switch {
	case e.Report != nil:
		r := e.Report
		msg = r.MessageID
		vars["SMSAGENT_MESSAGE_ID"] = r.MessageID.String()
		vars["SMSAGENT_CLIENT_ID"] = r.ID
		vars["SMSAGENT_STATUS"] = r.Status
		vars["SMSAGENT_FROM"], vars["SMSAGENT_TO"], vars["SMSAGENT_SMSC"] = r.From, r.To, r.SMSC
	case e.MO != nil:
		vars["SMSAGENT_STATUS"] = "received"
		vars["SMSAGENT_FROM"], vars["SMSAGENT_TO"], vars["SMSAGENT_SMSC"] = e.MO.From, e.MO.To, e.MO.SMSC
	}
	for k, v := range vars {
		if v == "" {
			delete(vars, k)
		}
	}
	body, _ := json.Marshal(vars) // a map of strings always encodes
	return outbox.HookRun{Seq: e.Seq, Delay: h.delay, Run: outbox.Callback{Message: msg, Method: outbox.MethodHook,
		Body: body, EventID: e.FileName(), EventType: e.Kind.String(), File: file}}
}

// argv is the command with {type}, {file} and {id} replaced.
func (h *eventHook) argv(cb *outbox.Callback) []string {
	r := strings.NewReplacer("{type}", cb.EventType, "{file}", cb.File, "{id}", cb.EventID)
	out := make([]string, len(h.cfg.Command))
	for i, a := range h.cfg.Command {
		if i == 0 {
			out[i] = a // the program is named as configured
			continue
		}
		out[i] = r.Replace(a)
	}
	return out
}

// errHookGone fails a run owed from before the configuration dropped its
// command.
var errHookGone = errors.New("hooks.command is no longer configured")

// run makes one run of the command for cb; nil when it exited 0.
func (c *callbacker) runHook(ctx context.Context, cb *outbox.Callback) error {
	h := c.hook
	if h == nil {
		return errHookGone
	}
	var vars hookVars
	if err := json.Unmarshal(cb.Body, &vars); err != nil {
		return fmt.Errorf("hook: its variables in the outbox: %w", err)
	}
	env := slices.Clip(h.env)
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	h.tally.started(1)
	res, err := hookrun.Run(ctx, h.argv(cb), env, "", h.cfg.Timeout, int(h.cfg.OutputLimit))
	h.tally.started(-1)
	attrs := []any{"event", cb.EventID, "attempt", cb.Attempts + 1, "exit", res.ExitCode,
		"duration", res.Duration.Round(time.Millisecond)}
	if len(res.Output) > 0 || res.Dropped > 0 {
		attrs = append(attrs, "output", strings.ToValidUTF8(string(res.Output), "?"))
	}
	if res.Dropped > 0 {
		attrs = append(attrs, "output_dropped_bytes", res.Dropped)
	}
	if err == nil {
		c.log.Info("agent: event command ran", attrs...)
	} else if ctx.Err() == nil {
		c.log.Warn("agent: event command failed", append(attrs, "err", err)...)
	}
	return err
}

// settleHook is settle for a run: made again up to hooks.retries times,
// hooks.retry_initial apart and doubling (with jitter), then given up:
// logged, counted and shown in the status.
func (c *callbacker) settleHook(cb *outbox.Callback, err error) outbox.CallbackResult {
	res := outbox.CallbackResult{Key: cb.Key, Hook: true}
	now := c.clock()
	h := c.hook
	outcome := "ran"
	switch {
	case err == nil:
		res.Outcome = outbox.CallbackDone
	case h == nil || cb.Attempts >= h.cfg.Retries:
		res.Outcome, outcome = outbox.CallbackGiveUp, "given_up"
		c.log.Warn("agent: event command given up", "event", cb.EventID, "attempts", cb.Attempts+1,
			"since", cb.Created.Format(time.RFC3339), "err", err)
	default:
		res.Outcome, outcome = outbox.CallbackRetry, "retried"
		res.Next = now.Add(hookBackoff(h.cfg.RetryInitial, cb.Attempts))
	}
	c.obs.HookDone(outcome)
	if h != nil {
		h.tally.record(res.Outcome, err, now)
	}
	return res
}

// hookBackoff is initial doubled per attempt made, at most an hour,
// between half of that and all of it.
func hookBackoff(initial time.Duration, attempts int) time.Duration {
	d := initial
	for range attempts {
		if d >= 30*time.Minute {
			d = time.Hour
			break
		}
		d *= 2
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// hookStatus is the command's status; nil without one.
func (c *callbacker) hookStatus() *smsagent.HookStatus {
	h := c.hook
	if h == nil {
		return nil
	}
	f := h.tally.figures()
	return &smsagent.HookStatus{Command: h.cfg.Command[0], Running: f.running, Ran: f.done, Retried: f.retried,
		GivenUp: f.gaveUp, Failing: f.failing, LastError: f.lastError, LastErrorAt: f.lastErrorAt, LastRunAt: f.lastAt}
}
