package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/smsagent/smsagent/config"
)

func init() {
	addCommand("config", "Check the configuration file.", func() any { return &configCmd{} })
}

type configCmd struct {
	Check configCheckCmd `cmd:"" help:"Validate the configuration and print it with every default filled in."`
}

type configCheckCmd struct {
	Config string `short:"c" default:"${default_config}" placeholder:"FILE" help:"Configuration file (${default})."`
}

// Run prints warnings to standard error and the effective configuration,
// secrets redacted, to standard output; problems exit with status 2.
func (c *configCheckCmd) Run(a *app) error {
	cfg, err := a.loadConfig(c.Config)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "# %s is valid. Effective configuration: defaults filled in,\n"+
		"# relative paths resolved against %s, secrets redacted.\n%s%s",
		cfg.File, filepath.Dir(cfg.File), accountSummary(cfg), cfg.Effective())
	return err
}

// accountSummary says in comment lines which accounts there are and where
// each destination goes:
//
//	# accounts: mitto (smpp.example.net:2775, 4 sessions), backup (...)
//	# routes: +41 +423 → mitto, backup; * → backup, mitto
func accountSummary(cfg *config.Config) string {
	var accts []string
	for _, s := range cfg.Accounts() {
		accts = append(accts, fmt.Sprintf("%s (%s, %d %s)", s.Name, s.Address, s.Sessions, plural(s.Sessions, "session", "sessions")))
	}
	var routes []string
	for _, r := range cfg.EffectiveRoutes() {
		to := "*"
		if len(r.To) > 0 {
			to = strings.Join(r.To, " ")
		}
		routes = append(routes, to+" → "+strings.Join(r.SMSCs, ", "))
	}
	onStatus := "none"
	if len(cfg.Failover.OnStatus) > 0 {
		onStatus = strings.Join(cfg.Failover.OnStatus, ", ")
	}
	return "# accounts: " + strings.Join(accts, ", ") + "\n# routes: " + strings.Join(routes, "; ") +
		"\n# failover: after " + config.FormatDuration(cfg.Failover.After) + " without a bound session; on_status: " +
		onStatus + "\n"
}
