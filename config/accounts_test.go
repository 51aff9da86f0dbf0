package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/smpp/pdu"
)

const twoAccounts = `smscs:
  - name: mitto
    address: smpp.example.net:2775
    system_id: acme
    password: s3cret
    window: 20
  - name: backup
    address: 127.0.0.2:2775
    system_id: acme2
    tls: true
routes:
  - to: ["+41", "+423"]
    smscs: [mitto, backup]
  - smscs: [backup, mitto]
failover:
  after: 10s
  on_status: [ESME_RSYSERR, "0x00000058"]
`

// TestLoad_Accounts: smscs: entries take smsc:'s defaults key by key,
// routes match first first, failover statuses parse, and the effective
// configuration keeps the one form it was given in and parses back.
func TestLoad_Accounts(t *testing.T) {
	noEnv(t)
	c := mustParse(t, []byte(twoAccounts))
	accts := c.Accounts()
	if len(accts) != 2 || accts[0].Name != "mitto" || accts[1].Name != "backup" {
		t.Fatalf("accounts %+v", accts)
	}
	if accts[0].Window != 20 || accts[1].Window != 10 || accts[1].Sessions != 4 || accts[1].ResponseTimeout != 10*time.Second ||
		accts[1].TLSServerName != "127.0.0.2" || accts[0].Password.Reveal() != "s3cret" {
		t.Errorf("per-account values and defaults: %+v / %+v", *accts[0], *accts[1])
	}
	if got := c.Failover.Statuses(); len(got) != 2 || got[0] != pdu.StatusSysErr || got[1] != pdu.StatusThrottled ||
		c.Failover.After != 10*time.Second {
		t.Errorf("failover %+v %v", c.Failover, got)
	}
	for _, tc := range []struct {
		to   string
		want string
	}{{"+41791234567", "mitto"}, {"+4231234567", "mitto"}, {"+4915112345678", "backup"}, {"0401234567", "backup"}} {
		to, err := smsagent.ParseNumber(tc.to)
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := c.Route(to); !ok || r.SMSCs[0] != tc.want {
			t.Errorf("route of %s: %+v %v, want first %s", tc.to, r, ok, tc.want)
		}
	}
	if a, ok := c.Account("backup"); !ok || a.Address != "127.0.0.2:2775" {
		t.Errorf("Account(backup): %+v %v", a, ok)
	}
	out := string(c.Effective())
	if strings.Contains(out, "\nsmsc:") || !strings.Contains(out, "- name: mitto") || strings.Contains(out, "s3cret") ||
		!strings.Contains(out, "password: '[redacted]'") && !strings.Contains(out, `password: "[redacted]"`) {
		t.Errorf("effective configuration:\n%s", out)
	}
	back, err := config.Parse([]byte(strings.ReplaceAll(strings.ReplaceAll(out, `'[redacted]'`, "s3cret"), `"[redacted]"`, "s3cret")))
	if err != nil {
		t.Fatalf("the effective configuration does not parse back: %v\n%s", err, out)
	}
	if len(back.Accounts()) != 2 || len(back.Routes) != 2 {
		t.Errorf("parsed back: %+v", back.Accounts())
	}

	// Without routes: one route over every account in order; a national
	// number goes there too.
	c = mustParse(t, []byte(strings.Split(twoAccounts, "routes:")[0]))
	if r := c.EffectiveRoutes(); len(r) != 1 || len(r[0].To) != 0 || strings.Join(r[0].SMSCs, ",") != "mitto,backup" {
		t.Errorf("effective routes %+v", r)
	}
	// smsc: alone: one account named default, one route to it.
	c = mustParse(t, doc(nil))
	if a := c.Accounts(); len(a) != 1 || a[0].Name != config.DefaultAccount || a[0] != &c.SMSC {
		t.Errorf("accounts of smsc: %+v", a)
	}
	if r := c.EffectiveRoutes(); len(r) != 1 || r[0].SMSCs[0] != "default" {
		t.Errorf("routes of smsc: %+v", r)
	}
	// A last route with prefixes leaves destinations without one: a warning.
	c = mustParse(t, []byte(strings.Replace(twoAccounts, "  - smscs: [backup, mitto]\n", "", 1)))
	if len(c.Warnings) != 1 || c.Warnings[0].Key != "routes" {
		t.Errorf("warnings %+v", c.Warnings)
	}
	if _, ok := c.Route(smsagent.Address{Value: "4915112345678", Kind: smsagent.AddrInternational}); ok {
		t.Error("a destination no route has is routed")
	}
	// A route after one that takes every destination is never used.
	c = mustParse(t, []byte(strings.Replace(twoAccounts, "  - smscs: [backup, mitto]\n", "  - smscs: [backup, mitto]\n  - to: [\"+1\"]\n    smscs: [mitto]\n", 1)))
	if len(c.Warnings) != 1 || c.Warnings[0].Key != "routes[2]" {
		t.Errorf("warnings %+v", c.Warnings)
	}
}

// TestLoad_AccountsRefused: every refusal names its key.
func TestLoad_AccountsRefused(t *testing.T) {
	noEnv(t)
	for _, tc := range []struct{ from, to, problem string }{
		{"smscs:", "smsc:\n  address: a.test:1\n  system_id: x\nsmscs:", "smscs: set either smsc: (one account) or smscs: (several), not both"},
		{"name: backup", "name: mitto", `smscs[1].name: "mitto" is the name of smscs[0] too; names must be unique`},
		{"name: backup", "name: Back Up", `smscs[1].name: SMSC account name "Back Up": want 1 to 32 of a-z, 0-9, _ and -`},
		{"  - name: backup\n", "  - \n", "smscs[1].name: required: a-z, 0-9, _ and -, up to 32 characters"},
		{"system_id: acme2", "window: 5", "smscs[1].system_id: required (the account name the SMSC gave you)"},
		{"[backup, mitto]\nfailover", "[backup, nosuch]\nfailover", `routes[1].smscs: "nosuch" is not a configured account (configured: mitto, backup)`},
		{"[mitto, backup]", "[mitto, mitto]", `routes[0].smscs: "mitto" is listed twice`},
		{`"+423"`, `"423"`, `routes[0].to: "423": want a destination prefix in E.164 with the plus, such as +41 or +4179`},
		{"after: 10s", "after: 0s", "failover.after: must be between 1s and 1h, got 0s"},
		{`"0x00000058"`, "ESME_NOPE", "failover.on_status: " + onStatusErr(t, "ESME_NOPE")},
		{`"0x00000058"`, "ESME_ROK", "failover.on_status: ESME_ROK is success, not a refusal"},
	} {
		data := strings.Replace(twoAccounts, tc.from, tc.to, 1)
		_, err := config.Parse([]byte(data))
		if err == nil {
			t.Errorf("%q → %q: loads", tc.from, tc.to)
			continue
		}
		// The first problem is the one the change makes; a renamed account
		// also leaves the routes naming the old name.
		if got := problemsOf(t, err)[0]; got != tc.problem {
			t.Errorf("%q → %q:\n got %q\nwant %q", tc.from, tc.to, got, tc.problem)
		}
	}
	// smsc: names its account default and nothing else.
	_, err := config.Parse(doc(map[string]string{"smsc.name": "main"}))
	if err == nil || !strings.Contains(err.Error(), "smsc.name: the account of smsc: is named default") {
		t.Errorf("smsc.name main: %v", err)
	}
}

func onStatusErr(t *testing.T, s string) string {
	_, err := pdu.ParseStatus(s)
	if err == nil {
		t.Fatalf("%s parses", s)
	}
	return err.Error()
}

// TestReadPassword_envNotForListedAccounts: SMSAGENT_SMSC_PASSWORD is the
// password of smsc:, not of every entry of smscs:.
func TestReadPassword_envNotForListedAccounts(t *testing.T) {
	t.Setenv(config.PasswordEnv, "fromenv")
	c := mustParse(t, []byte(twoAccounts))
	if pw, err := c.Accounts()[0].ReadPassword(); err != nil || pw != "s3cret" {
		t.Errorf("listed account's password %q %v, want its own", pw, err)
	}
	c = mustParse(t, doc(nil))
	if pw, err := c.Accounts()[0].ReadPassword(); err != nil || pw != "fromenv" {
		t.Errorf("smsc: password %q %v, want the environment's", pw, err)
	}
}

// TestLoad_Webhooks: a webhook's secret is read at load and never shown;
// each problem names its key.
func TestLoad_Webhooks(t *testing.T) {
	noEnv(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "hook.secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.secret")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := string(doc(nil))
	c := mustParse(t, []byte(base+"webhooks:\n  - url: https://crm.test/events\n    events: [report, mo]\n    secret_file: "+secret+"\n"))
	if len(c.Webhooks) != 1 || c.Webhooks[0].Timeout != 10*time.Second || c.Webhooks[0].Secret().Reveal() != "0123456789abcdef0123" {
		t.Errorf("webhooks %+v", c.Webhooks)
	}
	if strings.Contains(string(c.Effective()), "0123456789abcdef") {
		t.Errorf("the secret shows in the effective configuration")
	}
	for _, tc := range []struct{ hook, problem string }{
		{"url: ftp://crm.test/x\n    events: [mo]\n    secret_file: " + secret, `webhooks[0].url: "ftp://crm.test/x": want an http:// or https:// URL with a host and no user`},
		{"url: https://crm.test/x\n    events: []\n    secret_file: " + secret, "webhooks[0].events: required: report, mo, or both"},
		{"url: https://crm.test/x\n    events: [sent]\n    secret_file: " + secret, `webhooks[0].events: "sent": want report or mo`},
		{"url: https://crm.test/x\n    events: [mo]", "webhooks[0].secret_file: required: the file of the secret the signature is made with"},
		{"url: https://crm.test/x\n    events: [mo]\n    secret_file: " + short, "webhooks[0].secret_file: " + short + " holds 3 characters; a signing secret needs at least 16"},
		{"url: https://crm.test/x\n    events: [mo]\n    timeout: 0s\n    secret_file: " + secret, "webhooks[0].timeout: must be between 1s and 5m, got 0s"},
	} {
		_, err := config.Parse([]byte(base + "webhooks:\n  - " + tc.hook + "\n"))
		if err == nil {
			t.Errorf("%s: loads", tc.hook)
			continue
		}
		if got := strings.Join(problemsOf(t, err), "\n"); got != tc.problem {
			t.Errorf("%q:\n got %q\nwant %q", tc.hook, got, tc.problem)
		}
	}
}
