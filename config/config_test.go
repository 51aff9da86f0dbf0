package config_test

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/testcert"
)

// doc builds a configuration file from flat "section.key" → YAML value
// pairs. The two required keys are added unless given; the value "-" leaves
// a key out.
func doc(kv map[string]string) []byte {
	all := map[string]string{"smsc.address": "smsc.test:2775", "smsc.system_id": "tester"}
	for k, v := range kv {
		all[k] = v
	}
	sections := map[string][]string{}
	var order []string
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if all[k] == "-" {
			continue
		}
		sec, key, _ := strings.Cut(k, ".")
		if _, ok := sections[sec]; !ok {
			order = append(order, sec)
		}
		sections[sec] = append(sections[sec], "  "+key+": "+all[k])
	}
	var b strings.Builder
	for _, sec := range order {
		b.WriteString(sec + ":\n" + strings.Join(sections[sec], "\n") + "\n")
	}
	return []byte(b.String())
}

// noEnv makes sure the password environment variable does not leak into a
// test from the machine running it.
func noEnv(t *testing.T) { t.Setenv(config.PasswordEnv, "") }

func mustParse(t *testing.T, data []byte) *config.Config {
	t.Helper()
	c, err := config.Parse(data)
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror:\n%v", data, err)
	}
	return c
}

// loadWant loads a configuration of kv and checks that it fails with
// exactly problem, or, with problem empty, that it loads; nil when it
// failed as wanted.
func loadWant(t *testing.T, kv map[string]string, problem string) *config.Config {
	t.Helper()
	file := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, file, string(doc(kv)), 0o600)
	c, err := config.Load(file)
	if problem != "" {
		if err == nil {
			t.Fatalf("Load succeeded, want %q", problem)
		}
		if got := strings.Join(problemsOf(t, err), "\n"); got != problem {
			t.Fatalf("problem = %q, want %q", got, problem)
		}
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkWarnings checks the configuration's warnings, in order.
func checkWarnings(t *testing.T, c *config.Config, want []string) {
	t.Helper()
	var warnings []string
	for _, w := range c.Warnings {
		warnings = append(warnings, w.String())
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
}

func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *config.Error", err, err)
	}
	out := make([]string, len(ce.Problems))
	for i, p := range ce.Problems {
		out[i] = p.String()
	}
	return out
}

// flatten turns Effective's YAML into "section.key" → value; a block
// within a section (store.jetstream) gives "section.block.key".
func flatten(t *testing.T, c *config.Config) map[string]string {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(c.Effective(), &m); err != nil {
		t.Fatalf("Effective output is not YAML: %v\n%s", err, c.Effective())
	}
	out := map[string]string{}
	for sec, section := range m {
		if _, ok := section.(map[string]any); !ok {
			// A top-level list (routes, smscs).
			out[sec] = marshalFlat(t, section)
			continue
		}
		flattenInto(t, out, sec, section)
	}
	return out
}

func flattenInto(t *testing.T, out map[string]string, key string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			flattenInto(t, out, key+"."+k, sub)
		}
	case string:
		out[key] = v
	case nil:
		out[key] = ""
	default:
		// Scalars as YAML wrote them; lists as YAML marshals them.
		out[key] = marshalFlat(t, v)
	}
}

func marshalFlat(t *testing.T, v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestDefault_EveryKey(t *testing.T) {
	noEnv(t)
	config.SetHostname(t, func() (string, error) { return "Alpha.example.com", nil })
	c := mustParse(t, doc(nil))
	paths := config.DefaultPaths()
	want := map[string]string{
		"smsc.name":               "default",
		"routes":                  "[]",
		"webhooks":                "[]",
		"failover.after":          "30s",
		"failover.on_status":      "[]",
		"smsc.address":            "smsc.test:2775",
		"smsc.tls":                "false",
		"smsc.tls_insecure":       "false",
		"smsc.tls_server_name":    "smsc.test",
		"smsc.system_id":          "tester",
		"smsc.password":           "",
		"smsc.password_file":      "",
		"smsc.system_type":        "",
		"smsc.address_range":      "",
		"smsc.bind":               "transceiver",
		"smsc.sessions":           "4",
		"smsc.window":             "10",
		"smsc.throughput":         "0",
		"smsc.enquire_link":       "30s",
		"smsc.response_timeout":   "10s",
		"smsc.bind_timeout":       "10s",
		"smsc.reconnect_min":      "1s",
		"smsc.reconnect_max":      "1m",
		"smsc.auth_retry":         "5m",
		"smsc.max_uncommitted":    "0",
		"smsc.message_id":         "auto",
		"smsc.split":              "udh",
		"smsc.default_from":       "",
		"smsc.receipt_grace":      "5m",
		"spool.dir":               paths.Spool,
		"spool.archive":           "false",
		"spool.rescan_interval":   "10s",
		"spool.settle":            "1s",
		"spool.max_file_size":     "64MiB",
		"spool.max_messages":      "100000",
		"spool.inbox_batch":       "1000",
		"spool.inbox_batch_age":   "1s",
		"spool.charset":           "utf-8",
		"spool.inbox_format":      "json",
		"spool.file_mode":         "0640",
		"store.backend":           "bbolt",
		"store.path":              paths.Store,
		"store.retention":         "7d",
		"store.max_size":          "0",
		"retry.initial":           "10s",
		"retry.max":               "10m",
		"retry.max_age":           "2d",
		"retry.receipt_timeout":   "3d",
		"mo.duplicates":           "window",
		"mo.duplicate_window":     "5m",
		"mo.smsc_id_tag":          "",
		"admin.listen":            "127.0.0.1:9180",
		"admin.token":             "",
		"admin.token_file":        "", // generated: see below
		"admin.tls_cert":          "",
		"admin.tls_key":           "",
		"admin.max_request_size":  "1MiB",
		"kannel.listen":           "",
		"kannel.users":            "[]",
		"callbacks.allow":         "- 127.0.0.0/8\n- ::1/128\n- 10.0.0.0/8\n- 172.16.0.0/12\n- 192.168.0.0/16\n- fc00::/7\n- localhost",
		"callbacks.timeout":       "10s",
		"callbacks.max_age":       "1d",
		"callbacks.retry_initial": "10s",
		"callbacks.retry_max":     "10m",
		"hooks.command":           "[]",
		"hooks.events":            "- report\n- mo",
		"hooks.concurrency":       "4",
		"hooks.timeout":           "30s",
		"hooks.retries":           "3",
		"hooks.retry_initial":     "10s",
		"hooks.output_limit":      "4KiB",
		"log.level":               "info",
		"log.format":              "text",
	}
	checkKeys := func(got, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("key %s has no expected default in this test", k)
			}
		}
	}
	checkKeys(flatten(t, c), want)

	// The cluster's block is printed with the backend that reads it only;
	// then every key of it shows its default. The node is the host name's
	// first label, lower-cased.
	js := mustParse(t, doc(map[string]string{"store.backend": "jetstream", "store.jetstream": "{urls: [nats://127.0.0.1:4222]}"}))
	wantJS := maps.Clone(want)
	maps.Copy(wantJS, map[string]string{
		"store.backend":                   "jetstream",
		"store.jetstream.urls":            "- nats://127.0.0.1:4222",
		"store.jetstream.creds_file":      "",
		"store.jetstream.user":            "",
		"store.jetstream.password_file":   "",
		"store.jetstream.tls":             "false",
		"store.jetstream.tls_insecure":    "false",
		"store.jetstream.tls_server_name": "",
		"store.jetstream.prefix":          "smsagent",
		"store.jetstream.replicas":        "1",
		"store.jetstream.node":            "alpha",
		"store.jetstream.takeover_after":  "30s",
		"store.jetstream.incoming_node":   "",
	})
	checkKeys(flatten(t, js), wantJS)
	if j := config.Default().Store.JetStream; j.Node != "alpha" || j.Prefix != "smsagent" || j.Replicas != 1 ||
		j.TakeoverAfter != 30*time.Second || len(j.URLs) != 0 || config.Default().Store.Backend != config.BackendBbolt {
		t.Errorf("Default().Store = %+v", config.Default().Store)
	}
	if len(js.Warnings) != 0 {
		t.Errorf("warnings for a default cluster: %v", js.Warnings)
	}
	// The typed values behind the text.
	if c.SMSC.EnquireLink != 30*time.Second || c.Store.Retention != 7*24*time.Hour ||
		c.Spool.MaxFileSize != 64*config.MiB || c.Spool.FileMode != 0o640 || !c.Admin.GenerateToken {
		t.Errorf("typed defaults wrong: %+v", c)
	}
	tokenFile := filepath.Join(filepath.Dir(paths.Store), "admin.token")
	if c.Admin.TokenFile != tokenFile || !c.Admin.GenerateToken {
		t.Errorf("admin token file = %q (generate %v), want %q generated", c.Admin.TokenFile, c.Admin.GenerateToken, tokenFile)
	}
	if want := `token_file: "" # default: ` + tokenFile + " (created by the agent when missing)"; !strings.Contains(string(c.Effective()), want) {
		t.Errorf("Effective does not explain the generated token file; want %q in\n%s", want, c.Effective())
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings for a default configuration: %v", c.Warnings)
	}
}

// TestParse_Problems lists every message validation produces: each case
// sets one key and expects exactly one problem.
func TestParse_Problems(t *testing.T) {
	noEnv(t)
	tests := []struct {
		kv   map[string]string
		want string
	}{
		{map[string]string{"smsc.address": "-"}, "smsc.address: required (host:port of the SMSC)"},
		{map[string]string{"smsc.address": "smsc.test"}, `smsc.address: must be host:port, got "smsc.test"`},
		{map[string]string{"smsc.address": ":2775"}, `smsc.address: must be host:port, got ":2775"`},
		{map[string]string{"smsc.address": "smsc.test:smpp"}, `smsc.address: port must be a number between 1 and 65535, got "smpp"`},
		{map[string]string{"smsc.address": "smsc.test:70000"}, `smsc.address: port must be a number between 1 and 65535, got "70000"`},
		{map[string]string{"smsc.system_id": "-"}, "smsc.system_id: required (the account name the SMSC gave you)"},
		{map[string]string{"smsc.system_id": "abcdefghijklmnop"}, "smsc.system_id: must be at most 15 characters (SMPP 3.4 allows 16 octets with the NUL), got 16"},
		{map[string]string{"smsc.system_id": `"a\0b"`}, "smsc.system_id: must not contain a NUL character"},
		{map[string]string{"smsc.password": "123456789"}, "smsc.password: must be at most 8 characters (SMPP 3.4 allows 9 octets with the NUL), got 9"},
		{map[string]string{"smsc.system_type": "abcdefghijklm"}, "smsc.system_type: must be at most 12 characters (SMPP 3.4 allows 13 octets with the NUL), got 13"},
		{map[string]string{"smsc.address_range": strings.Repeat("1", 41)}, "smsc.address_range: must be at most 40 characters (SMPP 3.4 allows 41 octets with the NUL), got 41"},
		{map[string]string{"smsc.bind": "receiver"}, `smsc.bind: must be one of transceiver, transmitter_receiver, transmitter; got "receiver"`},
		{map[string]string{"smsc.sessions": "0"}, "smsc.sessions: must be between 1 and 64, got 0"},
		{map[string]string{"smsc.window": "0"}, "smsc.window: must be between 1 and 1000, got 0"},
		{map[string]string{"smsc.window": "1001"}, "smsc.window: must be between 1 and 1000, got 1001"},
		{map[string]string{"smsc.window": "ten"}, `smsc.window: must be a whole number, got "ten"`},
		{map[string]string{"smsc.throughput": "-1"}, "smsc.throughput: must be between 0 and 100000, got -1"},
		{map[string]string{"smsc.enquire_link": "0s"}, "smsc.enquire_link: must be between 1s and 1h, got 0s"},
		{map[string]string{"smsc.response_timeout": "10m"}, "smsc.response_timeout: must be between 1s and 5m, got 10m"},
		{map[string]string{"smsc.bind_timeout": "500ms"}, "smsc.bind_timeout: must be between 1s and 5m, got 500ms"},
		{map[string]string{"smsc.reconnect_min": "10ms"}, "smsc.reconnect_min: must be between 100ms and 1m, got 10ms"},
		{map[string]string{"smsc.reconnect_min": "30s", "smsc.reconnect_max": "10s"}, "smsc.reconnect_max: must not be below smsc.reconnect_min (30s), got 10s"},
		{map[string]string{"smsc.message_id": "octal"}, `smsc.message_id: must be one of auto, exact, hex, dec, hexdec, dechex; got "octal"`},
		{map[string]string{"smsc.split": "none"}, `smsc.split: must be one of udh, udh16, sar, payload; got "none"`},
		{map[string]string{"smsc.default_from": "TwelveChars1"}, `smsc.default_from: sender "TwelveChars1" has 12 characters, more than 11`},
		{map[string]string{"smsc.receipt_grace": "2d"}, "smsc.receipt_grace: must be between 0s and 1d, got 2d"},
		{map[string]string{"smsc.tls": "yes"}, `smsc.tls: must be true or false, got "yes"`},
		{map[string]string{"smsc.tls": "[true]"}, "smsc.tls: must be a single value, not a list"},
		{map[string]string{"spool.dir": `""`}, "spool.dir: required"},
		{map[string]string{"spool.rescan_interval": "30"}, `spool.rescan_interval: "30" is not a duration (use e.g. 30s, 10m, 48h, 7d)`},
		{map[string]string{"spool.settle": "-1s"}, `spool.settle: "-1s" is negative`},
		{map[string]string{"spool.settle": "2m"}, "spool.settle: must be between 0s and 1m, got 2m"},
		{map[string]string{"spool.max_file_size": "64MB"}, `spool.max_file_size: "64MB" is not a size (use bytes or KiB, MiB, GiB, e.g. 64MiB)`},
		{map[string]string{"spool.max_file_size": "2GiB"}, "spool.max_file_size: must be between 1KiB and 1GiB, got 2GiB"},
		{map[string]string{"hooks.command": `[""]`}, "hooks.command: the first item is the program to run and cannot be empty"},
		{map[string]string{"hooks.command": "[/bin/true]", "hooks.events": "[sent]"}, `hooks.events: "sent": want report or mo`},
		{map[string]string{"hooks.command": "[/bin/true]", "hooks.events": "[]"}, "hooks.events: required: report, mo, or both"},
		{map[string]string{"hooks.command": "[/bin/true]", "hooks.concurrency": "0"}, "hooks.concurrency: must be between 1 and 64, got 0"},
		{map[string]string{"hooks.command": "[/bin/true]", "hooks.timeout": "10ms"}, "hooks.timeout: must be between 100ms and 1h, got 10ms"},
		{map[string]string{"hooks.command": "[/bin/true]", "hooks.retries": "-1"}, "hooks.retries: must be between 0 and 100, got -1"},
		{map[string]string{"hooks.command": "[/bin/true]", "hooks.output_limit": "2MiB"}, "hooks.output_limit: must be between 0 and 1MiB, got 2MiB"},
		{map[string]string{"spool.charset": "latin1"}, `spool.charset: must be one of utf-8, iso-8859-15; got "latin1"`},
		{map[string]string{"spool.inbox_format": "xml"}, `spool.inbox_format: must be one of json, smstools, ndjson; got "xml"`},
		{map[string]string{"spool.file_mode": `"0440"`}, "spool.file_mode: must let the owner read and write (0600), got 0440"},
		{map[string]string{"spool.file_mode": `"0999"`}, `spool.file_mode: "0999" is not an octal file mode between 0000 and 0777`},
		{map[string]string{"store.path": `""`}, "store.path: required"},
		{map[string]string{"store.retention": "30s"}, "store.retention: must be at least 1m, got 30s"},
		{map[string]string{"store.max_size": "1KiB"}, "store.max_size: must be 0 (no limit) or at least 1MiB, got 1KiB"},
		{map[string]string{"retry.initial": "10ms"}, "retry.initial: must be at least 100ms, got 10ms"},
		{map[string]string{"retry.initial": "1h"}, "retry.initial: must not be longer than retry.max (10m), got 1h"},
		{map[string]string{"retry.max": "50ms", "retry.initial": "50ms"}, "retry.initial: must be at least 100ms, got 50ms\nretry.max: must be at least 100ms, got 50ms"},
		{map[string]string{"retry.max_age": "0s"}, "retry.max_age: must be at least 1m, got 0s"},
		{map[string]string{"retry.receipt_timeout": "1s"}, "retry.receipt_timeout: must be at least 1m, got 1s"},
		{map[string]string{"mo.duplicates": "fingerprint"}, `mo.duplicates: must be one of window, smsc_id, off; got "fingerprint"`},
		{map[string]string{"mo.duplicate_window": "0s"}, "mo.duplicate_window: must be between 1s and 1d, got 0s"},
		{map[string]string{"mo.duplicate_window": "2d"}, "mo.duplicate_window: must be between 1s and 1d, got 2d"},
		{map[string]string{"mo.duplicates": "smsc_id"}, "mo.smsc_id_tag: required with mo.duplicates: smsc_id (the TLV your SMSC carries its message id in, e.g. 0x1403)"},
		{map[string]string{"mo.duplicates": "smsc_id", "mo.smsc_id_tag": "0x10000"}, `mo.smsc_id_tag: must be a TLV tag from 0x0001 to 0xFFFF (hexadecimal with 0x, or decimal), got "0x10000"`},
		{map[string]string{"mo.duplicates": "smsc_id", "mo.smsc_id_tag": "0"}, `mo.smsc_id_tag: must be a TLV tag from 0x0001 to 0xFFFF (hexadecimal with 0x, or decimal), got "0"`},
		{map[string]string{"mo.smsc_id_tag": "1403h"}, `mo.smsc_id_tag: must be a TLV tag from 0x0001 to 0xFFFF (hexadecimal with 0x, or decimal), got "1403h"`},
		{map[string]string{"admin.listen": "localhost"}, `admin.listen: must be host:port, got "localhost"`},
		{map[string]string{"admin.listen": "0.0.0.0:9180"}, "admin.token: required when admin.listen (0.0.0.0:9180) is not a loopback address; set admin.token or admin.token_file"},
		{map[string]string{"admin.listen": ":9180"}, "admin.token: required when admin.listen (:9180) is not a loopback address; set admin.token or admin.token_file"},
		{map[string]string{"admin.token": "t", "admin.token_file": "x"}, "admin.token_file: set either admin.token or admin.token_file, not both"},
		{map[string]string{"log.level": "verbose"}, `log.level: must be one of debug, info, warn, error; got "verbose"`},
		{map[string]string{"log.format": "logfmt"}, `log.format: must be one of text, json; got "logfmt"`},
		{map[string]string{"smsc.window": "{a: 1}"}, "smsc.window: must be a single value, not a mapping"},
		{map[string]string{"smsc.windw": "10"}, "smsc.windw: unknown key (did you mean window?)"},
		{map[string]string{"smsc.colour": "blue"}, "smsc.colour: unknown key"},
		{map[string]string{"spol.dir": "/x"}, "spol: unknown key (did you mean spool?)"},
	}
	for _, tt := range tests {
		data := doc(tt.kv)
		_, err := config.Parse(data)
		if err == nil {
			t.Errorf("Parse(%v) succeeded, want %q", tt.kv, tt.want)
			continue
		}
		if got := strings.Join(problemsOf(t, err), "\n"); got != tt.want {
			t.Errorf("Parse(%v):\n got %q\nwant %q", tt.kv, got, tt.want)
		}
	}
}

func TestParse_DocumentProblems(t *testing.T) {
	noEnv(t)
	tests := []struct{ in, want string }{
		{"smsc: [1, 2]\n", "smsc: must be a mapping of keys, not a list"},
		{"- a\n- b\n", "must be a mapping of keys, not a list"},
		{"smsc:\n  window: 5\n  window: 6\n", "smsc.window: given twice (lines 2 and 3)"},
		{"smsc: {address: [\n", "line 1: did not find expected node content"},
	}
	for _, tt := range tests {
		_, err := config.Parse([]byte(tt.in))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", tt.in)
			continue
		}
		if got := problemsOf(t, err)[0]; got != tt.want {
			t.Errorf("Parse(%q) first problem = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParse_AllProblemsAtOnce(t *testing.T) {
	noEnv(t)
	in := `smsc:
  address: nowhere
  window: 0
  bogus: 1
  enquire_link: 10
spool:
  charset: ascii
log:
  level: loud
`
	_, err := config.Parse([]byte(in))
	want := []string{
		`smsc.bogus: unknown key`,
		`smsc.enquire_link: "10" is not a duration (use e.g. 30s, 10m, 48h, 7d)`,
		`smsc.address: must be host:port, got "nowhere"`,
		`smsc.system_id: required (the account name the SMSC gave you)`,
		`smsc.window: must be between 1 and 1000, got 0`,
		`spool.charset: must be one of utf-8, iso-8859-15; got "ascii"`,
		`log.level: must be one of debug, info, warn, error; got "loud"`,
	}
	if got := problemsOf(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("Error() = %q, want one problem per line", got)
	}
}

func TestParse_Values(t *testing.T) {
	noEnv(t)
	c := mustParse(t, doc(map[string]string{
		"smsc.tls":             "true",
		"smsc.tls_server_name": "tls.test",
		"smsc.bind":            "transmitter_receiver",
		"smsc.default_from":    "ACME",
		"spool.max_file_size":  "512 KiB",
		"spool.file_mode":      "0600",
		"store.retention":      "1d12h",
		"store.max_size":       "1GiB",
		"retry.max_age":        "90m",
		"smsc.window":          "~",
	}))
	if !c.SMSC.TLS || c.SMSC.TLSServerName != "tls.test" || c.SMSC.Bind != config.BindTransmitterReceiver {
		t.Errorf("smsc = %+v", c.SMSC)
	}
	if got := c.SMSC.DefaultSender(); got.Value != "ACME" {
		t.Errorf("DefaultSender = %+v", got)
	}
	if c.Spool.MaxFileSize != 512*config.KiB || c.Spool.FileMode != 0o600 {
		t.Errorf("spool = %+v", c.Spool)
	}
	if c.Store.Retention != 36*time.Hour || c.Store.MaxSize != config.GiB || c.Retry.MaxAge != 90*time.Minute {
		t.Errorf("store = %+v, retry = %+v", c.Store, c.Retry)
	}
	if c.SMSC.Window != 10 {
		t.Errorf("window given as null = %d, want the default 10", c.SMSC.Window)
	}
	for _, tt := range []struct {
		in   string
		want uint16
	}{{"0x1403", 0x1403}, {"0X001e", 0x1e}, {"5123", 5123}, {"017", 17}} {
		c := mustParse(t, doc(map[string]string{"mo.duplicates": "smsc_id", "mo.smsc_id_tag": tt.in, "mo.duplicate_window": "12h"}))
		if tag, ok := c.MO.IDTag(); !ok || tag != tt.want || c.MO.DuplicateWindow != 12*time.Hour || len(c.Warnings) != 0 {
			t.Errorf("mo.smsc_id_tag %s = %#x, %v (warnings %v), want %#x", tt.in, tag, ok, c.Warnings, tt.want)
		}
	}
	if c := mustParse(t, doc(map[string]string{"mo.smsc_id_tag": "0x1403"})); len(c.Warnings) != 1 ||
		c.Warnings[0].Key != "mo.smsc_id_tag" {
		t.Errorf("an id tag without smsc_id: warnings %v, want one about mo.smsc_id_tag", c.Warnings)
	}
}

func TestParse_EmptyDocument(t *testing.T) {
	noEnv(t)
	_, err := config.Parse(nil)
	want := []string{
		"smsc.address: required (host:port of the SMSC)",
		"smsc.system_id: required (the account name the SMSC gave you)",
	}
	if got := problemsOf(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("problems = %q, want %q", got, want)
	}
}

func TestParse_Aliases(t *testing.T) {
	noEnv(t)
	c := mustParse(t, []byte("smsc:\n  address: a.test:1\n  system_id: s\n  enquire_link: &t 20s\n  bind_timeout: *t\n"))
	if c.SMSC.BindTimeout != 20*time.Second {
		t.Errorf("bind_timeout through an alias = %s, want 20s", c.SMSC.BindTimeout)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
}

func TestLoad_RelativePaths(t *testing.T) {
	noEnv(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "etc", "smsagent.yaml")
	if err := os.Mkdir(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "etc", "pw"), "s3cret\n", 0o600)
	writeFile(t, file, string(doc(map[string]string{
		"spool.dir":          "spool",
		"store.path":         "../state/q.db",
		"smsc.password_file": "pw",
		"hooks.command":      `["bin/on-event", "{file}", "./x"]`,
	})), 0o600)
	c, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != file {
		t.Errorf("File = %q, want %q", c.File, file)
	}
	if want := filepath.Join(dir, "etc", "spool"); c.Spool.Dir != want {
		t.Errorf("spool.dir = %q, want %q", c.Spool.Dir, want)
	}
	if want := filepath.Join(dir, "state", "q.db"); c.Store.Path != want {
		t.Errorf("store.path = %q, want %q", c.Store.Path, want)
	}
	// The program is found from the file's folder; its arguments are
	// passed as written.
	if want := []string{filepath.Join(dir, "etc", "bin", "on-event"), "{file}", "./x"}; !slices.Equal(c.Hooks.Command, want) {
		t.Errorf("hooks.command = %q, want %q", c.Hooks.Command, want)
	}
	if want := filepath.Join(dir, "state", "admin.token"); c.Admin.TokenFile != want || !c.Admin.GenerateToken {
		t.Errorf("admin.token_file = %q (generate %v), want %q", c.Admin.TokenFile, c.Admin.GenerateToken, want)
	}
	if c.SMSC.Password.Reveal() != "s3cret" {
		t.Errorf("password from relative password_file = %q", c.SMSC.Password.Reveal())
	}
}

func TestLoad_Missing(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "none.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want a not-exist error", err)
	}
}

func TestLoad_PasswordSources(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	writeFile(t, pwFile, "fromfile\r\n", 0o400)
	tests := []struct {
		name     string
		env      string
		kv       map[string]string
		want     string
		problem  string
		warnings []string
	}{
		{name: "inline", kv: map[string]string{"smsc.password": "inline"}, want: "inline"},
		{name: "file", kv: map[string]string{"smsc.password_file": pwFile}, want: "fromfile"},
		{name: "env only", env: "fromenv", want: "fromenv"},
		{name: "env beats file", env: "fromenv", kv: map[string]string{"smsc.password_file": pwFile}, want: "fromenv",
			warnings: []string{"smsc.password: SMSAGENT_SMSC_PASSWORD is set and takes precedence over the password in the file"}},
		{name: "env beats inline", env: "fromenv", kv: map[string]string{"smsc.password": "inline"}, want: "fromenv",
			warnings: []string{"smsc.password: SMSAGENT_SMSC_PASSWORD is set and takes precedence over the password in the file"}},
		{name: "none", want: ""},
		{name: "both", kv: map[string]string{"smsc.password": "inline", "smsc.password_file": pwFile},
			problem: "smsc.password_file: set either smsc.password or smsc.password_file, not both"},
		{name: "missing file", kv: map[string]string{"smsc.password_file": filepath.Join(dir, "nope")},
			problem: "smsc.password_file: cannot read " + filepath.Join(dir, "nope") + ": " + errNoEnt(t)},
		{name: "too long from env", env: "123456789",
			problem: "smsc.password: must be at most 8 characters (SMPP 3.4 allows 9 octets with the NUL), got 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(config.PasswordEnv, tt.env)
			c := loadWant(t, tt.kv, tt.problem)
			if c == nil {
				return
			}
			if got := c.SMSC.Password.Reveal(); got != tt.want {
				t.Errorf("password = %q, want %q", got, tt.want)
			}
			checkWarnings(t, c, tt.warnings)
		})
	}
}

func TestLoad_PermissionWarnings(t *testing.T) {
	noEnv(t)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	writeFile(t, pwFile, "pw", 0o644)
	tests := []struct {
		name string
		mode os.FileMode
		kv   map[string]string
		want []string
	}{
		{name: "private with secret", mode: 0o600, kv: map[string]string{"smsc.password": "pw"}},
		{name: "group readable without secret", mode: 0o640},
		{name: "group readable with password", mode: 0o640, kv: map[string]string{"smsc.password": "pw"},
			want: []string{"{file} holds smsc.password and is readable by its group or others (mode 0640); " +
				"move the secret to a file only the service user can read (smsc.password_file, admin.token_file) " +
				"or, for the password, the SMSAGENT_SMSC_PASSWORD environment variable"}},
		{name: "world readable with token", mode: 0o644, kv: map[string]string{"admin.token": "tok"},
			want: []string{"{file} holds admin.token and is readable by its group or others (mode 0644); " +
				"move the secret to a file only the service user can read (smsc.password_file, admin.token_file) " +
				"or, for the password, the SMSAGENT_SMSC_PASSWORD environment variable"}},
		{name: "world writable", mode: 0o666,
			want: []string{"{file} is writable by its group or others (mode 0666): whoever can write it controls the agent"}},
		{name: "readable password file", mode: 0o600, kv: map[string]string{"smsc.password_file": pwFile},
			want: []string{"smsc.password_file: " + pwFile + " is readable by its group or others (mode 0644); chmod 0600 or 0400"}},
		{name: "tls insecure", mode: 0o600, kv: map[string]string{"smsc.tls": "true", "smsc.tls_insecure": "true"},
			want: []string{"smsc.tls_insecure: the SMSC's certificate is not verified: anyone on the network path can " +
				"pose as the SMSC and read the password and every message"}},
		{name: "tls insecure without tls", mode: 0o600, kv: map[string]string{"smsc.tls_insecure": "true"},
			want: []string{"smsc.tls_insecure: has no effect without smsc.tls: true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.yaml")
			writeFile(t, file, string(doc(tt.kv)), tt.mode)
			c, err := config.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range c.Warnings {
				got = append(got, w.String())
			}
			var want []string
			for _, w := range tt.want {
				// Windows files carry no Unix mode: the agent rightly
				// warns about none there (their access is the ACL).
				if runtime.GOOS == "windows" && strings.Contains(w, "(mode 0") {
					continue
				}
				want = append(want, strings.ReplaceAll(w, "{file}", file))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("warnings:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestLoad_TokenFile(t *testing.T) {
	noEnv(t)
	dir := t.TempDir()
	tok := filepath.Join(dir, "tok")
	writeFile(t, tok, "abc\n", 0o600)
	c := mustParse(t, doc(map[string]string{"admin.listen": "0.0.0.0:9180", "admin.token_file": tok}))
	if c.Admin.Token.Reveal() != "abc" || c.Admin.GenerateToken {
		t.Errorf("admin = %+v, want token from file", c.Admin)
	}
	writeFile(t, tok, "\n", 0o600)
	_, err := config.Parse(doc(map[string]string{"admin.token_file": tok}))
	if got := problemsOf(t, err); len(got) != 1 || got[0] != "admin.token_file: "+tok+" is empty" {
		t.Errorf("empty token file: %q", got)
	}
	c = mustParse(t, doc(map[string]string{"admin.listen": `""`}))
	if c.Admin.TokenFile != "" || c.Admin.GenerateToken {
		t.Errorf("disabled admin still gets a token file: %+v", c.Admin)
	}
	c = mustParse(t, doc(map[string]string{"admin.listen": `"[::1]:9180"`}))
	if !c.Admin.GenerateToken {
		t.Errorf("loopback admin without token: GenerateToken not set")
	}
}

func TestEffective_RoundTrip(t *testing.T) {
	noEnv(t)
	c := mustParse(t, doc(map[string]string{
		"smsc.password":   "pw",
		"retry.max_age":   "36h",
		"store.retention": "1d1s",
		"spool.settle":    "1500ms",
	}))
	out := c.Effective()
	if !strings.Contains(string(out), "password: '[redacted]'") || strings.Contains(string(out), "pw\n") {
		t.Errorf("Effective does not redact the password:\n%s", out)
	}
	back := mustParse(t, bytes.ReplaceAll(out, []byte("'[redacted]'"), []byte("pw")))
	if !reflect.DeepEqual(c, back) {
		t.Errorf("Effective does not parse back to the same configuration:\n%s\n%+v\n%+v", out, c, back)
	}
	if strings.Contains(string(out), "jetstream:") {
		t.Errorf("Effective prints store.jetstream with the backend bbolt:\n%s", out)
	}

	// The cluster's block, every key set, prints and parses back too.
	config.SetHostname(t, func() (string, error) { return "alpha", nil })
	c = mustParse(t, doc(map[string]string{
		"store.backend": "jetstream",
		"store.jetstream": "{urls: [nats://127.0.0.1:4222, 'tls://[::1]:4223'], user: agent, password_file: /etc/nats.pw, " +
			"tls: true, tls_server_name: nats.test, prefix: Prod_1, replicas: 3, node: beta, takeover_after: 1m30s, incoming_node: alpha}",
	}))
	out = c.Effective()
	flat := flatten(t, c)
	for key, want := range map[string]string{"store.backend": "jetstream", "store.jetstream.node": "beta",
		"store.jetstream.takeover_after": "1m30s", "store.jetstream.password_file": c.Store.JetStream.PasswordFile} {
		if flat[key] != want {
			t.Errorf("Effective prints %s %q, want %q:\n%s", key, flat[key], want, out)
		}
	}
	if back := mustParse(t, out); !reflect.DeepEqual(c, back) {
		t.Errorf("Effective does not parse back to the same configuration:\n%s\n%+v\n%+v", out, c.Store, back.Store)
	}
}

// TestLoad_SampleConfig parses the sample the packages install and checks it
// lists every key, set or commented out, so it stays complete.
func TestLoad_SampleConfig(t *testing.T) {
	noEnv(t)
	sample := filepath.Join("..", "packaging", "smsagent.yaml")
	c, err := config.Load(sample)
	if err != nil {
		t.Fatalf("the shipped sample does not load:\n%v", err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("the shipped sample has warnings: %v", c.Warnings)
	}
	text, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	section := ""
	present := map[string]bool{}
	for _, line := range strings.Split(string(text), "\n") {
		if !strings.HasPrefix(line, " ") && strings.HasSuffix(line, ":") {
			section = strings.TrimSuffix(line, ":")
			continue
		}
		if key, _, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") {
			present[key] = true // a top-level list: routes: []
			continue
		}
		entry := strings.TrimPrefix(strings.TrimSpace(line), "# ")
		if key, _, ok := strings.Cut(entry, ":"); ok && !strings.Contains(key, " ") {
			present[section+"."+key] = true
		}
	}
	for key := range flatten(t, c) {
		if !present[key] {
			t.Errorf("the sample does not mention %s", key)
		}
	}
	def := mustParse(t, doc(nil))
	if c.SMSC.Window != def.SMSC.Window || c.Retry != def.Retry || c.Spool.MaxFileSize != def.Spool.MaxFileSize {
		t.Errorf("the sample's values differ from the defaults it claims to list")
	}

	// The commented-out cluster block, taken in, loads without a warning
	// and lists every key of store.jetstream.
	config.SetHostname(t, func() (string, error) { return "alpha", nil })
	before, block, found := strings.Cut(string(text), "\n  # jetstream:\n")
	block, after, _ := strings.Cut(block, "\n\n")
	if !found {
		t.Fatal("the sample has no commented-out jetstream: block under store:")
	}
	block = strings.ReplaceAll("\n"+block, "\n  #   ", "\n    ")
	clustered := strings.Replace(before, "\n  backend: bbolt\n", "\n  backend: jetstream\n", 1) +
		"\n  jetstream:" + block + "\n\n" + after
	file := filepath.Join(t.TempDir(), "smsagent.yaml")
	writeFile(t, file, clustered, 0o600)
	c, err = config.Load(file)
	if err != nil {
		t.Fatalf("the sample's jetstream block does not load:\n%v", err)
	}
	if c.Store.Backend != config.BackendJetStream || len(c.Store.JetStream.URLs) != 3 || len(c.Warnings) != 0 {
		t.Errorf("the sample's jetstream block: %+v, warnings %v", c.Store, c.Warnings)
	}
	for key := range flatten(t, c) {
		if sub, ok := strings.CutPrefix(key, "store.jetstream."); ok && !strings.Contains(block, "\n    "+sub+": ") {
			t.Errorf("the sample does not mention %s", key)
		}
	}
}

func TestPathsFor(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	win := config.PathsFor("windows", env(map[string]string{"ProgramData": `D:\PD\`}))
	want := config.Paths{
		File:  `D:\PD\smsagent\smsagent.yaml`,
		Spool: `D:\PD\smsagent\spool`,
		Store: `D:\PD\smsagent\data\outbox.db`,
	}
	if win != want {
		t.Errorf("windows = %+v, want %+v", win, want)
	}
	if got := config.PathsFor("windows", env(nil)).File; got != `C:\ProgramData\smsagent\smsagent.yaml` {
		t.Errorf("windows without ProgramData = %q", got)
	}
	lin := config.PathsFor("linux", env(nil))
	if lin != (config.Paths{File: "/etc/smsagent/smsagent.yaml", Spool: "/var/spool/smsagent", Store: "/var/lib/smsagent/outbox.db"}) {
		t.Errorf("linux = %+v", lin)
	}
}

// TestLoad_AdminTLS: admin.tls_cert and admin.tls_key come together, must
// be a readable certificate and its key, and an API listening beyond
// loopback without them draws a warning.
func TestLoad_AdminTLS(t *testing.T) {
	noEnv(t)
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "api", "127.0.0.1")
	otherCert, _ := testcert.Write(t, dir, "other", "127.0.0.1")
	tok := filepath.Join(dir, "tok")
	writeFile(t, tok, "abc\n", 0o600)
	missing := filepath.Join(dir, "missing.crt")
	const clear = "admin.listen: 0.0.0.0:9180 is not a loopback address and admin.tls_cert is not set: " +
		"the token, phone numbers and texts cross the network in clear text; set admin.tls_cert and admin.tls_key"
	tests := []struct {
		name     string
		kv       map[string]string
		problem  string
		warnings []string
	}{
		{name: "both", kv: map[string]string{"admin.tls_cert": cert, "admin.tls_key": key}},
		{name: "beyond loopback with TLS", kv: map[string]string{"admin.listen": "0.0.0.0:9180", "admin.token_file": tok,
			"admin.tls_cert": cert, "admin.tls_key": key}},
		{name: "beyond loopback without TLS", kv: map[string]string{"admin.listen": "0.0.0.0:9180", "admin.token_file": tok},
			warnings: []string{clear}},
		{name: "cert only", kv: map[string]string{"admin.tls_cert": cert},
			problem: "admin.tls_key: required with admin.tls_cert"},
		{name: "key only", kv: map[string]string{"admin.tls_key": key},
			problem: "admin.tls_cert: required with admin.tls_key"},
		{name: "missing cert", kv: map[string]string{"admin.tls_cert": missing, "admin.tls_key": key},
			problem: "admin.tls_cert: cannot read " + missing + ": " + errNoEnt(t)},
		{name: "not its key", kv: map[string]string{"admin.tls_cert": otherCert, "admin.tls_key": key},
			problem: "admin.tls_cert: " + otherCert + " and " + key + " are not a certificate and its private key: " +
				"tls: private key does not match public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := loadWant(t, tt.kv, tt.problem)
			if c == nil {
				return
			}
			if c.Admin.TLSCert != tt.kv["admin.tls_cert"] || c.Admin.TLSKey != tt.kv["admin.tls_key"] {
				t.Errorf("admin = %+v", c.Admin)
			}
			checkWarnings(t, c, tt.warnings)
		})
	}
	// A key others can read is the API's identity given away.
	writeFile(t, key, string(readFile(t, key)), 0o644)
	c := mustParse(t, doc(map[string]string{"admin.tls_cert": cert, "admin.tls_key": key}))
	if runtime.GOOS == "windows" {
		if len(c.Warnings) != 0 {
			t.Errorf("warnings = %v, want none: Windows files carry no Unix mode", c.Warnings)
		}
	} else if len(c.Warnings) != 1 || c.Warnings[0].String() != "admin.tls_key: "+key+" is readable by its group or others (mode 0644); chmod 0600 or 0400" {
		t.Errorf("warnings = %v", c.Warnings)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// errNoEnt is the operating system's text for a file that does not exist
// ("no such file or directory", "The system cannot find the file
// specified.", Wine's "File not found.").
func errNoEnt(t *testing.T) string {
	t.Helper()
	_, err := os.Open(filepath.Join(t.TempDir(), "does-not-exist"))
	var pe *os.PathError
	if !errors.As(err, &pe) {
		t.Fatalf("open of a missing file: %v", err)
	}
	return pe.Err.Error()
}
