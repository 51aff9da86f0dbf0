package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/fsutil"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// Config is the whole configuration. The yaml tags are the keys of the file;
// docs/configuration.md describes each one.
type Config struct {
	// SMSC is the one account of a configuration without smscs:, named
	// "default". Code that sends uses Accounts(), which covers both forms.
	SMSC SMSC `yaml:"smsc"`
	// SMSCs are the accounts of a configuration with several; each entry
	// takes every key of smsc: with the same defaults.
	SMSCs []SMSC `yaml:"smscs"`
	// Routes send destinations to accounts; see EffectiveRoutes.
	Routes    []Route   `yaml:"routes"`
	Failover  Failover  `yaml:"failover"`
	Spool     Spool     `yaml:"spool"`
	Store     Store     `yaml:"store"`
	Retry     Retry     `yaml:"retry"`
	MO        MO        `yaml:"mo"`
	Admin     Admin     `yaml:"admin"`
	Kannel    Kannel    `yaml:"kannel"`
	Callbacks Callbacks `yaml:"callbacks"`
	// Webhooks receive every report and incoming SMS written to inbox/,
	// signed; they are retried like callbacks.
	Webhooks []Webhook `yaml:"webhooks"`
	// Hooks run a command after each event's file is durable in inbox/.
	Hooks Hooks `yaml:"hooks"`
	Log   Log   `yaml:"log"`

	// File is the absolute path of the file the configuration was loaded
	// from; "" when it was parsed from bytes.
	File string `yaml:"-"`
	// Warnings lists things that work but deserve attention (a password
	// readable by others, certificate checks turned off). The caller logs
	// them at start; config check prints them.
	Warnings []Problem `yaml:"-"`

	// smscGiven is set when the file has an smsc: key, which smscs:
	// excludes.
	smscGiven bool
	// routes are EffectiveRoutes, made once at load: Route runs for every
	// message taken and claimed.
	routes []Route
}

// DefaultAccount is the name of the account the smsc: block makes.
const DefaultAccount = "default"

// Route sends the destinations that start with one of To (E.164 with the
// plus; none: every destination) to the accounts SMSCs, tried in order.
type Route struct {
	To    []string `yaml:"to"`
	SMSCs []string `yaml:"smscs"`
}

// Failover says when an account is down and which refusals move a message
// to the next account of its route.
type Failover struct {
	// After is how long an account may have no bound session before it is
	// down (its messages move on), and how long it must be bound again
	// before it is up (failback).
	After time.Duration `yaml:"after"`
	// OnStatus are submit_sm_resp command_status names or numbers that send
	// that one message to the next account of its route.
	OnStatus []string `yaml:"on_status"`

	statuses []pdu.Status // OnStatus parsed at load
}

// Statuses are OnStatus parsed.
func (f *Failover) Statuses() []pdu.Status { return f.statuses }

// Accounts are the effective accounts: the entries of smscs:, or the smsc:
// block, named "default".
func (c *Config) Accounts() []*SMSC {
	if len(c.SMSCs) == 0 {
		return []*SMSC{&c.SMSC}
	}
	out := make([]*SMSC, len(c.SMSCs))
	for i := range c.SMSCs {
		out[i] = &c.SMSCs[i]
	}
	return out
}

// Account returns the account of that name.
func (c *Config) Account(name string) (*SMSC, bool) {
	for _, a := range c.Accounts() {
		if a.Name == name {
			return a, true
		}
	}
	return nil, false
}

// EffectiveRoutes are the routes, or, when none are configured, one route
// for every destination over every account in the order listed.
func (c *Config) EffectiveRoutes() []Route {
	if len(c.Routes) > 0 {
		return c.Routes
	}
	if c.routes != nil {
		return c.routes
	}
	accts := c.Accounts()
	names := make([]string, len(accts))
	for i, a := range accts {
		names[i] = a.Name
	}
	return []Route{{SMSCs: names}}
}

// Route returns the first route that matches the destination, false when
// none does. Prefixes are matched against the number as reports write it:
// "+" and the digits for an international number; a national number or a
// short code matches only a route without prefixes.
func (c *Config) Route(to smsagent.Address) (Route, bool) {
	number := to.String()
	for _, r := range c.EffectiveRoutes() {
		if len(r.To) == 0 {
			return r, true
		}
		if to.Kind != smsagent.AddrInternational {
			continue
		}
		for _, p := range r.To {
			if strings.HasPrefix(number, p) {
				return r, true
			}
		}
	}
	return Route{}, false
}

// SMSC is how to reach and bind to the SMSC (SMPP 3.4 §4.1).
type SMSC struct {
	// Name names the account in reports, status, metrics and logs:
	// "default" for the smsc: block.
	Name          string `yaml:"name"`
	Address       string `yaml:"address"`
	TLS           bool   `yaml:"tls"`
	TLSInsecure   bool   `yaml:"tls_insecure"`
	TLSServerName string `yaml:"tls_server_name"`
	SystemID      string `yaml:"system_id"`
	Password      Secret `yaml:"password"`
	PasswordFile  string `yaml:"password_file"`
	SystemType    string `yaml:"system_type"`
	AddressRange  string `yaml:"address_range"`
	Bind          Bind   `yaml:"bind"`
	// Sessions is the number of binds held open; with
	// BindTransmitterReceiver, this many of each kind.
	Sessions int `yaml:"sessions"`
	// Window is the number of requests outstanding per session.
	Window int `yaml:"window"`
	// MaxUncommitted is how many parts may be answered by the SMSC and
	// not yet committed, beside the windows' parts in flight: what keeps
	// the windows full while a commit runs. 0 means 2 × sessions × window.
	// A crash resends these too: it is part of the duplicate bound.
	MaxUncommitted int `yaml:"max_uncommitted"`
	// Throughput caps submit_sm per second across all sessions; 0 means no
	// limit.
	Throughput      int           `yaml:"throughput"`
	EnquireLink     time.Duration `yaml:"enquire_link"`
	ResponseTimeout time.Duration `yaml:"response_timeout"`
	BindTimeout     time.Duration `yaml:"bind_timeout"`
	// ReconnectMin and ReconnectMax bound the wait before a bind is tried
	// again after a lost link or a refused connection or bind: capped
	// exponential backoff with full jitter between them.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// AuthRetry is about how long the agent waits before it binds again
	// with credentials the SMSC refused (with jitter, from half of it);
	// a changed password file is tried at once.
	AuthRetry time.Duration `yaml:"auth_retry"`
	// MessageID is the rule for matching a receipt's message id to the id
	// of a submit_sm_resp.
	MessageID MessageIDRule `yaml:"message_id"`
	Split     Split         `yaml:"split"`
	// DefaultFrom is the sender of messages that name none; "" leaves it to
	// the SMSC. It is valid for smsagent.ParseSender; see DefaultSender.
	DefaultFrom string `yaml:"default_from"`
	// ReceiptGrace is how long a receipt that matches no message is kept in
	// case its submit_sm_resp has not been committed yet.
	ReceiptGrace time.Duration `yaml:"receipt_grace"`

	// listed marks an entry of smscs:, whose password PasswordEnv does not
	// replace (it is one variable for one account).
	listed bool
}

// DefaultSender is DefaultFrom parsed; the zero Address when none is set.
func (s *SMSC) DefaultSender() smsagent.Address {
	a, _ := smsagent.ParseSender(s.DefaultFrom) // validated when loaded
	return a
}

// Spool is the folder tree files are exchanged through.
type Spool struct {
	Dir            string        `yaml:"dir"`
	Archive        bool          `yaml:"archive"`
	RescanInterval time.Duration `yaml:"rescan_interval"`
	Settle         time.Duration `yaml:"settle"`
	MaxFileSize    ByteSize      `yaml:"max_file_size"`
	// MaxMessages refuses a file of more messages: a file is stored in
	// one transaction, whose memory grows with its messages (about 1 KiB
	// each), so this bounds the agent's memory whatever is dropped.
	MaxMessages int         `yaml:"max_messages"`
	Charset     Charset     `yaml:"charset"`
	InboxFormat InboxFormat `yaml:"inbox_format"`
	// InboxBatch and InboxBatchAge close an NDJSON inbox file (inbox_format
	// ndjson) once it holds that many events or its first is that old.
	InboxBatch    int           `yaml:"inbox_batch"`
	InboxBatchAge time.Duration `yaml:"inbox_batch_age"`
	FileMode      os.FileMode   `yaml:"file_mode"`
}

// Store is where the queue is kept: the bbolt database at Path, or, with
// the backend jetstream, a NATS JetStream cluster shared with other agents
// (the database then holds what this node has in hand).
type Store struct {
	// Backend is where the queue lives: BackendBbolt or BackendJetStream.
	Backend   string        `yaml:"backend"`
	Path      string        `yaml:"path"`
	Retention time.Duration `yaml:"retention"`
	// MaxSize stops the database from growing past this many bytes; 0 means
	// no limit.
	MaxSize ByteSize `yaml:"max_size"`
	// JetStream is the cluster of the backend jetstream; it is checked, and
	// printed by Effective, only with that backend.
	JetStream JetStream `yaml:"jetstream"`
}

// Dir is the folder of the database, also the agent's state folder.
func (s *Store) Dir() string { return filepath.Dir(s.Path) }

// Store backends (store.backend).
const (
	// BackendBbolt keeps the queue in the embedded database, on this
	// machine: the default.
	BackendBbolt = "bbolt"
	// BackendJetStream shares the queue with the other agents of a cluster
	// in NATS JetStream (package cluster).
	BackendJetStream = "jetstream"
)

// JetStream is store.jetstream: the NATS JetStream cluster the queue lives
// in with the store backend jetstream. Every agent of a cluster has the
// same settings but Node.
type JetStream struct {
	// URLs are the NATS servers, nats:// or tls://, each with host and port.
	URLs []string `yaml:"urls"`
	// CredsFile is a NATS credentials file; it excludes User and
	// PasswordFile.
	CredsFile string `yaml:"creds_file"`
	User      string `yaml:"user"`
	// PasswordFile holds User's password, read at connect (ReadPassword) so
	// that a rotated file needs no reload of the configuration.
	PasswordFile  string `yaml:"password_file"`
	TLS           bool   `yaml:"tls"`
	TLSInsecure   bool   `yaml:"tls_insecure"`
	TLSServerName string `yaml:"tls_server_name"`
	// Prefix names the streams and buckets, so that several clusters can
	// share a NATS system.
	Prefix   string `yaml:"prefix"`
	Replicas int    `yaml:"replicas"`
	// Node is this agent's name in the cluster: unique. Default (also for
	// an empty value): the host name's first label, lower-cased.
	Node string `yaml:"node"`
	// TakeoverAfter is how long a node may be silent before another takes
	// over the messages it holds.
	TakeoverAfter time.Duration `yaml:"takeover_after"`
	// IncomingNode is the node whose inbox/ gets incoming SMS; "" writes
	// them where they arrive.
	IncomingNode string `yaml:"incoming_node"`
}

// Retry is how failed submissions are retried and when the agent gives up.
type Retry struct {
	Initial        time.Duration `yaml:"initial"`
	Max            time.Duration `yaml:"max"`
	MaxAge         time.Duration `yaml:"max_age"`
	ReceiptTimeout time.Duration `yaml:"receipt_timeout"`
}

// MO is how incoming SMS (mobile-originated) are received.
type MO struct {
	// Duplicates is the rule that decides when a repeated deliver_sm is
	// the SMSC's redelivery of one already stored, to be dropped.
	Duplicates Duplicates `yaml:"duplicates"`
	// DuplicateWindow is how long after an incoming SMS was stored and
	// answered an identical deliver_sm counts as its redelivery.
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// SMSCIDTag is the TLV tag ("0x1403", or decimal) in which the SMSC
	// sends its own id of each incoming SMS; used by DuplicatesSMSCID.
	SMSCIDTag string `yaml:"smsc_id_tag"`
}

// Duplicates is the rule for recognising an SMSC's redelivery of an
// incoming SMS; the agent's package documentation states it in full.
type Duplicates string

const (
	// DuplicatesWindow drops a deliver_sm identical to one stored and
	// answered within mo.duplicate_window (or whose answer was lost).
	DuplicatesWindow Duplicates = "window"
	// DuplicatesSMSCID does the same, comparing the SMSC's id of the
	// message (in the TLV mo.smsc_id_tag) with sender, recipient and part
	// instead of the whole deliver_sm; a deliver_sm without the TLV is never
	// dropped.
	DuplicatesSMSCID Duplicates = "smsc_id"
	// DuplicatesOff drops nothing: every deliver_sm is stored.
	DuplicatesOff Duplicates = "off"
)

// IDTag is SMSCIDTag as a number; ok is false when none is set (validated
// when loaded).
func (m *MO) IDTag() (tag uint16, ok bool) {
	if m.SMSCIDTag == "" {
		return 0, false
	}
	s, base := m.SMSCIDTag, 10
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s, base = s[2:], 16
	}
	n, err := strconv.ParseUint(s, base, 16)
	return uint16(n), err == nil && n != 0
}

// Admin is the local HTTP API.
type Admin struct {
	// Listen is host:port; "" disables the API.
	Listen string `yaml:"listen"`
	Token  Secret `yaml:"token"`
	// TokenFile holds the token when it is not given inline; a configured
	// token file is read into Token at load.
	TokenFile string `yaml:"token_file"`
	// GenerateToken is set when the file configures no token: TokenFile is
	// then "admin.token" in the state folder, and the admin API reads it,
	// or creates it with a random token when it does not exist. It is not
	// read at load because the state folder is private to the service user.
	GenerateToken bool `yaml:"-"`
	// TLSCert and TLSKey are PEM files of the API's certificate (with its
	// chain) and private key: with both set the API serves HTTPS, and the
	// CLI on this machine trusts exactly the certificate in TLSCert.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// MaxRequestSize bounds the body of POST /api/v1/messages (413
	// beyond); other calls take no body.
	MaxRequestSize ByteSize `yaml:"max_request_size"`
}

// Callbacks are the HTTP calls that deliver reports to a message's
// report_url (or Kannel's dlr-url).
type Callbacks struct {
	// Allow lists what a callback may call: CIDRs ("10.0.0.0/8"), single
	// addresses, or host names ("crm.example.net", which then may resolve
	// to any address). A URL naming anything else refuses its message; an
	// address reached that is not allowed refuses the call.
	Allow []string `yaml:"allow"`
	// Timeout bounds one call.
	Timeout time.Duration `yaml:"timeout"`
	// MaxAge is how long a failing callback is retried before it is given
	// up (logged and counted).
	MaxAge time.Duration `yaml:"max_age"`
	// RetryInitial and RetryMax bound the backoff between attempts, which
	// doubles from the one to the other, with jitter.
	RetryInitial time.Duration `yaml:"retry_initial"`
	RetryMax     time.Duration `yaml:"retry_max"`
}

// Webhook is an endpoint that gets the inbox events it names POSTed as
// JSON, with an HMAC-SHA256 signature made with the secret.
type Webhook struct {
	URL string `yaml:"url"`
	// Events are the event types it gets: report, mo.
	Events     []string      `yaml:"events"`
	SecretFile string        `yaml:"secret_file"`
	Timeout    time.Duration `yaml:"timeout"`

	secret Secret // read from SecretFile at load
}

// Secret is the signing secret read from SecretFile.
func (w *Webhook) Secret() Secret { return w.secret }

// WebhookEvents are the event types a webhook may name.
var WebhookEvents = []string{"report", "mo"}

// Hooks is the event command (smstools3's eventhandler): a program run
// after each report or incoming SMS is durable in inbox/, never through a
// shell, with the event in its arguments and environment.
type Hooks struct {
	// Command is the program and its arguments; empty runs nothing. The
	// arguments may hold {type} (report or mo), {file} (the absolute path
	// of the event's file in inbox/) and {id} (the event's id: its file
	// name, stable across retries).
	Command []string `yaml:"command"`
	// Events are the event types it runs for: report, mo.
	Events []string `yaml:"events"`
	// Concurrency bounds the commands running at once.
	Concurrency int `yaml:"concurrency"`
	// Timeout bounds one run; past it the command is killed with its
	// process group (its job object on Windows).
	Timeout time.Duration `yaml:"timeout"`
	// Retries is how many times a run that failed (non-zero exit, timeout,
	// not started) is made again, RetryInitial apart and doubling, before
	// it is given up (logged and counted).
	Retries      int           `yaml:"retries"`
	RetryInitial time.Duration `yaml:"retry_initial"`
	// OutputLimit bounds what is kept of a run's output (stdout and
	// stderr) for the log; the rest is read and dropped.
	OutputLimit ByteSize `yaml:"output_limit"`
}

// HookPlaceholders are the words hooks.command's arguments may hold.
var HookPlaceholders = []string{"{type}", "{file}", "{id}"}

// DefaultCallbackAllow is callbacks.allow's default: loopback and the
// private ranges (RFC 1918, RFC 4193), never the internet.
var DefaultCallbackAllow = []string{"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	"fc00::/7", "localhost"}

// Kannel is the Kannel-compatible sendsms listener (Kannel 1.4.5 user
// guide, "Sending SMS via HTTP"), off by default.
type Kannel struct {
	// Listen is host:port; "" (the default) turns it off.
	Listen string `yaml:"listen"`
	// Users are the sendsms users (Kannel's sendsms-user groups).
	Users []KannelUser `yaml:"users"`
}

// KannelUser is one sendsms user.
type KannelUser struct {
	Username string `yaml:"username"`
	// PasswordFile holds the user's password (read at start; a trailing
	// line end is dropped).
	PasswordFile string `yaml:"password_file"`
	// DefaultFrom is the sender when a request names none.
	DefaultFrom string `yaml:"default_from"`
}

// ReadPassword reads the user's password file: a regular file, at most
// 4 KiB, without a NUL byte.
func (u *KannelUser) ReadPassword() (string, error) {
	pw, err := readPasswordFile(u.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("config: kannel user %s: password_file: %w", u.Username, err)
	}
	if pw == "" || strings.ContainsRune(pw, 0) {
		return "", fmt.Errorf("config: kannel user %s: password_file %s: empty or holding a NUL byte", u.Username, u.PasswordFile)
	}
	return pw, nil
}

// Log is the agent's own log.
type Log struct {
	Level  Level     `yaml:"level"`
	Format LogFormat `yaml:"format"`
}

// Bind is the kind of SMPP bind (SMPP 3.4 §4.1).
type Bind string

const (
	BindTransceiver         Bind = "transceiver"
	BindTransmitterReceiver Bind = "transmitter_receiver"
	BindTransmitter         Bind = "transmitter"
)

// MessageIDRule says how a receipt's message id is compared with the id in
// submit_sm_resp: SMSCs disagree on hex versus decimal (SMPP 3.4 Appendix B
// leaves the receipt text's id format to the SMSC).
type MessageIDRule string

const (
	// MessageIDAuto tries the exact id, then hex and decimal readings.
	MessageIDAuto MessageIDRule = "auto"
	// MessageIDExact compares the ids as strings.
	MessageIDExact MessageIDRule = "exact"
	// MessageIDHex reads both ids as hexadecimal numbers.
	MessageIDHex MessageIDRule = "hex"
	// MessageIDDec reads both ids as decimal numbers.
	MessageIDDec MessageIDRule = "dec"
	// MessageIDHexDec: submit_sm_resp id hexadecimal, receipt id decimal.
	MessageIDHexDec MessageIDRule = "hexdec"
	// MessageIDDecHex: submit_sm_resp id decimal, receipt id hexadecimal.
	MessageIDDecHex MessageIDRule = "dechex"
)

// Split is how a long text is concatenated.
type Split string

const (
	// SplitUDH uses an 8-bit reference concatenation UDH (3GPP TS 23.040
	// §9.2.3.24.1).
	SplitUDH Split = "udh"
	// SplitUDH16 uses a 16-bit reference UDH (§9.2.3.24.8).
	SplitUDH16 Split = "udh16"
	// SplitSAR uses the SMPP 3.4 sar_* TLVs (§5.3.2.22-§5.3.2.24).
	SplitSAR Split = "sar"
	// SplitPayload sends the whole text in message_payload (§5.3.2.32) and
	// lets the SMSC split it.
	SplitPayload Split = "payload"
)

// Charset is the body charset of smstools3 files.
type Charset string

const (
	CharsetUTF8      Charset = "utf-8"
	CharsetISO885915 Charset = "iso-8859-15"
)

// InboxFormat is the format of the files written to inbox/.
type InboxFormat string

const (
	InboxJSON     InboxFormat = "json"
	InboxSMSTools InboxFormat = "smstools"
	// InboxNDJSON appends events to NDJSON files closed by count or age.
	InboxNDJSON InboxFormat = "ndjson"
)

// Level is the log level.
type Level string

const (
	LevelDebug Level = "debug"
	LevelInfo  Level = "info"
	LevelWarn  Level = "warn"
	LevelError Level = "error"
)

// LogFormat is how log records are written.
type LogFormat string

const (
	LogText LogFormat = "text"
	LogJSON LogFormat = "json"
)

// ReadPassword reads the SMSC password from its source as it is now: the
// environment variable PasswordEnv, else smsc.password_file (read again at
// every call, so a rotated file is used without a restart), else the
// inline smsc.password, which only a restart changes.
func (s *SMSC) ReadPassword() (string, error) {
	if env := os.Getenv(PasswordEnv); env != "" && !s.listed {
		return env, nil
	}
	if s.PasswordFile == "" {
		return s.Password.Reveal(), nil
	}
	pw, err := readPasswordFile(s.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("config: smsc.password_file: %w", err)
	}
	switch {
	case len(pw) > 8:
		return "", fmt.Errorf("config: smsc.password_file %s: the password is %d bytes; SMPP 3.4 allows 8", s.PasswordFile, len(pw))
	case strings.ContainsRune(pw, 0):
		return "", fmt.Errorf("config: smsc.password_file %s: the password holds a NUL byte", s.PasswordFile)
	}
	return pw, nil
}

// readPasswordFile reads a password file the way every password file read
// after load is read (smsc, kannel users, store.jetstream): only a regular
// file, opened without blocking (a FIFO put there would hang the bind or
// the connect), at most 4 KiB of it, with trailing line ends dropped. The
// callers name their key in errors and check the content.
func readPasswordFile(path string) (string, error) {
	f, err := fsutil.OpenRegular(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 4<<10))
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

// PasswordEnv names the environment variable that, when set and not empty,
// supplies the SMSC password ahead of smsc.password_file and smsc.password.
const PasswordEnv = "SMSAGENT_SMSC_PASSWORD"

// Default returns the configuration used for every key the file leaves out.
// It is the only place defaults are written down. Required keys
// (smsc.address, smsc.system_id) have none.
func Default() *Config {
	paths := DefaultPaths()
	return &Config{
		SMSC: SMSC{
			Bind:            BindTransceiver,
			Sessions:        4,
			Window:          10,
			EnquireLink:     30 * time.Second,
			ResponseTimeout: 10 * time.Second,
			BindTimeout:     10 * time.Second,
			ReconnectMin:    time.Second,
			ReconnectMax:    time.Minute,
			AuthRetry:       5 * time.Minute,
			MessageID:       MessageIDAuto,
			Split:           SplitUDH,
			ReceiptGrace:    5 * time.Minute,
		},
		Failover: Failover{After: 30 * time.Second},
		Spool: Spool{
			Dir:            paths.Spool,
			RescanInterval: 10 * time.Second,
			Settle:         time.Second,
			MaxFileSize:    64 * MiB,
			MaxMessages:    100_000,
			Charset:        CharsetUTF8,
			InboxFormat:    InboxJSON,
			InboxBatch:     1000,
			InboxBatchAge:  time.Second,
			FileMode:       0o640,
		},
		Store: Store{
			Backend:   BackendBbolt,
			Path:      paths.Store,
			Retention: 7 * day,
			JetStream: JetStream{
				Prefix:        "smsagent",
				Replicas:      1,
				Node:          defaultNode(),
				TakeoverAfter: 30 * time.Second,
			},
		},
		Retry: Retry{
			Initial:        10 * time.Second,
			Max:            10 * time.Minute,
			MaxAge:         48 * time.Hour,
			ReceiptTimeout: 72 * time.Hour,
		},
		MO: MO{
			Duplicates:      DuplicatesWindow,
			DuplicateWindow: 5 * time.Minute,
		},
		Admin: Admin{
			Listen:         "127.0.0.1:9180",
			MaxRequestSize: MiB,
		},
		Callbacks: Callbacks{
			Allow:        slices.Clone(DefaultCallbackAllow),
			Timeout:      10 * time.Second,
			MaxAge:       24 * time.Hour,
			RetryInitial: 10 * time.Second,
			RetryMax:     10 * time.Minute,
		},
		Hooks: Hooks{
			Events:       slices.Clone(WebhookEvents),
			Concurrency:  4,
			Timeout:      30 * time.Second,
			Retries:      3,
			RetryInitial: 10 * time.Second,
			OutputLimit:  4 * KiB,
		},
		Log: Log{
			Level:  LevelInfo,
			Format: LogText,
		},
	}
}

// Load reads and checks the configuration file at path. Relative paths in
// it are resolved against the file's folder. On problems it returns an
// *Error listing all of them.
func Load(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(data, source{file: abs, dir: filepath.Dir(abs), mode: fi.Mode()})
}

// Parse reads and checks a configuration held in memory. Relative paths are
// resolved against the working folder.
func Parse(data []byte) (*Config, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(data, source{dir: wd})
}

// source is where a document came from.
type source struct {
	file string      // absolute path, "" for Parse
	dir  string      // folder relative paths are resolved against
	mode os.FileMode // permissions of file
}

func parse(data []byte, src source) (*Config, error) {
	c := Default()
	c.File = src.file
	var ps problems
	if decodeDocument(data, c, &ps) {
		c.resolve(src, &ps)
		c.validate(&ps)
	}
	if len(ps) > 0 {
		return nil, &Error{File: src.file, Problems: ps}
	}
	return c, nil
}
