// Command external measures smsagent against an SMPP server we did not
// write (npm's smpp package, smsc.js here), beside a bare client on the
// same library (client.js: the ceiling, nothing stored) and Kannel from the
// Debian package, in one run, at each round trip asked for. Every system is
// measured at the same point, on the server: from the first submit_sm to
// the last submit_sm_resp it sent. CPU per message is the system's own
// processes' (the agent; bearerbox and smsbox), from /proc, not the
// server's.
//
//	go run ./bench/external [-messages 20000] [-rtt 0ms,20ms] [-long 200] [-systems bare,smsagent,kannel,smsagent-ndjson]
//
// smsagent-ndjson is the agent with spool.inbox_format: ndjson: the send
// path without a file per report.
// It needs node and npm (npm ci runs here at the first start), Kannel's
// bearerbox and smsbox (apt-get install kannel), and bin/smsagent (make
// build). Everything listens on 127.0.0.1. `make bench-external` runs it.
// The long-message run sends 3-part messages through smsagent and Kannel
// and counts, on the server, the messages whose parts came over more than
// one connection and those with a part before an earlier one.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Fixed by the comparison the issue asks for: 4 transceiver binds × window 10.
const (
	sessions = 4
	window   = 10
)

func main() {
	messages := flag.Int("messages", 20000, "short messages per system and round trip")
	rtts := flag.String("rtt", "0ms,20ms", "round trips the server adds, comma-separated")
	long := flag.Int("long", 200, "3-part messages for the ordering run (0: none)")
	systems := flag.String("systems", "bare,smsagent,kannel,smsagent-ndjson", "what to measure")
	binary := flag.String("smsagent", "bin/smsagent", "the smsagent binary")
	flag.Parse()
	dir, err := os.MkdirTemp("", "smsagent-external-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	h := &harness{dir: dir, binary: *binary, js: jsDir()}
	if err := h.npm(); err != nil {
		fail(err)
	}
	fmt.Printf("load average at start: %s\n\n", loadAverage())
	fmt.Println("| Round trip added by the server | bare node client (no storage) | smsagent | Kannel | smsagent CPU per message | Kannel CPU per message | smsagent, ndjson inbox | its CPU per message |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	var refusals []string
	for _, r := range strings.Split(*rtts, ",") {
		rtt, err := time.ParseDuration(strings.TrimSpace(r))
		if err != nil {
			fail(err)
		}
		row := map[string]result{}
		for _, sys := range strings.Split(*systems, ",") {
			res, err := h.measure(sys, rtt, *messages, false)
			if err != nil {
				fail(fmt.Errorf("%s at %s: %w", sys, rtt, err))
			}
			row[sys] = res
		}
		bare, agent, kannel, bulk := row["bare"], row["smsagent"], row["kannel"], row["smsagent-ndjson"]
		ideal := ""
		if rtt > 0 {
			ideal = fmt.Sprintf(" (ideal: %d × %d / %s = %.0f/s)", sessions, window, rtt, sessions*window/rtt.Seconds())
		}
		fmt.Printf("| %s%s | %.0f msgs/s | %.0f msgs/s (%.2f of bare, %.1f × Kannel) | %.0f msgs/s | %s | %s | %.0f msgs/s (%.2f of bare, %.1f × Kannel) | %s |\n",
			rtt, ideal, bare.rate(), agent.rate(), ratio(agent.rate(), bare.rate()), ratio(agent.rate(), kannel.rate()),
			kannel.rate(), agent.cpuPerMessage(), kannel.cpuPerMessage(),
			bulk.rate(), ratio(bulk.rate(), bare.rate()), ratio(bulk.rate(), kannel.rate()), bulk.cpuPerMessage())
		refusals = append(refusals, fmt.Sprintf("%s: smsagent %d, Kannel %d", rtt, agent.server.ReceiptsRefused, kannel.server.ReceiptsRefused))
	}
	fmt.Printf("\nReceipts the systems answered with an error (throttled; the server sends them again a second later): %s\n",
		strings.Join(refusals, "; "))
	if *long > 0 {
		fmt.Printf("\nLong messages (3 parts, %d each), as the server saw them:\n\n", *long)
		fmt.Println("| System | messages | on more than one connection | a part before an earlier one |")
		fmt.Println("|---|---|---|---|")
		for _, sys := range []string{"smsagent", "kannel"} {
			if !strings.Contains(*systems, sys) {
				continue
			}
			res, err := h.measure(sys, 20*time.Millisecond, *long, true)
			if err != nil {
				fail(fmt.Errorf("%s long: %w", sys, err))
			}
			fmt.Printf("| %s | %d | %d | %d |\n", sys, res.server.Long, res.server.LongSpread, res.server.LongOutOfOrder)
		}
	}
	fmt.Printf("\nload average at end: %s\n", loadAverage())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "external:", err)
	os.Exit(1)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// jsDir is the folder of smsc.js and client.js: this source's folder.
func jsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

type harness struct {
	dir, binary, js string
	runs            int
}

// npm installs the locked smpp package when node_modules is missing.
func (h *harness) npm() error {
	if _, err := os.Stat(filepath.Join(h.js, "node_modules", "smpp")); err == nil {
		return nil
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir, cmd.Stdout, cmd.Stderr = h.js, os.Stderr, os.Stderr
	return cmd.Run()
}

// serverStats is smsc.js's counters.
type serverStats struct {
	Submits, Responses          int
	FirstSubmit, LastResponse   int64
	ReceiptsSent, ReceiptsAcked int
	ReceiptsRefused             int // answered with an error, sent again
	Binds                       int
	Long, LongSpread            int
	LongOutOfOrder              int
}

type result struct {
	messages int
	server   serverStats
	cpu      time.Duration // the system's processes; 0 for the bare client
}

func (r result) rate() float64 {
	d := r.server.LastResponse - r.server.FirstSubmit
	if d <= 0 {
		return 0
	}
	return float64(r.server.Responses) / (float64(d) / 1000)
}

func (r result) cpuPerMessage() string {
	if r.cpu == 0 || r.messages == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d µs", (r.cpu / time.Duration(r.messages)).Microseconds())
}

// server is a running smsc.js.
type server struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines *bufio.Scanner
	port  int
}

func (h *harness) startServer(rtt time.Duration) (*server, error) {
	cmd := exec.Command("node", filepath.Join(h.js, "smsc.js"), "--port", "0", "--rtt",
		strconv.FormatInt(rtt.Milliseconds(), 10), "--receipt-delay", "10")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, in: in, lines: bufio.NewScanner(out)}
	var hello struct{ Listening int }
	if !s.lines.Scan() || json.Unmarshal(s.lines.Bytes(), &hello) != nil || hello.Listening == 0 {
		_ = cmd.Process.Kill()
		return nil, errors.New("smsc.js did not start")
	}
	s.port = hello.Listening
	return s, nil
}

func (s *server) stats() (serverStats, error) {
	var st serverStats
	if _, err := io.WriteString(s.in, "stats\n"); err != nil {
		return st, err
	}
	if !s.lines.Scan() {
		return st, errors.New("smsc.js said nothing")
	}
	return st, json.Unmarshal(s.lines.Bytes(), &st)
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}

// waitFor polls cond until it holds or within passes.
func waitFor(within time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) measure(system string, rtt time.Duration, n int, long bool) (result, error) {
	srv, err := h.startServer(rtt)
	if err != nil {
		return result{}, err
	}
	defer srv.stop()
	h.runs++
	work := filepath.Join(h.dir, fmt.Sprintf("run%d-%s", h.runs, system))
	if err := os.MkdirAll(work, 0o700); err != nil {
		return result{}, err
	}
	var cpu time.Duration
	switch system {
	case "bare":
		cmd := exec.Command("node", filepath.Join(h.js, "client.js"), "--port", strconv.Itoa(srv.port),
			"--sessions", strconv.Itoa(sessions), "--window", strconv.Itoa(window), "--messages", strconv.Itoa(n))
		cmd.Stderr = os.Stderr
		if out, err := cmd.Output(); err != nil {
			return result{}, fmt.Errorf("client.js: %w: %s", err, out)
		}
	case "smsagent":
		cpu, err = h.smsagent(work, srv, n, long, "json")
	case "smsagent-ndjson":
		cpu, err = h.smsagent(work, srv, n, long, "ndjson")
	case "kannel":
		cpu, err = h.kannel(work, srv, n, long)
	default:
		err = fmt.Errorf("unknown system %q", system)
	}
	if err != nil {
		return result{}, err
	}
	parts := n
	if long {
		parts = 3 * n
	}
	var st serverStats
	err = waitFor(2*time.Minute, "every response sent", func() (bool, error) {
		var err error
		st, err = srv.stats()
		return st.Responses >= parts, err
	})
	return result{messages: n, server: st, cpu: cpu}, err
}

// text is a message's text: short, or three GSM parts.
func text(i int, long bool) string {
	if long {
		return (fmt.Sprintf("long message %d ", i) + strings.Repeat("in three parts ", 30))[:450]
	}
	return fmt.Sprintf("external bench message %d", i)
}

func number(i int) string { return fmt.Sprintf("+4179%07d", i) }

// smsagent runs the agent on the server, drops one NDJSON file of n
// messages, and waits until every report is in inbox/ (one file each, or
// lines of closed NDJSON files under spool.inbox_format: ndjson); it
// returns the agent's CPU over that time.
func (h *harness) smsagent(work string, srv *server, n int, long bool, inboxFormat string) (time.Duration, error) {
	api := freeAddr()
	cfg := filepath.Join(work, "smsagent.yaml")
	doc := fmt.Sprintf(`smsc:
  address: "127.0.0.1:%d"
  system_id: bench
  password: bench
  sessions: %d
  window: %d
spool:
  dir: %q
  settle: 0s
  inbox_format: %s
store:
  path: %q
admin:
  listen: %q
log:
  level: warn
`, srv.port, sessions, window, filepath.Join(work, "spool"), inboxFormat, filepath.Join(work, "outbox.db"), api)
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		return 0, err
	}
	cmd := exec.Command(h.binary, "run", "--config", cfg)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("%s: %w (make build)", h.binary, err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	if err := waitFor(30*time.Second, "smsagent ready", func() (bool, error) {
		resp, err := http.Get("http://" + api + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == 200, nil
	}); err != nil {
		return 0, err
	}
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"to":%q,"text":%q,"report":true}`+"\n", number(i), text(i, long))
	}
	stage := filepath.Join(work, "batch.ndjson")
	if err := os.WriteFile(stage, []byte(b.String()), 0o640); err != nil {
		return 0, err
	}
	before := procCPU(cmd.Process.Pid)
	if err := os.Rename(stage, filepath.Join(work, "spool", "outgoing", "batch.ndjson")); err != nil {
		return 0, err
	}
	inbox := filepath.Join(work, "spool", "inbox")
	err := waitFor(5*time.Minute, "every report in inbox/", func() (bool, error) {
		if inboxFormat == "ndjson" {
			return countLines(filepath.Join(inbox, "*.events.ndjson")) >= n, nil
		}
		m, _ := filepath.Glob(filepath.Join(inbox, "*.report.json"))
		return len(m) >= n, nil
	})
	return procCPU(cmd.Process.Pid) - before, err
}

// countLines counts the lines of the files matching pattern.
func countLines(pattern string) int {
	files, _ := filepath.Glob(pattern)
	lines := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			lines += strings.Count(string(b), "\n")
		}
	}
	return lines
}

// kannel runs bearerbox and smsbox on the server (4 SMSC connections ×
// max-pending-submits 10, spool store, dlr-url answered here), submits n
// messages through sendsms from 32 HTTP clients, and waits for every
// delivery report at the dlr-url; it returns bearerbox's and smsbox's CPU.
func (h *harness) kannel(work string, srv *server, n int, long bool) (time.Duration, error) {
	adminPort, boxPort, sendPort := freePort(), freePort(), freePort()
	var dlrs atomic.Int64
	dlr := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("type") == "1" {
			dlrs.Add(1)
		}
		_, _ = io.WriteString(w, "ok")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	go func() { _ = dlr.Serve(ln) }()
	defer dlr.Close()

	var conf strings.Builder
	fmt.Fprintf(&conf, `group = core
admin-port = %d
admin-password = bench
admin-interface = 127.0.0.1
smsbox-port = %d
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-level = 3
log-file = %q
store-type = spool
store-location = %q
dlr-storage = internal

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = %d
sendsms-interface = 127.0.0.1
log-level = 3
log-file = %q

group = sendsms-user
username = bench
password = bench
max-messages = 10
concatenation = true
`, adminPort, boxPort, filepath.Join(work, "bearerbox.log"), filepath.Join(work, "store"), sendPort,
		filepath.Join(work, "smsbox.log"))
	for i := range sessions {
		fmt.Fprintf(&conf, `
group = smsc
smsc = smpp
smsc-id = node%d
host = 127.0.0.1
port = %d
transceiver-mode = true
smsc-username = bench
smsc-password = bench
system-type = "VMA"
max-pending-submits = %d
msg-id-type = 0x03
`, i, srv.port, window)
	}
	if err := os.MkdirAll(filepath.Join(work, "store"), 0o700); err != nil {
		return 0, err
	}
	confFile := filepath.Join(work, "kannel.conf")
	if err := os.WriteFile(confFile, []byte(conf.String()), 0o600); err != nil {
		return 0, err
	}
	bearer := exec.Command("bearerbox", confFile)
	if err := bearer.Start(); err != nil {
		return 0, fmt.Errorf("bearerbox: %w (apt-get install kannel)", err)
	}
	defer stopProcess(bearer)
	if err := waitFor(30*time.Second, "Kannel's 4 binds", func() (bool, error) {
		st, err := srv.stats()
		return st.Binds >= sessions, err
	}); err != nil {
		return 0, err
	}
	sms := exec.Command("smsbox", confFile)
	if err := sms.Start(); err != nil {
		return 0, err
	}
	defer stopProcess(sms)
	sendURL := fmt.Sprintf("http://127.0.0.1:%d/cgi-bin/sendsms", sendPort)
	if err := waitFor(30*time.Second, "smsbox listening", func() (bool, error) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", sendPort))
		if err != nil {
			return false, nil
		}
		c.Close()
		return true, nil
	}); err != nil {
		return 0, err
	}
	before := procCPU(bearer.Process.Pid) + procCPU(sms.Process.Pid)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	var next atomic.Int64
	var wg sync.WaitGroup
	var sendErr atomic.Value
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				q := url.Values{"username": {"bench"}, "password": {"bench"}, "to": {number(i)},
					"from": {"BENCH"}, "text": {text(i, long)}, "dlr-mask": {"3"},
					"dlr-url": {fmt.Sprintf("http://%s/dlr?type=%%d", ln.Addr())}}
				resp, err := client.Get(sendURL + "?" + q.Encode())
				if err != nil {
					sendErr.Store(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 202 {
					sendErr.Store(fmt.Errorf("sendsms: %s", resp.Status))
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := sendErr.Load().(error); err != nil {
		return 0, err
	}
	err = waitFor(5*time.Minute, "every delivery report at the dlr-url", func() (bool, error) {
		return dlrs.Load() >= int64(n), nil
	})
	return procCPU(bearer.Process.Pid) + procCPU(sms.Process.Pid) - before, err
}

func stopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// procCPU is a process's user + system time from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // clock ticks: 100 a second on Linux
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func freeAddr() string { return fmt.Sprintf("127.0.0.1:%d", freePort()) }

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
