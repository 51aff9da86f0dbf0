package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/config"
	"github.com/smsagent/smsagent/internal/testcert"
	"github.com/smsagent/smsagent/service"
)

type result struct {
	stdout, stderr string
	code           int
}

// cli runs one command line in process, as main would.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return result{out.String(), errOut.String(), code}
}

// cliWith runs a command line on an app prepared by edit.
func cliWith(t *testing.T, edit func(*app), args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(context.Background(), &out, &errOut)
	edit(a)
	code := a.run(args)
	return result{out.String(), errOut.String(), code}
}

func (r result) want(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// writeConfig writes a configuration whose spool and store live in a
// temporary folder, with more smsc keys and more sections, and returns its
// path and the spool folder.
func writeConfig(t *testing.T, smsc, extra string) (file, spool string) {
	t.Helper()
	t.Setenv(config.PasswordEnv, "")
	dir := t.TempDir()
	file = filepath.Join(dir, "smsagent.yaml")
	body := "smsc:\n  address: smsc.test:2775\n  system_id: tester\n" + smsc +
		"spool:\n  dir: spool\nstore:\n  path: state/outbox.db\n" + extra
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	spool = filepath.Join(dir, "spool")
	if err := os.MkdirAll(filepath.Join(spool, "outgoing"), 0o750); err != nil {
		t.Fatal(err)
	}
	return file, spool
}

func TestUsage(t *testing.T) {
	r := cli(t, "--help")
	r.want(t, exitOK)
	for _, c := range []string{"config", "send", "service", "version"} {
		if !strings.Contains(r.stdout, "\n  "+c+" ") {
			t.Errorf("help does not list %s:\n%s", c, r.stdout)
		}
	}
	r = cli(t)
	r.want(t, exitUsage)
	if !strings.HasPrefix(r.stderr, "smsagent: expected one of") {
		t.Errorf("stderr = %q", r.stderr)
	}
	r = cli(t, "frobnicate")
	r.want(t, exitUsage)
	r = cli(t, "send", "--to", "+3581")
	r.want(t, exitUsage)
	if !strings.Contains(r.stderr, "missing flags: --text=STRING") {
		t.Errorf("stderr = %q", r.stderr)
	}
	r = cli(t, "service", "status", "--help")
	r.want(t, exitOK)
	if !strings.Contains(r.stdout, "--config=FILE") {
		t.Errorf("service status help:\n%s", r.stdout)
	}
}

func TestVersion(t *testing.T) {
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "1.2.3", "abc1234", "2026-01-02T03:04:05Z"

	r := cli(t, "version")
	r.want(t, exitOK)
	if want := "smsagent 1.2.3 (commit abc1234, built 2026-01-02T03:04:05Z, "; !strings.HasPrefix(r.stdout, want) {
		t.Errorf("version = %q, want prefix %q", r.stdout, want)
	}
	r = cli(t, "version", "--json")
	r.want(t, exitOK)
	var got buildInfo
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("version --json: %v\n%s", err, r.stdout)
	}
	if got.Version != "1.2.3" || got.Commit != "abc1234" || got.Date != "2026-01-02T03:04:05Z" || got.Go == "" || got.Platform == "" {
		t.Errorf("version --json = %+v", got)
	}
}

func TestResolveBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"},
			{Key: "vcs.time", Value: "2026-03-04T05:06:07Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	got := resolveBuildInfo("", "", "", bi, true)
	if got.Version != "v1.4.0" || got.Commit != "0123456789ab-dirty" || got.Date != "2026-03-04T05:06:07Z" || got.Go != "go1.26.0" {
		t.Errorf("from build info: %+v", got)
	}
	got = resolveBuildInfo("2.0.0", "feed", "", bi, true)
	if got.Version != "2.0.0" || got.Commit != "feed" {
		t.Errorf("stamped values must win: %+v", got)
	}
	got = resolveBuildInfo("", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true)
	if got.Version != "dev" || got.Commit != "" {
		t.Errorf("devel build: %+v", got)
	}
	if got := resolveBuildInfo("", "", "", nil, false); got.Version != "dev" {
		t.Errorf("no build info: %+v", got)
	}
}

func TestConfigCheck(t *testing.T) {
	file, _ := writeConfig(t, "  password: hunter2\n", "")
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "config", "check", "--config", file)
	r.want(t, exitOK)
	if strings.Contains(r.stdout, "hunter2") || !strings.Contains(r.stdout, "password: '[redacted]'") {
		t.Errorf("password not redacted:\n%s", r.stdout)
	}
	for _, want := range []string{
		"# " + file + " is valid.",
		"  dir: " + filepath.Join(filepath.Dir(file), "spool") + "\n",
		"  window: 10\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	// Windows files carry no Unix mode: no warning there (the ACL rules).
	if runtime.GOOS == "windows" {
		if r.stderr != "" {
			t.Errorf("stderr = %q, want nothing", r.stderr)
		}
	} else if !strings.HasPrefix(r.stderr, "smsagent: warning: "+file+" holds smsc.password and is readable") {
		t.Errorf("stderr = %q, want the permission warning", r.stderr)
	}
}

// TestConfigCheck_accounts: config check names the effective accounts and
// routes.
func TestConfigCheck_accounts(t *testing.T) {
	t.Setenv(config.PasswordEnv, "")
	file := filepath.Join(t.TempDir(), "smsagent.yaml")
	body := `smscs:
  - name: mitto
    address: smpp.example.net:2775
    system_id: acme
  - name: backup
    address: 127.0.0.2:2775
    system_id: acme2
    sessions: 1
routes:
  - to: ["+41", "+423"]
    smscs: [mitto, backup]
  - smscs: [backup, mitto]
spool:
  dir: spool
store:
  path: state/outbox.db
`
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "config", "check", "-c", file)
	r.want(t, exitOK)
	for _, want := range []string{
		"# accounts: mitto (smpp.example.net:2775, 4 sessions), backup (127.0.0.2:2775, 1 session)\n",
		"# routes: +41 +423 → mitto, backup; * → backup, mitto\n",
		"# failover: after 30s without a bound session; on_status: none\n",
		"smscs:\n  - name: mitto\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "\nsmsc:") {
		t.Errorf("stdout has an smsc: block beside smscs:\n%s", r.stdout)
	}
}

func TestConfigCheck_Problems(t *testing.T) {
	file, _ := writeConfig(t, "", "log:\n  level: loud\n  colour: red\n")
	r := cli(t, "config", "check", "-c", file)
	r.want(t, exitUsage)
	want := "smsagent: " + file + ": 2 problems:\n" +
		"  log.colour: unknown key\n" +
		"  log.level: must be one of debug, info, warn, error; got \"loud\"\n"
	if r.stderr != want || r.stdout != "" {
		t.Errorf("stderr:\n%s\nwant:\n%s\nstdout: %q", r.stderr, want, r.stdout)
	}
	r = cli(t, "config", "check", "-c", filepath.Join(t.TempDir(), "missing.yaml"))
	r.want(t, exitUsage)
	if !strings.Contains(r.stderr, errNoEnt()) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("missing file: stderr = %q", r.stderr)
	}
}

func TestSend(t *testing.T) {
	_, spool := writeConfig(t, "", "")
	outgoing := filepath.Join(spool, "outgoing")
	now := time.Date(2026, 11, 25, 18, 15, 0, 123e6, time.UTC)
	r := cliWith(t, func(a *app) { a.now = func() time.Time { return now } },
		"send", "--spool", spool, "--to", "+358 40-123 4567", "--text", "Hei ä €", "--from", "ACME", "--id", "order-7")
	r.want(t, exitOK)
	path := strings.TrimSuffix(r.stdout, "\n")
	if filepath.Dir(path) != outgoing || !strings.HasPrefix(filepath.Base(path), "send-20261125T181500.123Z-") ||
		!strings.HasSuffix(path, ".json") {
		t.Errorf("printed %q, want a send-<time>-… .json file in %s", path, outgoing)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"order-7","to":"+358401234567","from":"ACME","text":"Hei ä €"}` + "\n"; string(data) != want {
		t.Errorf("file content %s, want %s", data, want)
	}
	fi, _ := os.Stat(path)
	if runtime.GOOS != "windows" && fi.Mode().Perm()&^0o640 != 0 {
		t.Errorf("file mode %v wider than 0640", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(outgoing)
	if len(entries) != 1 {
		t.Errorf("outgoing/ holds %d entries, want only the message (no temporary files)", len(entries))
	}
}

func TestSend_Config(t *testing.T) {
	file, spool := writeConfig(t, "", "")
	r := cli(t, "send", "--config", file, "--to", "0401234567", "--text", "hi")
	r.want(t, exitOK)
	if filepath.Dir(strings.TrimSpace(r.stdout)) != filepath.Join(spool, "outgoing") {
		t.Errorf("wrote %q, want a file in the configured spool %s", r.stdout, spool)
	}
	data, _ := os.ReadFile(strings.TrimSpace(r.stdout))
	if string(data) != `{"to":"0401234567","text":"hi"}`+"\n" {
		t.Errorf("content %s", data)
	}
}

func TestSend_Errors(t *testing.T) {
	file, spool := writeConfig(t, "", "")
	bad, _ := writeConfig(t, "  window: 0\n", "")
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"--spool", spool, "--to", "040x123", "--text", "hi"}, exitUsage,
			"smsagent: --to: number \"040x123\": 'x' at position 4 is not a digit\n"},
		{[]string{"--spool", spool, "--to", "+3584", "--text", "hi", "--from", "Bad<Sender>"}, exitUsage,
			"smsagent: --from: sender \"Bad<Sender>\": character '<' is not allowed in an alphanumeric sender\n"},
		{[]string{"--spool", spool, "--to", "+3584", "--text", ""}, exitUsage, "smsagent: --text: empty\n"},
		{[]string{"--spool", spool, "--to", "+3584", "--text", "hi", "--id", strings.Repeat("x", 257)}, exitUsage,
			"smsagent: --id: longer than 256 bytes\n"},
		{[]string{"--spool", spool, "--config", file, "--to", "+3584", "--text", "hi"}, exitUsage,
			"smsagent: --config and --spool can't be used together\nRun \"smsagent --help\" for usage.\n"},
		{[]string{"--spool", filepath.Join(spool, "nope"), "--to", "+3584", "--text", "hi"}, exitFailure,
			"smsagent: " + filepath.Join(spool, "nope", "outgoing") + " is not a folder: is the spool folder right? (the agent creates outgoing/ when it starts)\n"},
		{[]string{"--config", bad, "--to", "+3584", "--text", "hi"}, exitUsage,
			"smsagent: " + bad + ": 1 problem:\n  smsc.window: must be between 1 and 1000, got 0\n"},
	}
	for _, tt := range tests {
		r := cli(t, append([]string{"send"}, tt.args...)...)
		if r.code != tt.code || r.stderr != tt.stderr {
			t.Errorf("send %q: exit %d, stderr %q; want %d, %q", tt.args, r.code, r.stderr, tt.code, tt.stderr)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(spool, "outgoing"))
	if len(entries) != 0 {
		t.Errorf("failed sends left %d files", len(entries))
	}
}

// fakeManager stands in for the system's service manager.
type fakeManager struct {
	calls  []string
	status service.Status
	err    error
}

func (f *fakeManager) do(op string) error { f.calls = append(f.calls, op); return f.err }
func (f *fakeManager) Install() error     { return f.do("install") }
func (f *fakeManager) Uninstall() error   { return f.do("uninstall") }
func (f *fakeManager) Start() error       { return f.do("start") }
func (f *fakeManager) Stop() error        { return f.do("stop") }
func (f *fakeManager) Restart() error     { return f.do("restart") }
func (f *fakeManager) Status() (service.Status, error) {
	return f.status, f.do("status")
}

func TestService(t *testing.T) {
	file, spool := writeConfig(t, "", "")
	fake := &fakeManager{status: service.StatusRunning}
	var opts []service.Options
	withFake := func(a *app) {
		a.services = func(o service.Options) (serviceManager, error) {
			opts = append(opts, o)
			return fake, nil
		}
	}
	r := cliWith(t, withFake, "service", "install", "--config", file)
	r.want(t, exitOK)
	where := "/etc/systemd/system/smsagent.service"
	if runtime.GOOS == "windows" {
		where = "the Windows service smsagent"
	}
	if !strings.HasPrefix(r.stdout, "installed as "+where+", running with "+file+"\n") {
		t.Errorf("install printed %q", r.stdout)
	}
	state := filepath.Join(filepath.Dir(file), "state")
	if o := opts[0]; o.ConfigFile != file || len(o.WritablePaths) != 2 || o.WritablePaths[0] != spool || o.WritablePaths[1] != state ||
		!slices.Equal(o.ReadableFiles, []string{file}) {
		t.Errorf("install options = %+v, want the config file, readable, and writable %s, %s", o, spool, state)
	}
	for _, op := range []struct{ name, out string }{
		{"start", "smsagent started\n"}, {"stop", "smsagent stopped\n"},
		{"restart", "smsagent restarted\n"}, {"uninstall", "smsagent removed\n"}, {"status", "running\n"},
	} {
		r := cliWith(t, withFake, "service", op.name)
		r.want(t, exitOK)
		if r.stdout != op.out {
			t.Errorf("service %s printed %q, want %q", op.name, r.stdout, op.out)
		}
	}
	if got := strings.Join(fake.calls, ","); got != "install,start,stop,restart,uninstall,status" {
		t.Errorf("calls = %s", got)
	}

	fake.err = errors.New("service: start: Access is denied.")
	r = cliWith(t, withFake, "service", "start")
	r.want(t, exitFailure)
	if r.stderr != "smsagent: service: start: Access is denied.\n" {
		t.Errorf("stderr = %q", r.stderr)
	}

	bad, _ := writeConfig(t, "  bind: receiver\n", "")
	calls := len(fake.calls)
	r = cliWith(t, withFake, "service", "install", "-c", bad)
	r.want(t, exitUsage)
	if len(fake.calls) != calls {
		t.Errorf("install went ahead with a broken configuration")
	}
}

// TestService_NoServiceManager runs the real manager: on a machine without
// systemd the commands fail with a sentence, not a crash. On Windows the
// service control manager is always there: status says the service is not
// installed.
func TestService_NoServiceManager(t *testing.T) {
	if runtime.GOOS == "windows" {
		r := cli(t, "service", "status")
		r.want(t, exitOK)
		if r.stdout != "not installed\n" {
			t.Errorf("stdout = %q, want not installed", r.stdout)
		}
		return
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("this machine runs systemd; the real service commands would act on it")
	}
	if _, err := os.Stat("/proc"); err != nil {
		t.Skip("not Linux")
	}
	r := cli(t, "service", "status")
	r.want(t, exitFailure)
	if !strings.HasPrefix(r.stderr, "smsagent: service: the service commands support systemd and Windows") {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestPrivateDirs(t *testing.T) {
	env := func(k string) string {
		if k == "ProgramData" {
			return `D:\ProgramData`
		}
		return ""
	}
	for _, c := range []struct {
		goos, file, store, spool string
		want                     []string
	}{
		{"windows", `D:\ProgramData\smsagent\smsagent.yaml`, `D:\ProgramData\smsagent\data\outbox.db`, `D:\ProgramData\smsagent\spool`,
			[]string{`D:\ProgramData\smsagent`}},
		{"windows", `E:\sms\smsagent.yaml`, `E:\sms\outbox.db`, `d:\programdata\SMSAGENT\spool`, []string{`D:\ProgramData\smsagent`}},
		{"windows", `E:\sms\smsagent.yaml`, `E:\sms\outbox.db`, `D:\ProgramData\smsagent-old\spool`, nil},
		{"linux", "/etc/smsagent/smsagent.yaml", "/var/lib/smsagent/outbox.db", "/var/spool/smsagent", nil},
	} {
		cfg := &config.Config{File: c.file}
		cfg.Store.Path, cfg.Spool.Dir = c.store, c.spool
		if got := privateDirs(c.goos, env, cfg); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: %q, want %q", c.goos, c.spool, got, c.want)
		}
	}
}

// TestServiceInstall_ReadableFiles: install asks the service manager to
// check that the service user can read the configuration and the secret
// files it names.
func TestServiceInstall_ReadableFiles(t *testing.T) {
	file, _ := writeConfig(t, "  password_file: smsc.password\n",
		"admin:\n  token_file: admin.token\n  tls_cert: api.crt\n  tls_key: api.key\n")
	dir := filepath.Dir(file)
	testcert.Write(t, dir, "api", "127.0.0.1")
	for _, f := range []string{"smsc.password", "admin.token"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("secret1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var got service.Options
	r := cliWith(t, func(a *app) {
		a.services = func(o service.Options) (serviceManager, error) {
			got = o
			return &fakeManager{}, nil
		}
	}, "service", "install", "--config", file)
	r.want(t, exitOK)
	want := []string{file, filepath.Join(dir, "smsc.password"), filepath.Join(dir, "admin.token"),
		filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")}
	if !slices.Equal(got.ReadableFiles, want) {
		t.Errorf("readable files %q, want %q", got.ReadableFiles, want)
	}
}

// TestSend_ConfigNotReadable: a producer may not read the configuration;
// send says to name the spool instead.
func TestSend_ConfigNotReadable(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs a file this user cannot read")
	}
	file, _ := writeConfig(t, "", "")
	if err := os.Chmod(file, 0); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "send", "--config", file, "--to", "0401234567", "--text", "hi")
	r.want(t, exitUsage)
	if !strings.Contains(r.stderr, "permission denied; name the spool folder instead: --spool DIR") {
		t.Errorf("stderr %q", r.stderr)
	}
}
