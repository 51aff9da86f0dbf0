package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/smsagent/smsagent"
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
	c.SMSC.PasswordFile = abs(c.SMSC.PasswordFile)
	c.Admin.TokenFile = abs(c.Admin.TokenFile)
	c.Admin.TLSCert = abs(c.Admin.TLSCert)
	c.Admin.TLSKey = abs(c.Admin.TLSKey)
	for i := range c.Kannel.Users {
		c.Kannel.Users[i].PasswordFile = abs(c.Kannel.Users[i].PasswordFile)
	}

	inlineSecret := ""
	if !c.SMSC.Password.IsZero() {
		inlineSecret = "smsc.password"
	} else if !c.Admin.Token.IsZero() {
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

	c.resolvePassword(ps)
	c.resolveToken(ps)
	c.checkAdminTLS(ps)

	if c.SMSC.TLSServerName == "" {
		if host, _, err := net.SplitHostPort(c.SMSC.Address); err == nil {
			c.SMSC.TLSServerName = host
		}
	}
	switch {
	case c.SMSC.TLSInsecure && c.SMSC.TLS:
		c.warn("smsc.tls_insecure", "the SMSC's certificate is not verified: anyone on the network path can "+
			"pose as the SMSC and read the password and every message")
	case c.SMSC.TLSInsecure:
		c.warn("smsc.tls_insecure", "has no effect without smsc.tls: true")
	}
}

func (c *Config) resolvePassword(ps *problems) {
	s := &c.SMSC
	if !s.Password.IsZero() && s.PasswordFile != "" {
		ps.add("smsc.password_file", "set either smsc.password or smsc.password_file, not both")
		return
	}
	if env := os.Getenv(PasswordEnv); env != "" {
		if !s.Password.IsZero() || s.PasswordFile != "" {
			c.warn("smsc.password", "%s is set and takes precedence over the password in the file", PasswordEnv)
		}
		s.Password = NewSecret(env)
		return
	}
	if s.PasswordFile == "" {
		return
	}
	v, err := c.readSecretFile("smsc.password_file", s.PasswordFile)
	if err != nil {
		ps.add("smsc.password_file", "%v", err)
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
	s := &c.SMSC
	if s.Address == "" {
		ps.add("smsc.address", "required (host:port of the SMSC)")
	} else if err := checkHostPort(s.Address, true); err != nil {
		ps.add("smsc.address", "%v", err)
	}
	if s.SystemID == "" {
		ps.add("smsc.system_id", "required (the account name the SMSC gave you)")
	}
	// SMPP 3.4 §4.1.1: the bind fields are C-Octet Strings with a maximum
	// size that includes the terminating NUL.
	checkCOctet(ps, "smsc.system_id", s.SystemID, 15)
	checkCOctet(ps, "smsc.password", s.Password.Reveal(), 8)
	checkCOctet(ps, "smsc.system_type", s.SystemType, 12)
	checkCOctet(ps, "smsc.address_range", s.AddressRange, 40)
	checkEnum(ps, "smsc.bind", s.Bind, BindTransceiver, BindTransmitterReceiver, BindTransmitter)
	checkInt(ps, "smsc.sessions", s.Sessions, 1, 64)
	checkInt(ps, "smsc.window", s.Window, 1, 1000)
	checkInt(ps, "smsc.max_uncommitted", s.MaxUncommitted, 0, 100000)
	checkInt(ps, "smsc.throughput", s.Throughput, 0, 100000)
	checkDuration(ps, "smsc.enquire_link", s.EnquireLink, time.Second, time.Hour)
	checkDuration(ps, "smsc.response_timeout", s.ResponseTimeout, time.Second, 5*time.Minute)
	checkDuration(ps, "smsc.bind_timeout", s.BindTimeout, time.Second, 5*time.Minute)
	checkDuration(ps, "smsc.reconnect_min", s.ReconnectMin, 100*time.Millisecond, time.Minute)
	checkDuration(ps, "smsc.reconnect_max", s.ReconnectMax, time.Second, time.Hour)
	checkDuration(ps, "smsc.auth_retry", s.AuthRetry, 10*time.Second, 24*time.Hour)
	if s.ReconnectMax < s.ReconnectMin {
		ps.add("smsc.reconnect_max", "must not be below smsc.reconnect_min (%s), got %s", FormatDuration(s.ReconnectMin), FormatDuration(s.ReconnectMax))
	}
	checkEnum(ps, "smsc.message_id", s.MessageID,
		MessageIDAuto, MessageIDExact, MessageIDHex, MessageIDDec, MessageIDHexDec, MessageIDDecHex)
	checkEnum(ps, "smsc.split", s.Split, SplitUDH, SplitUDH16, SplitSAR, SplitPayload)
	if _, err := smsagent.ParseSender(s.DefaultFrom); err != nil {
		ps.add("smsc.default_from", "%v", err)
	}
	checkDuration(ps, "smsc.receipt_grace", s.ReceiptGrace, 0, 24*time.Hour)

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
