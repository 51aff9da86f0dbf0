package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/alecthomas/kong"

	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/service"
)

// A command group is one file: it declares its kong grammar struct, whose
// Run(*app) error methods do the work, and registers it from an init
// function with addCommand. Nothing else needs to change to add one.

// commandGroup is a top-level command: its name, its one-line help, and a
// constructor for a fresh grammar value (kong fills it in while parsing, so
// each run needs its own).
type commandGroup struct {
	name, help string
	grammar    func() any
}

// commandGroups is filled by the init functions of the command files and
// read-only afterwards; it lists the top-level commands in file name order.
var commandGroups []commandGroup

func addCommand(name, help string, grammar func() any) {
	commandGroups = append(commandGroups, commandGroup{name: name, help: help, grammar: grammar})
}

// app is what every command runs with: where its output goes and the
// seams tests replace.
type app struct {
	ctx            context.Context
	stdout, stderr io.Writer
	now            func() time.Time
	// services builds the service manager; tests pass a fake.
	services func(service.Options) (serviceManager, error)
}

func newApp(ctx context.Context, stdout, stderr io.Writer) *app {
	return &app{
		ctx:    ctx,
		stdout: stdout,
		stderr: stderr,
		now:    time.Now,
		services: func(o service.Options) (serviceManager, error) {
			m, err := service.NewManager(o)
			if err != nil {
				return nil, err
			}
			return m, nil
		},
	}
}

// run parses args, runs the command and returns the exit status.
func (a *app) run(args []string) int {
	exit := -1 // set when kong wants to exit: after --help, or on its own errors
	parser, err := a.parser(&exit)
	if err != nil { // a grammar mistake in this program
		fmt.Fprintf(a.stderr, "smsagent: %v\n", err)
		return exitFailure
	}
	kctx, err := parser.Parse(args)
	if exit >= 0 {
		return exit
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "smsagent: %v\nRun \"smsagent --help\" for usage.\n", err)
		return exitUsage
	}
	if err := kctx.Run(a); err != nil {
		return a.fail(err)
	}
	return exitOK
}

// parser builds the command line grammar of every command group; kong's
// request to exit (after --help, or on its own errors) sets *exit.
func (a *app) parser(exit *int) (*kong.Kong, error) {
	opts := []kong.Option{
		kong.Name("smsagent"),
		kong.Description("Store-and-forward SMS agent: message files in, SMPP out, reports back as files."),
		kong.Writers(a.stdout, a.stderr),
		kong.Exit(func(code int) {
			if *exit < 0 {
				*exit = code
			}
		}),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
		kong.Vars{"default_config": config.DefaultFile()},
	}
	for _, g := range commandGroups {
		opts = append(opts, kong.DynamicCommand(g.name, g.help, "", g.grammar()))
	}
	var root struct{}
	return kong.New(&root, opts...)
}

// usageError is a command line that parsed but makes no sense: a bad number,
// an empty text.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// configError is a configuration that could not be loaded: a usage error,
// since running again will not help.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// fail prints err and returns its exit status. Configuration problems are
// listed one per line; every other error is one line.
func (a *app) fail(err error) int {
	var problems *config.Error
	var ce *configError
	var ue *usageError
	switch {
	case errors.As(err, &problems):
		n, noun := len(problems.Problems), "problems"
		if n == 1 {
			noun = "problem"
		}
		fmt.Fprintf(a.stderr, "smsagent: %s: %d %s:\n", cmp.Or(problems.File, "configuration"), n, noun)
		for _, p := range problems.Problems {
			fmt.Fprintf(a.stderr, "  %s\n", p)
		}
		return exitUsage
	case errors.As(err, &ce), errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "smsagent: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(a.stderr, "smsagent: %v\n", err)
	return exitFailure
}

// loadConfig loads the configuration for a command and prints its warnings.
func (a *app) loadConfig(file string) (*config.Config, error) {
	c, err := config.Load(file)
	if err != nil {
		return nil, &configError{err: err}
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(a.stderr, "smsagent: warning: %s\n", w)
	}
	return c, nil
}
