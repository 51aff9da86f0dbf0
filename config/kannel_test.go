package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/config"
)

// TestLoad_Kannel: the sendsms users are a list; each problem names the
// user's position; the effective configuration shows the list and parses
// back to it.
func TestLoad_Kannel(t *testing.T) {
	noEnv(t)
	abs := filepath.Join(t.TempDir(), "shop.pw") // absolute on this system (C:\... on Windows)
	c := loadWant(t, map[string]string{
		"kannel.listen": "127.0.0.1:13013",
		"kannel.users":  "[{username: shop, password_file: '" + abs + "', default_from: ACME}, {username: crm, password_file: crm.pw}]",
	}, "")
	want := []config.KannelUser{{Username: "shop", PasswordFile: abs, DefaultFrom: "ACME"}, {Username: "crm"}}
	if len(c.Kannel.Users) != 2 || c.Kannel.Users[0] != want[0] || c.Kannel.Users[1].Username != "crm" ||
		!filepath.IsAbs(c.Kannel.Users[1].PasswordFile) {
		t.Errorf("users %+v", c.Kannel.Users)
	}
	out := string(c.Effective())
	if !strings.Contains(out, "- username: shop") {
		t.Errorf("effective configuration:\n%s", out)
	}
	for _, tc := range []struct{ users, problem string }{
		{"[]", "kannel.users: at least one user is needed when kannel.listen is set"},
		{"[{username: a, password_file: /p}, {username: a, password_file: /p}]", `kannel.users[1].username: "a" is given twice`},
		{"[{password_file: /p}]", "kannel.users[0].username: missing"},
		{"[{username: a}]", "kannel.users[0].password_file: missing: every sendsms user needs a password"},
		{"[{username: a, password_file: /p, usrname: x}]", "kannel.users[0].usrname: unknown key (did you mean username?)"},
		{"{username: a}", "kannel.users: must be a list, not a mapping\nkannel.users: at least one user is needed when kannel.listen is set"},
	} {
		loadWant(t, map[string]string{"kannel.listen": "127.0.0.1:13013", "kannel.users": tc.users}, tc.problem)
	}
	c = loadWant(t, map[string]string{"kannel.listen": "0.0.0.0:13013", "kannel.users": "[{username: a, password_file: /p}]"}, "")
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].String(), "not a loopback address") {
		t.Errorf("warnings %v", c.Warnings)
	}
}

func TestKannelUser_ReadPassword(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte("s3cret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := config.KannelUser{Username: "shop", PasswordFile: file}
	if pw, err := u.ReadPassword(); err != nil || pw != "s3cret" {
		t.Errorf("ReadPassword = %q, %v", pw, err)
	}
	u.PasswordFile = dir
	if _, err := u.ReadPassword(); err == nil {
		t.Error("a folder read as a password file")
	}
}
