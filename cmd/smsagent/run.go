package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
	"github.com/smsagent/smsagent/agent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/kannel"
	"github.com/smsagent/smsagent/metrics"
	"github.com/smsagent/smsagent/service"
)

func init() {
	addCommand("run", "Run the agent: take message files, send them, write reports (what the service runs).",
		func() any { return &runCmd{} })
}

type runCmd struct {
	Config string `short:"c" default:"${default_config}" placeholder:"FILE" help:"Configuration file (${default})."`
}

// adminCloseTimeout bounds the wait for admin requests in progress once the
// agent has stopped.
const adminCloseTimeout = time.Second

// Run runs the agent under the service runner: from a console, SIGINT and
// SIGTERM stop it gracefully and a second one hurries the stop; under
// systemd or the Windows service manager, their stop requests do the same.
func (c *runCmd) Run(a *app) error {
	cfg, err := config.Load(c.Config)
	if err != nil {
		return &configError{err: err}
	}
	log, closeLog := newLogger(cfg, a.stderr)
	defer func() { _ = closeLog() }()
	for _, w := range cfg.Warnings {
		log.Warn("config: " + w.String())
	}
	bi, ok := debug.ReadBuildInfo()
	ver := resolveBuildInfo(version, commit, date, bi, ok).Version
	// An error is printed by the caller, on standard error like the log.
	return service.Run(a.ctx, service.RunOptions{WorkDir: cfg.Store.Dir(), Logger: log},
		func(ctx context.Context) error { return serveAgent(ctx, cfg, log, ver) })
}

// serveAgent runs one agent with its admin API until ctx ends.
func serveAgent(ctx context.Context, cfg *config.Config, log *slog.Logger, version string) error {
	var status lateStatus
	m := metrics.New(&status)
	ag, err := agent.New(cfg, agent.Options{Logger: log, Observer: m, Version: version, Force: service.ForceContext})
	if err != nil {
		return err
	}
	status.set(ag)
	var api *admin.Server
	if cfg.Admin.Listen != "" {
		o := admin.Options{Listen: cfg.Admin.Listen, Token: cfg.Admin.Token.Reveal(), Queue: ag.Queue(),
			Status: ag, Series: ag, Metrics: m, Ready: ag.Ready, Logger: log, TLSCert: cfg.Admin.TLSCert, TLSKey: cfg.Admin.TLSKey,
			Submit: ag, MaxRequestSize: int64(cfg.Admin.MaxRequestSize)}
		if cfg.Admin.GenerateToken {
			o.TokenFile = cfg.Admin.TokenFile
		}
		if api, err = admin.New(o); err == nil {
			err = api.Start(ctx)
		}
		if err != nil {
			return errors.Join(fmt.Errorf("admin API: %w", err), ag.Close(context.Background()))
		}
		log.Info("admin API listening", "addr", api.Addr())
	}
	var sendsms *kannel.Server
	if cfg.Kannel.Listen != "" {
		if sendsms, err = startKannel(ctx, cfg, ag, log); err != nil {
			err = fmt.Errorf("kannel sendsms: %w", err)
			if api != nil {
				err = errors.Join(err, api.Close(context.Background()))
			}
			return errors.Join(err, ag.Close(context.Background()))
		}
	}
	err = ag.Run(ctx)
	if sendsms != nil {
		// Requests in progress are answered 503 now that the agent is
		// stopped; let them finish, briefly.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), adminCloseTimeout)
		defer cancel()
		if cerr := sendsms.Close(cctx); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
			log.Warn("kannel sendsms", "err", cerr)
		}
	}
	if api != nil {
		// The agent is stopped: queue commands now find the database closed;
		// let the requests in progress finish, briefly.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), adminCloseTimeout)
		defer cancel()
		if cerr := api.Close(cctx); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
			log.Warn("admin API", "err", cerr)
		}
	}
	return err
}

// startKannel serves Kannel's sendsms for the configured users on
// kannel.listen.
func startKannel(ctx context.Context, cfg *config.Config, ag *agent.Agent, log *slog.Logger) (*kannel.Server, error) {
	s, err := newKannel(cfg, ag, log)
	if err != nil {
		return nil, err
	}
	if err := s.Start(ctx, cfg.Kannel.Listen); err != nil {
		return nil, err
	}
	return s, nil
}

// newKannel prepares the sendsms server of the configured users, whose
// passwords are read now.
func newKannel(cfg *config.Config, ag *agent.Agent, log *slog.Logger) (*kannel.Server, error) {
	users := make([]kannel.User, 0, len(cfg.Kannel.Users))
	for _, u := range cfg.Kannel.Users {
		pw, err := u.ReadPassword()
		if err != nil {
			return nil, err
		}
		users = append(users, kannel.User{Username: u.Username, Password: pw, DefaultFrom: u.DefaultFrom})
	}
	return kannel.New(kannel.Options{Users: users, Submit: ag, Logger: log})
}

// lateStatus lets the metrics ask for the agent's snapshot, though the
// metrics are made before the agent (the agent reports to them).
type lateStatus struct{ a atomic.Pointer[agent.Agent] }

func (s *lateStatus) set(a *agent.Agent) { s.a.Store(a) }

func (s *lateStatus) Status(ctx context.Context) (smsagent.Status, error) {
	a := s.a.Load()
	if a == nil {
		return smsagent.Status{}, errors.New("agent not started")
	}
	return a.Status(ctx)
}

// newLogger builds the agent's logger from log.level and log.format,
// writing to w (standard error: the journal under systemd), and on Windows
// also to the event log when running as a service.
func newLogger(cfg *config.Config, w io.Writer) (*slog.Logger, func() error) {
	var level slog.Level
	switch cfg.Log.Level {
	case config.LevelDebug:
		level = slog.LevelDebug
	case config.LevelWarn:
		level = slog.LevelWarn
	case config.LevelError:
		level = slog.LevelError
	}
	ho := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, ho)
	if cfg.Log.Format == config.LogJSON {
		h = slog.NewJSONHandler(w, ho)
	}
	h, closeLog := service.LogHandler(h, level)
	return slog.New(h), closeLog
}
