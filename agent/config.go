package agent

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/inbox"
	"github.com/smsagent/smsagent/msgfile"
	"github.com/smsagent/smsagent/outbox"
	"github.com/smsagent/smsagent/smpp/coding"
	"github.com/smsagent/smsagent/smpp/dlr"
)

// OutboxOptions maps the configuration onto outbox.Options: the one place
// that does, so the running agent and the queue commands on a stopped
// agent compute the same retry policy, age limit and receipt timeouts.
// Logger is nil (discard); the caller sets it, and DecodeMO, when it
// writes incoming SMS.
func OutboxOptions(cfg *config.Config) outbox.Options {
	// One grace for the outbox: the longest any account asks for.
	var grace time.Duration
	for _, a := range cfg.Accounts() {
		grace = max(grace, a.ReceiptGrace)
	}
	if grace == 0 {
		// smsc.receipt_grace: 0 means "no grace" in the configuration,
		// while outbox.Options reads 0 as "the default" (5 min). The
		// shortest positive grace reports an unmatched receipt at the next
		// sweep.
		grace = time.Nanosecond
	}
	return outbox.Options{
		Retry: outbox.RetryPolicy{
			Initial: cfg.Retry.Initial,
			Max:     cfg.Retry.Max,
			MaxAge:  cfg.Retry.MaxAge,
		},
		ReceiptTimeout: cfg.Retry.ReceiptTimeout,
		OrphanGrace:    grace,
		MODedupWindow:  cfg.MO.DuplicateWindow,
		Retention:      cfg.Store.Retention,
		MaxSize:        int(cfg.Store.MaxSize),
		LegacyAccount:  legacyAccount(cfg.Accounts()),
		Webhooks:       webhookTargets(cfg.Webhooks),
	}
}

// Uncommitted is an account's max_uncommitted with its default: 2 ×
// sessions × window, enough answered parts to wait for two commits without
// the windows running dry.
func Uncommitted(s *config.SMSC) int {
	if s.MaxUncommitted > 0 {
		return s.MaxUncommitted
	}
	return 2 * max(s.Sessions, 1) * max(s.Window, 1)
}

// minMessageBytes is about the shortest line a message takes in NDJSON
// ({"to":"+1234567","text":"x"} and its newline).
const minMessageBytes = 32

// ParseBudget is the bytes of files taken at once (spool.Options) for a
// limit of maxMessages messages per file: what maxMessages of the shortest
// messages take. Files taken together then hold at most about maxMessages
// messages, the memory of one file at the limit, whatever the number of
// workers; a larger file is taken alone, and refused at the limit.
func ParseBudget(maxMessages int) int64 {
	return int64(max(maxMessages, 1)) * minMessageBytes
}

// parseOptions are msgfile's options for the configured spool.
func parseOptions(cfg *config.Config, log *slog.Logger) msgfile.Options {
	cs := msgfile.CharsetUTF8
	if cfg.Spool.Charset == config.CharsetISO885915 {
		cs = msgfile.CharsetISO885915
	}
	var accounts []string
	for _, a := range cfg.Accounts() {
		accounts = append(accounts, a.Name)
	}
	return msgfile.Options{Logger: log, SMSToolsCharset: cs, MaxSize: int64(cfg.Spool.MaxFileSize),
		MaxMessages: cfg.Spool.MaxMessages, Accounts: accounts}
}

// splitMethod is the concatenation method configured for the SMSC
// (smsc.split).
func splitMethod(s config.Split) (coding.Method, error) {
	switch s {
	case config.SplitUDH, "":
		return coding.SplitUDH8, nil
	case config.SplitUDH16:
		return coding.SplitUDH16, nil
	case config.SplitSAR:
		return coding.SplitSAR, nil
	case config.SplitPayload:
		return coding.SplitPayload, nil
	}
	return 0, fmt.Errorf("agent: unknown smsc.split %q", s)
}

func inboxFormat(f config.InboxFormat) inbox.Format {
	switch f {
	case config.InboxSMSTools:
		return inbox.FormatSMSTools
	case config.InboxNDJSON:
		return inbox.FormatNDJSON
	}
	return inbox.FormatJSON
}

func idRule(r config.MessageIDRule) (dlr.Rule, error) {
	rule, err := dlr.ParseRule(string(r))
	if err != nil {
		return 0, fmt.Errorf("agent: smsc.message_id: %w", err)
	}
	return rule, nil
}

// webhookTargets are the webhooks as the outbox needs them: the URL and the
// event kinds each takes.
func webhookTargets(hooks []config.Webhook) []outbox.Webhook {
	var out []outbox.Webhook
	for _, h := range hooks {
		out = append(out, outbox.Webhook{URL: h.URL, Kinds: eventKinds(h.Events)})
	}
	return out
}

// eventKinds are the kinds of the event names a webhook or the event
// command takes (config.WebhookEvents).
func eventKinds(names []string) []smsagent.EventKind {
	var out []smsagent.EventKind
	for _, e := range names {
		switch e {
		case "report":
			out = append(out, smsagent.EventReport)
		case "mo":
			out = append(out, smsagent.EventMO)
		}
	}
	return out
}
