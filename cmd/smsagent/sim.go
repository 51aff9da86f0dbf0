package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

func init() {
	addCommand("sim", "Run the built-in SMSC simulator (SMPP 3.4 server) for testing an integration.", func() any { return &simCmd{} })
}

type simCmd struct {
	Listen       []string      `default:"127.0.0.1:2775" placeholder:"[NAME=]HOST:PORT" help:"Address to listen on; repeat it for several SMSCs in one process (one per account of smscs:), each with its own message ids, binds and counters, named NAME in the output."`
	Account      []string      `placeholder:"SYSTEM_ID:PASSWORD" help:"Accept only these accounts (repeatable); without any, every bind is accepted."`
	MaxBinds     int           `default:"4" help:"Binds one system_id may hold at once; the next gets ESME_RALYBND."`
	IDs          string        `name:"ids" default:"hex" enum:"hex,dec" help:"Style of message ids in submit_sm_resp: hex or dec."`
	ReceiptIDs   string        `name:"receipt-ids" default:"same" enum:"same,hex,dec" help:"Style of ids in receipts: same as submit_sm_resp, hex or dec."`
	ReceiptDelay time.Duration `default:"1s" help:"Delay between a submit and its delivery receipt."`
	Rule         []string      `placeholder:"PREFIX=OUTCOME[,enroute|,acceptd]" help:"Fate of destinations starting with PREFIX (repeatable): delivered, undeliverable, expired, rejected, no-receipt, or a command_status to refuse the submit with (ESME_RINVDSTADR, 0x58); with ,enroute or ,acceptd an intermediate receipt with that stat comes before the final one. First match wins; default delivered."`
	Stats        time.Duration `default:"10s" help:"Print counters this often (0 = never)."`
	Verbose      bool          `short:"v" help:"Log binds, faults and PDUs."`
}

// simServer is one simulated SMSC of the process.
type simServer struct {
	name string // "" when only one is served
	srv  *smsc.Server
}

// Run serves until the context ends (Ctrl-C), then unbinds every client.
func (c *simCmd) Run(a *app) error {
	opts, err := c.options(a)
	if err != nil {
		return err
	}
	var servers []simServer
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.srv.Close(ctx)
		}
	}()
	for _, l := range c.Listen {
		name, addr, ok := strings.Cut(l, "=")
		if !ok {
			name, addr = "", l
		} else if name == "" || addr == "" {
			return usagef("--listen %q: want HOST:PORT or NAME=HOST:PORT", l)
		}
		if name == "" && len(c.Listen) > 1 {
			name = fmt.Sprintf("smsc%d", len(servers)+1)
		}
		srv := smsc.New(opts)
		if err := srv.Listen(addr); err != nil {
			return fmt.Errorf("sim: listen on %s: %w", addr, err)
		}
		servers = append(servers, simServer{name: name, srv: srv})
		fmt.Fprintf(a.stdout, "SMSC simulator %slistening on %s (SMPP 3.4; Ctrl-C stops)\n", label(name), srv.Addr())
	}
	var tick <-chan time.Time
	if c.Stats > 0 {
		t := time.NewTicker(c.Stats)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			for _, s := range servers {
				printSimStats(a, s.name, s.srv.Stats())
			}
		case <-a.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var errs []error
			for _, s := range servers {
				errs = append(errs, s.srv.Close(ctx))
				printSimStats(a, s.name, s.srv.Stats())
			}
			servers = nil
			return errors.Join(errs...)
		}
	}
}

// label is a server's name as the output prefixes it.
func label(name string) string {
	if name == "" {
		return ""
	}
	return name + " "
}

func printSimStats(a *app, name string, s smsc.Stats) {
	fmt.Fprintf(a.stdout, "%sbound %d  submits %d  accepted %d  refused %d  receipts sent %d acked %d  MO sent %d acked %d\n",
		label(name), s.Bound, s.Submits, s.Accepted, s.Refused, s.ReceiptsSent, s.ReceiptsAcked, s.MOSent, s.MOAcked)
}

func (c *simCmd) options(a *app) (smsc.Options, error) {
	opts := smsc.Options{
		MaxBinds:     c.MaxBinds,
		ReceiptDelay: c.ReceiptDelay,
		// Records of every message would grow without bound in a
		// long-running simulator; counters are what the stats line needs.
		CountersOnly: true,
	}
	if c.MaxBinds < 1 {
		return opts, usagef("--max-binds must be at least 1")
	}
	if len(c.Account) > 0 {
		opts.Accounts = make(map[string]string, len(c.Account))
		for _, acc := range c.Account {
			id, pass, ok := strings.Cut(acc, ":")
			if !ok || id == "" {
				return opts, usagef("--account %q: want SYSTEM_ID:PASSWORD", acc)
			}
			opts.Accounts[id] = pass
		}
	}
	opts.MessageID = smsc.HexID
	if c.IDs == "dec" {
		opts.MessageID = smsc.DecimalID
	}
	switch c.ReceiptIDs {
	case "hex":
		opts.ReceiptID = smsc.HexID
	case "dec":
		opts.ReceiptID = smsc.DecimalID
	}
	for _, r := range c.Rule {
		rule, err := parseSimRule(r)
		if err != nil {
			return opts, err
		}
		opts.Rules = append(opts.Rules, rule)
	}
	if c.Verbose {
		log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		opts.Logger = log
		opts.Session.Logger = log
	}
	return opts, nil
}

func parseSimRule(s string) (smsc.Rule, error) {
	prefix, outcome, ok := strings.Cut(s, "=")
	if !ok || prefix == "" || outcome == "" {
		return smsc.Rule{}, usagef("--rule %q: want PREFIX=OUTCOME", s)
	}
	prefix = strings.TrimPrefix(prefix, "+")
	r := smsc.Rule{Prefix: prefix}
	if o, inter, found := strings.Cut(outcome, ","); found {
		outcome = o
		switch strings.ToLower(inter) {
		case "enroute":
			r.Intermediate = "ENROUTE"
		case "acceptd", "accepted":
			r.Intermediate = "ACCEPTD"
		default:
			return r, usagef("--rule %q: %q: the intermediate receipt is enroute or acceptd", s, inter)
		}
	}
	switch strings.ToLower(outcome) {
	case "delivered":
		r.Outcome = smsc.Delivered
	case "undeliverable", "undeliv":
		r.Outcome = smsc.Undeliverable
	case "expired":
		r.Outcome = smsc.Expired
	case "rejected", "rejectd":
		r.Outcome = smsc.Rejected
	case "no-receipt", "none":
		r.Outcome = smsc.NoReceipt
	default:
		st, err := pdu.ParseStatus(outcome)
		if err != nil {
			return r, usagef("--rule %q: %v", s, err)
		}
		if st == pdu.StatusOK {
			return r, usagef("--rule %q: ESME_ROK is not a refusal; use delivered", s)
		}
		r.Outcome, r.Status = smsc.Refused, st
	}
	if r.Intermediate != "" && (r.Outcome == smsc.Refused || r.Outcome == smsc.NoReceipt) {
		return r, usagef("--rule %q: a refused submit or no-receipt has no receipts to come before", s)
	}
	return r, nil
}
