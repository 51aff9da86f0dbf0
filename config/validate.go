package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// resolve fills the values that depend on other values or on the
// environment: absolute paths, the password and token sources, the TLS
// server name. It records warnings in c.Warnings.
func (c *Config) resolve(src source, ps *problems) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(src.dir, p)
	}
	c.Spool.Dir = abs(c.Spool.Dir)
	c.Store.Path = abs(c.Store.Path)
	if len(c.SMSCs) == 0 && c.SMSC.Name == "" {
		c.SMSC.Name = DefaultAccount
	}
	for _, a := range c.Accounts() {
		a.PasswordFile = abs(a.PasswordFile)
	}
	c.Admin.TokenFile = abs(c.Admin.TokenFile)
	c.Store.JetStream.CredsFile = abs(c.Store.JetStream.CredsFile)
	c.Store.JetStream.PasswordFile = abs(c.Store.JetStream.PasswordFile)
	if c.Store.JetStream.Node == "" {
		// node: "" asks for the default too (the sample shows it so).
		c.Store.JetStream.Node = defaultNode()
	}
	if len(c.Hooks.Command) > 0 && strings.ContainsAny(c.Hooks.Command[0], `/\`) {
		// A program named with a folder is found from the configuration's
		// folder; a bare name is looked up in PATH when it runs.
		c.Hooks.Command[0] = abs(c.Hooks.Command[0])
	}
	c.Admin.TLSCert = abs(c.Admin.TLSCert)
	c.Admin.TLSKey = abs(c.Admin.TLSKey)
	for i := range c.Kannel.Users {
		c.Kannel.Users[i].PasswordFile = abs(c.Kannel.Users[i].PasswordFile)
	}
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		w.SecretFile = abs(w.SecretFile)
		if w.SecretFile == "" {
			continue
		}
		key := fmt.Sprintf("webhooks[%d].secret_file", i)
		v, err := c.readSecretFile(key, w.SecretFile)
		switch {
		case err != nil:
			ps.add(key, "%v", err)
		case len(v) < 16:
			ps.add(key, "%s holds %d characters; a signing secret needs at least 16", w.SecretFile, len(v))
		default:
			w.secret = NewSecret(v)
		}
	}

	inlineSecret := ""
	for i, a := range c.Accounts() {
		if !a.Password.IsZero() && inlineSecret == "" {
			inlineSecret = c.accountKey(i, "password")
		}
	}
	if inlineSecret == "" && !c.Admin.Token.IsZero() {
		inlineSecret = "admin.token"
	}
	if src.file != "" && inlineSecret != "" && src.mode.Perm()&0o044 != 0 && checksModes() {
		c.warn("", "%s holds %s and is readable by its group or others (mode %s); "+
			"move the secret to a file only the service user can read (smsc.password_file, admin.token_file) "+
			"or, for the password, the %s environment variable",
			src.file, inlineSecret, FormatFileMode(src.mode), PasswordEnv)
	}
	if src.file != "" && src.mode.Perm()&0o022 != 0 && checksModes() {
		c.warn("", "%s is writable by its group or others (mode %s): whoever can write it controls the agent",
			src.file, FormatFileMode(src.mode))
	}

	for i, a := range c.Accounts() {
		c.resolveAccount(i, a, ps)
	}
	c.resolveToken(ps)
	c.checkAdminTLS(ps)
}

// accountKey is the key of an account's field in problems: smsc.KEY for
// the smsc: block, smscs[i].KEY for an entry of smscs:.
func (c *Config) accountKey(i int, key string) string {
	if len(c.SMSCs) == 0 {
		return "smsc." + key
	}
	return fmt.Sprintf("smscs[%d].%s", i, key)
}

// resolveAccount reads an account's password and fills its TLS server
// name.
func (c *Config) resolveAccount(i int, s *SMSC, ps *problems) {
	key := func(k string) string { return c.accountKey(i, k) }
	c.resolvePassword(s, key, ps)
	if s.TLSServerName == "" {
		if host, _, err := net.SplitHostPort(s.Address); err == nil {
			s.TLSServerName = host
		}
	}
	switch {
	case s.TLSInsecure && s.TLS:
		c.warn(key("tls_insecure"), "the SMSC's certificate is not verified: anyone on the network path can "+
			"pose as the SMSC and read the password and every message")
	case s.TLSInsecure:
		c.warn(key("tls_insecure"), "has no effect without %s: true", key("tls"))
	}
}

func (c *Config) resolvePassword(s *SMSC, key func(string) string, ps *problems) {
	if !s.Password.IsZero() && s.PasswordFile != "" {
		ps.add(key("password_file"), "set either %s or %s, not both", key("password"), key("password_file"))
		return
	}
	if env := os.Getenv(PasswordEnv); env != "" && !s.listed {
		if !s.Password.IsZero() || s.PasswordFile != "" {
			c.warn(key("password"), "%s is set and takes precedence over the password in the file", PasswordEnv)
		}
		s.Password = NewSecret(env)
		return
	}
	if s.PasswordFile == "" {
		return
	}
	v, err := c.readSecretFile(key("password_file"), s.PasswordFile)
	if err != nil {
		ps.add(key("password_file"), "%v", err)
		return
	}
	s.Password = NewSecret(v)
}

func (c *Config) resolveToken(ps *problems) {
	a := &c.Admin
	if !a.Token.IsZero() && a.TokenFile != "" {
		ps.add("admin.token_file", "set either admin.token or admin.token_file, not both")
		return
	}
	if a.TokenFile != "" {
		v, err := c.readSecretFile("admin.token_file", a.TokenFile)
		if err != nil {
			ps.add("admin.token_file", "%v", err)
			return
		}
		if v == "" {
			ps.add("admin.token_file", "%s is empty", a.TokenFile)
			return
		}
		a.Token = NewSecret(v)
		return
	}
	if a.Token.IsZero() && a.Listen != "" && c.Store.Path != "" {
		// Not read here: the state folder is private to the service user,
		// and config check must work for an administrator who is not it.
		a.TokenFile = filepath.Join(c.Store.Dir(), "admin.token")
		a.GenerateToken = true
	}
}

// checkAdminTLS makes sure the API's certificate and key come together and
// load: a mistake found here is one the agent does not meet at start.
func (c *Config) checkAdminTLS(ps *problems) {
	a := &c.Admin
	switch {
	case a.TLSCert == "" && a.TLSKey == "":
		return
	case a.TLSKey == "":
		ps.add("admin.tls_key", "required with admin.tls_cert")
		return
	case a.TLSCert == "":
		ps.add("admin.tls_cert", "required with admin.tls_key")
		return
	}
	certPEM, err := os.ReadFile(a.TLSCert)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		ps.add("admin.tls_cert", "cannot read %s: %v", a.TLSCert, err)
		return
	}
	keyPEM, err := c.readSecretFile("admin.tls_key", a.TLSKey)
	if err != nil {
		ps.add("admin.tls_key", "%v", err)
		return
	}
	if _, err := tls.X509KeyPair(certPEM, []byte(keyPEM)); err != nil {
		ps.add("admin.tls_cert", "%s and %s are not a certificate and its private key: %v", a.TLSCert, a.TLSKey, err)
	}
}

// readSecretFile reads a password or token file: its content less trailing
// line breaks (editors add one).
func (c *Config) readSecretFile(key, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("cannot read %s: %v", path, pe.Err)
		}
		return "", err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o044 != 0 && checksModes() {
		c.warn(key, "%s is readable by its group or others (mode %s); chmod 0600 or 0400",
			path, FormatFileMode(fi.Mode()))
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

// checksModes reports whether Unix permission bits mean anything here;
// on Windows every file reports 0666 or 0444.
func checksModes() bool { return runtime.GOOS != "windows" }

func (c *Config) warn(key, format string, args ...any) {
	c.Warnings = append(c.Warnings, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

// validate checks every value and records each problem.
func (c *Config) validate(ps *problems) {
	c.validateAccounts(ps)

	sp := &c.Spool
	if sp.Dir == "" {
		ps.add("spool.dir", "required")
	}
	checkDuration(ps, "spool.rescan_interval", sp.RescanInterval, time.Second, time.Hour)
	checkDuration(ps, "spool.settle", sp.Settle, 0, time.Minute)
	checkInt(ps, "spool.max_messages", sp.MaxMessages, 1, 10_000_000)
	if sp.MaxFileSize < KiB || sp.MaxFileSize > GiB {
		ps.add("spool.max_file_size", "must be between 1KiB and 1GiB, got %s", sp.MaxFileSize)
	}
	checkEnum(ps, "spool.charset", sp.Charset, CharsetUTF8, CharsetISO885915)
	checkEnum(ps, "spool.inbox_format", sp.InboxFormat, InboxJSON, InboxSMSTools, InboxNDJSON)
	checkInt(ps, "spool.inbox_batch", sp.InboxBatch, 1, 1_000_000)
	checkDuration(ps, "spool.inbox_batch_age", sp.InboxBatchAge, 10*time.Millisecond, time.Hour)
	if sp.FileMode&0o600 != 0o600 {
		ps.add("spool.file_mode", "must let the owner read and write (0600), got %s", FormatFileMode(sp.FileMode))
	}

	st := &c.Store
	if st.Path == "" {
		ps.add("store.path", "required")
	}
	checkDuration(ps, "store.retention", st.Retention, time.Minute, 0)
	if st.MaxSize != 0 && st.MaxSize < MiB {
		ps.add("store.max_size", "must be 0 (no limit) or at least 1MiB, got %s", st.MaxSize)
	}
	c.validateJetStream(ps)

	r := &c.Retry
	checkDuration(ps, "retry.initial", r.Initial, 100*time.Millisecond, 0)
	checkDuration(ps, "retry.max", r.Max, 100*time.Millisecond, 0)
	if r.Initial > r.Max {
		ps.add("retry.initial", "must not be longer than retry.max (%s), got %s",
			FormatDuration(r.Max), FormatDuration(r.Initial))
	}
	checkDuration(ps, "retry.max_age", r.MaxAge, time.Minute, 0)
	checkDuration(ps, "retry.receipt_timeout", r.ReceiptTimeout, time.Minute, 0)

	mo := &c.MO
	checkEnum(ps, "mo.duplicates", mo.Duplicates, DuplicatesWindow, DuplicatesSMSCID, DuplicatesOff)
	checkDuration(ps, "mo.duplicate_window", mo.DuplicateWindow, time.Second, 24*time.Hour)
	switch _, ok := mo.IDTag(); {
	case mo.SMSCIDTag != "" && !ok:
		ps.add("mo.smsc_id_tag", "must be a TLV tag from 0x0001 to 0xFFFF (hexadecimal with 0x, or decimal), got %q", mo.SMSCIDTag)
	case mo.Duplicates == DuplicatesSMSCID && !ok:
		ps.add("mo.smsc_id_tag", "required with mo.duplicates: smsc_id (the TLV your SMSC carries its message id in, e.g. 0x1403)")
	case mo.SMSCIDTag != "" && mo.Duplicates != DuplicatesSMSCID:
		c.warn("mo.smsc_id_tag", "is only used with mo.duplicates: smsc_id (now %s)", mo.Duplicates)
	}

	a := &c.Admin
	if a.Listen != "" {
		if err := checkHostPort(a.Listen, false); err != nil {
			ps.add("admin.listen", "%v", err)
		} else if !isLoopback(a.Listen) && a.Token.IsZero() {
			ps.add("admin.token", "required when admin.listen (%s) is not a loopback address; "+
				"set admin.token or admin.token_file", a.Listen)
		} else if !isLoopback(a.Listen) && a.TLSCert == "" {
			c.warn("admin.listen", "%s is not a loopback address and admin.tls_cert is not set: the token, "+
				"phone numbers and texts cross the network in clear text; set admin.tls_cert and admin.tls_key", a.Listen)
		}
	}

	if a.MaxRequestSize < KiB || a.MaxRequestSize > 256*MiB {
		ps.add("admin.max_request_size", "must be between 1KiB and 256MiB, got %s", a.MaxRequestSize)
	}

	c.validateKannel(ps)
	c.validateCallbacks(ps)
	c.validateHooks(ps)

	checkEnum(ps, "log.level", c.Log.Level, LevelDebug, LevelInfo, LevelWarn, LevelError)
	checkEnum(ps, "log.format", c.Log.Format, LogText, LogJSON)
}

// checkHostPort checks a host:port; without needHost, ":port" (every
// interface) is allowed.
func checkHostPort(s string, needHost bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || needHost && host == "" {
		return fmt.Errorf("must be host:port, got %q", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port must be a number between 1 and 65535, got %q", port)
	}
	return nil
}

// isLoopback reports whether a host:port listens on loopback only. An empty
// host means every interface.
func isLoopback(hostport string) bool {
	host, _, _ := net.SplitHostPort(hostport)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkCOctet(ps *problems, key, v string, max int) {
	if len(v) > max {
		ps.add(key, "must be at most %d characters (SMPP 3.4 allows %d octets with the NUL), got %d",
			max, max+1, len(v))
	}
	if strings.IndexByte(v, 0) >= 0 {
		ps.add(key, "must not contain a NUL character")
	}
}

func checkEnum[T ~string](ps *problems, key string, v T, allowed ...T) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	words := make([]string, len(allowed))
	for i, a := range allowed {
		words[i] = string(a)
	}
	ps.add(key, "must be one of %s; got %q", strings.Join(words, ", "), string(v))
}

func checkInt(ps *problems, key string, v, lo, hi int) {
	if v < lo || v > hi {
		ps.add(key, "must be between %d and %d, got %d", lo, hi, v)
	}
}

// checkDuration checks lo <= v <= hi; hi 0 means no upper bound.
func checkDuration(ps *problems, key string, v, lo, hi time.Duration) {
	switch {
	case hi == 0 && v < lo:
		ps.add(key, "must be at least %s, got %s", FormatDuration(lo), FormatDuration(v))
	case hi != 0 && (v < lo || v > hi):
		ps.add(key, "must be between %s and %s, got %s", FormatDuration(lo), FormatDuration(hi), FormatDuration(v))
	}
}

// validateKannel checks the sendsms listener and its users.
func (c *Config) validateKannel(ps *problems) {
	k := &c.Kannel
	if k.Listen == "" {
		return
	}
	if err := checkHostPort(k.Listen, false); err != nil {
		ps.add("kannel.listen", "%v", err)
	} else if !isLoopback(k.Listen) {
		c.warn("kannel.listen", "%s is not a loopback address: sendsms passwords, numbers and texts cross the "+
			"network in clear text (Kannel's interface has no TLS here); keep it on 127.0.0.1 behind a TLS proxy", k.Listen)
	}
	if len(k.Users) == 0 {
		ps.add("kannel.users", "at least one user is needed when kannel.listen is set")
	}
	seen := map[string]bool{}
	for i, u := range k.Users {
		key := fmt.Sprintf("kannel.users[%d]", i)
		switch {
		case u.Username == "":
			ps.add(key+".username", "missing")
		case seen[u.Username]:
			ps.add(key+".username", "%q is given twice", u.Username)
		}
		seen[u.Username] = true
		if u.PasswordFile == "" {
			ps.add(key+".password_file", "missing: every sendsms user needs a password")
		}
		if _, err := smsagent.ParseSender(u.DefaultFrom); err != nil {
			ps.add(key+".default_from", "%v", err)
		}
	}
}

// validateCallbacks checks the allow list's entries and the timings.
func (c *Config) validateCallbacks(ps *problems) {
	cb := &c.Callbacks
	for i, a := range cb.Allow {
		if _, err := netip.ParsePrefix(a); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(a); err == nil {
			continue
		}
		if !validHostName(a) {
			ps.add(fmt.Sprintf("callbacks.allow[%d]", i), "%q is neither a CIDR, an address nor a host name", a)
		}
	}
	if cb.Timeout < time.Second || cb.Timeout > 5*time.Minute {
		ps.add("callbacks.timeout", "must be between 1s and 5m, got %s", FormatDuration(cb.Timeout))
	}
	if cb.MaxAge < time.Minute || cb.MaxAge > 30*24*time.Hour {
		ps.add("callbacks.max_age", "must be between 1m and 30d, got %s", FormatDuration(cb.MaxAge))
	}
	if cb.RetryInitial < 10*time.Millisecond || cb.RetryInitial > cb.RetryMax {
		ps.add("callbacks.retry_initial", "must be at least 10ms and at most callbacks.retry_max (%s), got %s",
			FormatDuration(cb.RetryMax), FormatDuration(cb.RetryInitial))
	}
	if cb.RetryMax > 24*time.Hour {
		ps.add("callbacks.retry_max", "must be at most 1d, got %s", FormatDuration(cb.RetryMax))
	}
	for i, w := range c.Webhooks {
		key := func(k string) string { return fmt.Sprintf("webhooks[%d].%s", i, k) }
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			ps.add(key("url"), "%q: want an http:// or https:// URL with a host and no user", w.URL)
		}
		if len(w.Events) == 0 {
			ps.add(key("events"), "required: report, mo, or both")
		}
		for _, e := range w.Events {
			if !slices.Contains(WebhookEvents, e) {
				ps.add(key("events"), "%q: want report or mo", e)
			}
		}
		if w.SecretFile == "" {
			ps.add(key("secret_file"), "required: the file of the secret the signature is made with")
		}
		checkDuration(ps, key("timeout"), w.Timeout, time.Second, 5*time.Minute)
	}
}

// validateHooks checks the event command.
func (c *Config) validateHooks(ps *problems) {
	h := &c.Hooks
	if len(h.Command) == 0 {
		return
	}
	if h.Command[0] == "" {
		ps.add("hooks.command", "the first item is the program to run and cannot be empty")
	}
	for i, a := range h.Command {
		if strings.ContainsRune(a, 0) {
			ps.add(fmt.Sprintf("hooks.command[%d]", i), "holds a NUL byte")
		}
	}
	if len(h.Events) == 0 {
		ps.add("hooks.events", "required: report, mo, or both")
	}
	for _, e := range h.Events {
		if !slices.Contains(WebhookEvents, e) {
			ps.add("hooks.events", "%q: want report or mo", e)
		}
	}
	if h.Concurrency < 1 || h.Concurrency > 64 {
		ps.add("hooks.concurrency", "must be between 1 and 64, got %d", h.Concurrency)
	}
	checkDuration(ps, "hooks.timeout", h.Timeout, 100*time.Millisecond, time.Hour)
	if h.Retries < 0 || h.Retries > 100 {
		ps.add("hooks.retries", "must be between 0 and 100, got %d", h.Retries)
	}
	checkDuration(ps, "hooks.retry_initial", h.RetryInitial, 10*time.Millisecond, time.Hour)
	if h.OutputLimit < 0 || h.OutputLimit > MiB {
		ps.add("hooks.output_limit", "must be between 0 and 1MiB, got %s", h.OutputLimit)
	}
}

// validHostName is a DNS name of letters, digits, hyphens and dots.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// validateAccounts checks the accounts (smsc: or smscs:), the routes and
// failover.
func (c *Config) validateAccounts(ps *problems) {
	if len(c.SMSCs) > 0 && c.smscGiven {
		ps.add("smscs", "set either smsc: (one account) or smscs: (several), not both")
	}
	if len(c.SMSCs) == 0 && c.SMSC.Name != DefaultAccount {
		ps.add("smsc.name", "the account of smsc: is named %s; name accounts in smscs: entries", DefaultAccount)
	}
	seen := map[string]int{}
	for i, s := range c.Accounts() {
		key := func(k string) string { return c.accountKey(i, k) }
		if len(c.SMSCs) > 0 {
			if s.Name == "" {
				ps.add(key("name"), "required: a-z, 0-9, _ and -, up to %d characters", smsagent.MaxAccountNameLen)
			} else if err := smsagent.CheckAccountName(s.Name); err != nil {
				ps.add(key("name"), "%v", err)
			} else if j, dup := seen[s.Name]; dup {
				ps.add(key("name"), "%q is the name of smscs[%d] too; names must be unique", s.Name, j)
			}
			seen[s.Name] = i
		}
		validateSMSC(ps, s, key)
	}
	for i, r := range c.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		for _, p := range r.To {
			if !validPrefix(p) {
				ps.add(key+".to", "%q: want a destination prefix in E.164 with the plus, such as +41 or +4179", p)
			}
		}
		if len(r.SMSCs) == 0 {
			ps.add(key+".smscs", "required: the accounts to try, in order")
		}
		for j, name := range r.SMSCs {
			if _, ok := c.Account(name); !ok {
				ps.add(key+".smscs", "%q is not a configured account (configured: %s)", name, c.accountNames())
			} else if slices.Contains(r.SMSCs[:j], name) {
				ps.add(key+".smscs", "%q is listed twice", name)
			}
		}
	}
	for i, r := range c.Routes {
		if len(r.To) == 0 && i < len(c.Routes)-1 {
			c.warn(fmt.Sprintf("routes[%d]", i+1), "never used: routes[%d] before it takes every destination", i)
			break
		}
	}
	if len(c.SMSCs) > 0 && os.Getenv(PasswordEnv) != "" {
		c.warn("smscs", "%s is the password of smsc: only; the accounts of smscs: use their own password_file "+
			"or password", PasswordEnv)
	}
	if len(c.Routes) > 0 && !slices.ContainsFunc(c.Routes, func(r Route) bool { return len(r.To) == 0 }) {
		c.warn("routes", "every route has destination prefixes: a message to a destination none matches is "+
			"refused into failed/ (add a last route without to: to send those too)")
	}
	c.routes = c.EffectiveRoutes()
	checkDuration(ps, "failover.after", c.Failover.After, time.Second, time.Hour)
	c.Failover.statuses = nil
	for _, name := range c.Failover.OnStatus {
		st, err := pdu.ParseStatus(name)
		switch {
		case err != nil:
			ps.add("failover.on_status", "%v", err)
		case st == pdu.StatusOK:
			ps.add("failover.on_status", "ESME_ROK is success, not a refusal")
		default:
			c.Failover.statuses = append(c.Failover.statuses, st)
		}
	}
}

// accountNames lists the accounts for messages.
func (c *Config) accountNames() string {
	var names []string
	for _, a := range c.Accounts() {
		names = append(names, a.Name)
	}
	return strings.Join(names, ", ")
}

// validPrefix reports whether p is "+" and 1 to 15 digits.
func validPrefix(p string) bool {
	if len(p) < 2 || len(p) > 16 || p[0] != '+' {
		return false
	}
	for _, r := range p[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// validateSMSC checks one account's keys; key names them in problems.
func validateSMSC(ps *problems, s *SMSC, key func(string) string) {
	if s.Address == "" {
		ps.add(key("address"), "required (host:port of the SMSC)")
	} else if err := checkHostPort(s.Address, true); err != nil {
		ps.add(key("address"), "%v", err)
	}
	if s.SystemID == "" {
		ps.add(key("system_id"), "required (the account name the SMSC gave you)")
	}
	// SMPP 3.4 §4.1.1: the bind fields are C-Octet Strings with a maximum
	// size that includes the terminating NUL.
	checkCOctet(ps, key("system_id"), s.SystemID, 15)
	checkCOctet(ps, key("password"), s.Password.Reveal(), 8)
	checkCOctet(ps, key("system_type"), s.SystemType, 12)
	checkCOctet(ps, key("address_range"), s.AddressRange, 40)
	checkEnum(ps, key("bind"), s.Bind, BindTransceiver, BindTransmitterReceiver, BindTransmitter)
	checkInt(ps, key("sessions"), s.Sessions, 1, 64)
	checkInt(ps, key("window"), s.Window, 1, 1000)
	checkInt(ps, key("max_uncommitted"), s.MaxUncommitted, 0, 100000)
	checkInt(ps, key("throughput"), s.Throughput, 0, 100000)
	checkDuration(ps, key("enquire_link"), s.EnquireLink, time.Second, time.Hour)
	checkDuration(ps, key("response_timeout"), s.ResponseTimeout, time.Second, 5*time.Minute)
	checkDuration(ps, key("bind_timeout"), s.BindTimeout, time.Second, 5*time.Minute)
	checkDuration(ps, key("reconnect_min"), s.ReconnectMin, 100*time.Millisecond, time.Minute)
	checkDuration(ps, key("reconnect_max"), s.ReconnectMax, time.Second, time.Hour)
	checkDuration(ps, key("auth_retry"), s.AuthRetry, 10*time.Second, 24*time.Hour)
	if s.ReconnectMax < s.ReconnectMin {
		ps.add(key("reconnect_max"), "must not be below %s (%s), got %s", key("reconnect_min"), FormatDuration(s.ReconnectMin), FormatDuration(s.ReconnectMax))
	}
	checkEnum(ps, key("message_id"), s.MessageID,
		MessageIDAuto, MessageIDExact, MessageIDHex, MessageIDDec, MessageIDHexDec, MessageIDDecHex)
	checkEnum(ps, key("split"), s.Split, SplitUDH, SplitUDH16, SplitSAR, SplitPayload)
	if _, err := smsagent.ParseSender(s.DefaultFrom); err != nil {
		ps.add(key("default_from"), "%v", err)
	}
	checkDuration(ps, key("receipt_grace"), s.ReceiptGrace, 0, 24*time.Hour)
}
