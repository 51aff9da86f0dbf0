package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/config"
)

// jetstreamBlock is a store: section with the backend jetstream and every
// key of its block set; the tests change one line of it at a time.
const jetstreamBlock = `store:
  backend: jetstream
  jetstream:
    urls: [nats://127.0.0.1:4222, "tls://[::1]:4223", nats://localhost:4224]
    user: agent
    password_file: nats.pw
    tls: true
    tls_insecure: false
    tls_server_name: nats.test
    prefix: Prod_eu-1
    replicas: 3
    node: beta-2
    takeover_after: 45s
    incoming_node: alpha
`

// loadJetStream loads the required smsc keys and the store section given,
// from a file in a fresh folder (relative paths resolve against it), with
// the host name "Alpha.example.com".
func loadJetStream(t *testing.T, store string) (*config.Config, string, error) {
	t.Helper()
	noEnv(t)
	config.SetHostname(t, func() (string, error) { return "Alpha.example.com", nil })
	dir := t.TempDir()
	file := filepath.Join(dir, "smsagent.yaml")
	writeFile(t, file, string(doc(nil))+store, 0o600)
	c, err := config.Load(file)
	return c, dir, err
}

// TestLoad_JetStream: every key of the block is read; relative files are
// resolved against the configuration's folder; the effective
// configuration shows the block and parses back to the same.
func TestLoad_JetStream(t *testing.T) {
	c, dir, err := loadJetStream(t, jetstreamBlock)
	if err != nil {
		t.Fatal(err)
	}
	want := config.JetStream{
		URLs:          []string{"nats://127.0.0.1:4222", "tls://[::1]:4223", "nats://localhost:4224"},
		User:          "agent",
		PasswordFile:  filepath.Join(dir, "nats.pw"),
		TLS:           true,
		TLSServerName: "nats.test",
		Prefix:        "Prod_eu-1",
		Replicas:      3,
		Node:          "beta-2",
		TakeoverAfter: 45 * time.Second,
		IncomingNode:  "alpha",
	}
	if c.Store.Backend != config.BackendJetStream || !reflect.DeepEqual(c.Store.JetStream, want) {
		t.Errorf("store = %q %+v\nwant jetstream %+v", c.Store.Backend, c.Store.JetStream, want)
	}
	checkWarnings(t, c, nil)
	out := c.Effective()
	if got := flatten(t, c)["store.jetstream.password_file"]; got != want.PasswordFile {
		t.Errorf("Effective prints store.jetstream.password_file %q, want %q:\n%s", got, want.PasswordFile, out)
	}
	back, err := config.Parse(out)
	if err != nil {
		t.Fatalf("Effective does not parse back: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back.Store, c.Store) {
		t.Errorf("parsed back: %+v\nwant %+v", back.Store, c.Store)
	}

	// A creds file instead of a user; node left out or "" is the host
	// name's first label, lower-cased.
	for _, node := range []string{"", `    node: ""` + "\n"} {
		c, dir, err = loadJetStream(t, "store:\n  backend: jetstream\n  jetstream:\n    urls: [nats://127.0.0.1:4222]\n"+
			"    creds_file: agent.creds\n"+node)
		if err != nil {
			t.Fatal(err)
		}
		if j := c.Store.JetStream; j.Node != "alpha" || j.CredsFile != filepath.Join(dir, "agent.creds") || j.Prefix != "smsagent" ||
			j.Replicas != 1 || j.TakeoverAfter != 30*time.Second || j.IncomingNode != "" || j.TLS {
			t.Errorf("node %q: jetstream %+v", node, j)
		}
	}
}

// TestLoad_JetStreamBbolt: with the backend bbolt the block is neither
// checked nor printed, but its keys must still be known ones.
func TestLoad_JetStreamBbolt(t *testing.T) {
	bbolt := strings.Replace(jetstreamBlock, "backend: jetstream", "backend: bbolt", 1)
	c, _, err := loadJetStream(t, strings.Replace(bbolt, "replicas: 3", "replicas: 9", 1))
	if err != nil {
		t.Fatalf("a jetstream block that is not used is checked: %v", err)
	}
	if c.Store.JetStream.Replicas != 9 || strings.Contains(string(c.Effective()), "jetstream") {
		t.Errorf("replicas %d; effective:\n%s", c.Store.JetStream.Replicas, c.Effective())
	}
	_, _, err = loadJetStream(t, strings.Replace(bbolt, "    replicas:", "    replica:", 1))
	if err == nil {
		t.Fatal("an unknown key in an unused jetstream block loads")
	}
	if got := strings.Join(problemsOf(t, err), "\n"); got != "store.jetstream.replica: unknown key (did you mean replicas?)" {
		t.Errorf("problem = %q", got)
	}
}

// TestLoad_JetStreamRefused: each change of one line of the block gives
// exactly one problem, which names its key.
func TestLoad_JetStreamRefused(t *testing.T) {
	urls := "    urls: [nats://127.0.0.1:4222, \"tls://[::1]:4223\", nats://localhost:4224]\n"
	tests := []struct{ from, to, problem string }{
		{"backend: jetstream", "backend: etcd", `store.backend: must be one of bbolt, jetstream; got "etcd"`},
		{urls, "", "store.jetstream.urls: required with store.backend jetstream: the NATS servers, e.g. [nats://10.0.0.1:4222]"},
		{urls, "    urls: []\n", "store.jetstream.urls: required with store.backend jetstream: the NATS servers, e.g. [nats://10.0.0.1:4222]"},
		{urls, "    urls: [nats://127.0.0.1:4222, ws://127.0.0.1:8080]\n", `store.jetstream.urls[1]: must start with nats:// or tls://, got "ws://127.0.0.1:8080"`},
		{urls, "    urls: [wss://127.0.0.1:443]\n", `store.jetstream.urls[0]: must start with nats:// or tls://, got "wss://127.0.0.1:443"`},
		{urls, "    urls: [127.0.0.1:4222]\n", "store.jetstream.urls[0]: not a URL: first path segment in URL cannot contain colon"},
		{urls, "    urls: [nats://127.0.0.1:x]\n", `store.jetstream.urls[0]: not a URL: invalid port ":x" after host`},
		{urls, "    urls: [nats://127.0.0.1]\n", `store.jetstream.urls[0]: must name a host and a port (nats://host:4222), got "nats://127.0.0.1"`},
		{urls, "    urls: [\"nats://:4222\"]\n", `store.jetstream.urls[0]: must name a host and a port (nats://host:4222), got "nats://:4222"`},
		{urls, "    urls: [nats://127.0.0.1:0]\n", `store.jetstream.urls[0]: port must be a number between 1 and 65535, got "0"`},
		{urls, "    urls: [nats://127.0.0.1:65536]\n", `store.jetstream.urls[0]: port must be a number between 1 and 65535, got "65536"`},
		{urls, "    urls: [nats://agent:s3cret@127.0.0.1:4222]\n", "store.jetstream.urls[0]: must not hold a user or password " +
			"(set store.jetstream.user and password_file, or creds_file), got nats://agent:xxxxx@127.0.0.1:4222"},
		{"    user: agent\n", "    user: agent\n    creds_file: agent.creds\n", "store.jetstream.creds_file: excludes user and password_file: " +
			"set either the credentials file or the user and its password file"},
		{"    user: agent\n", "", "store.jetstream.password_file: requires store.jetstream.user"},
		{"prefix: Prod_eu-1", "prefix: prod.eu", `store.jetstream.prefix: must be 1 to 32 letters, digits, _ or -, got "prod.eu"`},
		{"prefix: Prod_eu-1", `prefix: ""`, `store.jetstream.prefix: must be 1 to 32 letters, digits, _ or -, got ""`},
		{"prefix: Prod_eu-1", "prefix: " + strings.Repeat("p", 33), `store.jetstream.prefix: must be 1 to 32 letters, digits, _ or -, got "` + strings.Repeat("p", 33) + `"`},
		{"replicas: 3", "replicas: 0", "store.jetstream.replicas: must be between 1 and 5, got 0"},
		{"replicas: 3", "replicas: 6", "store.jetstream.replicas: must be between 1 and 5, got 6"},
		{"replicas: 3", "replicas: three", `store.jetstream.replicas: must be a whole number, got "three"`},
		{"node: beta-2", "node: Beta-2", `store.jetstream.node: must be 1 to 32 lower-case letters, digits, _ or -, got "Beta-2"`},
		{"node: beta-2", "node: " + strings.Repeat("n", 33), `store.jetstream.node: must be 1 to 32 lower-case letters, digits, _ or -, got "` + strings.Repeat("n", 33) + `"`},
		{"takeover_after: 45s", "takeover_after: 1s", "store.jetstream.takeover_after: must be between 2s and 10m, got 1s"},
		{"takeover_after: 45s", "takeover_after: 11m", "store.jetstream.takeover_after: must be between 2s and 10m, got 11m"},
		{"incoming_node: alpha", "incoming_node: Alpha", `store.jetstream.incoming_node: must be "" or a node name (1 to 32 lower-case letters, digits, _ or -), got "Alpha"`},
		{"incoming_node: alpha", "incoming_node: a.b", `store.jetstream.incoming_node: must be "" or a node name (1 to 32 lower-case letters, digits, _ or -), got "a.b"`},
		{"    tls: true\n", "    tls: true\n    tls_ca: ca.pem\n", "store.jetstream.tls_ca: unknown key"},
	}
	for _, tc := range tests {
		if !strings.Contains(jetstreamBlock, tc.from) {
			t.Fatalf("the block has no %q", tc.from)
		}
		_, _, err := loadJetStream(t, strings.Replace(jetstreamBlock, tc.from, tc.to, 1))
		if err == nil {
			t.Errorf("%q → %q: loads", tc.from, tc.to)
			continue
		}
		got := strings.Join(problemsOf(t, err), "\n")
		if got != tc.problem {
			t.Errorf("%q → %q:\n got %q\nwant %q", tc.from, tc.to, got, tc.problem)
		}
		if strings.Contains(got, "s3cret") {
			t.Errorf("a problem shows the password in a URL: %s", got)
		}
	}
}

// TestLoad_JetStreamNodeFromHost: a node left out comes from the host name;
// when that gives no valid name the problem says to set the key.
func TestLoad_JetStreamNodeFromHost(t *testing.T) {
	noEnv(t)
	block := strings.Replace(jetstreamBlock, "    node: beta-2\n", "", 1)
	tests := []struct {
		host    string
		err     error
		node    string
		problem string
	}{
		{host: "Alpha.example.com", node: "alpha"},
		{host: "WIN-7Q2K9", node: "win-7q2k9"},
		{host: "edge_3", node: "edge_3"},
		{host: "smsagent-edge-node-in-the-basement-01.example.com",
			problem: `store.jetstream.node: the host name "smsagent-edge-node-in-the-basement-01.example.com" gives ` +
				`"smsagent-edge-node-in-the-basement-01", which is not a node name (1 to 32 lower-case letters, digits, _ or -); ` +
				"set store.jetstream.node"},
		{host: ".example.com", problem: `store.jetstream.node: the host name ".example.com" gives "", which is not a node name ` +
			"(1 to 32 lower-case letters, digits, _ or -); set store.jetstream.node"},
		{err: errors.New("no uts namespace"),
			problem: "store.jetstream.node: the host name cannot be read (no uts namespace); set store.jetstream.node"},
	}
	for _, tc := range tests {
		config.SetHostname(t, func() (string, error) { return tc.host, tc.err })
		file := filepath.Join(t.TempDir(), "smsagent.yaml")
		writeFile(t, file, string(doc(nil))+block, 0o600)
		c, err := config.Load(file)
		if tc.problem != "" {
			if err == nil {
				t.Errorf("host %q: loads with node %q", tc.host, c.Store.JetStream.Node)
			} else if got := strings.Join(problemsOf(t, err), "\n"); got != tc.problem {
				t.Errorf("host %q:\n got %q\nwant %q", tc.host, got, tc.problem)
			}
			continue
		}
		if err != nil {
			t.Errorf("host %q: %v", tc.host, err)
		} else if c.Store.JetStream.Node != tc.node {
			t.Errorf("host %q: node %q, want %q", tc.host, c.Store.JetStream.Node, tc.node)
		}
	}
	// The host name does not matter to a node that is set, nor to bbolt.
	config.SetHostname(t, func() (string, error) { return "", errors.New("no uts namespace") })
	for _, store := range []string{jetstreamBlock, "store:\n  backend: bbolt\n"} {
		file := filepath.Join(t.TempDir(), "smsagent.yaml")
		writeFile(t, file, string(doc(nil))+store, 0o600)
		if _, err := config.Load(file); err != nil {
			t.Errorf("without a host name: %v\n%s", err, store)
		}
	}
}

// TestLoad_JetStreamWarnings: one copy of the queue on a cluster of
// servers, and certificates not verified, work but are told.
func TestLoad_JetStreamWarnings(t *testing.T) {
	tests := []struct {
		name     string
		edit     *strings.Replacer
		warnings []string
	}{
		{name: "three replicas on three servers", edit: strings.NewReplacer()},
		{name: "one replica on three servers", edit: strings.NewReplacer("replicas: 3", "replicas: 1"),
			warnings: []string{"store.jetstream.replicas: is 1: the queue has one copy; a cluster of 3 servers takes replicas: 3"}},
		{name: "one replica on two servers", edit: strings.NewReplacer(", nats://localhost:4224]", "]", "replicas: 3", "replicas: 1")},
		{name: "tls insecure", edit: strings.NewReplacer("tls_insecure: false", "tls_insecure: true"),
			warnings: []string{"store.jetstream.tls_insecure: the NATS servers' certificates are not verified: anyone on the " +
				"network path can pose as a server and read the credentials and every message"}},
		{name: "tls insecure without tls", edit: strings.NewReplacer("tls_insecure: false", "tls_insecure: true", "tls: true", "tls: false"),
			warnings: []string{"store.jetstream.tls_insecure: has no effect without store.jetstream.tls: true"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			block := tc.edit.Replace(jetstreamBlock)
			c, _, err := loadJetStream(t, block)
			if err != nil {
				t.Fatalf("%v\n%s", err, block)
			}
			checkWarnings(t, c, tc.warnings)
		})
	}
	// With bbolt the block draws no warning either.
	c, _, err := loadJetStream(t, strings.NewReplacer("backend: jetstream", "backend: bbolt", "replicas: 3", "replicas: 1",
		"tls_insecure: false", "tls_insecure: true").Replace(jetstreamBlock))
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, c, nil)
}

// TestJetStream_ReadPassword: the password file is read at every call (a
// rotation is seen) under the rules of the other password files, and the
// errors name the key and the file, never the content.
func TestJetStream_ReadPassword(t *testing.T) {
	var none config.JetStream
	if pw, err := none.ReadPassword(); pw != "" || err != nil {
		t.Errorf("without a password file: %q, %v", pw, err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "nats.pw")
	j := config.JetStream{User: "agent", PasswordFile: file}
	for _, tc := range []struct{ content, want, err string }{
		{"first\n", "first", ""},
		{"second\r\n", "second", ""},
		{"a long password of more than eight bytes", "a long password of more than eight bytes", ""},
		{"\n", "", "config: store.jetstream.password_file " + file + ": empty or holding a NUL byte"},
		{"a\x00secret", "", "config: store.jetstream.password_file " + file + ": empty or holding a NUL byte"},
	} {
		if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := j.ReadPassword()
		if got != tc.want || (tc.err == "") != (err == nil) || (err != nil && err.Error() != tc.err) {
			t.Errorf("%q: %q, %v; want %q, %q", tc.content, got, err, tc.want, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the content: %v", err)
		}
	}
	for _, path := range []string{dir, filepath.Join(dir, "missing")} {
		j.PasswordFile = path
		if _, err := j.ReadPassword(); err == nil || !strings.HasPrefix(err.Error(), "config: store.jetstream.password_file: ") {
			t.Errorf("%s: %v, want an error naming store.jetstream.password_file", path, err)
		}
	}
	j.PasswordFile = filepath.Join(dir, "missing")
	if _, err := j.ReadPassword(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v, want it to be os.ErrNotExist", err)
	}
}
