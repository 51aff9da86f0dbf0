package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/service"
)

func init() {
	addCommand("service", "Install and control smsagent as a system service (systemd, Windows).",
		func() any { return &serviceCmd{} })
}

// serviceManager is what the service commands need of *service.Manager.
type serviceManager interface {
	Install() error
	Uninstall() error
	Start() error
	Stop() error
	Restart() error
	Status() (service.Status, error)
}

var _ serviceManager = (*service.Manager)(nil)

type serviceCmd struct {
	Install   serviceInstallCmd `cmd:"" help:"Register the service to start at boot (does not start it)."`
	Uninstall serviceOpCmd      `cmd:"" help:"Stop the service and remove it."`
	Start     serviceOpCmd      `cmd:"" help:"Start the service."`
	Stop      serviceOpCmd      `cmd:"" help:"Stop the service."`
	Restart   serviceOpCmd      `cmd:"" help:"Restart the service."`
	Status    serviceStatusCmd  `cmd:"" help:"Print whether the service is running."`
}

type serviceFlags struct {
	Config string `short:"c" default:"${default_config}" placeholder:"FILE" help:"Configuration file the service runs with (${default})."`
}

type serviceInstallCmd struct{ serviceFlags }

// Run checks the configuration first: a service installed with a broken
// one would only fail at boot.
func (c *serviceInstallCmd) Run(a *app) error {
	cfg, err := a.loadConfig(c.Config)
	if err != nil {
		return err
	}
	m, err := a.services(service.Options{
		ConfigFile:    cfg.File,
		WritablePaths: []string{cfg.Spool.Dir, cfg.Store.Dir()},
		ReadableFiles: readableFiles(cfg),
		PrivateDirs:   privateDirs(runtime.GOOS, os.Getenv, cfg),
	})
	if err != nil {
		return err
	}
	if err := m.Install(); err != nil {
		return err
	}
	where := "as the Windows service " + service.Name
	if runtime.GOOS != "windows" {
		where = "as " + service.AdminUnitPath
	}
	_, err = fmt.Fprintf(a.stdout, "installed %s, running with %s\nstart it with: smsagent service start\n", where, cfg.File)
	return err
}

// readableFiles are the files the service reads at start: the
// configuration and the secret files it names. A generated admin token is
// the service's own, made in its state folder.
func readableFiles(cfg *config.Config) []string {
	files := []string{cfg.File}
	for _, s := range cfg.Accounts() {
		if s.PasswordFile != "" {
			files = append(files, s.PasswordFile)
		}
	}
	if cfg.Admin.TokenFile != "" && !cfg.Admin.GenerateToken {
		files = append(files, cfg.Admin.TokenFile)
	}
	if cfg.Admin.Listen != "" && cfg.Admin.TLSCert != "" {
		files = append(files, cfg.Admin.TLSCert, cfg.Admin.TLSKey)
	}
	return files
}

// privateDirs names, on Windows, the default folder %ProgramData%\smsagent
// when the configuration, the queue or the spool is in it: service install
// keeps ordinary users out of it (they could read the SMPP password).
func privateDirs(goos string, getenv func(string) string, cfg *config.Config) []string {
	if goos != "windows" {
		return nil
	}
	base := config.PathsFor(goos, getenv).File
	base = base[:strings.LastIndexByte(base, '\\')]
	inside := strings.ToLower(base) + `\`
	for _, p := range []string{cfg.File, cfg.Store.Path, cfg.Spool.Dir} {
		if strings.HasPrefix(strings.ToLower(p), inside) {
			return []string{base}
		}
	}
	return nil
}

type serviceOpCmd struct{ serviceFlags }

// Run performs the subcommand named on the command line.
func (c *serviceOpCmd) Run(a *app, kctx *kong.Context) error {
	m, err := a.services(service.Options{ConfigFile: c.Config})
	if err != nil {
		return err
	}
	var op func() error
	var done string
	name := kctx.Selected().Name
	switch name {
	case "uninstall":
		op, done = m.Uninstall, "removed"
	case "start":
		op, done = m.Start, "started"
	case "stop":
		op, done = m.Stop, "stopped"
	case "restart":
		op, done = m.Restart, "restarted"
	default:
		return fmt.Errorf("unknown service operation %q", name)
	}
	if err := op(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s %s\n", service.Name, done)
	return err
}

type serviceStatusCmd struct{ serviceFlags }

func (c *serviceStatusCmd) Run(a *app) error {
	m, err := a.services(service.Options{ConfigFile: c.Config})
	if err != nil {
		return err
	}
	st, err := m.Status()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.stdout, st)
	return err
}
