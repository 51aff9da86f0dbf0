package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/bench"
)

// TestBench runs `smsagent bench` on 200 messages in process: the table
// counts every message sent and reported, and progress goes to stderr as
// plain lines (not a terminal).
func TestBench(t *testing.T) {
	r := cli(t, "bench", "--messages", "200", "--sessions", "2", "--window", "20", "--mix", "mixed")
	r.want(t, exitOK)
	for _, row := range []string{
		`(?m)^workload +200 messages \(334 parts\), ndjson, mixed, receipts on, 2 sessions × window 20, built-in simulator on loopback$`,
		`(?m)^end to end +[\d,]+ msgs/s  \(200 sent in `,
		`(?m)^reports +[\d,]+ reports/s  \(200 written to inbox/ in `,
		`(?m)^latency +p50 +p90 +p99 +max +count$`,
		`(?m)^  file->submit( +[\d.]+ ms){4} +200$`,
		`(?m)^  submit->response( +[\d.]+ ms){4} +334$`,
		`(?m)^  submit->report( +[\d.]+ ms){4} +200$`,
		`(?m)^raw ceiling +[\d,]+ msgs/s `,
	} {
		if !regexp.MustCompile(row).MatchString(r.stdout) {
			t.Errorf("no row matching %s in\n%s", row, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "bench: sending ") || !strings.Contains(r.stderr, "bench: raw ") {
		t.Errorf("no progress lines on stderr:\n%s", r.stderr)
	}
}

// TestBench_json: --json prints the result alone on stdout and nothing on
// stderr, for machines.
func TestBench_json(t *testing.T) {
	r := cli(t, "bench", "--json", "--messages", "200", "--arrival", "files", "--receipts", "off",
		"--sessions", "1", "--window", "10")
	r.want(t, exitOK)
	var res bench.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v in\n%s", err, r.stdout)
	}
	if res.Sent != 200 || res.Reports != 200 || res.Workload.Receipts || res.RawPerSec <= 0 {
		t.Errorf("sent %d, reports %d, receipts %t, raw %.0f; want 200, 200, false, > 0",
			res.Sent, res.Reports, res.Workload.Receipts, res.RawPerSec)
	}
	if r.stderr != "" {
		t.Errorf("stderr with --json: %q", r.stderr)
	}
}

// TestBench_usage: a workload that makes no sense is a usage error naming
// the mistake, before anything starts.
func TestBench_usage(t *testing.T) {
	r := cli(t, "bench", "--messages", "0")
	r.want(t, exitUsage)
	if !strings.Contains(r.stderr, "messages must be at least 1") {
		t.Errorf("stderr %q does not say what is wrong", r.stderr)
	}
	r = cli(t, "bench", "--smsc", "127.0.0.1:2775")
	r.want(t, exitUsage)
	if !strings.Contains(r.stderr, "--system-id") {
		t.Errorf("stderr %q does not ask for --system-id", r.stderr)
	}
}

// TestBench_backlog: --backlog measures a restart on a queue instead of a
// workload.
func TestBench_backlog(t *testing.T) {
	r := cli(t, "bench", "--backlog", "1000", "--sample", "300", "--sessions", "2", "--window", "20")
	r.want(t, exitOK)
	for _, row := range []string{`(?m)^backlog +1000 queued messages `, `(?m)^restart +first submit `,
		`(?m)^drain +[\d,]+ msgs/s over the first \d+ messages$`} {
		if !regexp.MustCompile(row).MatchString(r.stdout) {
			t.Errorf("no row matching %s in\n%s", row, r.stdout)
		}
	}
}
