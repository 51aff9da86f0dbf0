package main

import (
	"fmt"
	"path/filepath"
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
		"# relative paths resolved against %s, secrets redacted.\n%s",
		cfg.File, filepath.Dir(cfg.File), cfg.Effective())
	return err
}
