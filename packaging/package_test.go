package packaging_test

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

const testVersion = "1.2.3"

var (
	fakeLinuxBinary   = []byte("\x7fELF fake smsagent for linux\n")
	fakeWindowsBinary = []byte("MZ fake smsagent for windows\n")
)

// built holds the packages package.sh made, built once for all tests.
var built struct {
	once sync.Once
	dir  string // output folder
	zip  bool   // whether the Windows zip was built (needs zip(1))
	err  string
}

// buildPackages runs packaging/package.sh with fake binaries and the tools
// module's nfpm, as make package does with real ones.
func buildPackages(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("building the packages compiles nfpm and runs it; skipped with -short")
	}
	built.once.Do(func() {
		// Not t.TempDir: the folder outlives this test for the others.
		dir, err := os.MkdirTemp("", "smsagent-packages-")
		if err != nil {
			built.err = err.Error()
			return
		}
		bin, out := filepath.Join(dir, "bin"), filepath.Join(dir, "dist")
		must := func(err error) {
			if err != nil && built.err == "" {
				built.err = err.Error()
			}
		}
		must(os.Mkdir(bin, 0o755))
		must(os.WriteFile(filepath.Join(bin, "smsagent-linux-amd64"), fakeLinuxBinary, 0o755))
		if _, err := exec.LookPath("zip"); err == nil {
			built.zip = true
			must(os.WriteFile(filepath.Join(bin, "smsagent-windows-amd64.exe"), fakeWindowsBinary, 0o755))
		}
		nfpm := filepath.Join(dir, "nfpm")
		cmd := exec.Command("go", "build", "-o", nfpm, "github.com/goreleaser/nfpm/v2/cmd/nfpm")
		cmd.Dir = filepath.Join("..", "tools")
		if outp, err := cmd.CombinedOutput(); err != nil {
			built.err = "building nfpm: " + err.Error() + "\n" + string(outp)
			return
		}
		cmd = exec.Command("./package.sh", bin, out)
		cmd.Env = append(os.Environ(), "VERSION="+testVersion, "NFPM="+nfpm, "SOURCE_DATE_EPOCH=1700000000",
			"SIGN_PKCS12=") // a signing certificate in the environment must not leak into the test
		if outp, err := cmd.CombinedOutput(); err != nil {
			built.err = "package.sh: " + err.Error() + "\n" + string(outp)
			return
		}
		built.dir = out
	})
	if built.err != "" {
		t.Fatal(built.err)
	}
	return built.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(filepath.Dir(built.dir))
	}
	os.Exit(code)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// want is what a package must install, parent folders such as /usr aside.
func want(t *testing.T) map[string]entry {
	dir := fs.ModeDir
	sgid := fs.ModeDir | fs.ModeSetgid
	return map[string]entry{
		"/usr/bin/smsagent":                        {mode: 0o755, owner: "root", group: "root", data: fakeLinuxBinary},
		"/usr/lib/systemd/system/smsagent.service": {mode: 0o644, owner: "root", group: "root", data: readFile(t, "smsagent.service")},
		// The service's group alone reads the configuration and the queue;
		// the producers' group smsagent-spool passes through the spool
		// root (it cannot write there) into the four exchange folders.
		"/etc/smsagent":                {mode: dir | 0o750, owner: "root", group: "smsagent"},
		"/etc/smsagent/smsagent.yaml":  {mode: 0o640, owner: "root", group: "smsagent", data: readFile(t, "smsagent.yaml")},
		"/var/lib/smsagent":            {mode: dir | 0o750, owner: "smsagent", group: "smsagent"},
		"/var/spool/smsagent":          {mode: dir | 0o750, owner: "smsagent", group: "smsagent-spool"},
		"/var/spool/smsagent/outgoing": {mode: sgid | 0o770, owner: "smsagent", group: "smsagent-spool"},
		"/var/spool/smsagent/inbox":    {mode: sgid | 0o770, owner: "smsagent", group: "smsagent-spool"},
		"/var/spool/smsagent/failed":   {mode: sgid | 0o770, owner: "smsagent", group: "smsagent-spool"},
		"/var/spool/smsagent/sent":     {mode: sgid | 0o770, owner: "smsagent", group: "smsagent-spool"},
	}
}

// checkFiles compares a package's files with want. Folders that only lead
// to ours (/usr, /var/lib) must be plain root-owned folders.
func checkFiles(t *testing.T, files map[string]entry) {
	t.Helper()
	expected := want(t)
	for path, w := range expected {
		got, ok := files[path]
		if !ok {
			t.Errorf("%s missing", path)
			continue
		}
		if got.mode != w.mode || got.owner != w.owner || got.group != w.group {
			t.Errorf("%s: %v %s:%s, want %v %s:%s", path, got.mode, got.owner, got.group, w.mode, w.owner, w.group)
		}
		if w.mode.IsRegular() && !bytes.Equal(got.data, w.data) {
			t.Errorf("%s: content differs from the source file", path)
		}
	}
	var extra []string
	for path, got := range files {
		if _, ok := expected[path]; ok {
			continue
		}
		if !got.mode.IsDir() || got.mode.Perm() != 0o755 || got.owner != "root" || !parentOfExpected(path, expected) {
			extra = append(extra, path+" "+got.mode.String())
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("unexpected entries: %v", extra)
	}
}

func parentOfExpected(dir string, expected map[string]entry) bool {
	for p := range expected {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// checkScript compares a packaged maintainer script with its source and
// checks the shell can parse it.
func checkScript(t *testing.T, what string, got []byte, source string) {
	t.Helper()
	if !bytes.Equal(got, readFile(t, filepath.Join("scripts", source))) {
		t.Errorf("%s differs from scripts/%s", what, source)
	}
	f := filepath.Join(t.TempDir(), source)
	if err := os.WriteFile(f, got, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sh", "-n", f).CombinedOutput(); err != nil {
		t.Errorf("%s: sh -n: %v\n%s", what, err, out)
	}
}

func TestPackage_Deb(t *testing.T) {
	dist := buildPackages(t)
	deb := filepath.Join(dist, "smsagent_"+testVersion+"-1_amd64.deb")
	control, data, err := readDeb(readFile(t, deb))
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, data)

	ctl := string(control["/control"].data)
	for _, line := range []string{"Package: smsagent", "Version: " + testVersion + "-1", "Architecture: amd64", "Section: net"} {
		if !strings.Contains(ctl, line+"\n") {
			t.Errorf("control lacks %q:\n%s", line, ctl)
		}
	}
	if got := string(control["/conffiles"].data); got != "/etc/smsagent/smsagent.yaml\n" {
		t.Errorf("conffiles = %q", got)
	}
	for script, source := range map[string]string{
		"preinst": "preinstall.sh", "postinst": "postinstall.sh", "prerm": "preremove.sh", "postrm": "postremove.sh",
	} {
		e, ok := control["/"+script]
		if !ok {
			t.Errorf("no %s", script)
			continue
		}
		if e.mode.Perm() != 0o755 {
			t.Errorf("%s mode %v, want 0755", script, e.mode)
		}
		checkScript(t, script, e.data, source)
	}

	// dpkg's own reader, where the machine has one, must agree.
	if _, err := exec.LookPath("dpkg-deb"); err == nil {
		out, err := exec.Command("dpkg-deb", "--info", deb).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Package: smsagent") {
			t.Errorf("dpkg-deb --info: %v\n%s", err, out)
		}
	}
}

func TestPackage_RPM(t *testing.T) {
	dist := buildPackages(t)
	p, err := readRPM(readFile(t, filepath.Join(dist, "smsagent-"+testVersion+"-1.x86_64.rpm")))
	if err != nil {
		t.Fatal(err)
	}
	if p.str(tagName) != "smsagent" || p.str(tagVersion) != testVersion || p.str(tagRelease) != "1" || p.str(tagArch) != "x86_64" {
		t.Errorf("name-version-release.arch = %s-%s-%s.%s", p.str(tagName), p.str(tagVersion), p.str(tagRelease), p.str(tagArch))
	}
	checkFiles(t, p.files)
	for path, flags := range p.flags {
		isConfig := flags&fileConfig != 0
		if path == "/etc/smsagent/smsagent.yaml" {
			if !isConfig || flags&fileNoReplace == 0 {
				t.Errorf("%s flags %#x, want %%config(noreplace)", path, flags)
			}
		} else if isConfig {
			t.Errorf("%s is marked %%config", path)
		}
	}
	for tag, source := range map[int32]string{
		tagPreIn: "preinstall.sh", tagPostIn: "postinstall.sh", tagPreUn: "preremove.sh", tagPostUn: "postremove.sh",
	} {
		checkScript(t, source, []byte(p.str(tag)), source)
	}
}

func TestPackage_WindowsZip(t *testing.T) {
	dist := buildPackages(t)
	if !built.zip {
		t.Skip("zip(1) is not installed; the Windows zip was not built")
	}
	zr, err := zip.OpenReader(filepath.Join(dist, "smsagent_"+testVersion+"_windows_amd64.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	crlf := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }
	wantFiles := map[string][]byte{
		"smsagent/smsagent.exe":        fakeWindowsBinary,
		"smsagent/smsagent.yaml":       crlf(readFile(t, "smsagent.yaml")),
		"smsagent/INSTALL-windows.txt": crlf(readFile(t, "INSTALL-windows.txt")),
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		w, ok := wantFiles[f.Name]
		if !ok {
			t.Errorf("unexpected %s in the zip", f.Name)
		} else if !bytes.Equal(got, w) {
			t.Errorf("%s: content differs", f.Name)
		}
		delete(wantFiles, f.Name)
	}
	for name := range wantFiles {
		t.Errorf("%s missing from the zip (has %v)", name, names)
	}
}

// TestPackage_SigningNeverFails gives package.sh a certificate that cannot
// sign: it must warn and still build the zip.
func TestPackage_SigningNeverFails(t *testing.T) {
	if testing.Short() {
		t.Skip("runs package.sh; skipped with -short")
	}
	if _, err := exec.LookPath("zip"); err != nil {
		t.Skip("zip(1) is not installed")
	}
	dir := t.TempDir()
	bin, out := filepath.Join(dir, "bin"), filepath.Join(dir, "out")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "smsagent-windows-amd64.exe"), fakeWindowsBinary, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("./package.sh", bin, out)
	cmd.Env = append(os.Environ(), "VERSION=1.0.0", "NFPM=/nonexistent/nfpm",
		"SIGN_PKCS12="+filepath.Join(dir, "missing.p12"), "SIGN_PASS=x")
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("package.sh failed over signing: %v\n%s", err, output)
	}
	if !strings.Contains(string(output), "warning:") {
		t.Errorf("no signing warning:\n%s", output)
	}
	if _, err := os.Stat(filepath.Join(out, "smsagent_1.0.0_windows_amd64.zip")); err != nil {
		t.Error(err)
	}
}
