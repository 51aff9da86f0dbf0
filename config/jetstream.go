package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// hostname is os.Hostname; tests replace it (export_test.go). Only the
// default of store.jetstream.node reads it.
var hostname = os.Hostname

var (
	prefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	nodePattern   = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
)

// defaultNode is the default of store.jetstream.node: the host name's first
// label, lower-cased; "" when the host name cannot be read, which
// validation then refuses with a word on how to fix it.
func defaultNode() string {
	node, _, _ := hostNode()
	return node
}

// hostNode is defaultNode with the host name it came from, for messages.
func hostNode() (node, host string, err error) {
	host, err = hostname()
	if err != nil {
		return "", "", err
	}
	node, _, _ = strings.Cut(host, ".")
	return strings.ToLower(node), host, nil
}

// ReadPassword reads PasswordFile as it is now (a rotated file is used at
// the next connect): "" without one. The rules are those of the other
// password files: a regular file, at most 4 KiB, trailing line ends
// dropped, not empty, no NUL byte.
func (j *JetStream) ReadPassword() (string, error) {
	if j.PasswordFile == "" {
		return "", nil
	}
	pw, err := readPasswordFile(j.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("config: store.jetstream.password_file: %w", err)
	}
	if pw == "" || strings.ContainsRune(pw, 0) {
		return "", fmt.Errorf("config: store.jetstream.password_file %s: empty or holding a NUL byte", j.PasswordFile)
	}
	return pw, nil
}

// validateJetStream checks store.backend and, for jetstream, its block. With
// bbolt the block is not read, so it is not checked either: a cluster's
// settings can stay in the file while a node runs alone.
func (c *Config) validateJetStream(ps *problems) {
	st := &c.Store
	checkEnum(ps, "store.backend", st.Backend, BackendBbolt, BackendJetStream)
	if st.Backend != BackendJetStream {
		return
	}
	j := &st.JetStream
	const k = "store.jetstream."
	if len(j.URLs) == 0 {
		ps.add(k+"urls", "required with store.backend jetstream: the NATS servers, e.g. [nats://10.0.0.1:4222]")
	}
	for i, u := range j.URLs {
		if err := checkNATSURL(u); err != nil {
			ps.add(fmt.Sprintf(k+"urls[%d]", i), "%v", err)
		}
	}
	if j.CredsFile != "" && (j.User != "" || j.PasswordFile != "") {
		ps.add(k+"creds_file", "excludes user and password_file: set either the credentials file or the user and its password file")
	}
	if j.PasswordFile != "" && j.User == "" {
		ps.add(k+"password_file", "requires store.jetstream.user")
	}
	if !prefixPattern.MatchString(j.Prefix) {
		ps.add(k+"prefix", "must be 1 to 32 letters, digits, _ or -, got %q", j.Prefix)
	}
	checkInt(ps, k+"replicas", j.Replicas, 1, 5)
	if !nodePattern.MatchString(j.Node) {
		// An empty node took the host name's; say so, since the file does
		// not show where the bad name came from.
		node, host, err := hostNode()
		switch {
		case j.Node == "" && err != nil:
			ps.add(k+"node", "the host name cannot be read (%v); set store.jetstream.node", err)
		case j.Node == node:
			ps.add(k+"node", "the host name %q gives %q, which is not a node name (1 to 32 lower-case letters, "+
				"digits, _ or -); set store.jetstream.node", host, node)
		default:
			ps.add(k+"node", "must be 1 to 32 lower-case letters, digits, _ or -, got %q", j.Node)
		}
	}
	checkDuration(ps, k+"takeover_after", j.TakeoverAfter, 2*time.Second, 10*time.Minute)
	if j.IncomingNode != "" && !nodePattern.MatchString(j.IncomingNode) {
		ps.add(k+"incoming_node", "must be \"\" or a node name (1 to 32 lower-case letters, digits, _ or -), got %q", j.IncomingNode)
	}

	if j.Replicas == 1 && len(j.URLs) >= 3 {
		c.warn(k+"replicas", "is 1: the queue has one copy; a cluster of 3 servers takes replicas: 3")
	}
	switch {
	case j.TLSInsecure && j.TLS:
		c.warn(k+"tls_insecure", "the NATS servers' certificates are not verified: anyone on the network path can "+
			"pose as a server and read the credentials and every message")
	case j.TLSInsecure:
		c.warn(k+"tls_insecure", "has no effect without store.jetstream.tls: true")
	}
}

// checkNATSURL checks one of store.jetstream.urls: nats:// or tls://
// (websockets are not offered), a host and a port, and no credentials,
// which belong in creds_file or password_file where config check does not
// print them.
func checkNATSURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		// The cause only: url.Error repeats the URL, password and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("not a URL: %v", err)
	case u.Scheme != "nats" && u.Scheme != "tls":
		return fmt.Errorf("must start with nats:// or tls://, got %q", s)
	case u.User != nil:
		return fmt.Errorf("must not hold a user or password (set store.jetstream.user and password_file, or creds_file), got %s", u.Redacted())
	case u.Hostname() == "" || u.Port() == "":
		return fmt.Errorf("must name a host and a port (nats://host:4222), got %q", s)
	}
	if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port must be a number between 1 and 65535, got %q", u.Port())
	}
	return nil
}
