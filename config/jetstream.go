package config

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/smsagent/smsagent/internal/fsutil"
)

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
	URLs []string `yaml:"urls"`
	// CredsFile is a NATS credentials file; it excludes User.
	CredsFile string `yaml:"creds_file"`
	User      string `yaml:"user"`
	// PasswordFile holds User's password.
	PasswordFile  string `yaml:"password_file"`
	TLS           bool   `yaml:"tls"`
	TLSInsecure   bool   `yaml:"tls_insecure"`
	TLSServerName string `yaml:"tls_server_name"`
	// Prefix names the streams and buckets, so that several clusters can
	// share a NATS system.
	Prefix   string `yaml:"prefix"`
	Replicas int    `yaml:"replicas"`
	// Node is this agent's name in the cluster: unique. Default: the host
	// name's first label.
	Node string `yaml:"node"`
	// TakeoverAfter is how long a node may be silent before another takes
	// over the messages it holds.
	TakeoverAfter time.Duration `yaml:"takeover_after"`
	// IncomingNode is the node whose inbox/ gets incoming SMS; "" writes
	// them where they arrive.
	IncomingNode string `yaml:"incoming_node"`
}

// hostname is os.Hostname; tests replace it.
var hostname = os.Hostname

var (
	prefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	nodePattern   = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
)

// defaultNode is the host name's first label, lower-cased.
func defaultNode() string {
	h, err := hostname()
	if err != nil {
		return ""
	}
	h, _, _ = strings.Cut(h, ".")
	return strings.ToLower(h)
}

// ReadPassword reads PasswordFile: "" without one.
func (j *JetStream) ReadPassword() (string, error) {
	if j.PasswordFile == "" {
		return "", nil
	}
	f, err := fsutil.OpenRegular(j.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("config: store.jetstream.password_file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 4<<10))
	if err != nil {
		return "", fmt.Errorf("config: store.jetstream.password_file: %w", err)
	}
	pw := strings.TrimRight(string(data), "\r\n")
	if pw == "" || strings.ContainsRune(pw, 0) {
		return "", fmt.Errorf("config: store.jetstream.password_file %s: empty or holding a NUL byte", j.PasswordFile)
	}
	return pw, nil
}

// validateJetStream checks store.backend and, for jetstream, its block.
func (c *Config) validateJetStream(ps *problems) {
	st := &c.Store
	checkEnum(ps, "store.backend", st.Backend, BackendBbolt, BackendJetStream)
	if st.Backend != BackendJetStream {
		return
	}
	j := &st.JetStream
	const k = "store.jetstream."
	if len(j.URLs) == 0 {
		ps.add(k+"urls", "required with store.backend jetstream")
	}
	for i, u := range j.URLs {
		p, err := url.Parse(u)
		switch {
		case err != nil:
			ps.add(fmt.Sprintf(k+"urls[%d]", i), "not a URL: %v", err)
		case p.Scheme != "nats" && p.Scheme != "tls":
			ps.add(fmt.Sprintf(k+"urls[%d]", i), "must start with nats:// or tls://, got %q", u)
		case p.Hostname() == "" || p.Port() == "":
			ps.add(fmt.Sprintf(k+"urls[%d]", i), "must name a host and a port, got %q", u)
		}
	}
	if j.CredsFile != "" && (j.User != "" || j.PasswordFile != "") {
		ps.add(k+"creds_file", "excludes user and password_file")
	}
	if j.PasswordFile != "" && j.User == "" {
		ps.add(k+"password_file", "requires user")
	}
	if !prefixPattern.MatchString(j.Prefix) {
		ps.add(k+"prefix", "must be 1 to 32 letters, digits, _ or -, got %q", j.Prefix)
	}
	checkInt(ps, k+"replicas", j.Replicas, 1, 5)
	if !nodePattern.MatchString(j.Node) {
		ps.add(k+"node", "must be 1 to 32 lower-case letters, digits, _ or - (the host name gives %q; set store.jetstream.node)", j.Node)
	}
	checkDuration(ps, k+"takeover_after", j.TakeoverAfter, 2*time.Second, 10*time.Minute)
	if j.IncomingNode != "" && !nodePattern.MatchString(j.IncomingNode) {
		ps.add(k+"incoming_node", "must be a node name (1 to 32 lower-case letters, digits, _ or -), got %q", j.IncomingNode)
	}
	if j.Replicas == 1 && len(j.URLs) >= 3 {
		c.warn(k+"replicas", "is 1: the queue has one copy; a cluster of 3 servers takes replicas: 3")
	}
}
