package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"unicode/utf8"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/fsutil"
)

func init() {
	addCommand("send", "Queue one SMS by writing a message file into the spool.", func() any { return &sendCmd{} })
}

type sendCmd struct {
	To     string `required:"" placeholder:"NUMBER" help:"Recipient: +358401234567, 00358401234567 or a national number."`
	Text   string `required:"" help:"Message text (UTF-8)."`
	From   string `placeholder:"SENDER" help:"Sender: a number or up to 11 letters and digits (default: smsc.default_from)."`
	ID     string `placeholder:"ID" help:"Your reference for the reports; a second message with the same id and recipient is not sent again."`
	Config string `short:"c" xor:"source" placeholder:"FILE" help:"Configuration file to take spool.dir (or the admin API) from (default ${default_config})."`
	Spool  string `xor:"source" placeholder:"DIR" help:"Spool folder, instead of reading the configuration."`
	Via    string `enum:"spool,api" default:"spool" help:"Write a file into the spool, or post the message to the running agent's admin API (its token needed; prints our message id once it is stored)."`
}

// messageFile is the JSON message file format (msgfile), the fields send
// fills in.
type messageFile struct {
	ID   string `json:"id,omitempty"`
	To   string `json:"to"`
	From string `json:"from,omitempty"`
	Text string `json:"text"`
}

// Run writes the message into outgoing/ the way every producer should: a
// hidden temporary file in the same folder, fsync, rename, fsync the folder.
// The agent never sees a partial file; a crash leaves at most a temporary
// file, which intake ignores.
func (c *sendCmd) Run(a *app) error {
	msg, err := c.message()
	if err != nil {
		return err
	}
	if c.Via == "api" {
		return c.post(a, msg)
	}
	spool := c.Spool
	if spool == "" {
		file := c.Config
		if file == "" {
			file = config.DefaultFile()
		}
		cfg, err := a.loadConfig(file)
		if errors.Is(err, fs.ErrPermission) {
			// Producers are in the spool's group, which may not read the
			// configuration (it holds the SMSC password).
			return fmt.Errorf("%w; name the spool folder instead: --spool DIR (/var/spool/smsagent in the packages)", err)
		}
		if err != nil {
			return err
		}
		spool = cfg.Spool.Dir
	}
	outgoing := filepath.Join(spool, "outgoing")
	if fi, err := os.Stat(outgoing); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s is not a folder: is the spool folder right? (the agent creates outgoing/ when it starts)", outgoing)
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	path := filepath.Join(outgoing, a.fileName())
	// 0640: the agent reads it through the group of the spool
	// (smsagent-spool, from the setgid outgoing/ in the packages).
	if err := fsutil.WriteFile(path, append(data, '\n'), 0o640, outgoing); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = fmt.Fprintln(a.stdout, path)
	return err
}

// post sends the message to the running agent's admin API and prints our
// id once the agent has stored it (a duplicate: the id queued before).
func (c *sendCmd) post(a *app, msg messageFile) error {
	if c.Spool != "" {
		return usagef("--via api reads the admin API from the configuration; --spool names a folder")
	}
	file := c.Config
	if file == "" {
		file = config.DefaultFile()
	}
	cfg, err := a.loadConfig(file)
	if err != nil {
		return err
	}
	if cfg.Admin.Listen == "" {
		return fmt.Errorf("admin.listen is empty in %s: the agent serves no API to post to; use --via spool", cfg.File)
	}
	client, explain, err := adminClient(cfg)
	if err != nil {
		return err
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	ans, err := client.Submit(a.ctx, "application/json", data)
	if err != nil {
		return explain(err)
	}
	if len(ans.Duplicates) > 0 {
		_, err = fmt.Fprintf(a.stdout, "%s (already queued with id %q)\n", ans.IDs[0], msg.ID)
		return err
	}
	_, err = fmt.Fprintln(a.stdout, ans.IDs[0])
	return err
}

// message checks the fields as the agent will, so a mistake is reported
// here rather than as a file in failed/.
func (c *sendCmd) message() (messageFile, error) {
	to, err := smsagent.ParseNumber(c.To)
	if err != nil {
		return messageFile{}, usagef("--to: %v", err)
	}
	if to.Kind == smsagent.AddrAlphanumeric {
		return messageFile{}, usagef("--to: %q is not a number", c.To)
	}
	from, err := smsagent.ParseSender(c.From)
	if err != nil {
		return messageFile{}, usagef("--from: %v", err)
	}
	if c.Text == "" {
		return messageFile{}, usagef("--text: empty")
	}
	if !utf8.ValidString(c.Text) {
		return messageFile{}, usagef("--text: not valid UTF-8")
	}
	if len(c.ID) > smsagent.MaxClientIDLen {
		return messageFile{}, usagef("--id: longer than %d bytes", smsagent.MaxClientIDLen)
	}
	return messageFile{ID: c.ID, To: to.String(), From: from.String(), Text: c.Text}, nil
}

// fileName is unique without coordination: time, process and 32 random
// bits. It holds nothing the user typed.
func (a *app) fileName() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "send-" + a.now().UTC().Format("20060102T150405.000Z") + "-" +
		strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:]) + ".json"
}
