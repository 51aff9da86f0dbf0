package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/smsagent/smsagent/smpp/smsc"
)

// longFlag is a long option as help prints it: "--name" or "--name=VALUE".
var longFlag = regexp.MustCompile(`--([a-zA-Z0-9][a-zA-Z0-9-]*)`)

// TestHelp_FlagNames runs --help for every command and subcommand and
// checks each long option's spelling. kong derives a name from the Go field
// by splitting at case changes, so a field IDs becomes "--i-ds": a segment
// of one letter is such a split acronym, and so is an upper-case letter.
func TestHelp_FlagNames(t *testing.T) {
	exit := -1
	p, err := newApp(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}).parser(&exit)
	if err != nil {
		t.Fatal(err)
	}
	var paths [][]string
	var walk func(n *kong.Node, path []string)
	walk = func(n *kong.Node, path []string) {
		paths = append(paths, path)
		for _, c := range n.Children {
			if c.Type == kong.CommandNode {
				walk(c, append(append([]string(nil), path...), c.Name))
			}
		}
	}
	walk(p.Model.Node, nil)
	if len(paths) < 10 {
		t.Fatalf("found only %d commands: %v", len(paths), paths)
	}
	checked := 0
	for _, path := range paths {
		r := cli(t, append(path, "--help")...)
		cmd := strings.Join(append([]string{"smsagent"}, path...), " ")
		if r.code != exitOK {
			t.Errorf("%s --help: exit status %d\n%s", cmd, r.code, r.stderr)
			continue
		}
		for _, m := range longFlag.FindAllStringSubmatch(r.stdout, -1) {
			checked++
			if problem := flagNameProblem(m[1]); problem != "" {
				t.Errorf("%s --help shows --%s: %s", cmd, m[1], problem)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no long option found in any help")
	}
}

func flagNameProblem(name string) string {
	if strings.ToLower(name) != name {
		return "upper case in a flag name"
	}
	for _, seg := range strings.Split(name, "-") {
		if len(seg) == 1 {
			return "a one-letter word between hyphens: an acronym split by the CLI library (give the field a name tag)"
		}
		if seg == "" {
			return "an empty word between hyphens"
		}
	}
	return ""
}

// TestSim_IDFlags: the id styles are --ids and --receipt-ids, and they
// reach the simulator's options.
func TestSim_IDFlags(t *testing.T) {
	r := cli(t, "sim", "--help")
	r.want(t, exitOK)
	for _, f := range []string{"--ids=", "--receipt-ids="} {
		if !strings.Contains(r.stdout, f) {
			t.Errorf("sim --help lacks %s:\n%s", f, r.stdout)
		}
	}
	var c simCmd
	p, err := kong.New(&c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse([]string{"--ids", "dec", "--receipt-ids", "hex"}); err != nil {
		t.Fatal(err)
	}
	opts, err := c.options(newApp(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	if opts.MessageID == nil || opts.ReceiptID == nil || opts.MessageID(255) != "255" ||
		opts.ReceiptID(255) != smsc.HexID(255) {
		t.Errorf("--ids dec --receipt-ids hex did not reach the simulator's options")
	}
}
